"""Reading opt-out list files: one number per line, or a CSV with a phone column.

Pure: it takes lines of text and yields ``(line_number, value)`` pairs; normalising the numbers is
the caller's job, so that it can report every rejected row with its line.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from consentry.errors import InvalidInput

PHONE_COLUMNS = (
    "phone",
    "phone_number",
    "phonenumber",
    "number",
    "recipient",
    "to",
    "mobile",
    "msisdn",
    "e164",
    "cell",
    "telephone",
)


def read_numbers(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, raw_number)`` for every non-blank data row of an opt-out list.

    A first line that names a phone column (``phone``, ``number``, ``recipient``, ``to``, ...,
    any case) makes the file a CSV read by that column; otherwise each line is one number.
    A CSV header without a phone column is an error naming the columns it found.
    """
    iterator = iter(lines)
    first = next(iterator, None)
    if first is None:
        return
    header = next(csv_rows([first]), [])
    columns = [name.strip().lower().lstrip("\ufeff") for name in header]
    phone_index = next((i for i, name in enumerate(columns) if name in PHONE_COLUMNS), None)
    looks_like_header = not any(ch.isdigit() for ch in first)
    if phone_index is None and len(columns) > 1 and looks_like_header:
        raise InvalidInput(
            f"the CSV header has no phone column (found: {', '.join(columns)}); "
            f"name it one of: {', '.join(PHONE_COLUMNS)}",
            field="file",
        )
    if phone_index is None:
        if looks_like_header and first.strip():
            raise InvalidInput(
                f"line 1 is not a phone number or a header: {first.strip()!r}", field="file"
            )
        yield from _plain(first, iterator)
        return
    for offset, row in enumerate(csv_rows(iterator, start=2), start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        value = row[phone_index].strip() if phone_index < len(row) else ""
        yield offset, value


def csv_rows(lines: Iterable[str], start: int = 1) -> Iterator[list[str]]:
    """``csv.reader`` whose errors (a stray carriage return inside a field, ...) are
    :class:`InvalidInput` naming the line (``start``: the file's line number of the first
    line given), not a crash."""
    reader = csv.reader(lines)
    try:
        yield from reader
    except csv.Error as error:
        raise InvalidInput(
            f"line {start + reader.line_num - 1} is not readable as CSV: {error}", field="file"
        ) from error


def _plain(first: str, rest: Iterator[str]) -> Iterator[tuple[int, str]]:
    if first.strip():
        yield 1, first.strip().lstrip("\ufeff")
    for number, line in enumerate(rest, start=2):
        if line.strip():
            yield number, line.strip()
