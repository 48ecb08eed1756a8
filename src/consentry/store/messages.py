"""Reads and writes of inbound replies and the outbox of replies waiting for delivery."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from consentry.store.tables import inbound, outbox


def insert_inbound(conn: sa.Connection, row: dict[str, Any]) -> None:
    conn.execute(sa.insert(inbound).values(**row))


def insert_outbox(conn: sa.Connection, row: dict[str, Any]) -> None:
    conn.execute(sa.insert(outbox).values(**row))


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
