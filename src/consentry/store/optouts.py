"""Reads and writes of the current opt-out state (the ``optouts`` table).

The state is derived from the ledger: the service changes it only in the same transaction that
appends the matching ``opt_out_added`` / ``opt_out_removed`` event.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from consentry.domain.model import OptOut, OptOutEvent, OptOutSource, Scope, ScopeKind
from consentry.store import ledger
from consentry.store.tables import consent_events, latest_time, optouts

OPT_OUT_ADDED = "opt_out_added"
OPT_OUT_REMOVED = "opt_out_removed"
_CHUNK = 500


def current(
    conn: sa.Connection, tenant_id: str, recipients: Collection[str]
) -> dict[str, list[OptOut]]:
    """Every current opt-out of each of ``recipients`` (in any scope)."""
    found: dict[str, list[OptOut]] = {}
    numbers = list(dict.fromkeys(recipients))
    for start in range(0, len(numbers), _CHUNK):
        query = sa.select(optouts).where(
            optouts.c.tenant_id == tenant_id,
            optouts.c.recipient.in_(numbers[start : start + _CHUNK]),
        )
        for row in conn.execute(query):
            found.setdefault(row.recipient, []).append(_optout(row))
    return found


def insert(conn: sa.Connection, tenant_id: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert opt-outs: each row has recipient, scope, source, event_id, created_at."""
    if rows:
        conn.execute(
            sa.insert(optouts),
            [
                {
                    "tenant_id": tenant_id,
                    "recipient": row["recipient"],
                    "scope_kind": row["scope"].kind.value,
                    "scope_id": row["scope"].id,
                    "source": row["source"],
                    "event_id": row["event_id"],
                    "created_at": row["created_at"],
                }
                for row in rows
            ],
        )


def delete(conn: sa.Connection, tenant_id: str, pairs: Sequence[tuple[str, Scope]]) -> None:
    """Delete the opt-outs of the given (recipient, scope) pairs."""
    for recipient, scope in pairs:
        conn.execute(
            sa.delete(optouts).where(
                optouts.c.tenant_id == tenant_id,
                optouts.c.recipient == recipient,
                optouts.c.scope_kind == scope.kind.value,
                optouts.c.scope_id == scope.id,
            )
        )


def iterate(conn: sa.Connection, tenant_id: str, batch: int = 5000) -> Iterator[OptOut]:
    """Every current opt-out of the tenant, ordered by recipient then scope (keyset paging)."""
    last: tuple[str, str, str] = ("", "", "")
    while True:
        key = sa.tuple_(optouts.c.recipient, optouts.c.scope_kind, optouts.c.scope_id)
        rows = conn.execute(
            sa.select(optouts)
            .where(optouts.c.tenant_id == tenant_id, key > sa.tuple_(*map(sa.literal, last)))
            .order_by(optouts.c.recipient, optouts.c.scope_kind, optouts.c.scope_id)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield _optout(row)
        tail = rows[-1]
        last = (tail.recipient, tail.scope_kind, tail.scope_id)


def count(conn: sa.Connection, tenant_id: str) -> int:
    query = sa.select(sa.func.count()).select_from(optouts).where(optouts.c.tenant_id == tenant_id)
    return int(conn.execute(query).scalar_one())


def history(conn: sa.Connection, tenant_id: str, recipient: str) -> list[OptOutEvent]:
    """The recipient's opt-out events, oldest first."""
    query = (
        sa.select(consent_events)
        .where(
            consent_events.c.tenant_id == tenant_id,
            consent_events.c.recipient == recipient,
            consent_events.c.kind.in_([OPT_OUT_ADDED, OPT_OUT_REMOVED]),
        )
        .order_by(consent_events.c.seq)
    )
    return [_event(row) for row in conn.execute(query)]


def iterate_history(
    conn: sa.Connection, tenant_id: str, batch: int = 5000
) -> Iterator[OptOutEvent]:
    """Every opt-out event of the tenant, in ledger order."""
    events = ledger.iterate_events(
        conn, tenant_id, kinds=(OPT_OUT_ADDED, OPT_OUT_REMOVED), batch=batch
    )
    yield from (_event(row) for row in events)


def _optout(row: Any) -> OptOut:
    return OptOut(
        recipient=row.recipient,
        scope=Scope(ScopeKind(row.scope_kind), row.scope_id),
        source=OptOutSource(row.source),
        created_at=row.created_at,
        event_id=row.event_id,
    )


def _event(row: Any) -> OptOutEvent:
    return OptOutEvent(
        id=row.event_id,
        seq=row.seq,
        recipient=row.recipient,
        action="add" if row.kind == OPT_OUT_ADDED else "remove",
        scope=Scope(ScopeKind(row.scope_kind), row.scope_id or ""),
        source=OptOutSource(row.source),
        actor=row.actor,
        reason=row.reason,
        inbound_id=row.inbound_id,
        occurred_at=row.occurred_at,
        hash=row.hash,
    )


def last_removed(
    conn: sa.Connection, tenant_id: str, recipients: Collection[str], sources: Collection[str]
) -> dict[str, datetime]:
    """When each recipient last had an opt-out lifted by one of ``sources`` (if ever)."""
    found: dict[str, datetime] = {}
    numbers = list(dict.fromkeys(recipients))
    for start in range(0, len(numbers), _CHUNK):
        query = (
            sa.select(consent_events.c.recipient, latest_time(consent_events.c.occurred_at))
            .where(
                consent_events.c.tenant_id == tenant_id,
                consent_events.c.kind == OPT_OUT_REMOVED,
                consent_events.c.source.in_(list(sources)),
                consent_events.c.recipient.in_(numbers[start : start + _CHUNK]),
            )
            .group_by(consent_events.c.recipient)
        )
        for recipient, at in conn.execute(query):
            found[recipient] = at
    return found
