"""Decisions log: every message the send gate blocked or deferred, and the rules behind it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from consentry.store.tables import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
        sa.Column("decision_id", sa.String(40), primary_key=True),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
        sa.Column("send_at", UTCDateTime(), nullable=False),
        sa.Column("sender", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(16), nullable=False),
        sa.Column("program_id", sa.String(40), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("defer_until", UTCDateTime(), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=False),
    )
    op.create_index("ix_decisions_time", "decisions", ["tenant_id", "decided_at"])
    op.create_index("ix_decisions_recipient", "decisions", ["tenant_id", "recipient"])
    op.create_table(
        "decision_rules",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
        sa.Column("decision_id", sa.String(40), primary_key=True),
        sa.Column("rule_id", sa.String(48), primary_key=True),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_decision_rules_rule", "decision_rules", ["tenant_id", "rule_id", "decided_at"]
    )


def downgrade() -> None:
    op.drop_table("decision_rules")
    op.drop_table("decisions")
