"""Timing: where a number is, when a message may reach it, state limits and frequency caps.

The tables read as examples: a number, a local wall-clock time and a message category, and what
the engine answers (allowed, or deferred until a local time, naming the jurisdiction). The
properties at the end hold for any instant in 2020-2035 in any zone: ``next_allowed`` never goes
back in time and lands on an allowed instant, nothing earlier after ``at`` is allowed, and
``quiet_hours`` defers exactly when ``is_allowed`` says no. A plain wall-clock reference, written
from ``windows()`` and the holiday calendar, agrees with the interval engine.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.domain import timing
from consentry.domain.timing import (
    ONE_TIME_PERIOD,
    FrequencyCap,
    Locality,
    StateLimit,
    Window,
    is_allowed,
    limited_categories,
    locality,
    next_allowed,
    parse_frequency,
    quiet_hours,
    state_limit,
    windows,
)

NEW_YORK = "America/New_York"
CHICAGO = "America/Chicago"
LOS_ANGELES = "America/Los_Angeles"
HONOLULU = "Pacific/Honolulu"
ANCHORAGE_TZ = "America/Anchorage"

MIAMI = "+13055550123"  # Florida, Eastern
OKLAHOMA_CITY = "+14055550123"
MANHATTAN = "+12125550123"
SAN_FRANCISCO = "+14155550123"
HAWAII = "+18085550123"
TOLL_FREE = "+18005550123"
UK = "+447700900123"
PENSACOLA = "+18504325550"  # Florida panhandle exchange on Central time
JACKSON_MS = "+16015550123"
AUSTIN = "+15125550123"
PROVIDENCE = "+14015550123"
BALTIMORE = "+14105550123"
OTTAWA = "+16135550123"
SAN_JUAN = "+17875550123"
GUAM = "+16715550123"
ANCHORAGE = "+19075550123"


def local(zone: str, y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(zone))


def et(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return local(NEW_YORK, y, m, d, hh, mm)


def ct(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return local(CHICAGO, y, m, d, hh, mm)


def pt(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return local(LOS_ANGELES, y, m, d, hh, mm)


def ht(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return local(HONOLULU, y, m, d, hh, mm)


def akt(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return local(ANCHORAGE_TZ, y, m, d, hh, mm)


# --- locality -------------------------------------------------------------------------------------

LOCALITIES = [
    # number, region, state, zones
    (MIAMI, "US", "FL", (NEW_YORK,)),
    (OKLAHOMA_CITY, "US", "OK", (CHICAGO,)),
    (MANHATTAN, "US", "NY", (NEW_YORK,)),
    (SAN_FRANCISCO, "US", "CA", (LOS_ANGELES,)),
    (HAWAII, "US", "HI", (HONOLULU,)),
    (UK, "GB", None, ("Europe/London",)),  # not a valid number: the GB fallback zone
    (PENSACOLA, "US", "FL", (CHICAGO,)),  # zone by exchange, state by area code
    (JACKSON_MS, "US", "MS", (CHICAGO,)),
    (AUSTIN, "US", "TX", (CHICAGO,)),
    (PROVIDENCE, "US", "RI", (NEW_YORK,)),
    (BALTIMORE, "US", "MD", (NEW_YORK,)),
    (OTTAWA, "CA", "ON", ("America/Toronto",)),
    (SAN_JUAN, "PR", None, ("America/Puerto_Rico",)),
    (GUAM, "GU", None, ("Pacific/Guam",)),
]


@pytest.mark.parametrize(("number", "region", "state", "zones"), LOCALITIES)
def test_locality(number: str, region: str, state: str | None, zones: tuple[str, ...]) -> None:
    assert locality(number) == Locality(region, state, zones)


def test_toll_free_has_no_state_and_every_nanp_zone() -> None:
    loc = locality(TOLL_FREE)
    assert (loc.region, loc.state) == ("US", None)
    assert {NEW_YORK, CHICAGO, LOS_ANGELES, HONOLULU, "Pacific/Guam"} <= set(loc.zones)


def test_unknown_zones_fall_back_to_every_us_zone() -> None:
    # Eleven digits: not a NANP number; phonenumbers knows no zone, so the US fallback applies.
    loc = locality("+1305555012")
    assert loc.region == "US" and loc.state is None
    assert loc.zones[0] == NEW_YORK and HONOLULU in loc.zones and len(loc.zones) == 7


@pytest.mark.parametrize("text", ["", "garbage", "+", "12125550123"])
def test_not_a_number(text: str) -> None:
    assert locality(text) == Locality(None, None, ())


def test_locality_is_cached_by_area_code() -> None:
    before = timing._nanp_locality.cache_info().currsize
    found = {
        locality(f"+1212{exchange}{line:04d}")
        for exchange in (555, 736, 999)
        for line in range(300)
    }
    assert found == {locality(MANHATTAN)}
    assert timing._nanp_locality.cache_info().currsize - before <= 1


# --- quiet hours: allowed -------------------------------------------------------------------------

ALLOWED = [
    # number, local time, category, why
    (MANHATTAN, et(2026, 11, 23, 20, 30), "marketing", "the federal window ends at 21:00"),
    (MIAMI, et(2026, 11, 23, 19, 59), "marketing", "Florida's ends at 20:00"),
    (MIAMI, et(2026, 11, 23, 8), "marketing", "the start is inclusive"),
    (SAN_FRANCISCO, pt(2026, 11, 23, 8), "marketing", "8:00 in the recipient's zone"),
    (AUSTIN, ct(2026, 11, 22, 12), "marketing", "Texas Sundays open at noon"),
    (JACKSON_MS, ct(2026, 11, 23, 10), "marketing", "Mississippi on a Monday"),
    (PROVIDENCE, et(2026, 11, 21, 10, 30), "marketing", "Rhode Island: Saturday 10-17"),
    (MANHATTAN, et(2026, 3, 8, 8), "marketing", "spring-forward day, 8:00 EDT"),
    (HAWAII, ht(2026, 7, 4, 20, 59), "marketing", "a holiday, but no Hawaii rule"),
    (MIAMI, et(2026, 11, 23, 23), "transactional", "not a solicitation"),
    (MANHATTAN, et(2026, 11, 23, 3), "informational", "not a solicitation"),
    (JACKSON_MS, ct(2026, 11, 22, 10), "conversational", "Sunday, but a conversation"),
    (UK, local("Europe/London", 2026, 11, 23, 23), "marketing", "no window outside the US"),
    (TOLL_FREE, datetime(2026, 11, 23, 23, tzinfo=UTC), "marketing", "8:00-21:00 in all 42 zones"),
]


@pytest.mark.parametrize(("number", "at", "category", "why"), ALLOWED)
def test_allowed(number: str, at: datetime, category: str, why: str) -> None:
    loc = locality(number)
    assert is_allowed(loc, at, category), why
    assert quiet_hours(loc, at, category) is None
    assert next_allowed(loc, at, category) == at
    assert next_allowed(loc, at, category).tzinfo is UTC


# --- quiet hours: deferred ------------------------------------------------------------------------


DEFERRED = [
    # number, local time, category, next allowed, jurisdiction, reason
    (MIAMI, et(2026, 11, 23, 20, 30), "marketing", et(2026, 11, 24, 8), "US-FL", "hours"),
    (MIAMI, et(2026, 11, 23, 20, 0), "marketing", et(2026, 11, 24, 8), "US-FL", "hours"),
    (MANHATTAN, et(2026, 11, 23, 21, 0), "marketing", et(2026, 11, 24, 8), "US", "hours"),
    (MANHATTAN, et(2026, 11, 23, 7, 59), "marketing", et(2026, 11, 23, 8), "US", "hours"),
    (OKLAHOMA_CITY, ct(2026, 11, 23, 20, 15), "marketing", ct(2026, 11, 24, 8), "US-OK", "hours"),
    (BALTIMORE, et(2026, 11, 23, 20, 15), "marketing", et(2026, 11, 24, 8), "US-MD", "hours"),
    (PENSACOLA, ct(2026, 11, 23, 7, 30), "marketing", ct(2026, 11, 23, 8), "US-FL", "hours"),
    (JACKSON_MS, ct(2026, 11, 22, 10), "marketing", ct(2026, 11, 23, 8), "US-MS", "weekday"),
    (AUSTIN, ct(2026, 11, 22, 10), "marketing", ct(2026, 11, 22, 12), "US-TX", "hours"),
    (AUSTIN, ct(2026, 11, 23, 8, 30), "marketing", ct(2026, 11, 23, 9), "US-TX", "hours"),
    (PROVIDENCE, et(2026, 11, 22, 11), "marketing", et(2026, 11, 23, 9), "US-RI", "weekday"),
    (PROVIDENCE, et(2026, 12, 25, 10), "marketing", et(2026, 12, 26, 10), "US-RI", "holiday"),
    # Independence Day observed (Fri 3 July), the day itself (Sat), Sunday: Monday 9:00.
    (PROVIDENCE, et(2026, 7, 3, 12), "marketing", et(2026, 7, 6, 9), "US-RI", "holiday"),
    # DST: the night before spring-forward defers to 8:00 EDT (12:00 UTC, not 13:00) ...
    (MANHATTAN, et(2026, 3, 7, 22), "marketing", et(2026, 3, 8, 8), "US", "hours"),
    (MANHATTAN, et(2026, 3, 8, 7, 30), "marketing", et(2026, 3, 8, 8), "US", "hours"),
    # ... and the night before fall-back to 8:00 EST (13:00 UTC).
    (MANHATTAN, et(2026, 10, 31, 22), "marketing", et(2026, 11, 1, 8), "US", "hours"),
    (HAWAII, ht(2026, 11, 23, 7), "marketing", ht(2026, 11, 23, 8), "US", "hours"),
    # Area code 907 may be on Adak time (UTC-10): 8:00 there is 9:00 in Anchorage.
    (ANCHORAGE, akt(2026, 11, 23, 21, 5), "marketing", akt(2026, 11, 24, 9), "US", "hours"),
    # A category consentry does not know is read as marketing.
    (MANHATTAN, et(2026, 11, 23, 22), "promo", et(2026, 11, 24, 8), "US", "hours"),
]


@pytest.mark.parametrize(("number", "at", "category", "until", "jurisdiction", "reason"), DEFERRED)
def test_deferred(
    number: str, at: datetime, category: str, until: datetime, jurisdiction: str, reason: str
) -> None:
    loc = locality(number)
    assert not is_allowed(loc, at, category)
    deferral = quiet_hours(loc, at, category)
    assert deferral is not None
    assert deferral.rule_id == "TIME-QUIET-HOURS"
    assert deferral.defer_until == until and deferral.defer_until.tzinfo is UTC
    assert deferral.defer_until == next_allowed(loc, at, category)
    assert is_allowed(loc, deferral.defer_until, category)
    assert deferral.details["jurisdiction"] == jurisdiction
    assert deferral.details["reason"] == reason
    assert deferral.details["zone"] in loc.zones
    assert deferral.details["zone"] in deferral.message
    assert deferral.citation


def test_florida_defers_at_2030_where_new_york_does_not() -> None:
    at = local(NEW_YORK, 2026, 11, 23, 20, 30)
    assert is_allowed(locality(MANHATTAN), at, "marketing")
    deferral = quiet_hours(locality(MIAMI), at, "marketing")
    assert deferral is not None
    assert deferral.message == (
        "20:30 in America/New_York is outside 08:00-20:00 (Florida); next allowed 08:00 on 2026-11-24"
    )
    assert "501.616(6)(a)" in deferral.citation
    assert deferral.details == {
        "zone": "America/New_York",
        "local_time": "2026-11-23T20:30",
        "weekday": "Monday",
        "window": "08:00-20:00",
        "jurisdiction": "US-FL",
        "reason": "hours",
        "next_allowed_local": "2026-11-24T08:00",
    }


def test_spring_forward_defers_to_eight_edt() -> None:
    deferral = quiet_hours(locality(MANHATTAN), local(NEW_YORK, 2026, 3, 7, 22), "marketing")
    assert deferral is not None
    assert deferral.defer_until == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


def test_sunday_and_holiday_messages_say_why() -> None:
    sunday = quiet_hours(locality(JACKSON_MS), local(CHICAGO, 2026, 11, 22, 10), "marketing")
    assert sunday is not None
    assert "no marketing messages on Sundays (Mississippi)" in sunday.message
    assert "77-3-723" in sunday.citation
    christmas = quiet_hours(locality(PROVIDENCE), local(NEW_YORK, 2026, 12, 25, 10), "marketing")
    assert christmas is not None
    assert "Christmas Day" in christmas.message and "Rhode Island" in christmas.message


def test_multi_zone_number_is_allowed_only_when_every_zone_is() -> None:
    loc = locality(TOLL_FREE)
    noon_eastern = local(NEW_YORK, 2026, 11, 23, 12)  # 7:00 in Adak, 3:00 in Guam
    deferral = quiet_hours(loc, noon_eastern, "marketing")
    assert deferral is not None and deferral.details["jurisdiction"] == "US"
    assert deferral.defer_until == datetime(2026, 11, 23, 22, 0, tzinfo=UTC)  # 8:00 in Guam


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_allowed(locality(MIAMI), datetime(2026, 11, 23, 12, 0), "marketing")


# --- windows and state limits ---------------------------------------------------------------------


def test_windows_federal_then_state() -> None:
    found = windows(locality(MIAMI), "marketing")
    assert [(w.jurisdiction, w.start, w.end) for w in found] == [
        ("US", time(8), time(21)),
        ("US-FL", time(8), time(20)),
    ]
    assert all(w.citation and w.weekdays == (0, 1, 2, 3, 4, 5, 6) for w in found)


def test_windows_per_weekday() -> None:
    texas = [w for w in windows(locality(AUSTIN), "marketing") if w.jurisdiction == "US-TX"]
    assert [(w.start, w.end, w.weekdays) for w in texas] == [
        (time(9), time(21), (0, 1, 2, 3, 4, 5)),
        (time(12), time(21), (6,)),
    ]
    rhode_island = [
        w for w in windows(locality(PROVIDENCE), "marketing") if w.jurisdiction == "US-RI"
    ]
    assert [(w.start, w.end, w.weekdays) for w in rhode_island] == [
        (time(9), time(18), (0, 1, 2, 3, 4)),
        (time(10), time(17), (5,)),
    ]


@pytest.mark.parametrize("category", ["transactional", "informational", "conversational"])
def test_no_window_outside_solicitations(category: str) -> None:
    assert windows(locality(MIAMI), category) == ()


def test_no_window_outside_the_us() -> None:
    assert windows(locality(UK), "marketing") == ()
    assert windows(locality(OTTAWA), "marketing") == ()
    assert [w.jurisdiction for w in windows(locality(SAN_JUAN), "marketing")] == ["US"]


STATE_LIMITS = [
    # number, category, jurisdiction (None: no limit)
    (MIAMI, "marketing", "US-FL"),
    (PENSACOLA, "marketing", "US-FL"),
    (OKLAHOMA_CITY, "marketing", "US-OK"),
    (BALTIMORE, "marketing", "US-MD"),
    (MIAMI, "transactional", None),
    (MIAMI, "conversational", None),
    (MANHATTAN, "marketing", None),
    (AUSTIN, "marketing", None),
    (TOLL_FREE, "marketing", None),
    (UK, "marketing", None),
]


@pytest.mark.parametrize(("number", "category", "jurisdiction"), STATE_LIMITS)
def test_state_limit(number: str, category: str, jurisdiction: str | None) -> None:
    limit = state_limit(locality(number), category)
    if jurisdiction is None:
        assert limit is None
        return
    assert isinstance(limit, StateLimit)
    assert (limit.jurisdiction, limit.messages, limit.period) == (
        jurisdiction,
        3,
        timedelta(hours=24),
    )
    assert limit.citation


def test_limited_categories() -> None:
    assert limited_categories() == ("marketing",)


# --- the rule data ----------------------------------------------------------------------------------


def _data() -> dict[str, Any]:
    text = resources.files("consentry.rules").joinpath("jurisdictions.toml").read_text("utf-8")
    return tomllib.loads(text)


def test_every_entry_cites_its_source() -> None:
    data = _data()
    for name in ("categories", "fallback_zones", "state_names"):
        assert data[name]["citation"].strip(), name
    for key, rule in data["jurisdictions"].items():
        assert rule["citation"].strip(), key
        if "limit" in rule:
            assert rule["limit"]["citation"].strip(), key


def test_rule_categories_are_program_categories() -> None:
    data = _data()
    categories = set(data["categories"]["solicitation"]) | set(data["categories"]["exempt"])
    assert categories == {"marketing", "informational", "transactional", "conversational"}
    for key, rule in data["jurisdictions"].items():
        assert set(rule["applies_to"]) <= categories, key


# --- frequency disclosures ------------------------------------------------------------------------

DAY, WEEK, MONTH = timedelta(days=1), timedelta(days=7), timedelta(days=30)

FREQUENCIES = [
    ("Up to 4 msgs/month", 4, MONTH),
    ("4 msgs/mo", 4, MONTH),
    ("up to 10 messages per week", 10, WEEK),
    ("2 msg/day", 2, DAY),
    ("Max 3 msgs/wk", 3, WEEK),
    ("1 message per month", 1, MONTH),
    ("four msgs/month", 4, MONTH),
    ("Msg frequency: up to 6/mo", 6, MONTH),
    ("Up to 4 msgs every 2 weeks", 4, 2 * WEEK),
    ("3 msgs weekly", 3, WEEK),
    ("twice daily", 2, DAY),
    ("once a week", 1, WEEK),
    ("Up to 5 msgs/yr", 5, timedelta(days=365)),
    ("Msg frequency: weekly", 1, WEEK),
    ("2 msgs daily, up to 10/week", 2, DAY),  # the first cap in the text
    ("Text JOIN to 12345. 4 msgs/mo. Msg&data rates may apply.", 4, MONTH),
    ("Message frequency varies, up to 8 msgs/month", 8, MONTH),
    ("one-time", 1, ONE_TIME_PERIOD),
    ("You will receive one time message", 1, ONE_TIME_PERIOD),
]

NO_CAP = [
    None,
    "",
    "   ",
    "Message frequency varies",
    "recurring",
    "Recurring automated marketing msgs",
    "$5 per month",
    "Your one-time passcode expires in 10 minutes",
    "Support 24/7",
    "Reply within 24 hours",
]


@pytest.mark.parametrize(("text", "messages", "period"), FREQUENCIES)
def test_parse_frequency(text: str, messages: int, period: timedelta) -> None:
    assert parse_frequency(text) == FrequencyCap(messages, period, text)


@pytest.mark.parametrize("text", NO_CAP)
def test_parse_frequency_without_a_cap(text: str | None) -> None:
    assert parse_frequency(text) is None


# --- properties -----------------------------------------------------------------------------------

SAMPLES = [
    MIAMI,
    OKLAHOMA_CITY,
    MANHATTAN,
    SAN_FRANCISCO,
    HAWAII,
    TOLL_FREE,
    UK,
    PENSACOLA,
    JACKSON_MS,
    AUSTIN,
    PROVIDENCE,
    BALTIMORE,
    OTTAWA,
    SAN_JUAN,
    GUAM,
    ANCHORAGE,
    "+12085550123",  # Idaho: Boise or Los Angeles time
    "+1305555012",  # no zone known: every US fallback zone
]
CATEGORIES = ["marketing", "transactional", "informational", "conversational", "promo"]
moments = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2035, 12, 31),
    timezones=st.timezones(),
    allow_imaginary=False,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SAMPLES), moments, st.sampled_from(CATEGORIES))
def test_next_allowed_is_allowed_and_never_earlier(
    number: str, at: datetime, category: str
) -> None:
    loc = locality(number)
    nxt = next_allowed(loc, at, category)
    assert nxt >= at and nxt.tzinfo is UTC
    assert is_allowed(loc, nxt, category)
    if is_allowed(loc, at, category):
        # Same instant. (Compared in UTC: Python never finds an ambiguous, fold-dependent local
        # time equal to a datetime in another zone.)
        assert nxt == at.astimezone(UTC)
    else:
        # The earliest: nothing in [at, nxt) is allowed, in particular not just before nxt.
        assert not is_allowed(loc, max(at, nxt - timedelta(microseconds=1)), category)
    assert nxt - at <= timedelta(days=timing.HORIZON_DAYS)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SAMPLES), moments, st.sampled_from(CATEGORIES))
def test_quiet_hours_defers_exactly_when_not_allowed(
    number: str, at: datetime, category: str
) -> None:
    loc = locality(number)
    deferral = quiet_hours(loc, at, category)
    assert (deferral is None) == is_allowed(loc, at, category)
    if deferral is not None:
        assert deferral.defer_until > at
        assert deferral.defer_until == next_allowed(loc, at, category)
        assert is_allowed(loc, deferral.defer_until, category)


def _reference(loc: Locality, at: datetime, category: str) -> bool:
    """Wall-clock reading of the rules: every zone, every jurisdiction, holidays closed."""
    found: list[Window] = list(windows(loc, category))
    for zone in loc.zones:
        wall = at.astimezone(ZoneInfo(zone))
        for jurisdiction in {w.jurisdiction for w in found}:
            if jurisdiction == "US-RI" and wall.date() in _ri_holidays(wall.year):
                return False
            today = [w for w in found if w.jurisdiction == jurisdiction]
            today = [w for w in today if wall.weekday() in w.weekdays]
            if not any(w.start <= wall.time().replace(tzinfo=None) < w.end for w in today):
                return False
    return True


def _ri_holidays(year: int) -> set[date]:
    return set(holidays.country_holidays("US", subdiv="RI", years=year))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SAMPLES), moments, st.sampled_from(CATEGORIES))
def test_engine_agrees_with_a_wall_clock_reference(
    number: str, at: datetime, category: str
) -> None:
    loc = locality(number)
    assert is_allowed(loc, at, category) == _reference(loc, at, category)
