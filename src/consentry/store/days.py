"""Grouping timestamps by UTC day in SQL, on SQLite and PostgreSQL alike (dashboard counts)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa


def utc_day(conn: sa.Connection, column: Any) -> Any:
    """A SQL expression for the UTC calendar day of a :class:`~consentry.store.tables.UTCDateTime`
    column; read its values back with :func:`as_date`."""
    if conn.dialect.name == "postgresql":
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.func.date(column)  # SQLite keeps UTC timestamps as ISO text


def as_date(value: Any) -> date:
    """A day as :func:`utc_day` returns it (a date on PostgreSQL, ISO text on SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def daily_counts(
    conn: sa.Connection, moment: Any, series: Any, *where: Any
) -> list[tuple[date, Any, int]]:
    """``(day, series value, rows)`` of the rows matching ``where``, grouped by the UTC day of
    the timestamp column ``moment`` and by the column ``series``, in that order."""
    day = utc_day(conn, moment)
    rows = conn.execute(
        sa.select(day, series, sa.func.count())
        .where(*where)
        .group_by(day, series)
        .order_by(day, series)
    )
    return [(as_date(value), key, int(count)) for value, key, count in rows]
