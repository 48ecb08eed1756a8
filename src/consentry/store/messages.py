"""Reads and writes of inbound replies and the outbox of replies waiting for delivery."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from consentry.identifiers import new_id
from consentry.store.tables import inbound, outbox


def insert_inbound(conn: sa.Connection, row: dict[str, Any]) -> None:
    conn.execute(sa.insert(inbound).values(**row))


def queue_reply(
    conn: sa.Connection,
    tenant_id: str,
    *,
    recipient: str,
    sender_address: str,
    body: str,
    purpose: str,
    created_at: datetime,
    inbound_id: str | None = None,
    program_id: str | None,
) -> str:
    """Queue one message for delivery from ``sender_address`` to ``recipient``; return its id.

    ``program_id`` is the program the message speaks for (the send gate checks it in that
    program); None when no single program is known. Required, so that every caller decides.
    """
    outbox_id = new_id("out")
    conn.execute(
        sa.insert(outbox).values(
            tenant_id=tenant_id,
            outbox_id=outbox_id,
            recipient=recipient,
            sender_address=sender_address,
            body=body,
            purpose=purpose,
            inbound_id=inbound_id,
            program_id=program_id,
            status="queued",
            created_at=created_at,
        )
    )
    return outbox_id


def list_inbound(
    conn: sa.Connection, tenant_id: str, *, needs_review: bool | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    query = sa.select(inbound).where(inbound.c.tenant_id == tenant_id)
    if needs_review is not None:
        query = query.where(inbound.c.needs_review == needs_review)
    query = query.order_by(inbound.c.received_at.desc(), inbound.c.inbound_id).limit(limit)
    return [dict(row) for row in conn.execute(query).mappings()]


def list_outbox(
    conn: sa.Connection, tenant_id: str, *, recipient: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    query = sa.select(outbox).where(outbox.c.tenant_id == tenant_id)
    if recipient is not None:
        query = query.where(outbox.c.recipient == recipient)
    query = query.order_by(outbox.c.created_at.desc(), outbox.c.outbox_id).limit(limit)
    return [dict(row) for row in conn.execute(query).mappings()]


def find_inbound_by_provider_id(
    conn: sa.Connection, tenant_id: str, provider_message_id: str
) -> dict[str, Any] | None:
    """The inbound reply a provider already delivered under ``provider_message_id``."""
    row = (
        conn.execute(
            sa.select(inbound).where(
                inbound.c.tenant_id == tenant_id,
                inbound.c.provider_message_id == provider_message_id,
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def reply_to(conn: sa.Connection, tenant_id: str, inbound_id: str) -> dict[str, Any] | None:
    """The reply queued for an inbound message, if any."""
    row = (
        conn.execute(
            sa.select(outbox).where(
                outbox.c.tenant_id == tenant_id, outbox.c.inbound_id == inbound_id
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def mark_sent(
    conn: sa.Connection, tenant_id: str, outbox_id: str, status: str, at: datetime
) -> bool:
    """Mark a queued message as handed over at ``at`` (``status``: e.g. ``sent_twiml``)."""
    result = conn.execute(
        sa.update(outbox)
        .where(
            outbox.c.tenant_id == tenant_id,
            outbox.c.outbox_id == outbox_id,
            outbox.c.status == "queued",
        )
        .values(status=status, sent_at=at)
    )
    return bool(result.rowcount)


def claim_due(
    conn: sa.Connection, now: datetime, *, tenant_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Take up to ``limit`` queued messages that are due, marking them ``sending``.

    On PostgreSQL the rows are locked with SKIP LOCKED, so concurrent workers never take the same
    message; SQLite runs one writer at a time anyway.
    """
    query = (
        sa.select(outbox)
        .where(
            outbox.c.status == "queued",
            sa.or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now),
        )
        .order_by(outbox.c.created_at, outbox.c.outbox_id)
        .limit(limit)
    )
    if tenant_id is not None:
        query = query.where(outbox.c.tenant_id == tenant_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = [dict(row) for row in conn.execute(query).mappings()]
    for row in rows:
        conn.execute(
            sa.update(outbox)
            .where(outbox.c.tenant_id == row["tenant_id"], outbox.c.outbox_id == row["outbox_id"])
            .values(status="sending", attempts=outbox.c.attempts + 1, next_attempt_at=now)
        )
        row["attempts"] += 1
    return rows


def finish(conn: sa.Connection, tenant_id: str, outbox_id: str, **values: Any) -> None:
    """Record the outcome of one delivery attempt (status, transport, ids, error, next try)."""
    conn.execute(
        sa.update(outbox)
        .where(outbox.c.tenant_id == tenant_id, outbox.c.outbox_id == outbox_id)
        .values(**values)
    )


def stale_sending(conn: sa.Connection, before: datetime) -> int:
    """Messages left ``sending`` by a worker that stopped mid-way: marked ``unknown`` for review
    (never sent again automatically: a double send is worse than a late one)."""
    result = conn.execute(
        sa.update(outbox)
        .where(outbox.c.status == "sending", outbox.c.next_attempt_at < before)
        .values(status="unknown", last_error="worker stopped while sending")
    )
    return int(result.rowcount or 0)


def delivery_report(
    conn: sa.Connection, tenant_id: str, provider_message_id: str, status: str, error: str | None
) -> dict[str, Any] | None:
    """Store the provider's delivery report on the message it concerns; return that message."""
    row = (
        conn.execute(
            sa.select(outbox).where(
                outbox.c.tenant_id == tenant_id,
                outbox.c.provider_message_id == provider_message_id,
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    conn.execute(
        sa.update(outbox)
        .where(outbox.c.tenant_id == tenant_id, outbox.c.outbox_id == row["outbox_id"])
        .values(delivery_status=status[:16], last_error=error)
    )
    return dict(row)


def confirmations(conn: sa.Connection, tenant_id: str, since: datetime) -> list[dict[str, Any]]:
    """Opt-out confirmations queued since ``since``, with the reply they answer."""
    query = (
        sa.select(
            outbox.c.outbox_id,
            outbox.c.recipient,
            outbox.c.sender_address,
            outbox.c.status,
            outbox.c.created_at,
            outbox.c.sent_at,
            inbound.c.inbound_id,
            inbound.c.received_at,
            inbound.c.recorded_at,
        )
        .join(
            inbound,
            (inbound.c.tenant_id == outbox.c.tenant_id)
            & (inbound.c.inbound_id == outbox.c.inbound_id),
        )
        .where(
            outbox.c.tenant_id == tenant_id,
            outbox.c.purpose == "opt_out_confirmation",
            outbox.c.created_at >= since,
        )
        .order_by(outbox.c.created_at)
    )
    return [dict(row) for row in conn.execute(query).mappings()]
