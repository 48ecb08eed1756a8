"""Brand pages: the brand's own SMS terms and privacy policy URLs (for the hosted opt-in page).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("brands") as batch:
        batch.add_column(sa.Column("terms_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("privacy_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("brands") as batch:
        batch.drop_column("privacy_url")
        batch.drop_column("terms_url")
