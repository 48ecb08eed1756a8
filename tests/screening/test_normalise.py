"""The vectorised normaliser against the phonenumbers path it stands in for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.screening import normalise, to_e164_text, to_number
from consentry.screening.normalise import (
    CACHE_ENV,
    INVALID,
    cache_path,
    forget_prefix_table,
    save_prefix_cache,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+12065550100", "US", 12065550100),
        ("2065550100", "US", 12065550100),
        ("12065550100", "US", 12065550100),
        ("(206) 555-0100", "US", 12065550100),
        (" +1 206.555.0100 ", "US", 12065550100),
        ("206-555-0100", "CA", 12065550100),
        ("+1 206 555 0100 ext. 12", "US", 12065550100),  # slow path: phonenumbers keeps it
        ("+442071838750", "US", 442071838750),  # other countries: phonenumbers
        ("020 7183 8750", "GB", 442071838750),
        ("2065550100", "GB", INVALID),  # ten digits mean nothing in the UK
        ("+12065550100", "GB", 12065550100),  # E.164 is E.164 whatever the region
        ("1065550100", "US", INVALID),  # area codes never start with 1
        ("+11065550100", "US", INVALID),
        ("2065550", "US", INVALID),
        ("abc", "US", INVALID),
        ("", "US", INVALID),
        ("   ", "US", INVALID),
        ("2465210100", "US", 12465210100),  # Barbados 246-521: valid for a seventh digit of 0
        ("2465212100", "US", INVALID),  # ... and not for 2 (decided per number)
        ("2" + " " * 60 + "065550100", "US", INVALID),  # longer than to_e164 accepts
        ("+1206555010:", "US", INVALID),  # bytes next to the digits: ':' is 0x3A
        ("+12065550/00", "US", INVALID),  # '/' is 0x2F
        ("2065550\xff10", "US", INVALID),
        ("２０６５５５０１００", "US", 12065550100),  # full-width digits: phonenumbers reads them
        ("+1206555010０", "US", 12065550100),
    ],
)
def test_normalise_formats(raw: str, region: str, expected: int) -> None:
    assert normalise(pa.array([raw]), region).tolist() == [expected]
    assert to_number(raw, region) == expected


def test_nulls_and_offsets_are_respected() -> None:
    values = pa.array(["x", "+12065550100", None, "425 555 0123", "+12065550101"])
    assert normalise(values.slice(1)).tolist() == [12065550100, 0, 14255550123, 12065550101]
    chunked = pa.chunked_array([values.slice(0, 2), values.slice(2)])
    assert normalise(chunked).tolist() == [0, 12065550100, 0, 14255550123, 12065550101]


def test_to_e164_text_round_trips() -> None:
    numbers = np.array([12065550100, 0, 442071838750], dtype=np.int64)
    assert to_e164_text(numbers).to_pylist() == ["+12065550100", None, "+442071838750"]


_separator = st.sampled_from(["", " ", "-", ".", "  ", "(", ")", " - "])
_digit_strings = st.text("0123456789", min_size=0, max_size=13)


@st.composite
def phone_like(draw: st.DrawFn) -> str:
    """Strings shaped like phone numbers: real area codes, odd lengths, separators, junk."""
    lead = draw(st.sampled_from(["", "+", "+1", "1", "+44", "0", "+1 ", " "]))
    area = draw(st.sampled_from(["206", "425", "212", "246", "555", "100", "808", "900", "911"]))
    rest = draw(_digit_strings)
    pieces = [lead, area, rest[:3], rest[3:]]
    joined = "".join(piece + draw(_separator) for piece in pieces)
    tail = draw(st.sampled_from(["", "", "", " ", "x1", "#"]))
    return joined + tail


@settings(max_examples=400, deadline=None)
@given(
    values=st.lists(st.one_of(phone_like(), st.text(max_size=16)), min_size=1, max_size=30),
    region=st.sampled_from(["US", "CA", "AG", "GB", "DE"]),
)
def test_vectorised_path_agrees_with_phonenumbers(values: list[str], region: str) -> None:
    """Every value: the same E.164 number as to_e164, or invalid for both."""
    fast = normalise(pa.array(values), region).tolist()
    assert fast == [to_number(value, region) for value in values]


@settings(max_examples=200, deadline=None)
@given(national=st.integers(min_value=2_000_000_000, max_value=9_999_999_999))
def test_any_ten_digit_number_agrees(national: int) -> None:
    """Across the whole NANP range, in all three bulk-converted spellings."""
    text = str(national)
    values = [f"+1{text}", text, f"1{text}", f"({text[:3]}) {text[3:6]}-{text[6:]}"]
    expected = to_number(f"+1{text}", "US")
    assert normalise(pa.array(values), "US").tolist() == [expected] * 4


def test_prefix_table_is_cached_between_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    forget_prefix_table()
    assert normalise(pa.array(["+12065550100", "+11065550100"])).tolist() == [12065550100, 0]
    save_prefix_cache()
    path = cache_path()
    assert path is not None and path.parent == tmp_path
    table = np.fromfile(path, dtype=np.int8)
    assert (table[206555], table[106555]) == (1, 0)  # valid, invalid
    assert int((table >= 0).sum()) == 2  # nothing else was filled
    forget_prefix_table()
    table[206555] = 0  # what the file says is what the next process believes
    table.tofile(path)
    assert normalise(pa.array(["+12065550100"])).tolist() == [0]
    forget_prefix_table()
    monkeypatch.setenv(CACHE_ENV, "off")
    assert cache_path() is None
    assert normalise(pa.array(["+12065550100"])).tolist() == [12065550100]
