"""The inbound reply classifier: labelled replies, properties, and the reviewed rule data.

The labelled replies live in ``inbound_cases.toml`` next to this file (one row per reply, with
the expected kind and, where it matters, keyword, language, stage and scope). The property
tests check what must hold for every listed keyword and for any text at all.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consentry.domain.keywords import MAX_ANALYSED_CHARS, Stage, classify, languages, normalise
from consentry.domain.model import Classification, ReplyKind

CASES: list[dict[str, Any]] = tomllib.loads(
    Path(__file__).with_name("inbound_cases.toml").read_text("utf-8")
)["cases"]
TRAPS = [case for case in CASES if case.get("trap")]

RULES = resources.files("consentry.rules")
RULE_FILES: dict[str, dict[str, Any]] = {
    path.name: tomllib.loads(path.read_text("utf-8"))
    for path in RULES.joinpath("keywords").iterdir()
    if path.name.endswith(".toml")
}
KEYWORD_KINDS = ("opt_out", "opt_in", "help", "confirm", "ambiguous")
EXPECTED_LANGUAGES = {"en", "es", "fr", "de", "it", "pt", "zh", "ko", "vi", "tl"}
STAGES = {stage.value for stage in Stage}


def listed_keywords(kind: str) -> list[tuple[str, str]]:
    """(language, keyword) for every keyword of ``kind`` in the rule files."""
    return [
        (document["language"], word)
        for document in RULE_FILES.values()
        for table in document.get(kind, [])
        for word in table.get("keywords", [])
    ]


def case_id(case: dict[str, Any]) -> str:
    hint = f"[{case['hint']}]" if "hint" in case else ""
    return f"{case['kind']}:{hint}{case['text']!r}"


# --- the labelled replies --------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_labelled_reply(case: dict[str, Any]) -> None:
    result = classify(case["text"], case.get("hint"))

    assert result.kind is ReplyKind(case["kind"]), result
    for name in ("keyword", "language", "stage"):
        if name in case:
            assert getattr(result, name) == (case[name] or None), result
    if "account_wide" in case:
        assert result.account_wide is case["account_wide"], result
    if result.keyword is not None:
        assert result.source, "every match names the list it came from"


@pytest.mark.parametrize("case", TRAPS, ids=[case_id(c) for c in TRAPS])
def test_conversation_never_opts_out(case: dict[str, Any]) -> None:
    assert classify(case["text"], case.get("hint")).kind is not ReplyKind.OPT_OUT


def test_case_table_is_large_and_covers_every_language() -> None:
    assert len(CASES) >= 180
    assert len(TRAPS) >= 40
    covered = {case.get("language") for case in CASES} | {case.get("hint") for case in CASES}
    assert set(languages()) <= covered
    kinds = {case["kind"] for case in CASES}
    assert kinds == {kind.value for kind in ReplyKind}


# --- properties ------------------------------------------------------------------------------

DECORATION = st.lists(
    st.sampled_from([*".!?,;:-*~ \t\n", "🛑", "🙏", "😡", "👍🏽", "❤️"]), max_size=6
).map("".join)


@st.composite
def decorated_keyword(draw: st.DrawFn, kind: str) -> tuple[str, str, str]:
    """A listed keyword of ``kind`` in random case, wrapped in punctuation and emoji."""
    language, word = draw(st.sampled_from(listed_keywords(kind)))
    cased = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in word)
    return language, word, draw(DECORATION) + cased + draw(DECORATION)


def assert_same_keyword(language: str, word: str, text: str, kind: ReplyKind) -> None:
    plain = classify(word, language)
    result = classify(text, language)
    assert plain.kind is kind
    assert plain.language == language
    assert (result.kind, result.keyword, result.language, result.account_wide) == (
        plain.kind,
        plain.keyword,
        plain.language,
        plain.account_wide,
    ), text


@settings(max_examples=300, deadline=None)
@given(decorated_keyword("opt_out"))
def test_any_casing_and_decoration_of_an_opt_out_keyword_opts_out(
    example: tuple[str, str, str],
) -> None:
    assert_same_keyword(*example, ReplyKind.OPT_OUT)


@settings(max_examples=150, deadline=None)
@given(decorated_keyword("help"))
def test_any_casing_and_decoration_of_a_help_keyword_asks_for_help(
    example: tuple[str, str, str],
) -> None:
    assert_same_keyword(*example, ReplyKind.HELP)


@settings(max_examples=150, deadline=None)
@given(decorated_keyword("opt_in"))
def test_any_casing_and_decoration_of_an_opt_in_keyword_opts_in(
    example: tuple[str, str, str],
) -> None:
    assert_same_keyword(*example, ReplyKind.OPT_IN)


def assert_valid(result: Classification) -> None:
    assert isinstance(result, Classification)
    assert isinstance(result.kind, ReplyKind)
    assert result.stage is None or result.stage in STAGES
    assert result.language is None or result.language in languages()
    assert isinstance(result.account_wide, bool)


HUGE = st.builds(lambda piece, times: piece * times, st.text(max_size=12), st.integers(0, 9000))
ANY_TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", "replace")),
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", "surrogateescape")),
    HUGE,
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT, st.sampled_from([None, "en", "es", "zh", "ko", "vi", "es-MX", "xx", ""]))
def test_never_raises_and_always_answers_a_valid_kind(text: str, language: str | None) -> None:
    assert_valid(classify(text, language))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.text(alphabet=" \t\r\n\u00a0\u3000", max_size=5))
def test_deterministic_and_blind_to_surrounding_whitespace(text: str, padding: str) -> None:
    first = classify(text)
    assert classify(text) == first
    assert classify(padding + text + padding) == first


@pytest.mark.parametrize(
    "text",
    [
        "\ud800",
        "stop\udfff",
        "\udc00\ud800STOP",
        "\x00" * 5000,
        "x" * 100_000,
        "stop " * 30_000,
        "🛑" * 50_000,
        "S " * 60_000,
        "\u0301" * 10_000,
        "\ufdfa" * 2_000,
        "退订" * 40_000,
    ],
    ids=lambda t: f"{t[:6]!r}x{len(t)}",
)
def test_junk_and_huge_replies_never_raise(text: str) -> None:
    assert_valid(classify(text))


def test_lone_surrogates_are_ignored_like_punctuation() -> None:
    assert classify("stop\udfff").kind is ReplyKind.OPT_OUT


def test_only_a_bounded_prefix_is_analysed() -> None:
    filler = "x" * (MAX_ANALYSED_CHARS + 10)
    assert classify("STOP" + " " * 50_000).kind is ReplyKind.OPT_OUT
    assert classify("STOP" + "!" * 50_000).kind is ReplyKind.OPT_OUT
    assert classify("please stop texting me. " + filler).kind is ReplyKind.OPT_OUT
    assert classify(filler + " please stop texting me").kind is ReplyKind.OTHER


def test_language_hint_prefers_that_language_and_tolerates_any_tag() -> None:
    assert classify("cancelar").language == "es"
    assert classify("cancelar", "pt").language == "pt"
    assert classify("cancelar", "pt-BR").language == "pt"
    assert classify("STOP", "es").language == "en"
    assert classify("stop", "fil").kind is ReplyKind.OPT_OUT
    assert classify("STOP", "no-such-language") == classify("STOP")


def test_normalise_folds_every_disguise() -> None:
    assert normalise("S.T.Ö.P!") == "stop"
    assert normalise("ЅТОР") == "stop"
    assert normalise("ＳＴＯＰ  please") == "stop please"
    assert normalise("don't") == "dont"


# --- the rule data ---------------------------------------------------------------------------


def all_lists() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, document in RULE_FILES.items():
        for key, value in document.items():
            if isinstance(value, list):
                for table in value:
                    yield name, key, table


def test_every_language_file_parses_and_names_itself() -> None:
    assert set(languages()) == EXPECTED_LANGUAGES
    assert languages()[0] == "en"
    for name, document in RULE_FILES.items():
        assert name == f"{document['language']}.toml"
        assert document["name"]
        assert document["segmentation"] in ("words", "characters")
        assert document.get("opt_out") and document.get("help"), name


def test_every_list_cites_its_source_and_holds_words() -> None:
    for name, key, table in all_lists():
        assert isinstance(table.get("citation"), str) and table["citation"].strip(), (name, key)
        values = [v for v in table.values() if isinstance(v, list)]
        assert values and all(v and all(isinstance(w, str) and w for w in v) for v in values), (
            name,
            key,
        )
    confusables = tomllib.loads(RULES.joinpath("confusables.toml").read_text("utf-8"))
    for section in confusables.values():
        assert section["citation"].strip()


def test_no_keyword_has_two_kinds_within_a_language() -> None:
    for name, document in RULE_FILES.items():
        kinds: dict[str, str] = {}
        for kind in KEYWORD_KINDS:
            for table in document.get(kind, []):
                for word in table.get("keywords", []):
                    key = normalise(word)
                    assert kinds.setdefault(key, kind) == kind, f"{name}: {word!r}"


def test_a_typing_slip_never_turns_an_opt_out_into_an_opt_in() -> None:
    opt_outs = {normalise(word) for _, word in listed_keywords("opt_out")}
    for language, word in listed_keywords("opt_in"):
        key = normalise(word)
        assert not any(edit_distance(key, other) <= 1 for other in opt_outs), (language, word)


def test_politeness_words_are_never_part_of_a_keyword() -> None:
    fillers = {
        normalise(word)
        for _, key, table in all_lists()
        if key == "politeness"
        for word in table["words"]
    }
    for kind in KEYWORD_KINDS:
        for language, word in listed_keywords(kind):
            assert fillers.isdisjoint(normalise(word).split()), (language, word)


def test_confusables_map_single_characters_to_latin_letters() -> None:
    confusables = tomllib.loads(RULES.joinpath("confusables.toml").read_text("utf-8"))
    for char, latin in confusables["letters"]["map"].items():
        assert len(char) == 1 and not char.isascii(), char
        assert latin.isascii() and latin.isalpha() and latin.islower(), char
    for digit, latin in confusables["digits_in_words"]["map"].items():
        assert digit.isdigit() and latin.isalpha(), digit


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]
