"""Foundation: tenants, API keys, registry, opt-outs, ledger, inbound, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from consentry.store.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tenant_fk() -> sa.Column[str]:
    return sa.Column(
        "tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True
    )


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.String(40), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("default_region", sa.String(2), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "api_keys",
        _tenant_fk(),
        sa.Column("key_id", sa.String(40), primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "brands",
        _tenant_fk(),
        sa.Column("brand_id", sa.String(40), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("support_contact", sa.String(200), nullable=False),
        sa.Column("support_phone", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "slug", name="uq_brands_slug"),
    )
    op.create_table(
        "programs",
        _tenant_fk(),
        sa.Column("program_id", sa.String(40), primary_key=True),
        sa.Column("brand_id", sa.String(40), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("opt_out_scope", sa.String(16), nullable=False),
        sa.Column("help_reply", sa.Text(), nullable=True),
        sa.Column("opt_out_reply", sa.Text(), nullable=True),
        sa.Column("opt_in_reply", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "slug", name="uq_programs_slug"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "brand_id"],
            ["brands.tenant_id", "brands.brand_id"],
            name="fk_programs_brand",
        ),
    )
    op.create_table(
        "senders",
        _tenant_fk(),
        sa.Column("sender_id", sa.String(40), primary_key=True),
        sa.Column("address", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "address", name="uq_senders_address"),
    )
    op.create_table(
        "sender_programs",
        sa.Column("tenant_id", sa.String(40), primary_key=True),
        sa.Column("sender_id", sa.String(40), primary_key=True),
        sa.Column("program_id", sa.String(40), primary_key=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "sender_id"],
            ["senders.tenant_id", "senders.sender_id"],
            name="fk_sender_programs_sender",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "program_id"],
            ["programs.tenant_id", "programs.program_id"],
            name="fk_sender_programs_program",
        ),
    )
    op.create_table(
        "optouts",
        _tenant_fk(),
        sa.Column("recipient", sa.String(16), primary_key=True),
        sa.Column("scope_kind", sa.String(16), primary_key=True),
        sa.Column("scope_id", sa.String(40), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_optouts_scope", "optouts", ["tenant_id", "scope_kind", "scope_id"])
    op.create_table(
        "consent_events",
        _tenant_fk(),
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(16), nullable=False),
        sa.Column("scope_kind", sa.String(16), nullable=True),
        sa.Column("scope_id", sa.String(40), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("inbound_id", sa.String(40), nullable=True),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("tenant_id", "event_id", name="uq_consent_events_event_id"),
    )
    op.create_index(
        "ix_consent_events_recipient", "consent_events", ["tenant_id", "recipient", "seq"]
    )
    op.create_table(
        "ledger_heads",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
        sa.Column("seq", _SEQ, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "inbound",
        _tenant_fk(),
        sa.Column("inbound_id", sa.String(40), primary_key=True),
        sa.Column("recipient", sa.String(16), nullable=False),
        sa.Column("sender_address", sa.String(32), nullable=False),
        sa.Column("sender_id", sa.String(40), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("keyword", sa.String(200), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("stage", sa.String(40), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_inbound_recipient", "inbound", ["tenant_id", "recipient", "received_at"])
    op.create_table(
        "outbox",
        _tenant_fk(),
        sa.Column("outbox_id", sa.String(40), primary_key=True),
        sa.Column("recipient", sa.String(16), nullable=False),
        sa.Column("sender_address", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("inbound_id", sa.String(40), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_outbox_status", "outbox", ["tenant_id", "status", "created_at"])


def downgrade() -> None:
    for table in (
        "outbox",
        "inbound",
        "ledger_heads",
        "consent_events",
        "optouts",
        "sender_programs",
        "senders",
        "programs",
        "brands",
        "api_keys",
        "tenants",
    ):
        op.drop_table(table)
