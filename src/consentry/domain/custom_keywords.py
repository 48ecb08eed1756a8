"""A tenant's own reply keywords: normalise, vet against the reviewed lists, match a reply.

The reviewed lists in ``consentry/rules/keywords`` always come first. A tenant may add keywords
the lists do not know ("YA NO QUIERO" as opt-out, "MENU" as help) but can never change what the
lists say: STOP stays an opt-out whatever a tenant adds.

Keywords are stored and compared in the form the classifier compares a whole reply in
(:func:`consentry.domain.keywords.normalise`: NFKC, case folded, punctuation and emoji removed,
accents removed except where they alone tell a word apart, look-alike letters folded, spaced-out
letters joined, single spaces), upper-cased: ``"¡Basta, ya!"`` is stored as ``"BASTA YA"``.

Order at classification (see :func:`resolve`): the reviewed classifier answers first. Only when
it answers ``other`` may a tenant keyword of any kind decide; when it answers ``ambiguous`` only a
tenant *opt-out* keyword may decide (a revocation wins ties: the reply was already a possible
revocation, and the tenant says it is one); any other answer of the classifier stands.

A reply matches a tenant keyword when the WHOLE reply, normalised, equals it (no politeness
words or sentences around it). A keyword with a language matches when the reply's language hint
is that language (``"es-MX"`` counts as ``"es"``) or there is no hint; one without a language
matches whatever the hint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from consentry.domain.keywords import MAX_ANALYSED_CHARS, classify, normalise
from consentry.domain.model import Classification, ReplyKind

__all__ = [
    "KINDS",
    "MAX_KEYWORD",
    "SOURCE",
    "STAGE",
    "CustomKeyword",
    "KeywordProblem",
    "language_code",
    "lookup_key",
    "match",
    "needs_lookup",
    "normalise_keyword",
    "resolve",
    "validate",
]

MAX_KEYWORD: Final = 64
"""Characters of a normalised tenant keyword, at most."""
KINDS: Final = ("opt_out", "opt_in", "help")
"""The kinds a tenant keyword may have."""
STAGE: Final = "tenant_keyword"
"""The ``Classification.stage`` of a reply decided by a tenant keyword."""
SOURCE: Final = "tenant keyword list"
"""The ``Classification.source`` of a reply decided by a tenant keyword."""

_LANGUAGE = re.compile(r"[a-z]{2}")


@dataclass(frozen=True, slots=True)
class CustomKeyword:
    """One entry of a tenant's list: the normalised keyword, its kind and optional language."""

    keyword: str
    kind: str
    language: str | None = None


class KeywordProblem(ValueError):
    """Why a keyword cannot be added: ``field`` names the input, ``conflict`` says it is a clash
    with the reviewed lists (HTTP 409) rather than malformed input (HTTP 422)."""

    def __init__(self, message: str, *, field: str, conflict: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.conflict = conflict


def normalise_keyword(text: str) -> str:
    """``text`` folded the way the classifier folds a whole reply, upper-cased."""
    return normalise(text).upper()


def language_code(language: str | None) -> str | None:
    """The ISO 639-1 part of a language hint (``"es-MX"`` -> ``"es"``), or None."""
    if language is None:
        return None
    code = language.strip().lower().replace("_", "-").split("-")[0]
    return code or None


def validate(keyword: str, kind: str, language: str | None = None) -> CustomKeyword:
    """Normalise and vet a keyword a tenant wants to add; raise :class:`KeywordProblem`.

    Malformed input (empty, too long, not letters/digits/spaces after normalisation, an unknown
    kind, a language that is not two letters) is a problem of its field. A keyword that the
    reviewed lists already read as anything but ``other`` is a conflict, with two exceptions
    and one addition, all for safety:

    - an opt-out keyword that the lists read as ``ambiguous`` may be added (it turns a reply held
      for review into an honoured revocation);
    - an opt-in or help keyword that contains an opt-out word the lists excuse only because of
      its everyday context ("BUS STOP") is refused all the same.
    """
    if kind not in KINDS:
        raise KeywordProblem(f"kind must be one of {', '.join(KINDS)}", field="kind")
    code = None
    if language is not None:
        code = language.strip().lower()
        if not _LANGUAGE.fullmatch(code):
            raise KeywordProblem(
                "language must be an ISO 639-1 code of two letters (e.g. es)", field="language"
            )
    if not isinstance(keyword, str):
        raise KeywordProblem("keyword must be text", field="keyword")
    norm = normalise_keyword(keyword[: MAX_ANALYSED_CHARS + 1])
    if not norm:
        raise KeywordProblem(
            "keyword has no letters or digits once punctuation and emoji are removed",
            field="keyword",
        )
    if len(norm) > MAX_KEYWORD:
        raise KeywordProblem(
            f"keyword is {len(norm)} characters once normalised; at most {MAX_KEYWORD}",
            field="keyword",
        )
    if not all(ch.isalnum() or ch == " " for ch in norm):
        raise KeywordProblem("keyword must consist of letters, digits and spaces", field="keyword")
    verdict = classify(norm, code)
    said = _described(verdict)
    if verdict.kind.value == kind:
        raise KeywordProblem(
            f"{norm} is already a standard keyword: the reviewed lists read it as {kind}{said}",
            field="keyword",
            conflict=True,
        )
    if verdict.kind is ReplyKind.AMBIGUOUS and kind == "opt_out":
        return CustomKeyword(norm, kind, code)
    if verdict.kind is not ReplyKind.OTHER:
        raise KeywordProblem(
            f"{norm} is read as {verdict.kind.value} by the reviewed keyword lists{said}; "
            f"a tenant keyword cannot make it {kind}",
            field="keyword",
            conflict=True,
        )
    if kind != "opt_out" and verdict.stage == "negative_context":
        raise KeywordProblem(
            f"{norm} contains an opt-out word; it cannot be a {kind} keyword",
            field="keyword",
            conflict=True,
        )
    return CustomKeyword(norm, kind, code)


def lookup_key(text: str) -> str | None:
    """The form in which a reply would be stored as a tenant keyword, or None if it cannot be
    one (empty or longer than :data:`MAX_KEYWORD` once normalised)."""
    norm = normalise_keyword(text.strip()[:MAX_ANALYSED_CHARS])
    return norm if norm and len(norm) <= MAX_KEYWORD else None


def match(
    text: str, entries: Iterable[CustomKeyword], language: str | None = None
) -> Classification | None:
    """The classification of ``text`` by a tenant's list, or None when no entry matches.

    The whole reply, normalised, must equal an entry; see the module docstring for languages.
    """
    norm = lookup_key(text)
    if norm is None:
        return None
    hint = language_code(language)
    for entry in entries:
        if entry.keyword != norm:
            continue
        if entry.language is not None and hint is not None and entry.language != hint:
            continue
        return Classification(
            kind=ReplyKind(entry.kind),
            keyword=entry.keyword,
            language=entry.language,
            stage=STAGE,
            source=SOURCE,
        )
    return None


def resolve(
    verdict: Classification,
    text: str,
    entries: Iterable[CustomKeyword],
    language: str | None = None,
) -> Classification:
    """The final classification: the reviewed ``verdict`` unless a tenant keyword may decide.

    ``other`` -> any matching tenant keyword; ``ambiguous`` -> a matching tenant opt-out keyword
    only; anything else -> ``verdict`` unchanged.
    """
    if verdict.kind is ReplyKind.OTHER:
        allowed: tuple[str, ...] = KINDS
    elif verdict.kind is ReplyKind.AMBIGUOUS:
        allowed = ("opt_out",)
    else:
        return verdict
    found = match(text, (e for e in entries if e.kind in allowed), language)
    return found or verdict


def needs_lookup(verdict: Classification) -> bool:
    """Whether a tenant keyword could change ``verdict`` (so the list is worth reading)."""
    return verdict.kind in (ReplyKind.OTHER, ReplyKind.AMBIGUOUS)


def _described(verdict: Classification) -> str:
    if verdict.keyword is None:
        return ""
    where = f", {verdict.language}" if verdict.language else ""
    return f" ({verdict.keyword}{where}, stage {verdict.stage})"
