"""Reads and writes of the current opt-out state (the ``optouts`` table) and its change log.

The state is derived from the ledger: the service changes it only in the same transaction that
appends the matching ``opt_out_added`` / ``opt_out_removed`` event. Every insert and delete here
also appends one row per changed (recipient, scope) to ``optout_changes``, in the same
transaction, which every process's suppression index follows (see ``consentry.index``).

Commit order of change ids: the writer takes the next ids (max + 1 ...) while it holds a lock
it keeps until commit: on SQLite the database's one write lock (``BEGIN IMMEDIATE``), on
PostgreSQL the transaction-level advisory lock :data:`CHANGE_LOCK`, taken just before. So a change
id never becomes visible after a higher one, and a follower that has seen id N never has to look
below N again. The cost on PostgreSQL: opt-out writers of different tenants queue for the tail of
each other's transactions (from their first change row to commit). The same transaction sends
``NOTIFY consentry_optout_changes`` with the highest id, which PostgreSQL delivers at commit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from consentry.domain.model import OptOut, OptOutEvent, OptOutSource, Scope, ScopeKind
from consentry.store import ledger
from consentry.store.tables import consent_events, latest_time, optout_changes, optouts

OPT_OUT_ADDED = "opt_out_added"
OPT_OUT_REMOVED = "opt_out_removed"
_CHUNK = 500
NOTIFY_CHANNEL = "consentry_optout_changes"
REDACTED = "redacted"  # the op of a change-log row whose number a purge removed
# pg_advisory_xact_lock key serialising change-id assignment with commit ("cOnsentrY").
CHANGE_LOCK = 0x634F6E73656E7459


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
    """Insert opt-outs: each row has recipient, scope, source, event_id, created_at.

    Each is logged as an ``add`` change in the same transaction.
    """
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
        _log_changes(
            conn,
            tenant_id,
            [(row["recipient"], row["scope"], "add", row["created_at"]) for row in rows],
        )


def delete(
    conn: sa.Connection,
    tenant_id: str,
    pairs: Sequence[tuple[str, Scope]],
    at: datetime | None = None,
) -> None:
    """Delete the opt-outs of the given (recipient, scope) pairs; log each deleted one."""
    when = at or datetime.now(UTC)
    deleted: list[tuple[str, Scope, str, datetime]] = []
    for recipient, scope in pairs:
        result = conn.execute(
            sa.delete(optouts).where(
                optouts.c.tenant_id == tenant_id,
                optouts.c.recipient == recipient,
                optouts.c.scope_kind == scope.kind.value,
                optouts.c.scope_id == scope.id,
            )
        )
        if result.rowcount:
            deleted.append((recipient, scope, "remove", when))
    _log_changes(conn, tenant_id, deleted)


def _log_changes(
    conn: sa.Connection, tenant_id: str, changes: Sequence[tuple[str, Scope, str, datetime]]
) -> None:
    """Append ``(recipient, scope, op, at)`` changes to the change log (see the module doc)."""
    if not changes:
        return
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(CHANGE_LOCK)))
    first = last_change_id(conn) + 1
    conn.execute(
        sa.insert(optout_changes),
        [
            {
                "tenant_id": tenant_id,
                "change_id": first + offset,
                "recipient": recipient,
                "scope_kind": scope.kind.value,
                "scope_id": scope.id,
                "op": op,
                "changed_at": at,
            }
            for offset, (recipient, scope, op, at) in enumerate(changes)
        ],
    )
    if postgres:
        last = str(first + len(changes) - 1)
        conn.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, last)))


def redact_changes(conn: sa.Connection, tenant_id: str, recipients: Sequence[str]) -> int:
    """Blank the number in the change-log rows of purged ``recipients``; return how many.

    For the retention purge, which removes only recipients with no opt-out in force. The rows
    stay (only compaction deletes rows, so change ids are never reused) with ``op = 'redacted'``,
    which followers skip: the recipient's adds and removes cancel out anyway.
    """
    redacted = 0
    for start in range(0, len(recipients), _CHUNK):
        redacted += conn.execute(
            sa.update(optout_changes)
            .where(
                optout_changes.c.tenant_id == tenant_id,
                optout_changes.c.recipient.in_(recipients[start : start + _CHUNK]),
            )
            .values(recipient="", op=REDACTED)
        ).rowcount
    return redacted


def last_change_id(conn: sa.Connection) -> int:
    """The newest committed change id of the opt-out change log (0 when it is empty)."""
    query = sa.select(sa.func.max(optout_changes.c.change_id))
    return int(conn.execute(query).scalar() or 0)


def changes_after(conn: sa.Connection, change_id: int, limit: int = 100_000) -> list[Any]:
    """Up to ``limit`` changes of every tenant after ``change_id``, oldest first.

    Rows have change_id, tenant_id, recipient, scope_kind, scope_id, op. This is the one read
    of the log that spans tenants: it feeds the process-wide suppression index, which keeps each
    tenant's numbers apart.
    """
    query = (
        sa.select(
            optout_changes.c.change_id,
            optout_changes.c.tenant_id,
            optout_changes.c.recipient,
            optout_changes.c.scope_kind,
            optout_changes.c.scope_id,
            optout_changes.c.op,
        )
        .where(optout_changes.c.change_id > change_id)
        .order_by(optout_changes.c.change_id)
        .limit(limit)
    )
    return list(conn.execute(query))


def scope_groups(conn: sa.Connection) -> list[tuple[str, Scope]]:
    """Every (tenant, scope) that holds at least one opt-out (for building the index)."""
    query = sa.select(optouts.c.tenant_id, optouts.c.scope_kind, optouts.c.scope_id).distinct()
    return [
        (row.tenant_id, Scope(ScopeKind(row.scope_kind), row.scope_id))
        for row in conn.execute(query)
    ]


def recipients_in_scope(
    conn: sa.Connection, tenant_id: str, scope: Scope, batch: int = 200_000
) -> Iterator[Sequence[str]]:
    """The opted-out recipients of one tenant scope, in batches (for building the index)."""
    query = sa.select(optouts.c.recipient).where(
        optouts.c.tenant_id == tenant_id,
        optouts.c.scope_kind == scope.kind.value,
        optouts.c.scope_id == scope.id,
    )
    result = conn.execution_options(yield_per=batch).execute(query)
    yield from result.scalars().partitions(batch)


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
