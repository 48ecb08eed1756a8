"""Phone numbers and sender addresses, normalised (inputs -> E.164 or a clear error)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.domain.model import SenderKind
from consentry.domain.numbers import normalize_sender, sender_lookup_key, to_e164
from consentry.errors import InvalidNumber


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(425) 555-0123", "US", "+14255550123"),
        ("+1 425-555-0123", "US", "+14255550123"),
        ("4255550123", "US", "+14255550123"),
        ("  425.555.0123 ", "US", "+14255550123"),
        ("1-425-555-0123", "US", "+14255550123"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("＋１ ４２５ ５５５ ０１２３", "US", "+14255550123"),
    ],
)
def test_spellings_normalise_to_e164(raw: str, region: str, e164: str) -> None:
    assert to_e164(raw, region) == e164


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("hello", "not a phone number"),
        ("123", "not a valid phone number"),
        ("+999 1234 5678", "unknown country code"),
        ("+1 555 555 0100", "not a valid phone number"),
        ("4" * 80, "longer than"),
    ],
)
def test_garbage_is_a_clear_error_naming_the_field(raw: str, problem: str) -> None:
    with pytest.raises(InvalidNumber) as caught:
        to_e164(raw, "US", field="recipients[0].to")
    assert problem in caught.value.message
    assert caught.value.field == "recipients[0].to"


@given(st.text(max_size=80))
def test_to_e164_either_returns_e164_or_raises_invalid_number(raw: str) -> None:
    try:
        number = to_e164(raw, "US")
    except InvalidNumber:
        return
    assert number.startswith("+") and number[1:].isdigit()
    assert to_e164(number, "US") == number  # idempotent


@pytest.mark.parametrize(
    ("raw", "kind", "stored"),
    [
        ("12345", SenderKind.SHORT_CODE, "12345"),
        ("acme", SenderKind.ALPHANUMERIC, "ACME"),
        ("(206) 555-0100", SenderKind.LONG_CODE, "+12065550100"),
        ("833-555-0100", SenderKind.TOLL_FREE, "+18335550100"),
    ],
)
def test_sender_addresses_by_kind(raw: str, kind: SenderKind, stored: str) -> None:
    assert normalize_sender(raw, kind) == stored
    assert sender_lookup_key(raw) == stored


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("1234", SenderKind.SHORT_CODE),
        ("1234567", SenderKind.SHORT_CODE),
        ("123456789012", SenderKind.ALPHANUMERIC),
        ("TOO-LONG-NAME", SenderKind.ALPHANUMERIC),
        ("+12065550100", SenderKind.TOLL_FREE),
    ],
)
def test_bad_sender_addresses(raw: str, kind: SenderKind) -> None:
    with pytest.raises(InvalidNumber):
        normalize_sender(raw, kind)


def test_new_ids_are_80_random_bits_in_crockford_base32() -> None:
    from consentry.identifiers import _ALPHABET, new_id

    ids = {new_id("dec") for _ in range(20_000)}
    assert len(ids) == 20_000
    assert all(i.startswith("dec_") and len(i) == 20 and set(i[4:]) <= set(_ALPHABET) for i in ids)
    assert {ch for i in ids for ch in i[4:]} == set(_ALPHABET)
