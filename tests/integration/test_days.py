"""``store.days.utc_day`` groups timestamps by their UTC calendar day on both databases, whatever
offset they were written with (dashboard and decisions-per-rule counts rely on it)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from consentry.store.days import as_date, utc_day
from consentry.store.engine import create_store_engine
from consentry.store.tables import UTCDateTime

NEW_YORK = timezone(timedelta(hours=-5))
TOKYO = timezone(timedelta(hours=9))

CASES = [
    (datetime(2026, 11, 23, 23, 59, 59, 999999, tzinfo=UTC), date(2026, 11, 23)),
    (datetime(2026, 11, 24, 0, 0, tzinfo=UTC), date(2026, 11, 24)),
    (datetime(2026, 11, 23, 20, 0, tzinfo=NEW_YORK), date(2026, 11, 24)),  # 01:00 UTC
    (datetime(2026, 11, 24, 8, 0, tzinfo=TOKYO), date(2026, 11, 23)),  # 23:00 UTC
    (datetime(2024, 2, 29, 12, 0, tzinfo=UTC), date(2024, 2, 29)),
]


@pytest.fixture
def stamps() -> sa.Table:
    table = sa.Table(
        "utc_day_stamps",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    return table


def test_utc_day_groups_by_the_utc_calendar_day(database_url: str, stamps: sa.Table) -> None:
    engine = create_store_engine(database_url)
    stamps.create(engine, checkfirst=True)
    try:
        with engine.begin() as conn:
            conn.execute(sa.delete(stamps))
            conn.execute(
                sa.insert(stamps), [{"id": i, "at": at} for i, (at, _) in enumerate(CASES)]
            )
        with engine.connect() as conn:
            day = utc_day(conn, stamps.c.at)
            by_id = dict(conn.execute(sa.select(stamps.c.id, day)).all())
            counts = dict(conn.execute(sa.select(day, sa.func.count()).group_by(day)).all())
        assert {i: as_date(value) for i, value in by_id.items()} == {
            i: expected for i, (_, expected) in enumerate(CASES)
        }
        assert {as_date(value): n for value, n in counts.items()} == {
            date(2026, 11, 23): 2,
            date(2026, 11, 24): 2,
            date(2024, 2, 29): 1,
        }
    finally:
        stamps.drop(engine)
        engine.dispose()
