"""The tables, as SQLAlchemy Core metadata.

Every table is keyed by ``tenant_id`` first: nothing ever reads across tenants. The schema itself
is created by the Alembic migrations in ``store/migrations``; a test checks that the migrations and
this module describe the same schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData()


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite has no timestamp type and hands back naive values; PostgreSQL keeps the zone. Both are
    read back as aware UTC datetimes so that comparisons never mix naive and aware values.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def latest_time(column: sa.ColumnElement[datetime]) -> sa.ColumnElement[datetime]:
    """``max(column)`` read back like the column itself: an aware UTC datetime (SQLite would
    hand back the aggregate as naive text)."""
    return sa.type_coerce(sa.func.max(column), UTCDateTime())


def _id(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(40), nullable=False)


tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("slug", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("default_region", sa.String(2), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("key_id", sa.String(40), primary_key=True),
    # SHA-256 of the key's secret part: keys are 256-bit random, so a fast hash is enough.
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("label", sa.String(200), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
)

brands = sa.Table(
    "brands",
    metadata,
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("brand_id", sa.String(40), primary_key=True),
    sa.Column("slug", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("support_contact", sa.String(200), nullable=False),
    sa.Column("support_phone", sa.String(32), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("terms_url", sa.Text(), nullable=True),
    sa.Column("privacy_url", sa.Text(), nullable=True),
    sa.UniqueConstraint("tenant_id", "slug", name="uq_brands_slug"),
)

programs = sa.Table(
    "programs",
    metadata,
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
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
    # Consent settings (migration 0002).
    sa.Column("use_case", sa.String(64), nullable=True),
    sa.Column("description", sa.Text(), nullable=True),
    sa.Column("frequency", sa.String(200), nullable=True),
    sa.Column("consent_level", sa.String(32), nullable=False, server_default="express"),
    sa.Column("double_opt_in", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("pending_expiry_hours", sa.Integer(), nullable=False, server_default="48"),
    sa.Column("reconfirm_after_days", sa.Integer(), nullable=False, server_default="30"),
    sa.Column("reconfirm_idle_days", sa.Integer(), nullable=False, server_default="365"),
    sa.Column("age_gated", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("block_shorteners", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("one_way", sa.Boolean(), nullable=False, server_default=sa.false()),
    # What the program's messages are for (rules/purposes.toml): marketing, notifications.
    sa.Column("purpose", sa.String(32), nullable=False, server_default="marketing"),
    sa.UniqueConstraint("tenant_id", "slug", name="uq_programs_slug"),
    sa.ForeignKeyConstraint(
        ["tenant_id", "brand_id"], ["brands.tenant_id", "brands.brand_id"], name="fk_programs_brand"
    ),
)

senders = sa.Table(
    "senders",
    metadata,
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("sender_id", sa.String(40), primary_key=True),
    sa.Column("address", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("verified", sa.Boolean(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("tenant_id", "address", name="uq_senders_address"),
)

sender_programs = sa.Table(
    "sender_programs",
    metadata,
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

# Current opt-outs, derived from the ledger: one row per (recipient, scope).
optouts = sa.Table(
    "optouts",
    metadata,
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("recipient", sa.String(16), primary_key=True),
    sa.Column("scope_kind", sa.String(16), primary_key=True),
    sa.Column("scope_id", sa.String(40), primary_key=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("event_id", sa.String(40), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_optouts_scope", "tenant_id", "scope_kind", "scope_id"),
)

# The append-only ledger: every consent and opt-out change, hash-chained per tenant.
consent_events = sa.Table(
    "consent_events",
    metadata,
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
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
    # Consent evidence (migration 0002); null for opt-out events.
    sa.Column("brand_id", sa.String(40), nullable=True),
    sa.Column("program_id", sa.String(40), nullable=True),
    sa.Column("level", sa.String(32), nullable=True),
    sa.Column("medium", sa.String(32), nullable=True),
    sa.Column("disclosure_hash", sa.String(64), nullable=True),
    sa.Column("source_url", sa.Text(), nullable=True),
    sa.Column("keyword", sa.String(200), nullable=True),
    sa.Column("ip_address", sa.String(64), nullable=True),
    sa.Column("user_agent", sa.Text(), nullable=True),
    sa.Column("session_id", sa.String(200), nullable=True),
    sa.Column("source_timestamp", UTCDateTime(), nullable=True),
    sa.Column("expires_at", UTCDateTime(), nullable=True),
    sa.Column("redacted_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("tenant_id", "event_id", name="uq_consent_events_event_id"),
    sa.Index("ix_consent_events_recipient", "tenant_id", "recipient", "seq"),
)

# The head of each tenant's ledger chain; its row lock serialises appends per tenant.
ledger_heads = sa.Table(
    "ledger_heads",
    metadata,
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# The exact disclosure texts people saw, stored once each and referenced by SHA-256.
disclosures = sa.Table(
    "disclosures",
    metadata,
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("disclosure_hash", sa.String(64), primary_key=True),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("first_seen_at", UTCDateTime(), nullable=False),
)

# Current consent per recipient and program, derived from the ledger (rebuildable).
consents = sa.Table(
    "consents",
    metadata,
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
    sa.Column(
        "last_event_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
    ),
    sa.Index("ix_consents_program", "tenant_id", "program_id", "status"),
)

inbound = sa.Table(
    "inbound",
    metadata,
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
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
    # The provider's id of the message (Twilio MessageSid, ...): a retried webhook is one reply.
    sa.Column("provider_message_id", sa.String(64), nullable=True),
    # A reply held for review may be a revocation: due within ten business days; then resolved.
    sa.Column("due_at", UTCDateTime(), nullable=True),
    sa.Column("resolved_at", UTCDateTime(), nullable=True),
    sa.Column("resolution", sa.String(32), nullable=True),
    sa.Column("resolved_by", sa.String(200), nullable=True),
    sa.Index("ix_inbound_recipient", "tenant_id", "recipient", "received_at"),
    sa.Index("ix_inbound_review", "tenant_id", "needs_review", "due_at"),
    sa.Index("uq_inbound_provider_id", "tenant_id", "provider_message_id", unique=True),
    sa.Index("ix_inbound_recorded", "tenant_id", "recorded_at"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("outbox_id", sa.String(40), primary_key=True),
    sa.Column("recipient", sa.String(16), nullable=False),
    sa.Column("sender_address", sa.String(32), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column("inbound_id", sa.String(40), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    # Delivery: attempts with back-off, the transport that took it, the provider's id and report.
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("transport", sa.String(16), nullable=True),
    sa.Column("provider_message_id", sa.String(64), nullable=True),
    sa.Column("sent_at", UTCDateTime(), nullable=True),
    sa.Column("delivery_status", sa.String(16), nullable=True),
    # the program the reply speaks for (None: not known, e.g. rows queued before 0016)
    sa.Column("program_id", sa.String(40), nullable=True),
    sa.Index("ix_outbox_status", "tenant_id", "status", "created_at"),
    sa.Index("ix_outbox_provider_id", "tenant_id", "provider_message_id"),
)

_SEND_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

sends = sa.Table(
    "sends",
    metadata,
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    # Numbered per tenant under the tenant_epochs row lock, so numbers commit in order and the
    # send gate's caches can load "every send after N" without missing a late commit.
    sa.Column("send_seq", _SEND_SEQ, primary_key=True, autoincrement=False),
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
    sa.Index("ix_sends_recipient", "tenant_id", "recipient", "program_id", "sent_at"),
    sa.Index("ix_sends_sent_at", "tenant_id", "sent_at"),
)

tenant_epochs = sa.Table(
    "tenant_epochs",
    metadata,
    # Bumped by every change the send gate's caches cannot follow incrementally (registry writes,
    # purges): a changed epoch makes them reload the tenant.
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("epoch", _SEND_SEQ, nullable=False),
    sa.Column("send_seq", _SEND_SEQ, nullable=False),  # the tenant's last send number
)

provider_settings = sa.Table(
    "provider_settings",
    metadata,
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("provider", sa.String(16), primary_key=True),
    sa.Column("settings", sa.JSON(), nullable=False),  # what may be shown
    sa.Column("secret", sa.Text(), nullable=True),  # write-only through the API
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

tenant_settings = sa.Table(
    "tenant_settings",
    metadata,
    # One row a setting (e.g. optout_removal_min_days, revoke_all), the value as JSON.
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON(), nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

tenant_keywords = sa.Table(
    "tenant_keywords",
    metadata,
    # A tenant's own reply keywords, on top of the reviewed lists in rules/keywords.
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("keyword", sa.String(64), primary_key=True),  # normalised: upper case, one space
    sa.Column("kind", sa.String(16), nullable=False),  # opt_out | opt_in | help
    sa.Column("language", sa.String(8), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

# --- Admin console (issue #8): user accounts, login sessions, failed logins (migration 0010) ---

admin_users = sa.Table(
    "admin_users",
    metadata,
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("user_id", sa.String(40), primary_key=True),
    sa.Column("email", sa.String(254), nullable=False),  # stored lower case
    sa.Column("role", sa.String(16), nullable=False),  # admin | agent | auditor
    sa.Column("password_hash", sa.Text(), nullable=False),  # argon2id, PHC string
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("disabled_at", UTCDateTime(), nullable=True),
    sa.Column("last_login_at", UTCDateTime(), nullable=True),  # latest successful sign-in (0015)
    sa.UniqueConstraint("tenant_id", "email", name="uq_admin_users_email"),
)

admin_sessions = sa.Table(
    "admin_sessions",
    metadata,
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    # SHA-256 of the session token: the token itself is only ever in the user's cookie.
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(40), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    sa.Index("ix_admin_sessions_user", "tenant_id", "user_id"),
)

admin_login_failures = sa.Table(
    "admin_login_failures",
    metadata,
    # Failed log-ins per e-mail address (known or not), for the lock-out.
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("failure_id", sa.String(40), primary_key=True),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("failed_at", UTCDateTime(), nullable=False),
    sa.Column("ip_address", sa.String(64), nullable=True),
    sa.Index("ix_admin_login_failures_email", "tenant_id", "email", "failed_at"),
)

# --- Suppression index (issue #11): the opt-out change log every process follows -------------

optout_changes = sa.Table(
    "optout_changes",
    metadata,
    # One row per change of the ``optouts`` table, written in the same transaction. The change id
    # is global, grows monotonically and commits in order: the writer takes max + 1 while it holds
    # the database's single write lock (SQLite) or a transaction-level advisory lock until commit
    # (PostgreSQL). So a follower that has applied every change up to N only needs those after N.
    # Only compaction deletes rows (a prefix, always keeping the newest): ids are never reused.
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("change_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("recipient", sa.String(16), nullable=False),
    sa.Column("scope_kind", sa.String(16), nullable=False),
    sa.Column("scope_id", sa.String(40), nullable=False),
    sa.Column("op", sa.String(8), nullable=False),  # add | remove
    sa.Column("changed_at", UTCDateTime(), nullable=False),
    sa.Index("ix_optout_changes_change_id", "change_id", unique=True),
)

# --- Decisions log (issue #8): the send gate's refusals, with the rules that made them (0013) ---

decisions = sa.Table(
    "decisions",
    metadata,
    # One row per message the gate blocked or deferred (allowed ones are not logged: they are the
    # sends). The body is not kept; the findings carry each rule's message and citation.
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("decision_id", sa.String(40), primary_key=True),
    sa.Column("decided_at", UTCDateTime(), nullable=False),
    sa.Column("send_at", UTCDateTime(), nullable=False),  # when the message was to go out
    sa.Column("sender", sa.String(32), nullable=False),
    sa.Column("recipient", sa.String(16), nullable=False),
    sa.Column("program_id", sa.String(40), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("action", sa.String(8), nullable=False),  # block | defer
    sa.Column("defer_until", UTCDateTime(), nullable=True),
    sa.Column("findings", sa.JSON(), nullable=False),
    sa.Index("ix_decisions_time", "tenant_id", "decided_at"),
    sa.Index("ix_decisions_recipient", "tenant_id", "recipient"),
)

decision_rules = sa.Table(
    "decision_rules",
    metadata,
    # The rules that refused each logged message (severity block or defer): filter and count by rule.
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("decision_id", sa.String(40), primary_key=True),
    sa.Column("rule_id", sa.String(48), primary_key=True),
    sa.Column("decided_at", UTCDateTime(), nullable=False),
    sa.Index("ix_decision_rules_rule", "tenant_id", "rule_id", "decided_at"),
)

# --- issue #8: registry change history (0014) --------------------------------------------------

registry_changes = sa.Table(
    "registry_changes",
    metadata,
    # One row per setting changed by an edit of a program, brand or sender, written in the same
    # transaction as the edit; unchanged settings are not recorded. Values are JSON (text, true /
    # false, numbers, lists of program ids; null for an unset optional text).
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("change_id", sa.String(40), primary_key=True),
    sa.Column("entity_kind", sa.String(16), nullable=False),  # program | brand | sender
    sa.Column("entity_id", sa.String(40), nullable=False),
    sa.Column("field", sa.String(64), nullable=False),
    sa.Column("old_value", sa.JSON(), nullable=True),
    sa.Column("new_value", sa.JSON(), nullable=True),
    # console:<e-mail>, api-key:<key id>, cli, or service (a direct call from Python)
    sa.Column("actor", sa.String(300), nullable=False),
    sa.Column("changed_at", UTCDateTime(), nullable=False),
    sa.Index("ix_registry_changes_entity", "tenant_id", "entity_kind", "entity_id", "changed_at"),
    sa.Index("ix_registry_changes_time", "tenant_id", "changed_at"),
)

# --- issue #8: console user events (0015) -----------------------------------------------------

console_user_events = sa.Table(
    "console_user_events",
    metadata,
    # One row per change of a console user (created, role_changed, disabled, enabled,
    # password_reset, password_changed) and per successful sign-in (signed_in), written in the
    # same transaction as the change. Details are JSON (e.g. the old and new role); never a
    # password or a session token.
    sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("event_id", sa.String(40), primary_key=True),
    sa.Column("user_id", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("actor", sa.String(300), nullable=False),  # console:<e-mail>, cli, service
    sa.Column("details", sa.JSON(), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index("ix_console_user_events_user", "tenant_id", "user_id", "at"),
)
