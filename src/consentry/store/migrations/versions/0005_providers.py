"""Providers: per-tenant provider settings (secrets write-only), provider message ids on inbound.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from consentry.store.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound") as batch:
        batch.add_column(sa.Column("provider_message_id", sa.String(64), nullable=True))
    op.create_index(
        "uq_inbound_provider_id", "inbound", ["tenant_id", "provider_message_id"], unique=True
    )
    op.create_table(
        "provider_settings",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
        sa.Column("provider", sa.String(16), primary_key=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("provider_settings")
    op.drop_index("uq_inbound_provider_id", "inbound")
    with op.batch_alter_table("inbound") as batch:
        batch.drop_column("provider_message_id")
