"""What consentry needs to speak each messaging provider's protocol (no SDK required)."""

from __future__ import annotations

from datetime import datetime

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
