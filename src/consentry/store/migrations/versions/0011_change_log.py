"""Suppression index: a change sequence every process follows (owned by the index work).

``optout_changes`` records every change of the ``optouts`` table with a global, monotonically
increasing change id; each process's suppression index follows it. Existing opt-outs are
backfilled as ``add`` changes (ids 1..n in order of creation), so that the log alone reproduces
the current state.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from consentry.store.tables import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    changes = op.create_table(
        "optout_changes",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
        sa.Column("change_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("recipient", sa.String(16), nullable=False),
        sa.Column("scope_kind", sa.String(16), nullable=False),
        sa.Column("scope_id", sa.String(40), nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
    )
    assert changes is not None
    op.create_index("ix_optout_changes_change_id", "optout_changes", ["change_id"], unique=True)
    optouts = sa.table(
        "optouts",
        sa.column("tenant_id"),
        sa.column("recipient"),
        sa.column("scope_kind"),
        sa.column("scope_id"),
        sa.column("created_at"),
    )
    order = sa.func.row_number().over(
        order_by=(
            optouts.c.created_at,
            optouts.c.tenant_id,
            optouts.c.recipient,
            optouts.c.scope_kind,
            optouts.c.scope_id,
        )
    )
    op.execute(
        changes.insert().from_select(
            ["tenant_id", "change_id", "recipient", "scope_kind", "scope_id", "op", "changed_at"],
            sa.select(
                optouts.c.tenant_id,
                order,
                optouts.c.recipient,
                optouts.c.scope_kind,
                optouts.c.scope_id,
                sa.literal("add"),
                sa.literal(datetime.now(UTC), UTCDateTime()),
            ),
        )
    )


def downgrade() -> None:
    op.drop_index("ix_optout_changes_change_id", table_name="optout_changes")
    op.drop_table("optout_changes")
