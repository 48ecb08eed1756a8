"""Per-purpose consent and opt-out: each program declares what its messages are for.

Existing programs get the purpose their category belongs to (``rules/purposes.toml``):
marketing programs ``marketing``, every other category ``notifications``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("programs") as batch:
        batch.add_column(
            sa.Column("purpose", sa.String(32), nullable=False, server_default="marketing")
        )
    op.execute("UPDATE programs SET purpose = 'notifications' WHERE category <> 'marketing'")


def downgrade() -> None:
    with op.batch_alter_table("programs") as batch:
        batch.drop_column("purpose")
