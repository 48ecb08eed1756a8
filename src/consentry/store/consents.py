"""Reads and writes of the derived consent state (``consents``) and of disclosure texts.

The state changes only in the transaction that appends the consent events it derives from, and
:func:`rebuild` recomputes it from the ledger alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from consentry.domain.consent import (
    CONSENT_EVENT_KINDS,
    ConsentEventKind,
    ConsentFact,
    ConsentLevel,
    ConsentState,
    ConsentStatus,
    fold,
)
from consentry.store import ledger
from consentry.store.tables import consents, disclosures


def disclosure_hash(text: str) -> str:
    """SHA-256 of a disclosure text (UTF-8), the key it is stored under."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def store_disclosures(
    conn: sa.Connection, tenant_id: str, texts: Collection[str], now: datetime
) -> dict[str, str]:
    """Store each distinct text once; return text -> hash."""
    digests = {text: disclosure_hash(text) for text in texts}
    wanted = list(set(digests.values()))
    known: set[str] = set()
    for start in range(0, len(wanted), 500):
        query = sa.select(disclosures.c.disclosure_hash).where(
            disclosures.c.tenant_id == tenant_id,
            disclosures.c.disclosure_hash.in_(wanted[start : start + 500]),
        )
        known.update(conn.execute(query).scalars())
    fresh = {digest: text for text, digest in digests.items() if digest not in known}
    if fresh:
        conn.execute(
            sa.insert(disclosures),
            [
                {"tenant_id": tenant_id, "disclosure_hash": d, "text": t, "first_seen_at": now}
                for d, t in fresh.items()
            ],
        )
    return digests


def states_of(
    conn: sa.Connection, tenant_id: str, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], ConsentState]:
    """The states of the given (recipient, program_id) pairs that exist."""
    wanted = set(keys)
    every = states_of_recipients(conn, tenant_id, {recipient for recipient, _ in wanted})
    return {key: state for key, state in every.items() if key in wanted}


def save_all(conn: sa.Connection, tenant_id: str, changed: Collection[ConsentState]) -> None:
    """Write many derived states: delete the old rows of those keys, insert the new ones."""
    rows = list(changed)
    by_number: dict[str, list[str]] = {}
    for state in rows:
        by_number.setdefault(state.recipient, []).append(state.program_id)
    numbers = sorted(by_number)
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        keys = [(n, p) for n in chunk for p in by_number[n]]
        conn.execute(
            sa.delete(consents).where(
                consents.c.tenant_id == tenant_id,
                sa.tuple_(consents.c.recipient, consents.c.program_id).in_(keys),
            )
        )
    if rows:
        conn.execute(
            sa.insert(consents),
            [
                {
                    "tenant_id": tenant_id,
                    "recipient": s.recipient,
                    "program_id": s.program_id,
                    **_values(s),
                }
                for s in rows
            ],
        )


def states_of_recipients(
    conn: sa.Connection, tenant_id: str, recipients: Collection[str]
) -> dict[tuple[str, str], ConsentState]:
    """Every consent state of ``recipients``, keyed by (recipient, program_id)."""
    found: dict[tuple[str, str], ConsentState] = {}
    numbers = sorted(set(recipients))
    for start in range(0, len(numbers), 500):
        query = sa.select(consents).where(
            consents.c.tenant_id == tenant_id,
            consents.c.recipient.in_(numbers[start : start + 500]),
        )
        for row in conn.execute(query):
            found[(row.recipient, row.program_id)] = _state(row)
    return found


def disclosure_texts(
    conn: sa.Connection, tenant_id: str, hashes: Collection[str]
) -> dict[str, str]:
    if not hashes:
        return {}
    query = sa.select(disclosures.c.disclosure_hash, disclosures.c.text).where(
        disclosures.c.tenant_id == tenant_id, disclosures.c.disclosure_hash.in_(list(hashes))
    )
    return {row.disclosure_hash: row.text for row in conn.execute(query)}


def states(
    conn: sa.Connection, tenant_id: str, recipient: str, program_ids: Collection[str] | None = None
) -> dict[str, ConsentState]:
    """The recipient's consent per program (all programs, or those given)."""
    query = sa.select(consents).where(
        consents.c.tenant_id == tenant_id, consents.c.recipient == recipient
    )
    if program_ids is not None:
        query = query.where(consents.c.program_id.in_(list(program_ids)))
    return {row.program_id: _state(row) for row in conn.execute(query)}


def iterate(conn: sa.Connection, tenant_id: str) -> Iterator[ConsentState]:
    query = (
        sa.select(consents)
        .where(consents.c.tenant_id == tenant_id)
        .order_by(consents.c.recipient, consents.c.program_id)
    )
    for row in conn.execute(query):
        yield _state(row)


def pending_expired(conn: sa.Connection, tenant_id: str, now: datetime) -> list[ConsentState]:
    """Pending double opt-ins whose confirmation window has closed."""
    query = sa.select(consents).where(
        consents.c.tenant_id == tenant_id,
        consents.c.status == ConsentStatus.PENDING.value,
        consents.c.expires_at <= now,
    )
    return [_state(row) for row in conn.execute(query)]


def replay(
    conn: sa.Connection, tenant_id: str, batch: int = 5000
) -> dict[tuple[str, str], ConsentState]:
    """Fold every consent event of the tenant's ledger, in order, into states."""
    found: dict[tuple[str, str], ConsentState] = {}
    events = ledger.iterate_events(
        conn, tenant_id, kinds=CONSENT_EVENT_KINDS, include_redacted=False, batch=batch
    )
    for row in events:
        key = (row.recipient, row.program_id)
        folded = fold(found.get(key), fact_of(row))
        if folded is not None:
            found[key] = folded
    return found


def rebuild(conn: sa.Connection, tenant_id: str) -> int:
    """Replace the tenant's derived consent state by a replay of its ledger; return the count."""
    replayed = replay(conn, tenant_id)
    conn.execute(sa.delete(consents).where(consents.c.tenant_id == tenant_id))
    if replayed:
        conn.execute(
            sa.insert(consents),
            [
                {
                    "tenant_id": tenant_id,
                    "recipient": s.recipient,
                    "program_id": s.program_id,
                    **_values(s),
                }
                for s in replayed.values()
            ],
        )
    return len(replayed)


def fact_of(row: Any) -> ConsentFact:
    """The fold's view of a stored consent event row."""
    return ConsentFact(
        kind=ConsentEventKind(row.kind),
        recipient=row.recipient,
        brand_id=row.brand_id,
        program_id=row.program_id,
        occurred_at=row.occurred_at,
        seq=row.seq,
        level=ConsentLevel(row.level) if row.level else None,
        expires_at=row.expires_at,
    )


def _values(state: ConsentState) -> dict[str, Any]:
    return {
        "brand_id": state.brand_id,
        "status": state.status.value,
        "level": state.level.value,
        "granted_at": state.granted_at,
        "requested_at": state.requested_at,
        "expires_at": state.expires_at,
        "reconfirmation_requested_at": state.reconfirmation_requested_at,
        "revoked_at": state.revoked_at,
        "last_event_seq": state.last_event_seq,
    }


def _state(row: Any) -> ConsentState:
    return ConsentState(
        recipient=row.recipient,
        brand_id=row.brand_id,
        program_id=row.program_id,
        status=ConsentStatus(row.status),
        level=ConsentLevel(row.level),
        granted_at=row.granted_at,
        requested_at=row.requested_at,
        expires_at=row.expires_at,
        reconfirmation_requested_at=row.reconfirmation_requested_at,
        revoked_at=row.revoked_at,
        last_event_seq=row.last_event_seq,
    )
