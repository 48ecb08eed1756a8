"""Reading consent record files (CSV with a header) for import. Pure: lines in, rows out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from consentry.domain.optout_lists import PHONE_COLUMNS, csv_rows
from consentry.errors import InvalidInput

CONSENT_COLUMNS = (
    "occurred_at",
    "confirmed_at",
    "medium",
    "level",
    "disclosure_text",
    "source_url",
    "keyword",
    "ip_address",
    "user_agent",
    "session_id",
)


def read_consent_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line_number, row)`` for each data row; ``row["recipient"]`` is the phone column.

    The header must name a phone column (as for opt-out lists) and ``occurred_at``; the other
    known columns (:data:`CONSENT_COLUMNS`) are optional and unknown ones are refused, so that a
    misspelt column cannot silently drop evidence.
    """
    reader = csv_rows(lines)
    header = next(reader, None)
    if header is None:
        return
    columns = [name.strip().lower().lstrip("\ufeff") for name in header]
    phone = next((i for i, name in enumerate(columns) if name in PHONE_COLUMNS), None)
    if phone is None:
        raise InvalidInput(
            f"the header has no phone column (found: {', '.join(columns)})", field="file"
        )
    unknown = [name for i, name in enumerate(columns) if i != phone and name not in CONSENT_COLUMNS]
    if unknown:
        raise InvalidInput(
            f"unknown column(s) {', '.join(unknown)}; known: {', '.join(CONSENT_COLUMNS)}",
            field="file",
        )
    if "occurred_at" not in columns:
        raise InvalidInput(
            "the header needs an occurred_at column (the original consent time)", field="file"
        )
    for number, cells in enumerate(reader, start=2):
        if not cells or all(not cell.strip() for cell in cells):
            continue
        row = {"recipient": cells[phone].strip() if phone < len(cells) else ""}
        for i, name in enumerate(columns):
            if i != phone and i < len(cells) and cells[i].strip():
                row[name] = cells[i].strip()
        yield number, row
