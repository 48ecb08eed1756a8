"""Send gate: recorded sends, tenant epochs for the gate's caches, program content settings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from consentry.store.tables import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("programs") as batch:
        batch.add_column(
            sa.Column("age_gated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("block_shorteners", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_inbound_recorded", "inbound", ["tenant_id", "recorded_at"])
    op.create_table(
        "sends",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
        sa.Column("send_seq", _SEQ, primary_key=True, autoincrement=False),
        sa.Column("send_id", sa.String(40), nullable=False),
        sa.Column("program_id", sa.String(40), nullable=False),
        sa.Column("sender_address", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(16), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("opt_out_instructions", sa.Boolean(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "send_id", name="uq_sends_id"),
    )
    op.create_index(
        "ix_sends_recipient", "sends", ["tenant_id", "recipient", "program_id", "sent_at"]
    )
    op.create_index("ix_sends_sent_at", "sends", ["tenant_id", "sent_at"])
    op.create_table(
        "tenant_epochs",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
        sa.Column("epoch", _SEQ, nullable=False),
        sa.Column("send_seq", _SEQ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tenant_epochs")
    op.drop_index("ix_sends_sent_at", "sends")
    op.drop_index("ix_sends_recipient", "sends")
    op.drop_table("sends")
    op.drop_index("ix_inbound_recorded", "inbound")
    with op.batch_alter_table("programs") as batch:
        batch.drop_column("block_shorteners")
        batch.drop_column("age_gated")
