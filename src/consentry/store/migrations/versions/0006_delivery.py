"""Delivery: outbox attempts, back-off, transport, provider message id and delivery report.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from consentry.store.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("transport", sa.String(16), nullable=True))
        batch.add_column(sa.Column("provider_message_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("sent_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("delivery_status", sa.String(16), nullable=True))
    op.create_index("ix_outbox_provider_id", "outbox", ["tenant_id", "provider_message_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_provider_id", "outbox")
    with op.batch_alter_table("outbox") as batch:
        for name in (
            "delivery_status",
            "sent_at",
            "provider_message_id",
            "transport",
            "last_error",
            "next_attempt_at",
            "attempts",
        ):
            batch.drop_column(name)
