"""A console user's events as their page shows them: when, what happened in words, who did it
(``console:<e-mail>``, ``cli``) and the details (the old and new role, the sign-in's address)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from consentry.service._users import ConsoleUser
from consentry.store.console_user_events import ConsoleUserEvent
from consentry.web.admin.session import Console

WHAT = {
    "created": "created",
    "role_changed": "role changed",
    "disabled": "disabled",
    "enabled": "enabled",
    "password_reset": "password set by an admin",
    "password_changed": "changed their password",
    "signed_in": "signed in",
}


@dataclass(frozen=True, slots=True)
class EventRow:
    """One event, ready for the page."""

    at: str
    kind: str
    what: str
    actor: str
    details: str


def details_in_words(kind: str, details: Mapping[str, Any]) -> str:
    """The event's details as a short phrase (``agent → admin``, ``role auditor``)."""
    if kind == "role_changed" and {"old", "new"} <= details.keys():
        return f"{details['old']} → {details['new']}"
    if kind == "created" and "role" in details:
        return f"role {details['role']}"
    if kind == "signed_in" and details.get("ip_address"):
        return f"from {details['ip_address']}"
    return ", ".join(f"{name}: {value}" for name, value in sorted(details.items()))


def event_row(event: ConsoleUserEvent) -> EventRow:
    """``event`` in words."""
    return EventRow(
        at=event.at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        kind=event.kind,
        what=WHAT.get(event.kind, event.kind),
        actor=event.actor,
        details=details_in_words(event.kind, event.details),
    )


def events_of(console: Console, user: ConsoleUser) -> list[EventRow]:
    """The latest events of one user of the console's tenant, newest first."""
    return [event_row(event) for event in console.service.user_events(console.tenant, user.id)]
