"""Console user events: who created, changed, disabled, enabled or reset a console user, and
each successful sign-in; and the time of a user's last sign-in.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from consentry.store.tables import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_user_events",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
        sa.Column("event_id", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_console_user_events_user", "console_user_events", ["tenant_id", "user_id", "at"]
    )
    with op.batch_alter_table("admin_users") as batch:
        batch.add_column(sa.Column("last_login_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("admin_users") as batch:
        batch.drop_column("last_login_at")
    op.drop_index("ix_console_user_events_user", table_name="console_user_events")
    op.drop_table("console_user_events")
