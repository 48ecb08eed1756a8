"""A tenant's own keywords: normalisation, vetting against the reviewed lists, matching, order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.domain.custom_keywords import (
    SOURCE,
    STAGE,
    CustomKeyword,
    KeywordProblem,
    lookup_key,
    match,
    normalise_keyword,
    resolve,
    validate,
)
from consentry.domain.keywords import classify
from consentry.domain.model import Classification, ReplyKind

YA_NO = CustomKeyword("YA NO QUIERO", "opt_out", "es")
MENU = CustomKeyword("MENU", "help")
ENTRIES = (YA_NO, MENU, CustomKeyword("COUNT ME IN", "opt_in", "en"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ya no quiero", "YA NO QUIERO"),
        ("  ¡Ya   no quiero!! ", "YA NO QUIERO"),
        ("YA NO QUIERO 🙅", "YA NO QUIERO"),
        ("Ｍｅｎｕ", "MENU"),  # NFKC
        ("MENÚ", "MENU"),  # accents removed
        ("M.E.N.U", "MENU"),  # spaced-out letters joined
        ("don't text", "DONT TEXT"),  # apostrophes dropped
        ("đúng", "ĐÚNG"),  # the classifier keeps these accents: so does the tenant list
        ("!!!", ""),
    ],
)
def test_normalisation_is_the_classifiers(text: str, expected: str) -> None:
    assert normalise_keyword(text) == expected


@given(st.text(max_size=80))
def test_lookup_key_is_bounded_and_never_raises(text: str) -> None:
    key = lookup_key(text)
    assert key is None or 1 <= len(key) <= 64


@pytest.mark.parametrize(
    ("keyword", "kind", "language", "stored"),
    [
        ("Ya no quiero!", "opt_out", "es", CustomKeyword("YA NO QUIERO", "opt_out", "es")),
        ("menu", "help", None, CustomKeyword("MENU", "help", None)),
        ("Count me in", "opt_in", "EN", CustomKeyword("COUNT ME IN", "opt_in", "en")),
        # ambiguous for the reviewed lists: a tenant may say it is a revocation
        ("wrong number", "opt_out", None, CustomKeyword("WRONG NUMBER", "opt_out", None)),
        ("x" * 64, "help", None, CustomKeyword("X" * 64, "help", None)),
    ],
)
def test_valid_keywords_are_normalised(
    keyword: str, kind: str, language: str | None, stored: CustomKeyword
) -> None:
    assert validate(keyword, kind, language) == stored


@pytest.mark.parametrize(
    ("keyword", "kind", "language", "field"),
    [
        ("", "help", None, "keyword"),
        ("?! 🛑", "help", None, "keyword"),
        ("x" * 65, "help", None, "keyword"),
        ("menu", "confirm", None, "kind"),
        ("menu", "ambiguous", None, "kind"),
        ("menu", "help", "spanish", "language"),
        ("menu", "help", "e1", "language"),
    ],
)
def test_malformed_input_names_its_field(
    keyword: str, kind: str, language: str | None, field: str
) -> None:
    with pytest.raises(KeywordProblem) as raised:
        validate(keyword, kind, language)
    assert raised.value.field == field
    assert not raised.value.conflict


@pytest.mark.parametrize(
    ("keyword", "kind", "says"),
    [
        ("STOP", "opt_out", "already a standard keyword"),
        ("s.t.o.p", "opt_out", "already a standard keyword"),
        ("BASTA YA", "opt_out", "already a standard keyword"),  # BASTA (es) + a filler word
        ("HELP", "help", "already a standard keyword"),
        ("STOP", "opt_in", "read as opt_out"),
        ("stop!!", "help", "read as opt_out"),
        ("ARRÊT", "opt_in", "read as opt_out"),
        ("HELP", "opt_out", "read as help"),
        ("START", "opt_out", "read as opt_in"),
        ("YES", "opt_out", "read as confirm"),
        ("YES", "opt_in", "read as confirm"),
        ("wrong number", "opt_in", "read as ambiguous"),
        ("unsubscibe", "help", "read as ambiguous"),
        ("please stop texting me", "help", "read as opt_out"),
        ("bus stop", "help", "contains an opt-out word"),
    ],
)
def test_the_reviewed_lists_cannot_be_overridden(keyword: str, kind: str, says: str) -> None:
    with pytest.raises(KeywordProblem) as raised:
        validate(keyword, kind)
    assert raised.value.conflict
    assert raised.value.field == "keyword"
    assert says in raised.value.message


@pytest.mark.parametrize(
    ("reply", "language", "expected"),
    [
        ("ya no quiero", None, YA_NO),
        ("Ya no quiero!!", "es", YA_NO),
        ("YA NO QUIERO", "es-MX", YA_NO),
        ("ya no quiero", "en", None),  # a Spanish entry, an English reply
        ("menu", "fr", MENU),  # no language: matches whatever the hint
        ("Menú?", None, MENU),
        ("menu please", None, None),  # the whole reply must be the keyword
        ("the menu", None, None),
        ("", None, None),
        ("x" * 2000, None, None),
    ],
)
def test_matching(reply: str, language: str | None, expected: CustomKeyword | None) -> None:
    found = match(reply, ENTRIES, language)
    if expected is None:
        assert found is None
        return
    assert found == Classification(
        kind=ReplyKind(expected.kind),
        keyword=expected.keyword,
        language=expected.language,
        stage=STAGE,
        source=SOURCE,
    )


# Entries as a tenant could have them once the reviewed lists change under them: the lists win.
STALE = (
    CustomKeyword("STOP", "opt_in"),
    CustomKeyword("HELP", "opt_out"),
    CustomKeyword("WRONG NUMBER", "help"),
    CustomKeyword("UNSUBSCIBE", "opt_out"),
    CustomKeyword("MENU", "help"),
)


@pytest.mark.parametrize(
    ("reply", "kind", "stage"),
    [
        ("STOP", ReplyKind.OPT_OUT, "exact"),  # the reviewed lists decide
        ("help", ReplyKind.HELP, "exact"),
        ("wrong number", ReplyKind.AMBIGUOUS, "phrase"),  # only an opt-out may decide
        ("unsubscibe", ReplyKind.OPT_OUT, STAGE),  # ambiguous + tenant opt-out: revocation wins
        ("menu", ReplyKind.HELP, STAGE),  # other + tenant keyword
        ("lunch menu", ReplyKind.OTHER, None),
    ],
)
def test_order_reviewed_lists_first(reply: str, kind: ReplyKind, stage: str | None) -> None:
    verdict = resolve(classify(reply), reply, STALE)
    assert (verdict.kind, verdict.stage) == (kind, stage)


def test_no_entries_changes_nothing() -> None:
    verdict = classify("menu")
    assert resolve(verdict, "menu", ()) is verdict
