"""Phone numbers and sender addresses, normalised.

Recipients are always E.164 (``+14255550123``), parsed with ``phonenumbers`` against the tenant's
default region so that ``(425) 555-0123``, ``+1 425-555-0123`` and ``4255550123`` are one number.
Senders may also be short codes (5 or 6 digits, US/CA) or alphanumeric sender IDs (up to 11
characters, at least one letter), which are not phone numbers.
"""

from __future__ import annotations

import functools
import re

import phonenumbers

from consentry.domain.model import SenderKind
from consentry.errors import InvalidInput, InvalidNumber

_MAX_INPUT = 64
_SHORT_CODE = re.compile(r"^\d{5,6}$")
_ALPHANUMERIC = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 &\-_.]{1,11}$")


def normalize_region(region: str) -> str:
    """Validate an ISO 3166 region code as ``phonenumbers`` knows it (``US``, ``GB``, ...)."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(
            f"unknown region {region!r}: use an ISO 3166 code such as US", field="default_region"
        )
    return code


def to_e164(raw: str, region: str = "US", *, field: str = "to") -> str:
    """Return ``raw`` as an E.164 number, or raise :class:`InvalidNumber` naming ``field``."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidNumber("phone number is empty", field=field)
    text = raw.strip()
    if len(text) > _MAX_INPUT:
        raise InvalidNumber(f"phone number is longer than {_MAX_INPUT} characters", field=field)
    cached = _parse_valid(text, region)
    if cached is not None:
        return cached
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(
            f"{text!r} is not a phone number ({_reason(exc)})", field=field
        ) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(
            f"{text!r} is not a valid phone number for region {region} "
            "(write it in international form, e.g. +14255550123)",
            field=field,
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=1 << 16)
def _parse_valid(text: str, region: str) -> str | None:
    """E.164 of a valid number, else None; cached because parsing costs ~40 us a number and the
    same recipients are checked again and again (errors are re-derived on the slow path)."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def normalize_sender(
    raw: str, kind: SenderKind, region: str = "US", *, field: str = "address"
) -> str:
    """Normalise a sender address according to its kind.

    Long codes and toll-free numbers become E.164; short codes stay digits; alphanumeric sender
    IDs keep their letters (upper-cased, since handsets and carriers treat them without case).
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidNumber("sender address is empty", field=field)
    text = raw.strip()
    if kind is SenderKind.SHORT_CODE:
        if not _SHORT_CODE.match(text):
            raise InvalidNumber(f"{text!r} is not a short code (5 or 6 digits)", field=field)
        return text
    if kind is SenderKind.ALPHANUMERIC:
        if not _ALPHANUMERIC.match(text):
            raise InvalidNumber(
                f"{text!r} is not an alphanumeric sender ID (1 to 11 letters, digits or spaces, "
                "at least one letter)",
                field=field,
            )
        return text.upper()
    number = to_e164(text, region, field=field)
    if kind is SenderKind.TOLL_FREE and not _is_toll_free(number):
        raise InvalidNumber(f"{number} is not a toll-free number", field=field)
    return number


@functools.lru_cache(maxsize=4096)
def sender_lookup_key(raw: str, region: str = "US", *, field: str = "from") -> str:
    """The form under which a sender is stored, guessed from the address alone.

    Used when a request names a sender by address (``"from"``) without saying its kind. Memoised:
    a tenant sends from a handful of addresses (errors are raised again each time).
    """
    text = raw.strip() if isinstance(raw, str) else ""
    if _SHORT_CODE.match(text):
        return text
    if any(ch.isalpha() for ch in text):
        return text.upper()
    return to_e164(text, region, field=field)


def _is_toll_free(e164: str) -> bool:
    parsed = phonenumbers.parse(e164, None)
    return phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.TOLL_FREE


def _reason(exc: phonenumbers.NumberParseException) -> str:
    reasons = {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
        phonenumbers.NumberParseException.NOT_A_NUMBER: "no digits where a number should be",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }
    return reasons.get(exc.error_type, "unparseable")
