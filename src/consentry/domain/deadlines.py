"""When a revocation must have been honoured: ten business days after it arrived.

47 CFR 64.1200(a)(10) (FCC 24-24, 2024) gives a caller at most ten business days to honour a
revocation. consentry counts Monday to Friday, skipping US federal holidays (the ``holidays``
package's calendar), and keeps the time of day: a reply received on Friday 16:00 before
Thanksgiving is due on the tenth business day after it, at 16:00. The number of days is data
(``rules/consent.toml``, ``[revocation]``).
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources

import holidays


@cache
def business_days() -> int:
    """The number of business days a revocation may take (from the rule data)."""
    text = resources.files("consentry.rules").joinpath("consent.toml").read_text(encoding="utf-8")
    return int(tomllib.loads(text)["revocation"]["business_days"])


def citation() -> str:
    text = resources.files("consentry.rules").joinpath("consent.toml").read_text(encoding="utf-8")
    return str(tomllib.loads(text)["revocation"]["citation"])


def is_business_day(day: date) -> bool:
    """Monday to Friday and not a US federal holiday."""
    return day.weekday() < 5 and day not in _federal(day.year)


def revocation_due(received_at: datetime, days: int | None = None) -> datetime:
    """The instant by which a revocation received at ``received_at`` must be honoured."""
    remaining = business_days() if days is None else days
    moment = received_at
    while remaining > 0:
        moment += timedelta(days=1)
        if is_business_day(moment.date()):
            remaining -= 1
    return moment


@cache
def _federal(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("US", years=year)
