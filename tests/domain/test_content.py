"""Message content analysis: encoding, lexicons and evasion, links, opt-out wording, brand names.

The labelled bodies live in ``content_cases.toml`` next to this file (one row per body, with
the rule id and, where it matters, category, term, matched text and evasion technique). The
tables below are examples of each part; the property tests check what must hold for every
listed term and for any text at all.
"""

from __future__ import annotations

import math
import tomllib
import unicodedata
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consentry.domain import content
from consentry.domain.content import (
    MAX_ANALYSED_CHARS,
    Encoding,
    LexiconHit,
    analyse,
    content_citation,
    encoding,
    names_brand,
)

CASES: list[dict[str, Any]] = tomllib.loads(
    Path(__file__).with_name("content_cases.toml").read_text("utf-8")
)["cases"]
FLAGGED = [case for case in CASES if case["rule_id"]]
TRAPS = [case for case in CASES if not case["rule_id"]]

RULES: dict[str, Any] = tomllib.loads(
    resources.files("consentry.rules").joinpath("content.toml").read_text("utf-8")
)
LEXICONS = {name: table for name, table in RULES.items() if "terms" in table}
TERMS = [(name, term) for name, table in LEXICONS.items() for term in table["terms"]]
RULE_IDS = {"CONTENT-PROHIBITED", "CONTENT-AGE-GATED", "CONTENT-PROMO-IN-TRANSACTIONAL"}
TECHNIQUES = {"leet", "spacing", "homoglyph", "diacritics", "misspelling"}


def case_id(case: dict[str, Any]) -> str:
    return f"{case['rule_id'] or 'none'}:{case.get('evasion') or ''}:{case['text']!r}"


def describe(hits: tuple[LexiconHit, ...]) -> list[tuple[str, str, str, str | None]]:
    return [(h.rule_id, h.term, h.matched, h.evasion) for h in hits]


# --- the labelled bodies -----------------------------------------------------------------------


@pytest.mark.parametrize("case", FLAGGED, ids=[case_id(c) for c in FLAGGED])
def test_labelled_body_is_flagged(case: dict[str, Any]) -> None:
    hits = analyse(case["text"]).hits
    wanted = {k: case[k] or None for k in ("category", "term", "matched", "evasion") if k in case}
    assert any(
        hit.rule_id == case["rule_id"] and all(getattr(hit, k) == v for k, v in wanted.items())
        for hit in hits
    ), describe(hits)


@pytest.mark.parametrize("case", TRAPS, ids=[case_id(c) for c in TRAPS])
def test_trap_has_no_hit(case: dict[str, Any]) -> None:
    assert analyse(case["text"]).hits == (), describe(analyse(case["text"]).hits)


def test_case_file_covers_every_rule_and_technique() -> None:
    """At least five flagged bodies per rule id and per evasion technique, and five traps."""
    for rule_id in RULE_IDS:
        assert sum(c["rule_id"] == rule_id for c in FLAGGED) >= 5, rule_id
    for technique in TECHNIQUES:
        assert sum(c.get("evasion") == technique for c in FLAGGED) >= 5, technique
    assert sum(c.get("evasion") == "" for c in FLAGGED) >= 5
    assert len(TRAPS) >= 5


# --- encoding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", Encoding("GSM-7", 0, 1, ())),
        ("Hello", Encoding("GSM-7", 5, 1, ())),
        ("a" * 160, Encoding("GSM-7", 160, 1, ())),
        ("a" * 161, Encoding("GSM-7", 161, 2, ())),
        ("a" * 306, Encoding("GSM-7", 306, 2, ())),
        ("a" * 307, Encoding("GSM-7", 307, 3, ())),
        # The euro sign and { } [ ] ~ \ ^ | are escape sequences: two septets each.
        ("€", Encoding("GSM-7", 2, 1, ())),
        ("€" * 80, Encoding("GSM-7", 160, 1, ())),
        ("a" * 159 + "€", Encoding("GSM-7", 161, 2, ())),
        ("{[~]}\\^|", Encoding("GSM-7", 16, 1, ())),
        # 152 septets, then an escape: it may not straddle the 153-septet boundary.
        ("a" * 152 + "€" + "a" * 10, Encoding("GSM-7", 164, 2, ())),
        ("a" * 152 + "€" * 77, Encoding("GSM-7", 306, 3, ())),
        # Accented letters of the GSM alphabet stay GSM-7; others force UCS-2.
        ("Café à Öland, señor", Encoding("GSM-7", 19, 1, ())),
        ("ΔΦΓΛΩ", Encoding("GSM-7", 5, 1, ())),
        ("Façade", Encoding("UCS-2", 6, 1, ("ç",))),
        ("a" * 70 + "ç", Encoding("UCS-2", 71, 2, ("ç",))),
        ("ç" * 70, Encoding("UCS-2", 70, 1, ("ç",))),
        ("ç" * 71, Encoding("UCS-2", 71, 2, ("ç",))),
        ("ç" * 134, Encoding("UCS-2", 134, 2, ("ç",))),
        ("ç" * 135, Encoding("UCS-2", 135, 3, ("ç",))),
        # Emoji sit beyond the BMP: a surrogate pair, two code units, never split.
        ("Hi 😀", Encoding("UCS-2", 5, 1, ("😀",))),
        ("😀" * 35, Encoding("UCS-2", 70, 1, ("😀",))),
        ("😀" * 36, Encoding("UCS-2", 72, 2, ("😀",))),
        ("a" + "😀" * 34, Encoding("UCS-2", 69, 1, ("😀",))),
        ("a" * 66 + "😀" + "a" * 10, Encoding("UCS-2", 78, 2, ("😀",))),
        ("a" * 66 + "😀" * 34, Encoding("UCS-2", 134, 3, ("😀",))),
        # Forcing characters: distinct, in order of first appearance.
        ("Olá 😀 — olá 😀 “hi”", Encoding("UCS-2", 20, 1, ("á", "😀", "—", "“", "”"))),
        ("tab\there", Encoding("UCS-2", 8, 1, ("\t",))),
        ("lone \ud800 surrogate", Encoding("UCS-2", 16, 1, ("\ud800",))),
    ],
    ids=lambda value: repr(value)[:40] if isinstance(value, str) else "",
)
def test_encoding(body: str, expected: Encoding) -> None:
    assert encoding(body) == expected
    assert analyse(body).encoding == expected


def naive_segments(widths: list[int], single: int, per: int) -> int:
    """Fill segments one character at a time: the reference the encoder must agree with."""
    if sum(widths) <= single:
        return 1
    segments = [0]
    for width in widths:
        if segments[-1] + width > per:
            segments.append(0)
        segments[-1] += width
    return len(segments)


GSM_TEXT = st.text(alphabet=st.sampled_from("abcXYZ 019.,!?@£$é€{}[]~\\^|\n"), max_size=700)


@settings(max_examples=300, deadline=None)
@given(GSM_TEXT)
def test_gsm7_segments(body: str) -> None:
    result = encoding(body)
    assert result.scheme == "GSM-7"
    assert result.forcing == ()
    widths = [2 if ch in "€{}[]~\\^|" else 1 for ch in body]
    assert result.characters == sum(widths)
    assert result.segments >= 1
    assert (result.characters <= 160) == (result.segments == 1)
    assert result.segments == naive_segments(widths, 160, 153)
    assert result.segments >= math.ceil(result.characters / 153)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("aé€ç—😀𝒜\ud800"), min_size=1, max_size=300))
def test_ucs2_segments(body: str) -> None:
    result = encoding(body)
    if result.scheme == "GSM-7":
        assert set(body) <= set("aé€")
        return
    widths = [2 if ord(ch) > 0xFFFF else 1 for ch in body]
    assert result.characters == sum(widths)
    assert (result.characters <= 70) == (result.segments == 1)
    assert result.segments == naive_segments(widths, 70, 67)
    assert set(result.forcing) == {ch for ch in body if ch not in "aé€"}


# --- links and shorteners ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "links"),
    [
        # Public URL shorteners: flagged.
        ("Track it: bit.ly/3xYz9", [("bit.ly/3xYz9", "bit.ly", True)]),
        ("See https://tinyurl.com/abc123.", [("https://tinyurl.com/abc123", "tinyurl.com", True)]),
        ("Go to HTTPS://T.CO/xyz now", [("HTTPS://T.CO/xyz", "t.co", True)]),
        (
            "goo.gl/maps/abc and ow.ly/q",
            [("goo.gl/maps/abc", "goo.gl", True), ("ow.ly/q", "ow.ly", True)],
        ),
        ("Details: https://rb.gy/k2m (expires)", [("https://rb.gy/k2m", "rb.gy", True)]),
        ("Survey at cutt.ly/survey!", [("cutt.ly/survey", "cutt.ly", True)]),
        ("https://www.shorturl.at/abc", [("https://www.shorturl.at/abc", "shorturl.at", True)]),
        ("https://m.bit.ly/x", [("https://m.bit.ly/x", "m.bit.ly", True)]),
        # The brand's own domains: links, not shorteners.
        (
            "Track: https://www.Acme.com/t/1?x=2",
            [("https://www.Acme.com/t/1?x=2", "acme.com", False)],
        ),
        ("Visit www.democoffee.com.", [("www.democoffee.com", "democoffee.com", False)]),
        ("Menu at democoffee.co.uk/menu", [("democoffee.co.uk/menu", "democoffee.co.uk", False)]),
        ("Acme: acme.link/r/42", [("acme.link/r/42", "acme.link", False)]),
        (
            "http://user@example.org:8080/path",
            [("http://user@example.org:8080/path", "example.org", False)],
        ),
        # Not links at all.
        ("Call us today.Thanks", []),
        ("e.g. a.m. or p.m.", []),
        ("Write to help@bit.ly for support", []),
        ("Version 2.5.1 is out", []),
        ("No links here", []),
    ],
    ids=lambda value: repr(value)[:40] if isinstance(value, str) else "",
)
def test_links(body: str, links: list[tuple[str, str, bool]]) -> None:
    found = analyse(body).links
    assert [(link.url, link.host, link.shortener) for link in found] == links
    for link in found:
        assert body[link.start : link.end] == link.url


# --- opt-out instructions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "Demo Coffee: 1 msg/wk. Reply STOP to opt out",
        "Txt STOP to end",
        "Text STOP to unsubscribe",
        "Reply HELP for help, STOP to cancel.",
        "Reply STOP to quit",
        "Reply STOP",
        "Reply UNSUBSCRIBE",
        "To opt out, reply stop.",
        "Reply 'stop' to end",
        "Text the word STOP to 12345",
        "Reply END to stop messages",
        "Send STOPALL to stop all",
        "STOP 2 end",
        "Responde BAJA para cancelar",
        "Responde ALTO",
        "Responda PARAR",
        "Répondez STOP pour vous désabonner",
    ],
)
def test_opt_out_instructions_present(body: str) -> None:
    assert analyse(body).opt_out_instructions


@pytest.mark.parametrize(
    "body",
    [
        "Don't stop by without calling first",
        "Meet at the bus stop",
        "Stop by our store today",
        "Reply: stop by our booth!",
        "I'll text end of day",
        "Please reply by end of day",
        "Text us when you stop by",
        "Nonstop deals all week",
        "Reply YES to confirm",
        "Call to cancel your appointment",
        "stop to cancel",
        "Reply stopwatch",
        "",
    ],
)
def test_opt_out_instructions_absent(body: str) -> None:
    assert not analyse(body).opt_out_instructions


# --- brand names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "names", "expected"),
    [
        ("DEMO COFFEE: your order is ready", ("Demo Coffee",), True),
        ("demo coffee - your order is ready", ("Demo Coffee",), True),
        ("From Demo-Coffee: hi", ("Demo Coffee",), True),
        ("Joes Pizza: table ready", ("Joe's Pizza",), True),
        ("JOE’S PIZZA: table ready", ("Joe's Pizza",), True),
        ("Café Rio: hi", ("Cafe Rio",), True),
        ("Acme: hi", ("Demo Coffee", "Acme"), True),
        ("Demonstration today", ("Demo",), False),
        ("DemoCoffee: hi", ("Demo Coffee",), False),
        ("Your order is ready", ("Demo Coffee",), False),
        ("Your order is ready", (), False),
        ("Your order is ready", ("", "!!"), False),
    ],
)
def test_names_brand(body: str, names: tuple[str, ...], expected: bool) -> None:
    assert names_brand(body, names) is expected


# --- the rule data -----------------------------------------------------------------------------


def test_every_section_is_cited() -> None:
    for name, table in RULES.items():
        assert isinstance(table, dict), name
        assert isinstance(table.get("citation"), str) and table["citation"].strip(), name
        assert content_citation(name) == table["citation"]
    with pytest.raises(KeyError):
        content_citation("no-such-section")


def test_lexicons_are_well_formed() -> None:
    for name, table in LEXICONS.items():
        assert table["rule_id"] in RULE_IDS, name
        assert 10 <= len(table["terms"]) <= 30, name
        assert all(term == term.lower().strip() for term in table["terms"]), name
    terms = [term for _, term in TERMS]
    assert len(terms) == len(set(terms))
    allowed = set(RULES["misspellings"]["allow"])
    assert allowed.isdisjoint(terms)


@pytest.mark.parametrize(("section", "term"), TERMS, ids=[f"{s}:{t}" for s, t in TERMS])
def test_every_term_matches_itself_plainly(section: str, term: str) -> None:
    hits = analyse(f"Note: {term} today").hits
    assert [(h.category, h.term, h.matched, h.evasion) for h in hits] == [
        (section, term, term, None)
    ]
    assert hits[0].rule_id == LEXICONS[section]["rule_id"]
    assert hits[0].citation == LEXICONS[section]["citation"]


SINGLE_WORDS = [
    (section, term)
    for section, term in TERMS
    if term.isalpha() and len(term) >= 3 and LEXICONS[section].get("evasion", True)
]


@pytest.mark.parametrize(("section", "term"), SINGLE_WORDS)
def test_every_word_is_found_spaced_out(section: str, term: str) -> None:
    spaced = ".".join(term.upper())
    hits = analyse(f"try {spaced} now").hits
    assert describe(hits) == [(LEXICONS[section]["rule_id"], term, spaced, "spacing")]


CYRILLIC = str.maketrans("aceopx", "асеорх")


@pytest.mark.parametrize(
    ("section", "term"), [(s, t) for s, t in SINGLE_WORDS if set(t) & set("aceopx")]
)
def test_every_word_is_found_in_look_alike_letters(section: str, term: str) -> None:
    hidden = term.translate(CYRILLIC)
    hits = analyse(f"try {hidden} now").hits
    assert describe(hits) == [(LEXICONS[section]["rule_id"], term, hidden, "homoglyph")]


def test_promotional_wording_counts_only_in_plain_spelling() -> None:
    """ "S-A-L-E" and full-width "ＳＡＬＥ" are styling: no CONTENT-EVASION for promotions."""
    assert analyse("SALE today").hits[0].term == "sale"
    assert analyse("S-A-L-E today").hits == ()
    assert analyse("ＳＡＬＥ today").hits == ()


def test_hits_are_ordered_and_cite_their_section() -> None:
    body = "Happy hour! CBD shots, 20% off, bit.ly/x. Reply STOP to opt out"
    result = analyse(body)
    assert describe(result.hits) == [
        ("CONTENT-AGE-GATED", "happy hour", "Happy hour", None),
        ("CONTENT-PROHIBITED", "cbd", "CBD", None),
        ("CONTENT-PROMO-IN-TRANSACTIONAL", "% off", "% off", None),
    ]
    assert [h.citation for h in result.hits] == [
        content_citation("alcohol"),
        content_citation("cannabis"),
        content_citation("promotional"),
    ]
    assert [link.host for link in result.links] == ["bit.ly"]
    assert result.opt_out_instructions


def test_long_bodies_are_bounded() -> None:
    body = "Hello there. " * 200 + "cannabis"
    assert len(body) > MAX_ANALYSED_CHARS
    result = analyse(body)
    assert result.hits == ()  # past the analysed prefix
    assert result.encoding.characters == len(body)  # the encoding counts everything


def test_analyse_is_memoised() -> None:
    body = "Memo test: CBD oil"
    assert analyse(body) is analyse(body)


# --- properties --------------------------------------------------------------------------------

WORDS = [term for _, term in TERMS] + ["the", "a", "stop", "reply", "bit.ly/x", "gun", "begun"]
NOISE = st.sampled_from(
    [
        " ",
        ".",
        "-",
        "*",
        "_",
        "!",
        "$",
        "@",
        "1",
        "3",
        "0",
        "\u200b",
        "\u0301",
        "\u0441",
        "Ｃ",
        "\ud800",
    ]
)
MESSY = st.lists(st.one_of(st.sampled_from(WORDS), NOISE, st.text(max_size=3)), max_size=40).map(
    "".join
)
ANY_TEXT = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=()), max_size=300),
    MESSY,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
def test_analyse_never_raises_and_spans_are_exact(body: str) -> None:
    result = content.analyse.__wrapped__(body)
    previous_end = 0
    for hit in result.hits:
        assert body[hit.start : hit.end] == hit.matched
        assert hit.matched
        assert hit.start >= previous_end  # ordered by start, never overlapping
        previous_end = hit.end
        assert hit.rule_id in RULE_IDS
        assert hit.evasion is None or hit.evasion in TECHNIQUES
        assert hit.citation
    for link in result.links:
        assert body[link.start : link.end] == link.url
    assert result.encoding.segments >= 1
    if result.encoding.scheme == "GSM-7":
        assert (result.encoding.characters <= 160) == (result.encoding.segments == 1)


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT, st.lists(st.text(max_size=12), max_size=3))
def test_names_brand_never_raises(body: str, names: list[str]) -> None:
    assert isinstance(names_brand(body, tuple(names)), bool)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SINGLE_WORDS), st.sampled_from(["", "Hey! ", "New: "]))
def test_plain_terms_are_never_evasion(pick: tuple[str, str], prefix: str) -> None:
    _, term = pick
    for body in (prefix + term, prefix + term.upper(), prefix + term.title()):
        hits = analyse(body).hits
        assert [(h.term, h.evasion) for h in hits] == [(term, None)], body
        assert unicodedata.is_normalized("NFC", hits[0].matched)
