"""Hostile input never crashes the domain core: the inbound classifier, content analysis, number
parsing, the linter, time-zone locality, frequency parsing and the opt-out / consent list readers
take any text (huge, control
characters, lone surrogates, bytes decoded as Latin-1 or with ``surrogateescape``, mixed scripts)
and either answer or raise the documented :class:`InvalidInput`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from consentry.domain import content, cta, keywords, numbers, timing
from consentry.domain.consent_lists import read_consent_rows
from consentry.domain.model import SenderKind
from consentry.domain.optout_lists import read_numbers
from consentry.errors import InvalidInput

# Letters of many scripts, look-alikes, joiners, bidi controls, combining marks, emoji.
_SCRIPTS = (
    "STOPstop0123456789 .,!?-+()#*"
    "СТОПстоп"  # Cyrillic
    "ΣΤΟΠστοπ"  # Greek
    "停止退订取消"  # Chinese
    "정지중단"  # Korean
    "توقفإلغاء"  # Arabic
    "עצור"  # Hebrew
    "रोकें"  # Devanagari
    "ｓｔｏｐＳＴＯＰ"  # full-width
    "\u200b\u200c\u200d\u2060\ufeff"  # zero-width characters
    "\u202e\u202d\u2066\u2069"  # bidi overrides and isolates
    "\u0301\u0308\u0338\u20dd"  # combining marks
    "\ufdfa\u0130\u00df\ufb03"  # characters NFKC or case folding lengthen
    "🛑✋👋🏽🇺🇸\U000e0041"  # emoji, skin tone, flag, tag character
    "\x00\x01\x07\x1b\x7f\x85\r\n\t\x0b\x0c\u2028\u2029"  # control and separator characters
)

_any_char = st.one_of(
    st.characters(),  # every code point but surrogates
    st.characters(categories=["Cs"]),  # lone surrogates (representable in Python strings)
    st.sampled_from(_SCRIPTS),
)
_bytes_as_text = st.binary(max_size=300).flatmap(
    lambda raw: st.sampled_from(
        [
            raw.decode("latin-1"),
            raw.decode("utf-8", "surrogateescape"),
            raw.decode("cp1252", "replace"),
        ]
    )
)
_huge = st.builds(
    lambda piece, size: (piece * (size // len(piece) + 1))[:size],
    st.text(_any_char, min_size=1, max_size=40),
    st.sampled_from([5_000, 20_000, 100_000]),
)
hostile_text = st.one_of(
    st.text(_any_char, max_size=400),
    _bytes_as_text,
    _huge,
)

_HUGE = "STOP " * 20_000  # 100,000 characters
_EXAMPLES = [
    "",
    " ",
    "\x00" * 10,
    "\ud800",
    "S\udc80T\udfffOP",
    "\U0010ffff" * 3,
    _HUGE,
    "🛑" * 50_000,
    "\u202ePOTS",
    "<html><body><form><input type=checkbox>" * 5_000,
    "+1" + "9" * 99_998,
]

SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


def _examples(test: Callable[..., Any]) -> Callable[..., Any]:
    for text in _EXAMPLES:
        test = example(text=text)(test)
    return test


@SETTINGS
@given(text=hostile_text, language=st.sampled_from([None, "en", "es-MX", "zz", "\ud800", ""]))
@example(text=_HUGE, language=None)
@example(text="\ud800STOP", language="es")
def test_classifier_answers_any_text(text: str, language: str | None) -> None:
    verdict = keywords.classify(text, language)
    assert verdict.kind is not None
    assert isinstance(keywords.normalise(text), str)


@SETTINGS
@given(text=hostile_text)
@_examples
def test_content_analysis_answers_any_text(text: str) -> None:
    analysis = content.analyse(text)
    assert analysis.encoding.segments >= 1
    assert analysis.encoding.scheme in ("GSM-7", "UCS-2")
    assert isinstance(content.names_brand(text, ("Demo Coffee", text[:20])), bool)


@SETTINGS
@given(
    text=hostile_text,
    region=st.sampled_from(["US", "GB", "DE", "zz", "", "\ud800"]),
    kind=st.sampled_from(list(SenderKind)),
)
@example(text="+12065550100", region="US", kind=SenderKind.LONG_CODE)
@example(text="+1" + "9" * 99_998, region="US", kind=SenderKind.LONG_CODE)
@example(text="٠٦٥٥٥٠١٠٠", region="US", kind=SenderKind.LONG_CODE)  # Arabic-Indic digits
def test_number_parsing_answers_or_refuses(text: str, region: str, kind: SenderKind) -> None:
    parsers: tuple[Callable[[], str], ...] = (
        lambda: numbers.to_e164(text, region),
        lambda: numbers.normalize_sender(text, kind, region),
        lambda: numbers.sender_lookup_key(text, region),
        lambda: numbers.normalize_region(text),
    )
    for parse in parsers:
        try:
            result = parse()
        except InvalidInput as error:
            assert error.message and error.field
        else:
            assert isinstance(result, str) and result


@SETTINGS
@given(text=hostile_text)
@_examples
def test_time_zone_locality_and_frequency_answer_any_text(text: str) -> None:
    where = timing.locality(text)
    assert isinstance(where.zones, tuple)
    timing.parse_frequency(text)  # a cap or None, never an exception
    try:
        e164 = numbers.to_e164(text)
    except InvalidInput:
        return
    assert timing.locality(e164).zones  # every valid number has a zone


@pytest.mark.parametrize("kind", cta.KINDS)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(
    text=hostile_text,
    html=st.sampled_from([None, True, False]),
    category=st.sampled_from(cta.CATEGORIES),
)
@example(text=_HUGE, html=None, category="marketing")
@example(text="<html><body><form><input type=checkbox>" * 5_000, html=None, category="marketing")
@example(text="<a href='\ud800'>\x00</a><script>" * 1000, html=True, category="marketing")
def test_linter_answers_or_refuses_any_text(
    kind: str, text: str, html: bool | None, category: str
) -> None:
    template = cta.TEMPLATES[len(text) % len(cta.TEMPLATES)] if kind == "template" else None
    context = cta.LintContext(brand="Demo Coffee", category=category, template=template)
    try:
        report = cta.lint(kind, text, context, html=html)
    except InvalidInput as error:
        assert error.field == "text"
        return
    assert 0 <= report.score <= 100
    for finding in report.findings:
        if finding.span is not None:
            assert report.visible_text[finding.span.start : finding.span.end] == finding.span.text


@SETTINGS
@given(text=hostile_text, header=st.sampled_from(["", "phone\n", "phone,occurred_at\n"]))
@example(text="a\rb\n", header="phone\n")  # a stray carriage return inside a field
@example(text="\u00c7\x1c\r\u00f5:\u00bfi2", header="phone,occurred_at\n")
@example(text='"unterminated\n' * 1000, header="phone,occurred_at\n")
def test_list_readers_answer_or_refuse_any_file(text: str, header: str) -> None:
    lines = (header + text).splitlines(keepends=True)  # as the HTTP routes split an upload
    for reader in (read_numbers, read_consent_rows):
        try:
            rows = list(reader(lines))
        except InvalidInput as error:
            assert error.field == "file" and error.message
        else:
            assert all(isinstance(number, int) and number >= 1 for number, _ in rows)
