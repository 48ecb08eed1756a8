"""What consentry needs to speak each messaging provider's protocol (no SDK required)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from consentry.errors import InvalidInput


def zoned_time(text: str, field: str) -> datetime:
    """An ISO 8601 time with its zone, as the providers' payloads carry them, or
    :class:`InvalidInput` naming ``field``."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise InvalidInput(
            f"{field} must be an ISO 8601 time with a time zone; got {text!r}", field=field
        )
    return value


def payload_text(obj: dict[str, Any], name: str, at: str) -> str:
    """The text field ``name`` of a provider payload object found at ``at`` (e.g.
    ``"0.data"``), or :class:`InvalidInput` naming ``at.name`` as missing or not text."""
    value = obj.get(name)
    where = f"{at}.{name}"
    if not isinstance(value, str):
        state = "missing" if value is None else "not text"
        raise InvalidInput(f"{where} is {state}", field=where)
    return value
