"""The hash-chained ledger of consent and opt-out events.

Each tenant's events form one chain: event ``n`` stores the SHA-256 of its canonical form, and
that form includes the hash of event ``n - 1``. Editing, deleting or reordering any stored event
breaks the chain from that point on, which :func:`verify_chain` reports. Appends take the row
lock on the tenant's ``ledger_heads`` row first, so concurrent writers queue and the chain stays
linear on PostgreSQL too (SQLite serialises writers anyway).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from consentry.domain.model import Scope
from consentry.identifiers import new_id
from consentry.store.tables import consent_events, ledger_heads

GENESIS_HASH = "0" * 64

_HASHED_FIELDS = (
    "tenant_id",
    "seq",
    "event_id",
    "kind",
    "recipient",
    "scope_kind",
    "scope_id",
    "source",
    "actor",
    "reason",
    "inbound_id",
    "occurred_at",
    "recorded_at",
    "evidence",
    "prev_hash",
)
# Fields added by later migrations enter the canonical form only when set, so that the hashes of
# events written before them still verify.
_OPTIONAL_HASHED_FIELDS = (
    "brand_id",
    "program_id",
    "level",
    "medium",
    "disclosure_hash",
    "source_url",
    "keyword",
    "ip_address",
    "user_agent",
    "session_id",
    "source_timestamp",
    "expires_at",
)
CONSENT_FIELDS = _OPTIONAL_HASHED_FIELDS


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended (the ledger assigns id, sequence and hashes)."""

    kind: str
    recipient: str
    scope: Scope | None
    source: str
    occurred_at: datetime
    actor: str | None = None
    reason: str | None = None
    inbound_id: str | None = None
    evidence: Mapping[str, Any] | None = field(default=None)
    consent: Mapping[str, Any] | None = None  # values for CONSENT_FIELDS (brand_id, level, ...)


@dataclass(frozen=True, slots=True)
class ChainHead:
    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """Result of a chain verification: ``ok``, events checked, and the first broken link."""

    ok: bool
    events: int
    first_broken_seq: int | None = None
    problem: str | None = None


def create_head(conn: sa.Connection, tenant_id: str) -> None:
    """Start an empty chain for a new tenant."""
    conn.execute(sa.insert(ledger_heads).values(tenant_id=tenant_id, seq=0, hash=GENESIS_HASH))


def lock_head(conn: sa.Connection, tenant_id: str) -> ChainHead:
    """Lock the tenant's chain head for the rest of the transaction and return it."""
    row = conn.execute(
        sa.select(ledger_heads.c.seq, ledger_heads.c.hash)
        .where(ledger_heads.c.tenant_id == tenant_id)
        .with_for_update()
    ).one()
    return ChainHead(seq=row.seq, hash=row.hash)


def append(
    conn: sa.Connection,
    tenant_id: str,
    head: ChainHead,
    events: Sequence[NewEvent],
    recorded_at: datetime,
) -> tuple[ChainHead, list[dict[str, Any]]]:
    """Append ``events`` after ``head`` (from :func:`lock_head`); return the new head and rows."""
    rows: list[dict[str, Any]] = []
    seq, prev = head.seq, head.hash
    for event in events:
        seq += 1
        row: dict[str, Any] = {
            "tenant_id": tenant_id,
            "seq": seq,
            "event_id": new_id("evt"),
            "kind": event.kind,
            "recipient": event.recipient,
            "scope_kind": event.scope.kind.value if event.scope else None,
            "scope_id": event.scope.id if event.scope else None,
            "source": event.source,
            "actor": event.actor,
            "reason": event.reason,
            "inbound_id": event.inbound_id,
            "occurred_at": event.occurred_at,
            "recorded_at": recorded_at,
            "evidence": dict(event.evidence) if event.evidence is not None else None,
            "prev_hash": prev,
        }
        for name in CONSENT_FIELDS:
            row[name] = (event.consent or {}).get(name)
        row["hash"] = event_hash(row)
        prev = row["hash"]
        rows.append(row)
    if rows:
        conn.execute(sa.insert(consent_events), rows)
        conn.execute(
            sa.update(ledger_heads)
            .where(ledger_heads.c.tenant_id == tenant_id)
            .values(seq=seq, hash=prev)
        )
    return ChainHead(seq=seq, hash=prev), rows


def event_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the UTF-8 bytes of :func:`canonical_form`."""
    return hashlib.sha256(canonical_form(row).encode("utf-8")).hexdigest()


def canonical_form(row: Mapping[str, Any]) -> str:
    """The canonical JSON of an event: its stored fields (including ``prev_hash``), keys sorted,
    no whitespace, timestamps as ISO 8601 with microseconds, later optional fields only when set."""
    canonical = {name: canonical_value(row[name]) for name in _HASHED_FIELDS}
    for name in _OPTIONAL_HASHED_FIELDS:
        if row.get(name) is not None:
            canonical[name] = canonical_value(row[name])
    return json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_value(value: Any) -> Any:
    """A stored value as the canonical form writes it (timestamps in UTC, ISO 8601, microseconds).

    Timestamps are converted to UTC first because the store keeps UTC: a time given with another
    offset must hash the same when written and when read back.
    """
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def iterate_events(
    conn: sa.Connection,
    tenant_id: str,
    *,
    kinds: Collection[str] | None = None,
    include_redacted: bool = True,
    batch: int = 5000,
) -> Iterator[Any]:
    """The tenant's events in chain order (only ``kinds`` if given), read in pages by sequence."""
    last = 0
    while True:
        query = sa.select(consent_events).where(
            consent_events.c.tenant_id == tenant_id, consent_events.c.seq > last
        )
        if kinds is not None:
            query = query.where(consent_events.c.kind.in_(sorted(kinds)))
        if not include_redacted:
            query = query.where(consent_events.c.redacted_at.is_(None))
        rows = conn.execute(query.order_by(consent_events.c.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify_chain(conn: sa.Connection, tenant_id: str, batch: int = 5000) -> ChainReport:
    """Recompute the tenant's chain and report the first event that does not match."""
    prev, expected_seq, count = GENESIS_HASH, 1, 0
    last_seq = 0
    for row in iterate_events(conn, tenant_id, batch=batch):
        count += 1
        if row.seq != expected_seq:
            return ChainReport(False, count, expected_seq, f"event {expected_seq} is missing")
        if row.prev_hash != prev:
            return ChainReport(False, count, row.seq, "link to the previous event is broken")
        # A purged (redacted) event keeps only its links; its content can no longer be checked.
        if row.redacted_at is None and event_hash(dict(row._mapping)) != row.hash:
            return ChainReport(False, count, row.seq, "event content does not match its hash")
        prev = row.hash
        expected_seq += 1
        last_seq = row.seq
    head = conn.execute(
        sa.select(ledger_heads.c.seq, ledger_heads.c.hash).where(
            ledger_heads.c.tenant_id == tenant_id
        )
    ).one_or_none()
    if head is not None and (head.seq != last_seq or head.hash != prev):
        return ChainReport(False, count, last_seq + 1, "chain head does not match the last event")
    return ChainReport(True, count)


def events_of(conn: sa.Connection, tenant_id: str, recipient: str) -> list[dict[str, Any]]:
    """Every stored event of one recipient, oldest first, as plain dicts."""
    query = (
        sa.select(consent_events)
        .where(consent_events.c.tenant_id == tenant_id, consent_events.c.recipient == recipient)
        .order_by(consent_events.c.seq)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def links(
    conn: sa.Connection, tenant_id: str, first_seq: int, last_seq: int
) -> list[dict[str, Any]]:
    """The chain links (seq, prev_hash, hash) from ``first_seq`` to ``last_seq``, content-free."""
    query = (
        sa.select(consent_events.c.seq, consent_events.c.prev_hash, consent_events.c.hash)
        .where(
            consent_events.c.tenant_id == tenant_id,
            consent_events.c.seq >= first_seq,
            consent_events.c.seq <= last_seq,
        )
        .order_by(consent_events.c.seq)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def head(conn: sa.Connection, tenant_id: str) -> ChainHead:
    """The tenant's chain head, without locking it."""
    row = conn.execute(
        sa.select(ledger_heads.c.seq, ledger_heads.c.hash).where(
            ledger_heads.c.tenant_id == tenant_id
        )
    ).one()
    return ChainHead(seq=row.seq, hash=row.hash)


# Columns a purge clears; what remains (seq, kind, source, times, links) carries no personal data.
_REDACTED_COLUMNS = (
    "scope_id",
    "actor",
    "reason",
    "inbound_id",
    "evidence",
    "brand_id",
    "program_id",
    "disclosure_hash",
    "source_url",
    "keyword",
    "ip_address",
    "user_agent",
    "session_id",
)


def redact(conn: sa.Connection, tenant_id: str, recipients: Sequence[str], now: datetime) -> int:
    """Clear the personal content of every event of ``recipients``, keeping the chain's links.

    The purge command's only write to the ledger: the rows stay, with their hashes, so the chain
    still verifies link by link; their content can no longer be recomputed, which
    :func:`verify_chain` allows for rows marked ``redacted_at``.
    """
    count = 0
    for start in range(0, len(recipients), 500):
        result = conn.execute(
            sa.update(consent_events)
            .where(
                consent_events.c.tenant_id == tenant_id,
                consent_events.c.recipient.in_(list(recipients[start : start + 500])),
                consent_events.c.redacted_at.is_(None),
            )
            .values(recipient="", redacted_at=now, **dict.fromkeys(_REDACTED_COLUMNS))
        )
        count += result.rowcount
    return count
