"""Review deadlines: replies held for review carry a due time and their resolution.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from consentry.store.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound") as batch:
        batch.add_column(sa.Column("due_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("resolved_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("resolution", sa.String(32), nullable=True))
        batch.add_column(sa.Column("resolved_by", sa.String(200), nullable=True))
    op.create_index("ix_inbound_review", "inbound", ["tenant_id", "needs_review", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_review", "inbound")
    with op.batch_alter_table("inbound") as batch:
        for name in ("resolved_by", "resolution", "resolved_at", "due_at"):
            batch.drop_column(name)
