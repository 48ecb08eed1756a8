"""Recorded sends, the tenant epochs, and the version stamp the send gate's caches compare.

A cache of a tenant's gate state is current when its :class:`Versions` equal the store's: the
ledger head (every opt-out and consent change), the tenant epoch (registry changes and purges),
the last send number and the latest inbound reply. Reading them is one small query; the caches
then load only what changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from consentry.domain.history import SendRecord
from consentry.store.tables import (
    consent_events,
    inbound,
    latest_time,
    ledger_heads,
    sends,
    tenant_epochs,
)


@dataclass(frozen=True, slots=True)
class Versions:
    """Where a tenant's gate state stands in the store."""

    ledger_seq: int
    epoch: int
    send_seq: int
    inbound_at: datetime | None


def versions(conn: sa.Connection, tenant_id: str) -> Versions:
    """The tenant's current :class:`Versions` (one round trip)."""
    row = conn.execute(_versions_query(), {"tenant": tenant_id}).one()
    return Versions(
        ledger_seq=int(row.ledger_seq or 0),
        epoch=int(row.epoch or 0),
        send_seq=int(row.send_seq or 0),
        inbound_at=row.inbound_at,
    )


@cache
def _versions_query() -> sa.Select[Any]:
    # Built once: constructing the statement costs more than running it.
    tenant = sa.bindparam("tenant", type_=sa.String())
    return sa.select(
        sa.select(ledger_heads.c.seq)
        .where(ledger_heads.c.tenant_id == tenant)
        .scalar_subquery()
        .label("ledger_seq"),
        sa.select(tenant_epochs.c.epoch)
        .where(tenant_epochs.c.tenant_id == tenant)
        .scalar_subquery()
        .label("epoch"),
        sa.select(tenant_epochs.c.send_seq)
        .where(tenant_epochs.c.tenant_id == tenant)
        .scalar_subquery()
        .label("send_seq"),
        sa.select(latest_time(inbound.c.recorded_at))
        .where(inbound.c.tenant_id == tenant)
        .scalar_subquery()
        .label("inbound_at"),
    )


def _ensure_epoch_row(conn: sa.Connection, tenant_id: str) -> None:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        insert(tenant_epochs)
        .values(tenant_id=tenant_id, epoch=0, send_seq=0)
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )


def bump_epoch(conn: sa.Connection, tenant_id: str) -> None:
    """Mark the tenant's registry (or purged records) changed: gate caches reload it."""
    _ensure_epoch_row(conn, tenant_id)
    conn.execute(
        sa.update(tenant_epochs)
        .where(tenant_epochs.c.tenant_id == tenant_id)
        .values(epoch=tenant_epochs.c.epoch + 1)
    )


def insert(
    conn: sa.Connection,
    tenant_id: str,
    records: Sequence[tuple[str, SendRecord]],
    recorded_at: datetime,
) -> int:
    """Store ``(send_id, record)`` pairs; return the tenant's last send number.

    The numbers are taken under the tenant's epoch row lock, so they commit in order.
    """
    _ensure_epoch_row(conn, tenant_id)
    last = conn.execute(
        sa.update(tenant_epochs)
        .where(tenant_epochs.c.tenant_id == tenant_id)
        .values(send_seq=tenant_epochs.c.send_seq + len(records))
        .returning(tenant_epochs.c.send_seq)
    ).scalar_one()
    first = int(last) - len(records) + 1
    if records:
        conn.execute(
            sa.insert(sends),
            [
                {
                    "tenant_id": tenant_id,
                    "send_seq": first + offset,
                    "send_id": send_id,
                    "program_id": record.program_id,
                    "sender_address": record.sender,
                    "recipient": record.recipient,
                    "category": record.category,
                    "fingerprint": record.fingerprint[:64],
                    "opt_out_instructions": record.opt_out_instructions,
                    "sent_at": record.sent_at,
                    "recorded_at": recorded_at,
                }
                for offset, (send_id, record) in enumerate(records)
            ],
        )
    return int(last)


def iterate(
    conn: sa.Connection,
    tenant_id: str,
    *,
    after_seq: int = 0,
    upto_seq: int | None = None,
    since: datetime | None = None,
) -> Iterator[SendRecord]:
    """The tenant's sends numbered after ``after_seq`` up to ``upto_seq`` (and sent at or after
    ``since``), in number order."""
    query = sa.select(sends).where(sends.c.tenant_id == tenant_id, sends.c.send_seq > after_seq)
    if upto_seq is not None:
        query = query.where(sends.c.send_seq <= upto_seq)
    if since is not None:
        query = query.where(sends.c.sent_at >= since)
    for row in conn.execute(query.order_by(sends.c.send_seq)):
        yield SendRecord(
            program_id=row.program_id,
            sender=row.sender_address,
            recipient=row.recipient,
            category=row.category,
            sent_at=row.sent_at,
            fingerprint=row.fingerprint,
            opt_out_instructions=bool(row.opt_out_instructions),
        )


def latest(
    conn: sa.Connection, tenant_id: str, before: datetime
) -> Iterator[tuple[str, str, datetime, bool]]:
    """``(program_id, recipient, at, reminder)``: per program and recipient with sends before
    ``before``, the latest send (``reminder`` False) and the latest that said how to opt out
    (``reminder`` True). The first-message and reminder rules need them however old they are."""
    for reminder in (False, True):
        query = sa.select(
            sends.c.program_id, sends.c.recipient, latest_time(sends.c.sent_at).label("at")
        ).where(sends.c.tenant_id == tenant_id, sends.c.sent_at < before)
        if reminder:
            query = query.where(sends.c.opt_out_instructions.is_(True))
        for row in conn.execute(query.group_by(sends.c.program_id, sends.c.recipient)):
            yield row.program_id, row.recipient, row.at, reminder


def inbound_since(
    conn: sa.Connection,
    tenant_id: str,
    recorded_since: datetime | None,
    *,
    received_since: datetime | None = None,
) -> Iterator[tuple[str, datetime]]:
    """``(recipient, received_at)`` of the replies recorded at or after ``recorded_since`` (and
    received at or after ``received_since``)."""
    query = sa.select(inbound.c.recipient, inbound.c.received_at).where(
        inbound.c.tenant_id == tenant_id
    )
    if recorded_since is not None:
        query = query.where(inbound.c.recorded_at >= recorded_since)
    if received_since is not None:
        query = query.where(inbound.c.received_at >= received_since)
    for row in conn.execute(query):
        yield row.recipient, row.received_at


def recipients_changed(conn: sa.Connection, tenant_id: str, after_seq: int) -> list[str]:
    """Recipients with ledger events numbered after ``after_seq`` (their state may have moved)."""
    query = (
        sa.select(consent_events.c.recipient)
        .where(consent_events.c.tenant_id == tenant_id, consent_events.c.seq > after_seq)
        .distinct()
    )
    return [row.recipient for row in conn.execute(query)]
