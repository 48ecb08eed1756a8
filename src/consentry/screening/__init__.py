"""Bulk screening of a list of recipients against opt-outs and consent.

Read a CSV, plain list or Parquet file in chunks (:mod:`~consentry.screening.readers`), convert
the phone-number column to E.164 integers in bulk (:mod:`~consentry.screening.normalise`), and
split the rows into those that may be sent and those suppressed, with the reason
(:mod:`~consentry.screening.pipeline`). The service's ``screen`` method supplies the opt-outs of
the covering scopes and the consented numbers.
"""

from consentry.screening.normalise import normalise, to_e164_text, to_number
from consentry.screening.pipeline import (
    INVALID_NUMBER,
    NO_CONSENT,
    REASON_COLUMN,
    ChunkVerdict,
    ScreenSummary,
    Suppression,
    screen_numbers,
    screen_source,
)
from consentry.screening.readers import ListFormat, ListSource, guess_format, open_list

__all__ = [
    "INVALID_NUMBER",
    "NO_CONSENT",
    "REASON_COLUMN",
    "ChunkVerdict",
    "ListFormat",
    "ListSource",
    "ScreenSummary",
    "Suppression",
    "guess_format",
    "normalise",
    "open_list",
    "screen_numbers",
    "screen_source",
    "to_e164_text",
    "to_number",
]
