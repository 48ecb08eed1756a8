"""One opt-out state change as the index applies it, and the number <-> integer mapping.

An E.164 number (``+`` then at most 15 digits, never a leading zero) is stored in the bitmaps as
the integer of its digits: ``+14155550123`` -> ``14155550123``. The mapping is one to one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from consentry.domain.model import Scope

Op = Literal["add", "remove"]


@dataclass(frozen=True, slots=True)
class Change:
    """One committed opt-out change: ``op`` of ``recipient`` in ``scope`` of a tenant."""

    change_id: int
    tenant_id: str
    recipient: int
    scope: Scope
    op: Op


def number_key(number: str | int) -> int:
    """The bitmap key of an E.164 number (``"+14155550123"`` or ``14155550123``)."""
    if type(number) is str:
        digits = number[1:] if number[:1] == "+" else number
        # isascii first: str.isdigit also accepts other scripts' digits, which int() would read.
        if number.isascii() and digits.isdigit() and len(digits) <= 15 and digits[0] != "0":
            return int(digits)
    elif isinstance(number, int) and 0 < number < 10**15:
        return number
    raise ValueError(f"not an E.164 number: {number!r}")


def key_number(key: int) -> str:
    """The E.164 number of a bitmap key (the inverse of :func:`number_key`)."""
    return f"+{key}"
