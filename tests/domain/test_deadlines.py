"""Ten business days to honour a revocation: weekends and US federal holidays do not count."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.domain.deadlines import business_days, citation, is_business_day, revocation_due


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Monday -> two weeks later, same time, plus one day for Veterans Day (Wed 11 Nov).
        (datetime(2026, 11, 9, 10, 0, tzinfo=UTC), datetime(2026, 11, 24, 10, 0, tzinfo=UTC)),
        # A Monday with no holiday in the next two weeks.
        (datetime(2026, 9, 14, 10, 0, tzinfo=UTC), datetime(2026, 9, 28, 10, 0, tzinfo=UTC)),
        # Friday before Thanksgiving (Thu 26 Nov 2026): one day more.
        (datetime(2026, 11, 20, 16, 0, tzinfo=UTC), datetime(2026, 12, 7, 16, 0, tzinfo=UTC)),
        # Saturday counts from Monday (and Veterans Day is skipped).
        (datetime(2026, 11, 7, 9, 0, tzinfo=UTC), datetime(2026, 11, 23, 9, 0, tzinfo=UTC)),
        (datetime(2026, 9, 12, 9, 0, tzinfo=UTC), datetime(2026, 9, 25, 9, 0, tzinfo=UTC)),
        # Across Christmas and New Year's Day.
        (datetime(2026, 12, 21, 12, 0, tzinfo=UTC), datetime(2027, 1, 6, 12, 0, tzinfo=UTC)),
        # Across Independence Day (Fri 3 Jul 2026, observed) and the weekend.
        (datetime(2026, 6, 29, 8, 0, tzinfo=UTC), datetime(2026, 7, 14, 8, 0, tzinfo=UTC)),
    ],
)
def test_revocation_due(received: datetime, due: datetime) -> None:
    assert revocation_due(received) == due


@pytest.mark.parametrize(
    ("day", "business"),
    [
        (date(2026, 11, 26), False),  # Thanksgiving
        (date(2026, 11, 27), True),  # the Friday after: not a federal holiday
        (date(2026, 11, 28), False),  # Saturday
        (date(2026, 12, 25), False),  # Christmas
        (date(2027, 1, 18), False),  # Martin Luther King Jr. Day
        (date(2027, 1, 19), True),
    ],
)
def test_business_days(day: date, business: bool) -> None:
    assert is_business_day(day) is business


def test_the_rule_is_data_with_its_source() -> None:
    assert business_days() == 10
    assert "64.1200(a)(10)" in citation()


@given(
    st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
    )
)
def test_exactly_ten_business_days_lie_between(received: datetime) -> None:
    due = revocation_due(received)
    assert due.time() == received.time() and is_business_day(due.date())
    days = [received.date() + timedelta(days=n) for n in range(1, (due - received).days + 1)]
    assert sum(is_business_day(day) for day in days) == 10
    assert timedelta(days=12) <= due - received <= timedelta(days=20)
