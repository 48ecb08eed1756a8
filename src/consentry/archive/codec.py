"""Portable values: how one stored column value is written to and read from an archive.

Each row is one JSON object. Timestamps become ISO 8601 text in UTC with microseconds, JSON
columns stay JSON, bytes become base64 text, decimals become text, intervals become seconds; text,
numbers, booleans and null are written as they are. Reading goes by the target column's type, so
the same archive loads into SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

Decoder = Callable[[Any], Any]


def storage_type(column: sa.Column[Any]) -> sa.types.TypeEngine[Any]:
    """The column's underlying SQL type (a decorated type's ``impl``; a dialect variant's base)."""
    kind: sa.types.TypeEngine[Any] = column.type
    while isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl_instance
    return kind


Encoder = Callable[[Any], Any]


def encode_value(column: sa.Column[Any], value: Any) -> Any:
    """A stored value as its portable JSON form."""
    return encoder_for(column)(value)


def encoder_for(column: sa.Column[Any]) -> Encoder:
    """A function that turns a value ``column`` stores into its portable JSON form."""
    kind = storage_type(column)
    if isinstance(kind, sa.JSON):
        return _same
    if isinstance(kind, sa.DateTime):
        return _nullable(_timestamp)
    if isinstance(kind, sa.Date | sa.Time):
        return _nullable(lambda value: value.isoformat())
    if isinstance(kind, sa.LargeBinary):
        return _nullable(lambda value: base64.b64encode(bytes(value)).decode("ascii"))
    if isinstance(kind, sa.Interval):
        return _nullable(lambda value: value.total_seconds())
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        return _nullable(str)
    return _same


def _timestamp(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def decoder_for(column: sa.Column[Any]) -> Decoder:
    """A function that turns the portable form back into the value ``column`` stores."""
    kind = storage_type(column)
    if isinstance(kind, sa.JSON):
        return _same
    if isinstance(kind, sa.DateTime):
        return _nullable(datetime.fromisoformat)
    if isinstance(kind, sa.Date):
        return _nullable(date.fromisoformat)
    if isinstance(kind, sa.Time):
        return _nullable(time.fromisoformat)
    if isinstance(kind, sa.LargeBinary):
        return _nullable(base64.b64decode)
    if isinstance(kind, sa.Interval):
        return _nullable(lambda seconds: timedelta(seconds=seconds))
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        return _nullable(Decimal)
    return _same


class RowEncoder:
    """Turns a table's rows into archive lines: compact JSON objects, keys in column order."""

    def __init__(self, columns: Mapping[str, sa.Column[Any]]) -> None:
        self._encoders = [(name, encoder_for(column)) for name, column in columns.items()]

    def line(self, row: Mapping[str, Any]) -> bytes:
        """One row as a newline-ended line of UTF-8 JSON."""
        portable = {name: encode(row[name]) for name, encode in self._encoders}
        text = json.dumps(portable, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode("utf-8") + b"\n"


def encode_row(columns: Mapping[str, sa.Column[Any]], row: Mapping[str, Any]) -> bytes:
    """One row as a line of the archive (see :class:`RowEncoder`, faster for many rows)."""
    return RowEncoder(columns).line(row)


def _same(value: Any) -> Any:
    return value


def _nullable(convert: Callable[[Any], Any]) -> Decoder:
    def decode(value: Any) -> Any:
        return None if value is None else convert(value)

    return decode
