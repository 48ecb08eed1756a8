"""Consent ledger: consent evidence on events, disclosures, derived consents, program settings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from consentry.store.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("programs") as batch:
        batch.add_column(sa.Column("use_case", sa.String(64), nullable=True))
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.add_column(sa.Column("frequency", sa.String(200), nullable=True))
        batch.add_column(
            sa.Column("consent_level", sa.String(32), nullable=False, server_default="express")
        )
        batch.add_column(
            sa.Column("double_opt_in", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("pending_expiry_hours", sa.Integer(), nullable=False, server_default="48")
        )
        batch.add_column(
            sa.Column("reconfirm_after_days", sa.Integer(), nullable=False, server_default="30")
        )
        batch.add_column(
            sa.Column("reconfirm_idle_days", sa.Integer(), nullable=False, server_default="365")
        )
    with op.batch_alter_table("consent_events") as batch:
        batch.add_column(sa.Column("brand_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("program_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("level", sa.String(32), nullable=True))
        batch.add_column(sa.Column("medium", sa.String(32), nullable=True))
        batch.add_column(sa.Column("disclosure_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("source_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("keyword", sa.String(200), nullable=True))
        batch.add_column(sa.Column("ip_address", sa.String(64), nullable=True))
        batch.add_column(sa.Column("user_agent", sa.Text(), nullable=True))
        batch.add_column(sa.Column("session_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("source_timestamp", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("redacted_at", UTCDateTime(), nullable=True))
    op.create_table(
        "disclosures",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
        sa.Column("disclosure_hash", sa.String(64), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "consents",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
        sa.Column("recipient", sa.String(16), primary_key=True),
        sa.Column("program_id", sa.String(40), primary_key=True),
        sa.Column("brand_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("granted_at", UTCDateTime(), nullable=True),
        sa.Column("requested_at", UTCDateTime(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("reconfirmation_requested_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_event_seq", _SEQ, nullable=False),
    )
    op.create_index("ix_consents_program", "consents", ["tenant_id", "program_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_consents_program", "consents")
    op.drop_table("consents")
    op.drop_table("disclosures")
    with op.batch_alter_table("consent_events") as batch:
        for name in (
            "redacted_at",
            "expires_at",
            "source_timestamp",
            "session_id",
            "user_agent",
            "ip_address",
            "keyword",
            "source_url",
            "disclosure_hash",
            "medium",
            "level",
            "program_id",
            "brand_id",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("programs") as batch:
        for name in (
            "reconfirm_idle_days",
            "reconfirm_after_days",
            "pending_expiry_hours",
            "double_opt_in",
            "consent_level",
            "frequency",
            "description",
            "use_case",
        ):
            batch.drop_column(name)
