"""Reads and writes of the console user events: one row per change of a console user (created,
role changed, disabled, enabled, password reset or changed) and per successful sign-in, with who
did it (the actor), when, and details as JSON (e.g. the old and new role; never a password)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from consentry.identifiers import new_id
from consentry.store.tables import console_user_events

EVENT_KINDS = (
    "created",
    "role_changed",
    "disabled",
    "enabled",
    "password_reset",
    "password_changed",
    "signed_in",
)
MAX_LISTED = 500
_SECRET_WORDS = ("password", "token", "hash")  # never stored in details


@dataclass(frozen=True, slots=True)
class ConsoleUserEvent:
    """One change of a console user, or one successful sign-in."""

    id: str
    user_id: str
    kind: str
    actor: str
    at: datetime
    details: Mapping[str, Any] = field(default_factory=dict)


def record(
    conn: sa.Connection,
    tenant_id: str,
    user_id: str,
    kind: str,
    *,
    actor: str,
    at: datetime,
    details: Mapping[str, Any] | None = None,
) -> ConsoleUserEvent:
    """Store one event of the user ``user_id`` (inside the caller's transaction)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown console user event kind {kind!r}")
    kept = dict(details or {})
    secret = [name for name in kept if any(word in name.lower() for word in _SECRET_WORDS)]
    if secret:
        raise ValueError(f"console user events never keep secrets: {secret[0]!r}")
    event = ConsoleUserEvent(new_id("cue"), user_id, kind, actor[:300], at, kept)
    conn.execute(
        sa.insert(console_user_events).values(
            tenant_id=tenant_id,
            event_id=event.id,
            user_id=user_id,
            kind=kind,
            actor=event.actor,
            details=kept,
            at=at,
        )
    )
    return event


def list_events(
    conn: sa.Connection, tenant_id: str, *, user_id: str | None = None, limit: int = 100
) -> list[ConsoleUserEvent]:
    """The tenant's console user events, newest first (of one user when given)."""
    query = sa.select(console_user_events).where(console_user_events.c.tenant_id == tenant_id)
    if user_id is not None:
        query = query.where(console_user_events.c.user_id == user_id)
    query = query.order_by(
        console_user_events.c.at.desc(), console_user_events.c.event_id.desc()
    ).limit(max(1, min(limit, MAX_LISTED)))
    return [
        ConsoleUserEvent(
            id=row.event_id,
            user_id=row.user_id,
            kind=row.kind,
            actor=row.actor,
            at=row.at,
            details=dict(row.details or {}),
        )
        for row in conn.execute(query)
    ]
