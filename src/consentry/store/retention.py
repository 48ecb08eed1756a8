"""Retention: find the recipients whose records may be purged, and purge them.

A recipient's records may go only when the relationship has ended long ago: no opt-out in force,
no active or pending consent, and no event newer than the cut-off. Anything younger stays.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from consentry.domain.consent import ConsentStatus
from consentry.store import ledger
from consentry.store import optouts as optout_store
from consentry.store.tables import (
    consent_events,
    consents,
    decision_rules,
    decisions,
    inbound,
    optouts,
    outbox,
    sends,
)


def purgeable(conn: sa.Connection, tenant_id: str, cutoff: datetime) -> list[str]:
    """Recipients whose every event is older than ``cutoff`` and who have no live state."""
    latest = (
        sa.select(consent_events.c.recipient)
        .where(consent_events.c.tenant_id == tenant_id, consent_events.c.redacted_at.is_(None))
        .group_by(consent_events.c.recipient)
        .having(sa.func.max(consent_events.c.recorded_at) < cutoff)
        .having(sa.func.max(consent_events.c.occurred_at) < cutoff)
    )
    live_optout = sa.select(optouts.c.recipient).where(optouts.c.tenant_id == tenant_id)
    live_consent = sa.select(consents.c.recipient).where(
        consents.c.tenant_id == tenant_id,
        consents.c.status.in_([ConsentStatus.ACTIVE.value, ConsentStatus.PENDING.value]),
    )
    query = latest.where(
        consent_events.c.recipient.not_in(live_optout),
        consent_events.c.recipient.not_in(live_consent),
        consent_events.c.recipient != "",
    ).order_by(consent_events.c.recipient)
    return [row.recipient for row in conn.execute(query)]


def purge(
    conn: sa.Connection, tenant_id: str, recipients: list[str], cutoff: datetime, now: datetime
) -> dict[str, int]:
    """Redact the recipients' ledger events and delete their derived state and old messages."""
    counts = {
        "recipients": len(recipients),
        "events": ledger.redact(conn, tenant_id, recipients, now),
    }
    deleted_states = deleted_inbound = deleted_outbox = deleted_sends = deleted_decisions = 0
    for start in range(0, len(recipients), 500):
        chunk = recipients[start : start + 500]
        deleted_states += conn.execute(
            sa.delete(consents).where(
                consents.c.tenant_id == tenant_id, consents.c.recipient.in_(chunk)
            )
        ).rowcount
        deleted_inbound += conn.execute(
            sa.delete(inbound).where(
                inbound.c.tenant_id == tenant_id,
                inbound.c.recipient.in_(chunk),
                inbound.c.received_at < cutoff,
            )
        ).rowcount
        deleted_outbox += conn.execute(
            sa.delete(outbox).where(
                outbox.c.tenant_id == tenant_id,
                outbox.c.recipient.in_(chunk),
                outbox.c.created_at < cutoff,
            )
        ).rowcount
        deleted_sends += conn.execute(
            sa.delete(sends).where(
                sends.c.tenant_id == tenant_id,
                sends.c.recipient.in_(chunk),
                sends.c.sent_at < cutoff,
            )
        ).rowcount
        refused = sa.select(decisions.c.decision_id).where(
            decisions.c.tenant_id == tenant_id,
            decisions.c.recipient.in_(chunk),
            decisions.c.decided_at < cutoff,
        )
        conn.execute(
            sa.delete(decision_rules).where(
                decision_rules.c.tenant_id == tenant_id, decision_rules.c.decision_id.in_(refused)
            )
        )
        deleted_decisions += conn.execute(
            sa.delete(decisions).where(
                decisions.c.tenant_id == tenant_id,
                decisions.c.recipient.in_(chunk),
                decisions.c.decided_at < cutoff,
            )
        ).rowcount
    counts.update(
        consents=deleted_states,
        inbound=deleted_inbound,
        outbox=deleted_outbox,
        sends=deleted_sends,
        decisions=deleted_decisions,
        # The opt-out change log keeps its rows (ids are never reused) without the number.
        optout_changes=optout_store.redact_changes(conn, tenant_id, recipients),
    )
    return counts
