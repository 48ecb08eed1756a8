"""Opt-out lists in the messaging providers' own formats, to move a list between consentry and a
provider (pure: opt-outs in, text out; text in, ``(line, number)`` rows out).

Providers have no scopes: a number appears once, with the earliest time it was opted out in any
scope of the tenant. Reading yields raw numbers only; normalising them (and reporting each bad
one with its line) is the caller's import, so a provider file is imported all or nothing exactly
like a plain list. The times in a file are checked but not kept: an import is recorded at the
time it happens.

``twilio``
    CSV, header ``phone_number,opted_out_at``: an E.164 number and an ISO 8601 time per row.
    Modelled on the opt-out list export of Twilio Messaging Services (not a byte-exact copy of
    Twilio's columns). Reading needs a ``phone_number`` column; other columns are ignored and
    ``opted_out_at``, when present and not empty, must be an ISO 8601 time. Lines are the file's.

``aws``
    JSON ``{"OptedOutNumbers": [{"OptedOutNumber": "+1...", "OptedOutTimestamp": "..."}],
    "NextToken": null}``: the shape of an AWS End User Messaging SMS ``DescribeOptedOutNumbers``
    response (pinpoint-sms-voice-v2), with ISO 8601 timestamps as the AWS CLI prints them.
    Reading also accepts epoch seconds (the raw API's form) and ignores ``NextToken`` (one page
    is imported as given). The "line" of a row is its 1-based position in ``OptedOutNumbers``.

``azure``
    JSON ``{"value": [{"to": "+1...", "from": "<sender>", "isOptedOut": true}]}``: the shape of
    a check response of Azure Communication Services' Opt-Out Management API. ``from`` is the
    sender of the number's earliest sender-scoped opt-out, or ``null`` when it is opted out only
    in a wider scope (tenant, brand, program), which Azure's per-sender list cannot express.
    Reading skips entries with ``isOptedOut: false`` and ignores ``from`` (the import's own
    sender or scope decides where the numbers go). The "line" of a row is its 1-based position in
    ``value``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from consentry.domain.model import OptOut, ScopeKind
from consentry.errors import InvalidInput


class ListFormat(StrEnum):
    """The format of an opt-out list file (``consentry`` is consentry's own CSV)."""

    CONSENTRY = "consentry"
    TWILIO = "twilio"
    AWS = "aws"
    AZURE = "azure"


MEDIA_TYPES = {
    ListFormat.CONSENTRY: "text/csv",
    ListFormat.TWILIO: "text/csv",
    ListFormat.AWS: "application/json",
    ListFormat.AZURE: "application/json",
}
TWILIO_COLUMNS = ("phone_number", "opted_out_at")


@dataclass(frozen=True, slots=True)
class ListedNumber:
    """One number of a provider list: when it was first opted out, and the sender if any."""

    number: str
    opted_out_at: datetime
    sender: str | None = None


def merge(optouts: Iterable[OptOut]) -> list[ListedNumber]:
    """One entry per number (first-seen order): its earliest opt-out time in any scope and the
    sender of its earliest sender-scoped opt-out."""
    earliest: dict[str, datetime] = {}
    senders: dict[str, tuple[datetime, str]] = {}
    for optout in optouts:
        number = optout.recipient
        if number not in earliest or optout.created_at < earliest[number]:
            earliest[number] = optout.created_at
        if optout.scope.kind is ScopeKind.SENDER and (
            number not in senders or optout.created_at < senders[number][0]
        ):
            senders[number] = (optout.created_at, optout.scope.id)
    return [
        ListedNumber(number, at, senders[number][1] if number in senders else None)
        for number, at in earliest.items()
    ]


def write(fmt: ListFormat, numbers: Iterable[ListedNumber]) -> Iterator[str]:
    """The text of a provider list, in chunks."""
    if fmt is ListFormat.TWILIO:
        return write_twilio(numbers)
    if fmt is ListFormat.AWS:
        return iter([write_aws(numbers)])
    if fmt is ListFormat.AZURE:
        return iter([write_azure(numbers)])
    raise InvalidInput(f"{fmt.value} is not a provider format", field="format")


def write_twilio(numbers: Iterable[ListedNumber]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TWILIO_COLUMNS)
    for count, item in enumerate(numbers, start=1):
        writer.writerow([item.number, _iso(item.opted_out_at)])
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_aws(numbers: Iterable[ListedNumber]) -> str:
    entries = [
        {"OptedOutNumber": item.number, "OptedOutTimestamp": _iso(item.opted_out_at)}
        for item in numbers
    ]
    return json.dumps({"OptedOutNumbers": entries, "NextToken": None}, indent=2) + "\n"


def write_azure(numbers: Iterable[ListedNumber]) -> str:
    entries = [{"to": item.number, "from": item.sender, "isOptedOut": True} for item in numbers]
    return json.dumps({"value": entries}, indent=2) + "\n"


def read(fmt: ListFormat, text: str) -> list[tuple[int, str]]:
    """The ``(line, raw_number)`` rows of a provider list; InvalidInput naming the line or field
    when the file is malformed."""
    if fmt is ListFormat.TWILIO:
        return read_twilio(text)
    if fmt is ListFormat.AWS:
        return read_aws(text)
    if fmt is ListFormat.AZURE:
        return read_azure(text)
    raise InvalidInput(f"{fmt.value} is not a provider format", field="format")


def read_twilio(text: str) -> list[tuple[int, str]]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    columns = [name.strip().lower() for name in header or []]
    if "phone_number" not in columns:
        found = ", ".join(columns) if any(columns) else "nothing"
        raise InvalidInput(
            f"a Twilio list needs a phone_number column in its header (found: {found})",
            field="file",
        )
    phone = columns.index("phone_number")
    when = columns.index("opted_out_at") if "opted_out_at" in columns else None
    rows: list[tuple[int, str]] = []
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue
        line = reader.line_num
        if when is not None and when < len(row) and row[when].strip():
            _check_time(row[when].strip(), f"line {line}: opted_out_at", "opted_out_at")
        rows.append((line, row[phone].strip() if phone < len(row) else ""))
    return rows


def read_aws(text: str) -> list[tuple[int, str]]:
    entries = _entries(_json(text), "OptedOutNumbers")
    rows: list[tuple[int, str]] = []
    for index, entry in enumerate(entries):
        where = f"OptedOutNumbers[{index}]"
        number = _string(entry, "OptedOutNumber", where)
        stamp = entry.get("OptedOutTimestamp")
        if isinstance(stamp, str):
            _check_time(stamp, f"{where}.OptedOutTimestamp", f"{where}.OptedOutTimestamp")
        elif stamp is not None and (isinstance(stamp, bool) or not isinstance(stamp, int | float)):
            raise InvalidInput(
                f"{where}.OptedOutTimestamp must be an ISO 8601 time or epoch seconds",
                field=f"{where}.OptedOutTimestamp",
            )
        rows.append((index + 1, number))
    return rows


def read_azure(text: str) -> list[tuple[int, str]]:
    entries = _entries(_json(text), "value")
    rows: list[tuple[int, str]] = []
    for index, entry in enumerate(entries):
        where = f"value[{index}]"
        number = _string(entry, "to", where)
        opted_out = entry.get("isOptedOut", True)
        if not isinstance(opted_out, bool):
            raise InvalidInput(
                f"{where}.isOptedOut must be true or false", field=f"{where}.isOptedOut"
            )
        if opted_out:
            rows.append((index + 1, number))
    return rows


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def _check_time(value: str, what: str, field: str) -> None:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what} is not an ISO 8601 time: {value[:64]!r}", field=field) from None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"the file is not JSON: {error.msg} at line {error.lineno} column {error.colno}",
            field="file",
        ) from None


def _entries(document: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(document, dict) or not isinstance(document.get(key), list):
        raise InvalidInput(f'the file must be a JSON object with a "{key}" list', field=key)
    entries: list[dict[str, Any]] = []
    for index, entry in enumerate(document[key]):
        if not isinstance(entry, dict):
            raise InvalidInput(f"{key}[{index}] must be an object", field=f"{key}[{index}]")
        entries.append(entry)
    return entries


def _string(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        raise InvalidInput(f"{where}.{key} must be a phone number string", field=f"{where}.{key}")
    return value
