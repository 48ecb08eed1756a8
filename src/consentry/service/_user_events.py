"""Console user events as the service writes them: one row of ``console_user_events`` in the
transaction of the change, then (once committed) one structured line on the ``consentry.users``
logger: who (the actor) did what to whom, when. Never a password."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from consentry.domain.model import Tenant
from consentry.store import console_user_events

log = logging.getLogger("consentry.users")


def user_changed(
    conn: sa.Connection,
    tenant: Tenant,
    user_id: str,
    email: str,
    kind: str,
    *,
    actor: str,
    at: datetime,
    **details: Any,
) -> dict[str, Any]:
    """Store the event ``kind`` of a console user in ``conn``'s transaction; return the log
    line's object for :func:`log_user_event` to write once the transaction has committed."""
    console_user_events.record(conn, tenant.id, user_id, kind, actor=actor, at=at, details=details)
    return {
        "event": f"console_user.{kind}",
        "tenant": tenant.slug,
        "actor": actor,
        "user_id": user_id,
        "user": email,
        "at": at.isoformat(),
        **details,
    }


def log_user_event(event: dict[str, Any]) -> None:
    """Log one stored event (``console user {...}``; a sign-in as ``console sign-in {...}``)."""
    text = json.dumps(event, sort_keys=True)
    if event["event"] == "console_user.signed_in":
        log.info("console sign-in %s", text, extra={"sign_in": event})
    else:
        log.info("console user %s", text, extra={"user_event": event})
