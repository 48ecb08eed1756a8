"""Reads and writes of the registry change history: one row per setting an edit of a program,
brand or sender changed (old and new value as JSON), with who made it and when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from consentry.identifiers import new_id
from consentry.store.tables import brands, programs, registry_changes, senders

ENTITY_KINDS = ("program", "brand", "sender")
MAX_LISTED = 500


@dataclass(frozen=True, slots=True)
class RegistryChange:
    """One changed setting of a program, brand or sender."""

    id: str
    entity_kind: str
    entity_id: str
    field: str
    old: Any
    new: Any
    actor: str
    changed_at: datetime


def changed_fields(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[tuple[str, Any, Any]]:
    """``(field, old, new)`` for each field of ``after`` whose value differs from ``before``'s,
    in ``after``'s order."""
    return [
        (name, before.get(name), value)
        for name, value in after.items()
        if before.get(name) != value
    ]


def lock_entity(conn: sa.Connection, tenant_id: str, entity_kind: str, ref: str) -> None:
    """Hold the row of the program, brand or sender ``ref`` (id, slug or address) until the
    transaction ends, so that concurrent edits of it take turns and each records the old value
    the previous one stored (PostgreSQL; SQLite runs one writer at a time anyway)."""
    table, key, alternate = {
        "program": (programs, programs.c.program_id, programs.c.slug),
        "brand": (brands, brands.c.brand_id, brands.c.slug),
        "sender": (senders, senders.c.sender_id, senders.c.address),
    }[entity_kind]
    conn.execute(
        sa.select(key)
        .where(table.c.tenant_id == tenant_id, sa.or_(key == ref, alternate == ref))
        .with_for_update()
    )


def record(
    conn: sa.Connection,
    tenant_id: str,
    entity_kind: str,
    entity_id: str,
    changes: list[tuple[str, Any, Any]],
    *,
    actor: str,
    at: datetime,
) -> None:
    """Store one row per ``(field, old, new)`` change (nothing for an empty list)."""
    if entity_kind not in ENTITY_KINDS:
        raise ValueError(f"unknown registry entity kind {entity_kind!r}")
    if not changes:
        return
    conn.execute(
        sa.insert(registry_changes),
        [
            {
                "tenant_id": tenant_id,
                "change_id": new_id("rch"),
                "entity_kind": entity_kind,
                "entity_id": entity_id,
                "field": name,
                "old_value": old,
                "new_value": new,
                "actor": actor,
                "changed_at": at,
            }
            for name, old, new in changes
        ],
    )


def list_changes(
    conn: sa.Connection,
    tenant_id: str,
    *,
    entity_kind: str | None = None,
    entity_id: str | None = None,
    limit: int = 100,
) -> list[RegistryChange]:
    """The tenant's recorded changes, newest first (of one entity when given)."""
    query = sa.select(registry_changes).where(registry_changes.c.tenant_id == tenant_id)
    if entity_kind is not None:
        query = query.where(registry_changes.c.entity_kind == entity_kind)
    if entity_id is not None:
        query = query.where(registry_changes.c.entity_id == entity_id)
    query = query.order_by(
        registry_changes.c.changed_at.desc(),
        registry_changes.c.entity_id,
        registry_changes.c.field,
        registry_changes.c.change_id,
    ).limit(max(1, min(limit, MAX_LISTED)))
    return [
        RegistryChange(
            id=row.change_id,
            entity_kind=row.entity_kind,
            entity_id=row.entity_id,
            field=row.field,
            old=row.old_value,
            new=row.new_value,
            actor=row.actor,
            changed_at=row.changed_at,
        )
        for row in conn.execute(query)
    ]
