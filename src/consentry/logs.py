"""Phone numbers masked in logs: a logging filter for the HTTP access log and any other logger.

Request paths name recipients (``/v1/optouts/%2B12065550100``, ``/v1/recipients/+1 206 ...``);
the access log would otherwise keep every number a client looked up. :class:`MaskNumbers`
rewrites each log record's message and arguments so that every run of seven or more digits
(with the separators people write: spaces, dashes, brackets; URL-escaped or not) keeps only
its last four digits: ``+12065550100`` -> ``+1******0100``. :func:`redacted_url` hides the
password of a database URL printed at start-up.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import unquote

# Not inside an identifier (snt_0123...), not an ISO date; dots are left out so that IP
# addresses stay readable.
_NUMBER = re.compile(r"(?<![\w+])(?!\d{4}-\d\d-\d\d)\+?\d(?:[\s()\-]*\d){6,}")
_ESCAPED = re.compile(r"%[0-9A-Fa-f]{2}")

ACCESS_LOGGERS = ("uvicorn.access", "uvicorn.error")
"""Loggers :func:`install` filters."""


def mask_numbers(text: str) -> str:
    """``text`` with every phone-number-like run of digits masked but for its last four digits
    (and a leading ``+`` and country digit). URL escapes are decoded first."""
    if "%" in text and _ESCAPED.search(text):
        text = unquote(text)
    return _NUMBER.sub(_mask, text)


def _mask(match: re.Match[str]) -> str:
    number = match.group()
    digits = sum(character.isdigit() for character in number)
    keep_head = 1 if number.startswith("+") else 0
    seen = 0
    out: list[str] = []
    for character in number:
        if character.isdigit():
            seen += 1
            if seen > keep_head and seen <= digits - 4:
                character = "*"
        out.append(character)
    return "".join(out)


class MaskNumbers(logging.Filter):
    """A filter that masks phone numbers in a record's message and string arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_numbers(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked_arg(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _masked_arg(value) for key, value in record.args.items()}
        return True


def _masked_arg(value: Any) -> Any:
    return mask_numbers(value) if isinstance(value, str) else value


_FILTER = MaskNumbers()


def install(names: tuple[str, ...] = ACCESS_LOGGERS) -> None:
    """Mask numbers in what the named loggers write (idempotent). Filters sit on the loggers
    themselves, so they survive uvicorn's logging set-up, which replaces handlers."""
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def redacted_url(url: str) -> str:
    """A database URL fit for a log: the password replaced by ``***``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unreadable database URL>"
