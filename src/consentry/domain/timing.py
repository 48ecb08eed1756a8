"""Timing: recipient-local quiet hours, state limits per 24 hours, disclosed frequency caps.

Pure: the time is always passed in, never read; the only I/O is reading the packaged rule data,
``rules/jurisdictions.toml``, once. Every rule there cites its source.

- :func:`locality` finds where a number may be: its region, its US state (or Canadian province)
  and the IANA zones it may be in. For a NANP number (``+1`` and ten digits) it depends only on
  the area code, or on area code and exchange for the few area codes whose zones or states differ
  by exchange (phonenumbers' data says which), so a million distinct numbers cost no parse at
  all (figures below). The number itself is not validated (``numbers.to_e164`` does that
  upstream). A toll-free number may be anywhere: it gets every NANP zone. Other numbers are
  parsed with phonenumbers and memoised.
- :func:`is_allowed` is true when the instant falls inside every applicable window (federal and
  state) in **every** zone of the number, and on no day a state bars. Allowed instants are kept
  per plan (rules and zones) and UTC day as UTC intervals, so a warm check is a dict look-up.
- :func:`next_allowed` steps from interval to interval (not minute by minute), at most
  ``HORIZON_DAYS`` days ahead; daylight saving is handled by ``zoneinfo``. A window boundary that
  falls in a DST gap or fold is read strictly: the window starts at the later and ends at the
  earlier of the two possible instants.
- :func:`quiet_hours` returns a ``TIME-QUIET-HOURS`` :class:`Deferral` naming the zone and
  jurisdiction that block the message; :func:`state_limit` the ``TIME-STATE-LIMIT`` limit.
- :func:`parse_frequency` reads a program's frequency disclosure ("Up to 4 msgs/month") as a
  rolling cap.

Measured here (CPython 3.11, 2 cores, warm caches, per call): ``locality`` 0.4 us;
``is_allowed`` 1.4 us and ``quiet_hours`` 1.4 us for an allowed time (1.2 us for a toll-free
number's 42 zones, 0.1 us for a transactional message); ``next_allowed`` 2.2 us for a deferred
time; ``quiet_hours`` 18 us for a deferred time (it builds the message); ``parse_frequency``
0.05 us. A plan's cold UTC day costs 30 us for one zone (1.3 ms for 42). One million distinct
random NANP numbers: 1.0 s in all, no phonenumbers parse, 16.7 thousand prefix look-ups (about
800 area codes, plus the exchanges of the 26 area codes split by exchange). The first call loads
phonenumbers' geocoder data (~0.1-0.4 s, once).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache, lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import geocoder as pn_geocoder
from phonenumbers import timezone as pn_timezone

#: How far :func:`next_allowed` looks ahead before giving up (never reached with shipped data).
HORIZON_DAYS = 14

ALL_WEEKDAYS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_DAY_KEYS = tuple(name.lower() for name in WEEKDAY_NAMES)
_SECONDS_PER_DAY = 86_400
_EPOCH = date(1970, 1, 1)
_UNKNOWN_ZONE = "Etc/Unknown"


# --- public types --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Locality:
    """Where a number may be: its region, its state or province if one, and its possible zones."""

    region: str | None  # ISO 3166 region of the number ("US", "CA", "GB"); None if unknown
    state: str | None  # US state / Canadian province code when the area code maps to one
    zones: tuple[str, ...]  # IANA zones the number may be in


@dataclass(frozen=True, slots=True)
class Window:
    """Local hours (start inclusive, end exclusive) in which a jurisdiction allows a message."""

    jurisdiction: str  # "US" (federal) or "US-FL"
    start: time
    end: time
    citation: str
    #: The days of the week the window holds on (Monday = 0, as ``date.weekday()``); a day not
    #: listed is closed. Legal holidays a state closes are not shown here (see the citation).
    weekdays: tuple[int, ...] = ALL_WEEKDAYS


@dataclass(frozen=True, slots=True)
class Deferral:
    """A message that may not go now, and the first instant it may."""

    rule_id: str  # "TIME-QUIET-HOURS"
    defer_until: datetime  # UTC, strictly after the checked instant, and allowed
    message: str
    citation: str
    details: dict[str, str]


@dataclass(frozen=True, slots=True)
class StateLimit:
    """A state's limit on messages to one recipient per period."""

    jurisdiction: str  # "US-FL"
    messages: int
    period: timedelta
    citation: str


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    """A program's disclosed frequency as a rolling cap: at most ``messages`` per ``period``."""

    messages: int
    period: timedelta
    text: str  # the disclosure it was parsed from


# --- locality ------------------------------------------------------------------------------------

_NANP = re.compile(r"\+1([2-9]\d\d)[2-9]\d{6}")
# Exchanges tried, in order, to learn which region an area code belongs to.
_PROBE_EXCHANGES = ("555", "200", "212", "234", "300", "356", "456", "500", "600", "700", "800")


def locality(e164: str) -> Locality:
    """Where the E.164 number ``e164`` may be (memoised; see the module notes).

    The state is set only when the number's area code (or exchange) maps to exactly one US state
    or Canadian province; the zones come from phonenumbers, or from the region's fallback zones in
    the rule data when phonenumbers does not know them. Input that is not a phone number gives
    ``Locality(None, None, ())``.
    """
    match = _NANP.fullmatch(e164)
    if match is None:
        return _parsed_locality(e164)
    area = match.group(1)
    index = _nanp_index()
    if area in index.parse_fully:
        return _parsed_locality(e164)
    if area in index.by_exchange:
        return _nanp_locality(e164[2:8])
    return _nanp_locality(area)


@dataclass(frozen=True, slots=True)
class _NanpIndex:
    by_exchange: frozenset[str]  # area codes whose zones or state differ by exchange
    parse_fully: frozenset[str]  # area codes with data finer than an exchange (none today)
    area_state: dict[str, str | None]  # the one state of every other area code


@cache
def _nanp_index() -> _NanpIndex:
    """Which area codes need the exchange, from phonenumbers' prefix data (built once)."""
    try:
        from phonenumbers.geodata import GEOCODE_DATA
        from phonenumbers.tzdata import TIMEZONE_DATA
    except ImportError:  # pragma: no cover - a phonenumbers without its data modules
        every = frozenset(f"{n}" for n in range(200, 1000))
        return _NanpIndex(frozenset(), every, {})
    by_exchange: set[str] = set()
    parse_fully: set[str] = set()
    states: dict[str, set[str | None]] = {}
    for prefix in TIMEZONE_DATA:
        if prefix.startswith("1") and len(prefix) > 4:
            (parse_fully if len(prefix) > 7 else by_exchange).add(prefix[1:4])
    for prefix, names in GEOCODE_DATA.items():
        if prefix.startswith("1") and len(prefix) >= 4:
            if len(prefix) > 7:
                parse_fully.add(prefix[1:4])
            states.setdefault(prefix[1:4], set()).add(_state_code(names.get("en", "")))
    area_state: dict[str, str | None] = {}
    for area, found in states.items():
        if len(found) > 1:
            by_exchange.add(area)
        else:
            area_state[area] = next(iter(found))
    return _NanpIndex(frozenset(by_exchange), frozenset(parse_fully), area_state)


@lru_cache(maxsize=1 << 15)
def _nanp_locality(digits: str) -> Locality:
    """Locality of a NANP area code ("305") or area code and exchange ("850432")."""
    area = digits[:3]
    region = _nanp_region(area)
    sample = phonenumbers.PhoneNumber(
        country_code=1, national_number=int((digits + "5550100")[:10])
    )
    zones = _known_zones(pn_timezone.time_zones_for_geographical_number(sample), region)
    if region not in ("US", "CA"):
        state = None
    elif len(digits) == 3:
        state = _nanp_index().area_state.get(area)
    else:
        state = _state_code(pn_geocoder.description_for_valid_number(sample, "en"))
    return Locality(region, state, zones)


@lru_cache(maxsize=2048)
def _nanp_region(area: str) -> str:
    """The region of a NANP area code: that of a valid number in it, else ``US``."""
    sample = None
    for exchange in _PROBE_EXCHANGES:
        sample = phonenumbers.PhoneNumber(
            country_code=1, national_number=int(area + exchange + "0100")
        )
        if phonenumbers.is_valid_number(sample):
            return str(phonenumbers.region_code_for_number(sample))
    region = phonenumbers.region_code_for_number(sample) if sample is not None else None
    return str(region) if region else "US"


@lru_cache(maxsize=1 << 16)
def _parsed_locality(e164: str) -> Locality:
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return Locality(None, None, ())
    found = phonenumbers.region_code_for_number(parsed)
    if not found and parsed.country_code is not None:
        found = phonenumbers.region_code_for_country_code(parsed.country_code)
    region = None if found in (None, "ZZ", "001") else str(found)
    return Locality(region, None, _known_zones(pn_timezone.time_zones_for_number(parsed), region))


def _known_zones(zones: Iterable[str], region: str | None) -> tuple[str, ...]:
    known = tuple(str(zone) for zone in zones if zone != _UNKNOWN_ZONE)
    return known or _rules().fallback_zones.get(region or "", ())


def _state_code(description: str) -> str | None:
    """``"Florida"`` or ``"Miami, FL"`` -> ``"FL"``; None when not one known state or province."""
    text = description.strip()
    if len(text) > 4 and text[-4:-2] == ", " and text[-2:].isupper():
        code = text[-2:]
        return code if code in _rules().state_codes else None
    return _rules().state_names.get(text)


# --- windows and quiet hours -----------------------------------------------------------------------


def windows(loc: Locality, category: str) -> tuple[Window, ...]:
    """The windows that apply to ``loc`` for ``category``: federal first, then the state's.

    A jurisdiction with different hours on some days gives one window per distinct hours, each
    with the weekdays it holds on. Empty when no rule covers the category (transactional,
    informational and conversational messages are no telephone solicitations).
    """
    found: list[Window] = []
    for rule in _applicable(loc.region, loc.state, category):
        days_by_hours: dict[tuple[int, int], list[int]] = {}
        for weekday, hours in enumerate(rule.days):
            if hours is not None:
                days_by_hours.setdefault(hours, []).append(weekday)
        for (start, end), weekdays in days_by_hours.items():
            found.append(
                Window(
                    rule.jurisdiction,
                    _clock(start),
                    _clock(end),
                    rule.citation,
                    tuple(weekdays),
                )
            )
    return tuple(found)


def is_allowed(loc: Locality, at: datetime, category: str) -> bool:
    """Whether a ``category`` message may reach ``loc`` at the aware instant ``at``.

    True when ``at`` is inside every applicable window in every zone of ``loc`` and on no day a
    state bars (Sundays, legal holidays, where a statute says so).
    """
    plan = _plan(loc.region, loc.state, loc.zones, category)
    return plan is None or plan.allows(_timestamp(at))


def next_allowed(loc: Locality, at: datetime, category: str) -> datetime:
    """The earliest instant at or after ``at`` at which :func:`is_allowed` holds, in UTC.

    ``at`` itself (as UTC) when it is allowed. Searches at most ``HORIZON_DAYS`` days ahead and
    raises ``ValueError`` if nothing is allowed by then (impossible with the shipped rules).
    Compare the result with ``==`` in UTC: Python never finds an ambiguous local time (a DST
    fold) equal to a datetime of another zone.
    """
    moment = _timestamp(at)
    plan = _plan(loc.region, loc.state, loc.zones, category)
    if plan is None or plan.allows(moment):
        return at.astimezone(UTC)
    start = plan.next_start(moment)
    if start is None:
        raise ValueError(f"no allowed time within {HORIZON_DAYS} days of {at.isoformat()}")
    return datetime.fromtimestamp(start, UTC)


def quiet_hours(loc: Locality, at: datetime, category: str) -> Deferral | None:
    """None if a ``category`` message may reach ``loc`` at ``at``; else a ``TIME-QUIET-HOURS``
    deferral to :func:`next_allowed`, naming the zone and jurisdiction that block it (the one
    with the narrowest window that day when several do)."""
    plan = _plan(loc.region, loc.state, loc.zones, category)
    if plan is None or plan.allows(_timestamp(at)):
        return None
    until = next_allowed(loc, at, category)
    zone, tz, rule, reason, hours = _blocker(plan, at)
    local = at.astimezone(tz)
    then = until.astimezone(tz)
    window = "closed" if hours is None else f"{_hhmm(hours[0])}-{_hhmm(hours[1])}"
    weekday = WEEKDAY_NAMES[local.weekday()]
    after = f"next allowed {then:%H:%M} on {then:%Y-%m-%d}"
    if reason == "holiday":
        holiday = _holidays(rule.holiday_calendar, local.year).get(local.date(), "a legal holiday")
        message = (
            f"{local:%Y-%m-%d} in {zone} is {holiday}: no {category} messages on legal holidays "
            f"({rule.name}); {after}"
        )
    elif reason == "weekday":
        message = (
            f"{local:%H:%M} on {weekday} in {zone}: no {category} messages on {weekday}s "
            f"({rule.name}); {after}"
        )
    else:
        message = f"{local:%H:%M} in {zone} is outside {window} ({rule.name}); {after}"
    return Deferral(
        "TIME-QUIET-HOURS",
        until,
        message,
        rule.citation,
        {
            "zone": zone,
            "local_time": f"{local:%Y-%m-%dT%H:%M}",
            "weekday": weekday,
            "window": window,
            "jurisdiction": rule.jurisdiction,
            "reason": reason,
            "next_allowed_local": f"{then:%Y-%m-%dT%H:%M}",
        },
    )


def state_limit(loc: Locality, category: str) -> StateLimit | None:
    """The state's limit on ``category`` messages to one recipient per period, if any (the
    strictest when several apply)."""
    limits = [r.limit for r in _applicable(loc.region, loc.state, category) if r.limit is not None]
    if not limits:
        return None
    return min(limits, key=lambda limit: limit.messages / limit.period.total_seconds())


def limited_categories() -> tuple[str, ...]:
    """The message categories some state limit counts (sends of these count towards it)."""
    found = {
        c for rule in _rules().jurisdictions if rule.limit is not None for c in rule.applies_to
    }
    return tuple(sorted(found))


# --- plans: allowed UTC intervals per rules, zones and UTC day --------------------------------------

_Interval = tuple[int, int]  # [start, end) in POSIX seconds


class _Plan:
    """The rules and zones of one (locality, category); caches allowed intervals per UTC day."""

    __slots__ = ("_days", "rules", "zones")

    def __init__(self, rules: tuple[_Rule, ...], zones: tuple[tuple[str, tzinfo], ...]) -> None:
        self.rules = rules
        self.zones = zones
        self._days: dict[int, tuple[_Interval, ...]] = {}

    def allows(self, moment: float) -> bool:
        day = int(moment // _SECONDS_PER_DAY)
        intervals = self._days.get(day)
        if intervals is None:
            intervals = self.intervals(day)
        for start, end in intervals:  # noqa: SIM110 - a plain loop is faster than any() here
            if start <= moment < end:
                return True
        return False

    def next_start(self, moment: float) -> int | None:
        """The first allowed instant after ``moment`` (which is not allowed), or None."""
        first = int(moment // _SECONDS_PER_DAY)
        for day in range(first, first + HORIZON_DAYS + 1):
            for start, _ in self.intervals(day):
                if start > moment:
                    return start
        return None

    def intervals(self, day: int) -> tuple[_Interval, ...]:
        """Allowed intervals within the UTC day ``day`` (days since 1970-01-01)."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        low = day * _SECONDS_PER_DAY
        high = low + _SECONDS_PER_DAY
        allowed: list[_Interval] = [(low, high)]
        utc_date = _EPOCH + timedelta(days=day)
        for _, tz in self.zones:
            spans: list[_Interval] = []
            for shift in (-1, 0, 1):  # the local dates that overlap this UTC day
                local_date = utc_date + timedelta(days=shift)
                hours = _day_hours(self.rules, local_date)
                if hours is None:
                    continue
                start = max(_instant(local_date, hours[0], tz, latest=True), low)
                end = min(_instant(local_date, hours[1], tz, latest=False), high)
                if start < end:
                    spans.append((start, end))
            allowed = _intersect(allowed, spans)
            if not allowed:
                break
        if len(self._days) >= 1024:
            self._days.clear()
        result = tuple(allowed)
        self._days[day] = result
        return result


@lru_cache(maxsize=4096)
def _plan(
    region: str | None, state: str | None, zones: tuple[str, ...], category: str
) -> _Plan | None:
    rules = _applicable(region, state, category)
    if not rules:
        return None
    loaded: list[tuple[str, tzinfo]] = []
    for name in zones or _rules().fallback_zones.get(region or "", ()):
        try:
            loaded.append((name, ZoneInfo(name)))
        except (ZoneInfoNotFoundError, ValueError):
            continue
    if not loaded:  # no zone known: read the windows in every fallback zone of the US, strictly
        loaded = [(name, ZoneInfo(name)) for name in _rules().fallback_zones.get("US", ())]
    return _Plan(rules, tuple(loaded))


def _day_hours(rules: tuple[_Rule, ...], day: date) -> tuple[int, int] | None:
    """Intersection of the rules' hours on the local date ``day``, in minutes; None if closed."""
    start, end = 0, 24 * 60
    for rule in rules:
        hours, _ = rule.hours_on(day)
        if hours is None:
            return None
        start, end = max(start, hours[0]), min(end, hours[1])
    return (start, end) if start < end else None


def _instant(day: date, minutes: int, tz: tzinfo, *, latest: bool) -> int:
    """POSIX seconds of local ``day`` + ``minutes`` in ``tz``; in a DST gap or fold the later
    (``latest``) or earlier of the two readings."""
    naive = datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)
    first = int(naive.replace(tzinfo=tz, fold=0).timestamp())
    second = int(naive.replace(tzinfo=tz, fold=1).timestamp())
    return max(first, second) if latest else min(first, second)


def _intersect(left: list[_Interval], right: list[_Interval]) -> list[_Interval]:
    out: list[_Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if start < end:
            out.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def _blocker(plan: _Plan, at: datetime) -> tuple[str, tzinfo, _Rule, str, tuple[int, int] | None]:
    """The zone and rule that bar ``at`` (narrowest window first): zone, tz, rule, reason, hours."""
    best: tuple[int, str, tzinfo, _Rule, str, tuple[int, int] | None] | None = None
    for zone, tz in plan.zones:
        local = at.astimezone(tz)
        seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        for rule in plan.rules:
            hours, reason = rule.hours_on(local.date())
            if hours is not None and hours[0] * 60 <= seconds < hours[1] * 60:
                continue
            width = 0 if hours is None else hours[1] - hours[0]
            if best is None or width < best[0]:
                best = (width, zone, tz, rule, reason, hours)
    if best is None:  # a DST edge read strictly: name the narrowest rule in the first zone
        zone, tz = plan.zones[0]
        day = at.astimezone(tz).date()
        rule = min(plan.rules, key=lambda r: _width(r.hours_on(day)[0]))
        hours, reason = rule.hours_on(day)
        return zone, tz, rule, reason, hours
    _, zone, tz, rule, reason, hours = best
    return zone, tz, rule, reason, hours


def _width(hours: tuple[int, int] | None) -> int:
    return 0 if hours is None else hours[1] - hours[0]


def _timestamp(at: datetime) -> float:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at!r} is not timezone-aware")
    return at.timestamp()


def _clock(minutes: int) -> time:
    return time.max if minutes >= 24 * 60 else time(minutes // 60, minutes % 60)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@lru_cache(maxsize=256)
def _holidays(calendar: str | None, year: int) -> dict[date, str]:
    """Legal holidays of ``calendar`` ("US-RI": US federal and Rhode Island) in ``year``."""
    if calendar is None:
        return {}
    import holidays

    country, _, subdiv = calendar.partition("-")
    found = holidays.country_holidays(country, subdiv=subdiv or None, years=year)
    return {day: str(name) for day, name in found.items()}


# --- the rule data ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    """One jurisdiction of ``rules/jurisdictions.toml``."""

    jurisdiction: str
    name: str
    regions: frozenset[str]
    state: str | None
    applies_to: frozenset[str]
    days: tuple[tuple[int, int] | None, ...]  # per weekday (Monday first), minutes; None: closed
    holiday_calendar: str | None  # closed on the legal holidays of this calendar
    citation: str
    limit: StateLimit | None

    def hours_on(self, day: date) -> tuple[tuple[int, int] | None, str]:
        """The local hours on ``day`` (None: closed) and why ("hours", "weekday", "holiday")."""
        if self.holiday_calendar is not None and day in _holidays(self.holiday_calendar, day.year):
            return None, "holiday"
        hours = self.days[day.weekday()]
        return hours, "hours" if hours is not None else "weekday"


@dataclass(frozen=True, slots=True)
class _Rules:
    jurisdictions: tuple[_Rule, ...]
    solicitation: frozenset[str]
    exempt: frozenset[str]
    unknown_as: str
    fallback_zones: Mapping[str, tuple[str, ...]]
    state_names: Mapping[str, str]
    state_codes: frozenset[str]


@cache
def _rules() -> _Rules:
    """Load and check ``rules/jurisdictions.toml`` once."""
    text = (
        resources.files("consentry.rules")
        .joinpath("jurisdictions.toml")
        .read_text(encoding="utf-8")
    )
    data: dict[str, Any] = tomllib.loads(text)
    for name in ("categories", "fallback_zones", "state_names"):
        _cited(data[name], name)
    fallback = {
        region: tuple(str(zone) for zone in zones)
        for region, zones in data["fallback_zones"].items()
        if region != "citation"
    }
    for zones in fallback.values():
        for zone in zones:
            ZoneInfo(zone)  # fail at load time on a misspelt zone
    names = {str(k): str(v) for k, v in data["state_names"].items() if k != "citation"}
    categories = data["categories"]
    jurisdictions = tuple(
        _parse_rule(key, section) for key, section in data["jurisdictions"].items()
    )
    return _Rules(
        jurisdictions=jurisdictions,
        solicitation=frozenset(categories["solicitation"]),
        exempt=frozenset(categories["exempt"]),
        unknown_as=str(categories["unknown_as"]),
        fallback_zones=fallback,
        state_names=names,
        state_codes=frozenset(names.values()),
    )


def _parse_rule(key: str, section: dict[str, Any]) -> _Rule:
    citation = _cited(section, key)
    default = _parse_hours(section.get("hours", "closed"), key)
    days = tuple(
        _parse_hours(section[day], key) if day in section else default for day in _DAY_KEYS
    )
    calendar = None
    if "holidays" in section:
        if section["holidays"] != "closed":
            raise ValueError(f"{key}: holidays must be 'closed'")
        calendar = str(section["holiday_calendar"])
    limit = None
    if "limit" in section:
        spec = section["limit"]
        limit = StateLimit(
            key, int(spec["messages"]), timedelta(hours=int(spec["hours"])), _cited(spec, key)
        )
    return _Rule(
        jurisdiction=key,
        name=str(section["name"]),
        regions=frozenset(section["regions"]),
        state=section.get("state"),
        applies_to=frozenset(section["applies_to"]),
        days=days,
        holiday_calendar=calendar,
        citation=citation,
        limit=limit,
    )


def _parse_hours(value: str, key: str) -> tuple[int, int] | None:
    if value == "closed":
        return None
    match = re.fullmatch(r"(\d\d):(\d\d)-(\d\d):(\d\d)", value)
    if match is None:
        raise ValueError(f"{key}: hours {value!r} are not HH:MM-HH:MM or 'closed'")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if not (m1 < 60 and m2 < 60 and 0 <= start < end <= 24 * 60):
        raise ValueError(f"{key}: hours {value!r} must run forward within one day")
    return start, end


def _cited(section: Mapping[str, Any], name: str) -> str:
    citation = section.get("citation")
    if not isinstance(citation, str) or not citation.strip():
        raise ValueError(f"rules/jurisdictions.toml: {name} has no citation")
    return citation


@lru_cache(maxsize=1024)
def _applicable(region: str | None, state: str | None, category: str) -> tuple[_Rule, ...]:
    """The rules for a region, state and category (an unknown category counts as marketing)."""
    rules = _rules()
    known = rules.solicitation | rules.exempt
    if category not in known and not any(category in r.applies_to for r in rules.jurisdictions):
        category = rules.unknown_as
    return tuple(
        rule
        for rule in rules.jurisdictions
        if category in rule.applies_to
        and region in rule.regions
        and (rule.state is None or rule.state == state)
    )


# --- frequency disclosures ---------------------------------------------------------------------------

#: The period a one-time message is capped over: ten years, longer than any consent is kept
#: unconfirmed, so "one-time" means one message for the life of the consent.
ONE_TIME_PERIOD = timedelta(days=3650)

_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "once": 1,
    "two": 2,
    "twice": 2,
    "three": 3,
    "thrice": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
}
_UNIT_PERIODS = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=30),
    "year": timedelta(days=365),
}
_UNIT_WORDS = {
    "hour": "hour",
    "hours": "hour",
    "hr": "hour",
    "hrs": "hour",
    "hourly": "hour",
    "day": "day",
    "days": "day",
    "daily": "day",
    "week": "week",
    "weeks": "week",
    "wk": "week",
    "wks": "week",
    "weekly": "week",
    "month": "month",
    "months": "month",
    "mo": "month",
    "mos": "month",
    "mth": "month",
    "mths": "month",
    "monthly": "month",
    "year": "year",
    "years": "year",
    "yr": "year",
    "yrs": "year",
    "yearly": "year",
    "annually": "year",
}
_NUM = r"\d{1,4}|" + "|".join(sorted(_WORDS, key=len, reverse=True))
_NOUN = (
    r"(?:\s*(?:x|times?))?"
    r"(?:\s*(?:recurring|automated|marketing|promotional|text|sms)?\s*"
    r"(?:msgs?|messages?|texts?|sms|alerts?|notifications?)\.?)?"
)
_UNIT = r"hours?|hrs?|days?|weeks?|wks?|months?|mos?|mths?|years?|yrs?"
_ADVERB = r"hourly|daily|weekly|monthly|yearly|annually"
_PER = re.compile(
    rf"(?<![\w$€£.,])(?P<n>{_NUM}){_NOUN}\s*(?:/|\bper\b|\ba\b|\ban\b|\beach\b|\bevery\b)\s*"
    rf"(?:(?P<k>\d{{1,3}}|two|three|four|six)\s*)?(?P<unit>{_UNIT})\b",
    re.IGNORECASE,
)
_ADVERBIAL = re.compile(
    rf"(?<![\w$€£.,])(?P<n>{_NUM}){_NOUN}\s*(?P<unit>{_ADVERB})\b", re.IGNORECASE
)
_FREQUENCY_IS = re.compile(
    rf"\b(?:msg|message|text)?\s*freq(?:uency)?\.?\s*(?::|=|-|is)?\s*(?P<unit>{_ADVERB})\b",
    re.IGNORECASE,
)
_ONE_TIME = re.compile(
    r"\bone[\s-]?(?:time|off)\b(?!\s*(?:pass|code|password|pin|verification|security|login))"
    r"|\bsingle\s+(?:msg|message|text)\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def parse_frequency(text: str | None) -> FrequencyCap | None:
    """Read a program's frequency disclosure as a rolling cap (memoised).

    "Up to 4 msgs/month" is 4 per 30 days; periods are rolling windows of 1 day, 7 days
    (week), 30 days (month), 365 days (year), or 1 hour, times a count when one is given ("every
    2 weeks"). Counts may be words ("four", "twice"). "One-time" / "one time message" is one
    message per ``ONE_TIME_PERIOD`` (ten years: one message for the life of the consent). The
    first cap in the text wins. "Message frequency varies", "recurring", an empty text or None
    give None: no number to enforce.
    """
    if not text or not text.strip():
        return None
    found = [m for p in (_PER, _ADVERBIAL) for m in p.finditer(text) if _count(m.group("n")) > 0]
    if found:
        match = min(found, key=lambda m: m.start())
        multiple = match.groupdict().get("k")
        period = _UNIT_PERIODS[_UNIT_WORDS[match.group("unit").lower()]]
        count = _count(match.group("n"))
        return FrequencyCap(count, period * (_count(multiple) if multiple else 1), text)
    stated = _FREQUENCY_IS.search(text)
    if stated is not None:
        return FrequencyCap(1, _UNIT_PERIODS[_UNIT_WORDS[stated.group("unit").lower()]], text)
    if _ONE_TIME.search(text):
        return FrequencyCap(1, ONE_TIME_PERIOD, text)
    return None


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _WORDS[word.lower()]
