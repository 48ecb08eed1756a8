"""Consent writes inside a transaction: append consent events and keep the derived state in step.

The service opens the transaction and locks the ledger head; these functions append the events
(with their evidence and stored disclosure texts) and save the states the events fold into.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from consentry.domain.consent import (
    ConsentEventKind,
    ConsentLevel,
    ConsentState,
    ConsentStatus,
    fold,
    needs_double_opt_in,
)
from consentry.domain.model import Program, Scope, ScopeKind
from consentry.domain.purposes import split_purpose_scope
from consentry.store import consents as consent_store
from consentry.store import ledger
from consentry.store.tables import consents as consents_table
from consentry.store.tables import programs as programs_table


@dataclass(frozen=True, slots=True)
class ConsentWrite:
    """One consent event to append, with its evidence."""

    kind: ConsentEventKind
    recipient: str
    brand_id: str
    program_id: str
    occurred_at: datetime
    source: str
    level: ConsentLevel | None = None
    medium: str | None = None
    disclosure_text: str | None = None
    source_url: str | None = None
    keyword: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    session_id: str | None = None
    source_timestamp: datetime | None = None
    expires_at: datetime | None = None
    actor: str | None = None
    reason: str | None = None
    inbound_id: str | None = None
    evidence: Mapping[str, Any] | None = field(default=None)


@dataclass(frozen=True, slots=True)
class WrittenConsent:
    event_id: str
    seq: int
    hash: str
    state: ConsentState | None


def append(
    conn: sa.Connection,
    tenant_id: str,
    head: ledger.ChainHead,
    writes: Sequence[ConsentWrite],
    recorded_at: datetime,
) -> tuple[ledger.ChainHead, list[WrittenConsent]]:
    """Append ``writes`` after ``head`` and save the derived states; return the new head."""
    if not writes:
        return head, []
    digests = consent_store.store_disclosures(
        conn, tenant_id, [w.disclosure_text for w in writes if w.disclosure_text], recorded_at
    )
    events = []
    for write in writes:
        digest = digests[write.disclosure_text] if write.disclosure_text else None
        events.append(
            ledger.NewEvent(
                kind=write.kind.value,
                recipient=write.recipient,
                scope=Scope(ScopeKind.PROGRAM, write.program_id),
                source=write.source,
                occurred_at=write.occurred_at,
                actor=write.actor,
                reason=write.reason,
                inbound_id=write.inbound_id,
                evidence=write.evidence,
                consent={
                    "brand_id": write.brand_id,
                    "program_id": write.program_id,
                    "level": write.level.value if write.level else None,
                    "medium": write.medium,
                    "disclosure_hash": digest,
                    "source_url": write.source_url,
                    "keyword": write.keyword,
                    "ip_address": write.ip_address,
                    "user_agent": write.user_agent,
                    "session_id": write.session_id,
                    "source_timestamp": write.source_timestamp,
                    "expires_at": write.expires_at,
                },
            )
        )
    head, rows = ledger.append(conn, tenant_id, head, events, recorded_at)
    keys = list(dict.fromkeys((row["recipient"], row["program_id"]) for row in rows))
    current: dict[tuple[str, str], ConsentState | None] = dict(
        consent_store.states_of(conn, tenant_id, keys)
    )
    written = []
    changed: dict[tuple[str, str], ConsentState] = {}
    for row in rows:
        key = (row["recipient"], row["program_id"])
        state = fold(current.get(key), consent_store.fact_of(_Row(row)))
        if state is not None:
            current[key] = changed[key] = state
        written.append(WrittenConsent(row["event_id"], row["seq"], row["hash"], state))
    consent_store.save_all(conn, tenant_id, list(changed.values()))
    return head, written


def revocations(
    conn: sa.Connection,
    tenant_id: str,
    recipients: Iterable[str],
    scope: Scope,
    occurred_at: datetime,
    *,
    source: str,
    reason: str | None,
    inbound_id: str | None = None,
) -> list[ConsentWrite]:
    """The consent revocations an opt-out in ``scope`` implies for ``recipients``.

    An opt-out of a program, a purpose of a brand, a brand or the whole tenant revokes every live
    (active or pending) consent it covers; a sender-scope opt-out blocks that sender only and revokes nothing.
    """
    if scope.kind is ScopeKind.SENDER:
        return []
    numbers = list(dict.fromkeys(recipients))
    writes: list[ConsentWrite] = []
    for start in range(0, len(numbers), 500):
        query = sa.select(consents_table).where(
            consents_table.c.tenant_id == tenant_id,
            consents_table.c.recipient.in_(numbers[start : start + 500]),
            consents_table.c.status.in_([ConsentStatus.ACTIVE.value, ConsentStatus.PENDING.value]),
        )
        if scope.kind is ScopeKind.PROGRAM:
            query = query.where(consents_table.c.program_id == scope.id)
        elif scope.kind is ScopeKind.BRAND:
            query = query.where(consents_table.c.brand_id == scope.id)
        elif scope.kind is ScopeKind.PURPOSE:
            brand_id, purpose = split_purpose_scope(scope)
            of_purpose = sa.select(programs_table.c.program_id).where(
                programs_table.c.tenant_id == tenant_id,
                programs_table.c.brand_id == brand_id,
                programs_table.c.purpose == purpose,
            )
            query = query.where(
                consents_table.c.brand_id == brand_id, consents_table.c.program_id.in_(of_purpose)
            )
        for row in conn.execute(
            query.order_by(consents_table.c.recipient, consents_table.c.program_id)
        ):
            writes.append(
                ConsentWrite(
                    kind=ConsentEventKind.REVOKED,
                    recipient=row.recipient,
                    brand_id=row.brand_id,
                    program_id=row.program_id,
                    occurred_at=occurred_at,
                    source=source,
                    reason=reason or f"opt-out in {scope}",
                    inbound_id=inbound_id,
                )
            )
    return writes


def opt_in_writes(
    states: Mapping[str, ConsentState],
    programs: Sequence[Program],
    recipient: str,
    occurred_at: datetime,
    *,
    keyword: str | None,
    disclosure_text: str | None,
    inbound_id: str | None,
) -> list[ConsentWrite]:
    """Consent events for a keyword opt-in (START) to the given programs: restore or grant.

    A program that needs double opt-in gets a pending request instead (the keyword is the first
    step; the YES that follows is the second).
    """
    writes = []
    for program in programs:
        state = states.get(program.id)
        if state is not None and state.status is ConsentStatus.ACTIVE:
            continue
        double = needs_double_opt_in(program.use_case, program.double_opt_in)
        if double:
            kind = ConsentEventKind.REQUESTED
        elif state is not None:
            kind = ConsentEventKind.RESTORED
        else:
            kind = ConsentEventKind.GRANTED
        writes.append(
            ConsentWrite(
                kind=kind,
                expires_at=occurred_at + timedelta(hours=program.pending_expiry_hours)
                if double
                else None,
                recipient=recipient,
                brand_id=program.brand_id,
                program_id=program.id,
                occurred_at=occurred_at,
                source="keyword",
                # A re-subscription restores the level the person once gave; a first keyword
                # opt-in is express consent.
                level=state.level if state is not None else ConsentLevel.EXPRESS,
                medium="keyword",
                keyword=keyword,
                disclosure_text=disclosure_text,
                inbound_id=inbound_id,
            )
        )
    return writes


class _Row:
    """Attribute access over a freshly appended ledger row (a dict)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        return self._values[name]
