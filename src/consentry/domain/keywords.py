"""Classify an inbound SMS reply: opt-out, opt-in, help, confirm, ambiguous or other.

``classify(text, language=None)`` says what a reply asks for and why: the listed keyword or
phrase that matched, the language of its list, the normalisation stage at which it matched,
and the citation of the list. The words are reviewed data, not code:
``consentry/rules/keywords/<lang>.toml`` per language and ``consentry/rules/confusables.toml``
for look-alike letters, read once on first use.

The reply is normalised in fixed stages; the first stage at which the WHOLE reply is a listed
keyword names the result (``Stage``)::

    exact                    trimmed and upper-cased ("STOP", " stop ")
    nfkc_casefold            NFKC, case folding, invisible characters removed ("ＳＴＯＰ")
    strip_punctuation_emoji  punctuation, symbols and emoji become spaces, apostrophes
                             are dropped ("stop!!!", "stop 🛑", "don't" -> "dont")
    strip_diacritics         accents removed ("arrêt" -> "arret"), except for words whose
                             accents alone separate them from a keyword (Vietnamese "đúng")
    confusables_skeleton     look-alike letters and digits inside words become Latin
                             letters (Cyrillic "ЅТОР", "ST0P")
    joined_letters           runs of single letters are joined ("S T O P", "s.t.o.p")

If no stage matches, the normalised words are analysed, in this order:

    tokens            after removing politeness words, every word is a keyword
                      ("STOP please", "stop stop stop", "Stop. Thanks")
    compact           the same for Chinese and Korean, with spaces removed and polite affixes
                      peeled off ("请退订", "중지해주세요")
    phrase            a listed revocation phrase occurs ("please stop texting me") -> opt_out
    clause            one sentence of a longer reply is only opt-out keywords, at least one of
                      them a rare word ("STOP. I never signed up") -> opt_out
    phrase            a listed ambiguous phrase occurs ("wrong number") -> ambiguous
    near_miss         the reply is only a misspelt opt-out keyword ("unsubscibe") -> ambiguous
    in_sentence       a rare opt-out word sits in an otherwise unclear reply ("how do I
                      unsubscribe?") -> ambiguous ...
    negative_context  ... unless every such word is part of an everyday phrase ("the bus stop
                      is on 5th", "cancel my reservation") -> other
    symbols           the reply is only a stop-like emoji ("🛑") -> ambiguous

Precedence, when a reply consists of keywords of several kinds: opt_out > ambiguous > help >
opt_in > confirm. "STOP HELP" and "stop start" are opt_out: honouring a revocation that was
not meant costs the person one START, ignoring one that was meant breaks the TCPA. For the
same reason a revocation phrase wins over a negation around it ("if you don't stop texting me").

A reply that is only "YES" (or a translation) is ``confirm``, never ``opt_in``: it confirms a
pending double opt-in, but unlike Twilio's number-level filter a "yes" that answers some other
question ("Can you make 3pm?") never re-subscribes anybody who replied STOP.

Long replies: only the first ``MAX_ANALYSED_CHARS`` characters (after trimming, and again
after NFKC, which can lengthen text) are analysed. That bounds the time per reply: a few
milliseconds for the worst adversarial text, microseconds for real replies. A keyword reply is
short and a long message that revokes consent says so early; a revocation hidden behind 1,000
characters of other text is not seen. ``classify`` never raises for any ``str``, lone
surrogates included.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any

from consentry.domain.model import Classification, ReplyKind

__all__ = ["MAX_ANALYSED_CHARS", "Stage", "classify", "languages", "normalise"]

MAX_ANALYSED_CHARS = 1000
"""Characters of a (trimmed) reply that are analysed; the rest is ignored."""


class Stage(StrEnum):
    """The normalisation or analysis stage that decided a classification."""

    EXACT = "exact"
    NFKC_CASEFOLD = "nfkc_casefold"
    STRIP_PUNCTUATION_EMOJI = "strip_punctuation_emoji"
    STRIP_DIACRITICS = "strip_diacritics"
    CONFUSABLES_SKELETON = "confusables_skeleton"
    JOINED_LETTERS = "joined_letters"
    TOKENS = "tokens"
    COMPACT = "compact"
    PHRASE = "phrase"
    CLAUSE = "clause"
    NEAR_MISS = "near_miss"
    IN_SENTENCE = "in_sentence"
    NEGATIVE_CONTEXT = "negative_context"
    SYMBOLS = "symbols"


def classify(text: str, language: str | None = None) -> Classification:
    """Classify one inbound reply.

    ``language`` (ISO 639-1, e.g. ``"es"``; regional tags such as ``"es-MX"`` are accepted) puts
    that language's lists first, so a word listed there reports that language; every other
    language, English first, is still tried. An unknown language counts as ``None``.
    """
    lexicon = _lexicon()
    prefer = lexicon.aliases.get(_language_code(language)) if language else None
    text = text.strip()[:MAX_ANALYSED_CHARS]
    if not text:
        return _NOTHING
    whole = lexicon.whole
    folding = lexicon.folding
    if hit := whole[Stage.EXACT].get(text.upper()):
        return _pick(hit, prefer).verdict(Stage.EXACT)
    cased = _fold_case(text)[:MAX_ANALYSED_CHARS]  # NFKC may lengthen it (U+FDFA: 18 letters)
    if hit := whole[Stage.NFKC_CASEFOLD].get(cased):
        return _pick(hit, prefer).verdict(Stage.NFKC_CASEFOLD)
    norm = _strip_punctuation(cased)
    if not norm:
        return _only_symbols(cased, lexicon, prefer)
    if hit := whole[Stage.STRIP_PUNCTUATION_EMOJI].get(norm):
        return _pick(hit, prefer).verdict(Stage.STRIP_PUNCTUATION_EMOJI)
    norm = _strip_diacritics(norm, folding)
    if hit := whole[Stage.STRIP_DIACRITICS].get(norm):
        return _pick(hit, prefer).verdict(Stage.STRIP_DIACRITICS)
    norm = _skeleton(norm, folding)
    if hit := whole[Stage.CONFUSABLES_SKELETON].get(norm):
        return _pick(hit, prefer).verdict(Stage.CONFUSABLES_SKELETON)
    norm = _join_letters(norm)
    if hit := whole[Stage.JOINED_LETTERS].get(norm):
        return _pick(hit, prefer).verdict(Stage.JOINED_LETTERS)
    return _analyse(norm, cased, lexicon, prefer)


def normalise(text: str) -> str:
    """Return ``text`` after every folding stage (the form keyword lists are compared in).

    Lower case, NFKC, no punctuation, emoji or accents, look-alike letters and digits inside
    words folded to Latin, spaced-out letters joined, words separated by single spaces:
    ``normalise("S.T.Ö.P!")`` is ``"stop"``. Useful to compare any text with listed words.
    """
    folding = _lexicon().folding
    return _fold(text, folding)


def languages() -> tuple[str, ...]:
    """The ISO 639-1 codes with keyword lists, English first."""
    return _lexicon().languages


# --- results ---------------------------------------------------------------------------------

_OPT_OUT = "opt_out"
_AMBIGUOUS = "ambiguous"
_HELP = "help"
_OPT_IN = "opt_in"
_CONFIRM = "confirm"
_OTHER = "other"
_KEYWORD_KINDS = (_OPT_OUT, _OPT_IN, _HELP, _CONFIRM, _AMBIGUOUS)
_PRECEDENCE = {_OPT_OUT: 0, _AMBIGUOUS: 1, _HELP: 2, _OPT_IN: 3, _CONFIRM: 4}
_REPLY_KINDS = {
    _OPT_OUT: ReplyKind.OPT_OUT,
    _AMBIGUOUS: ReplyKind.AMBIGUOUS,
    _HELP: ReplyKind.HELP,
    _OPT_IN: ReplyKind.OPT_IN,
    _CONFIRM: ReplyKind.CONFIRM,
    _OTHER: ReplyKind.OTHER,
}
_NOTHING = Classification(kind=ReplyKind.OTHER)


@dataclass(frozen=True, slots=True)
class _Entry:
    """One listed word or phrase: what it means, as reported, and where it is cited from."""

    kind: str
    keyword: str
    language: str
    source: str
    key: str = ""
    account_wide: bool = False

    def verdict(self, stage: Stage) -> Classification:
        return Classification(
            kind=_REPLY_KINDS[self.kind],
            keyword=self.keyword,
            language=self.language,
            stage=stage.value,
            account_wide=self.account_wide,
            source=self.source,
        )


def _pick(entries: Sequence[_Entry], prefer: str | None) -> _Entry:
    """The entry of the preferred language if there is one, else the first (English first)."""
    if prefer is not None:
        for entry in entries:
            if entry.language == prefer:
                return entry
    return entries[0]


def _strongest(entries: Sequence[_Entry]) -> _Entry:
    """Apply the kind precedence; among opt-outs an account-wide one decides the scope."""
    return min(entries, key=lambda e: (_PRECEDENCE[e.kind], not e.account_wide))


def _language_code(language: str) -> str:
    return language.strip().lower().replace("_", "-").split("-")[0]


# --- folding stages --------------------------------------------------------------------------

# Format characters that render as nothing: zero-width spaces and joiners, soft hyphen, bidi
# controls, variation selectors, tag characters. Inside a word they would split it in two.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
_APOSTROPHES = str.maketrans("", "", "'\u2018\u2019\u02bc\u0060\u2032")
# The same for ASCII replies, without a regular expression: the common case, made fast.
_ASCII_NON_WORD = str.maketrans(
    {**{c: " " for c in range(128) if not chr(c).isalnum()}, ord("'"): None, ord("`"): None}
)
# Everything but letters, digits and combining diacritics (kept for the next stage).
_NON_WORD = re.compile(
    r"(?:[^\w\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]|_)+"
)
# Letters with a stroke or ligatures that Unicode does not decompose.
_STROKES = str.maketrans(
    {"đ": "d", "ð": "d", "ø": "o", "ł": "l", "ħ": "h", "ŧ": "t", "ƀ": "b", "æ": "ae", "œ": "oe"}
)
_DIGIT = re.compile(r"\d")
_MIXED_WORD = re.compile(r"(?<!\S)(?=\S*?[^\W\d_])(?=\S*?\d)\S+")
_LETTER_RUN = re.compile(r"(?<!\S)[^\W\d_](?: [^\W\d_])+(?!\S)")
_COMPACT_SCRIPT = re.compile("[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u9fff\uac00-\ud7af]")
_CLAUSE_BREAK = re.compile(r"[.!?;:,\u3002\u061f]+|\s[-\u2013\u2014]+(?=\s|$)|^[-\u2013\u2014]+\s")


@dataclass(frozen=True, slots=True)
class _Folding:
    """The data behind the diacritics and confusables stages."""

    keep_diacritics: frozenset[str]
    marks: Mapping[int, None]
    letters: Mapping[int, str]
    digits: Mapping[int, str]


def _fold_case(text: str) -> str:
    if text.isascii():
        return " ".join(text.lower().split())
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    return " ".join(text.casefold().split())


def _strip_punctuation(text: str) -> str:
    if text.isascii():
        return " ".join(text.translate(_ASCII_NON_WORD).split())
    return " ".join(_NON_WORD.sub(" ", text.translate(_APOSTROPHES)).split())


def _strip_diacritics(text: str, folding: _Folding) -> str:
    if text.isascii():
        return text
    words = []
    for word in text.split():
        if not word.isascii() and word not in folding.keep_diacritics:
            word = unicodedata.normalize("NFD", word).translate(folding.marks)
            word = unicodedata.normalize("NFC", word).translate(_STROKES)
        if word:
            words.append(word)
    return " ".join(words)


def _skeleton(text: str, folding: _Folding) -> str:
    if not text.isascii():
        text = text.translate(folding.letters)
    if _DIGIT.search(text):
        text = _MIXED_WORD.sub(lambda m: m.group().translate(folding.digits), text)
    return text


def _join_letters(text: str) -> str:
    previous_single = False
    for word in text.split(" "):
        single = len(word) == 1
        if single and previous_single:
            return _LETTER_RUN.sub(lambda m: m.group().replace(" ", ""), text)
        previous_single = single
    return text


def _fold(text: str, folding: _Folding) -> str:
    """All folding stages in order (used for listed words and for clauses)."""
    text = _strip_punctuation(_fold_case(text))
    return _join_letters(_skeleton(_strip_diacritics(text, folding), folding))


# --- analysis of the normalised words --------------------------------------------------------


def _analyse(norm: str, cased: str, lexicon: _Lexicon, prefer: str | None) -> Classification:
    words = lexicon.drop_fillers(norm)
    if not words:
        slips = [lexicon.near_misses[w] for w in norm.split() if w in lexicon.near_misses]
        return _pick(slips, prefer).verdict(Stage.NEAR_MISS) if slips else _NOTHING
    if found := _all_keywords(words, lexicon, prefer):
        return _strongest(found).verdict(Stage.TOKENS)
    compact = "".join(words) if _COMPACT_SCRIPT.search(norm) else ""
    if compact and (entry := _compact_keyword(compact, lexicon, prefer)):
        return entry.verdict(Stage.COMPACT)
    hits = lexicon.phrases.find(words)
    found = [entry for _, _, entry, role in hits if role is _Role.REVOCATION]
    if compact:
        found += lexicon.compact_revocation.find(compact)
    if found:
        return _pick(found, prefer).verdict(Stage.PHRASE)
    unexplained, explained = _signals(hits, compact, lexicon)
    if unexplained and (entry := _clause(cased, lexicon, prefer)):
        return entry.verdict(Stage.CLAUSE)
    found = [entry for _, _, entry, role in hits if role is _Role.AMBIGUOUS]
    if compact:
        found += lexicon.compact_ambiguous.find(compact)
    if found:
        return _pick(found, prefer).verdict(Stage.PHRASE)
    if not lexicon.near_misses.keys().isdisjoint(words):
        slips = [lexicon.near_misses[w] for w in words if w in lexicon.near_misses]
        if all(w in lexicon.near_misses or w in lexicon.tokens for w in words):
            return _pick(slips, prefer).verdict(Stage.NEAR_MISS)
    if unexplained:
        return _pick(unexplained, prefer).verdict(Stage.IN_SENTENCE)
    if explained:
        entry = _pick(explained, prefer)
        return Classification(
            kind=ReplyKind.OTHER,
            language=entry.language,
            stage=Stage.NEGATIVE_CONTEXT.value,
            source=entry.source,
        )
    return _NOTHING


def _all_keywords(words: Sequence[str], lexicon: _Lexicon, prefer: str | None) -> list[_Entry]:
    """The keywords that make up ``words`` exactly (longest first), or [] if any word is not."""
    if not lexicon.keyword_words.issuperset(words):
        return []
    found = []
    start, count = 0, len(words)
    while start < count:
        for size in range(min(lexicon.longest_keyword, count - start), 0, -1):
            entries = lexicon.tokens.get(" ".join(words[start : start + size]))
            if entries:
                found.append(_pick(entries, prefer))
                start += size
                break
        else:
            return []
    return found


def _compact_keyword(compact: str, lexicon: _Lexicon, prefer: str | None) -> _Entry | None:
    """Look the unspaced reply up, peeling one polite affix at a time (suffixes first)."""
    while compact:
        if entries := lexicon.compact_keywords.get(compact):
            return _pick(entries, prefer)
        peeled = compact
        for suffix in lexicon.suffixes:
            if compact.endswith(suffix) and len(compact) > len(suffix):
                peeled = compact[: -len(suffix)]
                break
        else:
            for prefix in lexicon.prefixes:
                if compact.startswith(prefix) and len(compact) > len(prefix):
                    peeled = compact[len(prefix) :]
                    break
        if peeled == compact:
            return None
        compact = peeled
    return None


def _clause(cased: str, lexicon: _Lexicon, prefer: str | None) -> _Entry | None:
    """An opt-out when one sentence of a longer reply is only opt-out keywords."""
    clauses = [c for c in _CLAUSE_BREAK.split(cased) if c.strip()]
    if len(clauses) < 2:
        return None
    for clause in clauses:
        words = lexicon.drop_fillers(_fold(clause, lexicon.folding))
        found = _all_keywords(words, lexicon, prefer) if words else []
        only_opt_outs = found and all(e.kind == _OPT_OUT for e in found)
        if only_opt_outs and any(e.key in lexicon.signal_keys for e in found):
            return _strongest(found)
    return None


def _signals(
    hits: list[_Hit], compact: str, lexicon: _Lexicon
) -> tuple[list[_Entry], list[_Entry]]:
    """Rare opt-out words outside any negative context, and the contexts that explain others."""
    signals = [(at, entry) for at, _, entry, role in hits if role is _Role.SIGNAL]
    contexts = [(a, b, entry) for a, b, entry, role in hits if role is _Role.NEGATIVE]
    unexplained = [e for at, e in signals if not any(a <= at < b for a, b, _ in contexts)]
    explained = [e for _, _, e in contexts] if signals else []
    if compact and lexicon.compact_signals.find(compact):
        unexplained += lexicon.compact_signals.find(lexicon.compact_negatives.remove(compact))
        explained += lexicon.compact_negatives.find(compact)
    return unexplained, explained


def _only_symbols(cased: str, lexicon: _Lexicon, prefer: str | None) -> Classification:
    """A reply with no letters or digits: ambiguous if it holds a stop-like emoji."""
    hits = [lexicon.symbols[c] for c in cased if c in lexicon.symbols]
    return _pick(hits, prefer).verdict(Stage.SYMBOLS) if hits else _NOTHING


# --- the lexicon: every list, indexed for the stages -----------------------------------------


class _Role(StrEnum):
    """What a phrase found inside a reply means."""

    REVOCATION = "revocation"
    AMBIGUOUS = "ambiguous"
    SIGNAL = "signals"
    NEGATIVE = "negative_contexts"


_Hit = tuple[int, int, _Entry, _Role]


class _PhraseIndex:
    """Word sequences found anywhere in a reply, indexed by their first one or two words.

    One index holds every role, so a reply is scanned once whatever it contains.
    """

    def __init__(self) -> None:
        self._singles: dict[str, list[tuple[_Entry, _Role]]] = {}
        self._pairs: dict[tuple[str, str], list[tuple[tuple[str, ...], _Entry, _Role]]] = {}
        self._firsts: frozenset[str] = frozenset()

    def add(self, words: tuple[str, ...], entry: _Entry, role: _Role) -> None:
        self._firsts |= {words[0]}
        if len(words) == 1:
            singles = self._singles.setdefault(words[0], [])
            if all(e.language != entry.language or r != role for e, r in singles):
                singles.append((entry, role))
            return
        pairs = self._pairs.setdefault((words[0], words[1]), [])
        if all(p != words or e.language != entry.language or r != role for p, e, r in pairs):
            pairs.append((words, entry, role))
            pairs.sort(key=lambda candidate: -len(candidate[0]))

    def find(self, words: tuple[str, ...]) -> list[_Hit]:
        """Every occurrence as (start, end, entry, role), in reading order, longest first."""
        if self._firsts.isdisjoint(words):
            return []
        found = []
        singles = self._singles
        for start, word in enumerate(words):
            for entry, role in singles.get(word, ()):
                found.append((start, start + 1, entry, role))
        pairs = self._pairs
        for start, pair in enumerate(pairwise(words)):
            for phrase, entry, role in pairs.get(pair, ()):
                end = start + len(phrase)
                if words[start:end] == phrase:
                    found.append((start, end, entry, role))
        if len(found) > 1:
            found.sort(key=lambda hit: (hit[0], hit[0] - hit[1]))
        return found


class _SubstringIndex:
    """Phrases found inside an unspaced (Chinese, Korean) reply, longest first."""

    def __init__(self) -> None:
        self._entries: dict[str, list[_Entry]] = {}
        self._pattern = re.compile("(?!)")

    def add(self, phrase: str, entry: _Entry) -> None:
        self._entries.setdefault(phrase, []).append(entry)
        alternatives = sorted(self._entries, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, alternatives)))

    def find(self, text: str) -> list[_Entry]:
        return [e for m in self._pattern.finditer(text) for e in self._entries[m.group()]]

    def remove(self, text: str) -> str:
        return self._pattern.sub(" ", text)


@dataclass(slots=True)
class _Lexicon:
    """Every list of every language, normalised once and indexed for the stage that reads it."""

    languages: tuple[str, ...]
    aliases: dict[str, str]
    folding: _Folding
    whole: dict[Stage, dict[str, tuple[_Entry, ...]]]
    tokens: dict[str, tuple[_Entry, ...]]
    longest_keyword: int
    compact_keywords: dict[str, tuple[_Entry, ...]]
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    fillers: frozenset[str]
    filler_phrases: re.Pattern[str] | None
    filler_starts: frozenset[str]
    phrases: _PhraseIndex
    compact_revocation: _SubstringIndex
    compact_ambiguous: _SubstringIndex
    compact_signals: _SubstringIndex
    compact_negatives: _SubstringIndex
    signal_keys: frozenset[str]
    keyword_words: frozenset[str]
    near_misses: dict[str, _Entry]
    symbols: dict[str, _Entry]

    def drop_fillers(self, norm: str) -> tuple[str, ...]:
        words = norm.split()
        if self.filler_phrases is not None and not self.filler_starts.isdisjoint(words):
            words = self.filler_phrases.sub(" ", norm).split()
        if self.fillers.isdisjoint(words):
            return tuple(words)
        return tuple(w for w in words if w not in self.fillers)


_LIST_KINDS = {"opt_out", "opt_in", "help", "confirm", "ambiguous", "revocation", "signals"}
_LIST_KINDS |= {"negative_contexts", "politeness", "affixes", "near_misses", "keep_diacritics"}
_LIST_KINDS |= {"symbols"}
_ALIASES = {"fil": "tl", "tgl": "tl", "zho": "zh", "kor": "ko", "vie": "vi"}


@cache
def _lexicon() -> _Lexicon:
    rules = resources.files("consentry.rules")
    confusables = tomllib.loads(rules.joinpath("confusables.toml").read_text("utf-8"))
    files = [p for p in rules.joinpath("keywords").iterdir() if p.name.endswith(".toml")]
    documents = {}
    for path in files:
        document = tomllib.loads(path.read_text("utf-8"))
        _check_document(document, path.name)
        documents[document["language"]] = document
    order = sorted(documents, key=lambda code: (code != "en", code))
    return _LexiconBuilder(confusables, [documents[code] for code in order]).build()


def _check_document(document: Mapping[str, Any], name: str) -> None:
    """Reject a keyword file with a missing field, an unknown list or an uncited list."""
    for field_name in ("language", "name", "segmentation"):
        if not isinstance(document.get(field_name), str) or not document[field_name]:
            raise ValueError(f"{name}: missing or empty {field_name!r}")
    if document["segmentation"] not in ("words", "characters"):
        raise ValueError(f"{name}: segmentation must be 'words' or 'characters'")
    if f"{document['language']}.toml" != name:
        raise ValueError(f"{name}: language {document['language']!r} does not match file name")
    for key, lists in document.items():
        if key in ("language", "name", "segmentation"):
            continue
        if key not in _LIST_KINDS or not isinstance(lists, list):
            raise ValueError(f"{name}: unknown table {key!r}")
        for index, table in enumerate(lists, start=1):
            if not isinstance(table, dict):
                raise ValueError(f"{name}: {key!r} must be an array of tables ([[{key}]])")
            citation = table.get("citation")
            if not isinstance(citation, str) or not citation.strip():
                raise ValueError(f"{name}: [[{key}]] #{index} has no citation")
            for field_name, values in table.items():
                if isinstance(values, list) and not all(isinstance(v, str) and v for v in values):
                    raise ValueError(f"{name}: [[{key}]] #{index} {field_name} holds a non-word")


class _LexiconBuilder:
    """Normalises every listed word once and indexes it for the stage that compares it."""

    def __init__(self, confusables: Mapping[str, Any], documents: list[dict[str, Any]]) -> None:
        self.documents = documents
        self.confusables = confusables
        keep: set[str] = set()
        for document in documents:
            for table in document.get("keep_diacritics", []):
                keep.update(_strip_punctuation(_fold_case(w)) for w in table["words"])
        self.folding = _Folding(
            keep_diacritics=frozenset(keep),
            marks=_combining_marks(),
            letters=_char_map(confusables["letters"]["map"]),
            digits=_char_map(confusables["digits_in_words"]["map"]),
        )
        self.fillers, self.filler_phrases, self.filler_starts = self._fillers()
        self.whole: dict[Stage, dict[str, list[_Entry]]] = {s: {} for s in _WHOLE_STAGES}
        self.tokens: dict[str, list[_Entry]] = {}
        self.compact: dict[str, list[_Entry]] = {}
        self.canonical: dict[tuple[str, str], _Entry] = {}

    def build(self) -> _Lexicon:
        phrases = _PhraseIndex()
        substrings = {role: _SubstringIndex() for role in _Role}
        prefixes: set[str] = set()
        suffixes: set[str] = set()
        symbols: dict[str, _Entry] = {}
        curated: dict[str, _Entry] = {}
        signal_keys: set[str] = set()
        for document in self.documents:
            code = document["language"]
            compact = document["segmentation"] == "characters"
            for kind in _KEYWORD_KINDS:
                for table in document.get(kind, []):
                    for word in table.get("keywords", []):
                        self._add_keyword(word, kind, code, table, compact)
            for role, kind, field_name in _PHRASE_LISTS:
                for table in document.get(role.value, []):
                    for phrase in table.get(field_name, []):
                        entry, words = self._phrase(phrase, kind, code, table, role)
                        phrases.add(words, entry, role)
                        if role is _Role.SIGNAL:
                            signal_keys.add(entry.key)
                        if compact:
                            substrings[role].add("".join(words), entry)
            for table in document.get("affixes", []):
                prefixes.update(self._compact_form(w) for w in table.get("prefixes", []))
                suffixes.update(self._compact_form(w) for w in table.get("suffixes", []))
            for table in document.get("symbols", []):
                for symbol in table["symbols"]:
                    symbols.setdefault(symbol, _Entry(_AMBIGUOUS, symbol, code, table["citation"]))
            for table in document.get("near_misses", []):
                target = self.canonical.get((code, _fold(table["keyword"], self.folding)))
                if target is None or target.kind != _OPT_OUT:
                    raise ValueError(f"{code}: near miss of unknown keyword {table['keyword']!r}")
                for word in table["words"]:
                    slip = _Entry(_AMBIGUOUS, target.keyword, code, table["citation"])
                    curated.setdefault(_fold(word, self.folding), slip)
        whole = {s: {k: tuple(v) for k, v in t.items()} for s, t in self.whole.items()}
        tokens = {k: tuple(v) for k, v in self.tokens.items()}
        return _Lexicon(
            languages=tuple(d["language"] for d in self.documents),
            aliases={**_ALIASES, **{d["language"]: d["language"] for d in self.documents}},
            folding=self.folding,
            whole=whole,
            tokens=tokens,
            longest_keyword=max(len(k.split()) for k in tokens),
            compact_keywords={k: tuple(v) for k, v in self.compact.items()},
            prefixes=tuple(sorted(prefixes, key=len, reverse=True)),
            suffixes=tuple(sorted(suffixes, key=len, reverse=True)),
            fillers=self.fillers,
            filler_phrases=self.filler_phrases,
            filler_starts=self.filler_starts,
            phrases=phrases,
            compact_revocation=substrings[_Role.REVOCATION],
            compact_ambiguous=substrings[_Role.AMBIGUOUS],
            compact_signals=substrings[_Role.SIGNAL],
            compact_negatives=substrings[_Role.NEGATIVE],
            signal_keys=frozenset(signal_keys),
            keyword_words=frozenset(w for k in tokens for w in k.split()),
            near_misses={**self._typing_slips(curated, tokens), **curated},
            symbols=symbols,
        )

    def _fillers(self) -> tuple[frozenset[str], re.Pattern[str] | None, frozenset[str]]:
        single: set[str] = set()
        multi: set[str] = set()
        for document in self.documents:
            for table in document.get("politeness", []):
                for word in table["words"]:
                    folded = _fold(word, self.folding)
                    (multi if " " in folded else single).add(folded)
        if not multi:
            return frozenset(single), None, frozenset()
        alternatives = "|".join(map(re.escape, sorted(multi, key=len, reverse=True)))
        pattern = re.compile(rf"(?<!\S)(?:{alternatives})(?!\S)")
        return frozenset(single), pattern, frozenset(m.split()[0] for m in multi)

    def _drop_fillers(self, norm: str) -> str:
        if self.filler_phrases is not None:
            norm = self.filler_phrases.sub(" ", norm)
        return " ".join(w for w in norm.split() if w not in self.fillers)

    def _compact_form(self, word: str) -> str:
        return _fold(word, self.folding).replace(" ", "")

    def _add_keyword(
        self, word: str, kind: str, code: str, table: Mapping[str, Any], compact: bool
    ) -> None:
        key = _fold(word, self.folding)
        if not key or self._drop_fillers(key) != key:
            raise ValueError(f"{code}: keyword {word!r} is empty or holds a politeness word")
        entry = self.canonical.get((code, key))
        if entry is None:
            entry = _Entry(
                kind=kind,
                keyword=" ".join(word.split()).upper(),
                language=code,
                source=table["citation"],
                key=key,
                account_wide=bool(table.get("account_wide", False)),
            )
            self.canonical[(code, key)] = entry
        elif entry.kind != kind or entry.account_wide != bool(table.get("account_wide", False)):
            raise ValueError(f"{code}: {word!r} is listed twice with different meanings")
        forms = [word.strip().upper()]
        text = _fold_case(word)
        forms.append(text)
        text = _strip_punctuation(text)
        forms.append(text)
        text = _strip_diacritics(text, self.folding)
        forms.append(text)
        text = _skeleton(text, self.folding)
        forms.append(text)
        forms.append(_join_letters(text))
        for stage, form in zip(_WHOLE_STAGES, forms, strict=True):
            _append_once(self.whole[stage].setdefault(form, []), entry)
        _append_once(self.tokens.setdefault(key, []), entry)
        if compact:
            _append_once(self.compact.setdefault(key.replace(" ", ""), []), entry)

    def _phrase(
        self, phrase: str, kind: str, code: str, table: Mapping[str, Any], role: _Role
    ) -> tuple[_Entry, tuple[str, ...]]:
        key = self._drop_fillers(_fold(phrase, self.folding))
        if not key:
            raise ValueError(f"{code}: [[{role.value}]] entry {phrase!r} is empty once normalised")
        shown = " ".join(phrase.split()).upper() if role is _Role.SIGNAL else phrase
        entry = _Entry(
            kind=kind,
            keyword=shown,
            language=code,
            source=table["citation"],
            key=key,
            account_wide=bool(table.get("account_wide", False)),
        )
        return entry, tuple(key.split())

    def _typing_slips(
        self, curated: Mapping[str, _Entry], tokens: Mapping[str, tuple[_Entry, ...]]
    ) -> dict[str, _Entry]:
        """One-slip variants (drop, swap, double) of long single-word opt-out keywords.

        Both the keyword and the variant must have ``min_length`` letters: shorter variants
        are too often everyday words ("hint" from Tagalog "hinto").
        """
        table = self.confusables["typing_slips"]
        minimum, citation = int(table["min_length"]), table["citation"]
        taken = set(tokens) | set(curated) | set(self.fillers)
        slips: dict[str, _Entry] = {}
        for key, entries in tokens.items():
            entry = entries[0]
            if entry.kind != _OPT_OUT or not (key.isascii() and key.isalpha()):
                continue
            slip = _Entry(_AMBIGUOUS, entry.keyword, entry.language, citation)
            for variant in _one_slip_variants(key):
                if len(variant) >= minimum and variant not in taken:
                    slips.setdefault(variant, slip)
        return slips


# Lists found inside a reply: their role, the kind their entries report, their field name.
_PHRASE_LISTS = (
    (_Role.REVOCATION, _OPT_OUT, "phrases"),
    (_Role.AMBIGUOUS, _AMBIGUOUS, "phrases"),
    (_Role.SIGNAL, _AMBIGUOUS, "words"),
    (_Role.NEGATIVE, _OTHER, "phrases"),
)
_WHOLE_STAGES = (
    Stage.EXACT,
    Stage.NFKC_CASEFOLD,
    Stage.STRIP_PUNCTUATION_EMOJI,
    Stage.STRIP_DIACRITICS,
    Stage.CONFUSABLES_SKELETON,
    Stage.JOINED_LETTERS,
)


def _append_once(entries: list[_Entry], entry: _Entry) -> None:
    if all(e.language != entry.language for e in entries):
        entries.append(entry)


def _one_slip_variants(word: str) -> set[str]:
    variants = {word[:i] + word[i + 1 :] for i in range(len(word))}
    variants |= {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
    variants |= {word[:i] + word[i] + word[i:] for i in range(len(word))}
    variants.discard(word)
    return variants


def _char_map(table: Mapping[str, str]) -> dict[int, str]:
    mapping = {}
    for char, latin in table.items():
        if len(char) != 1 or not latin:
            raise ValueError(f"confusables.toml: bad entry {char!r} = {latin!r}")
        mapping[ord(char)] = latin
    return mapping


def _combining_marks() -> dict[int, None]:
    """Every nonspacing mark (category Mn) in the planes where scripts live, to delete."""
    planes = (*range(0x20000), *range(0xE0100, 0xE01F0))
    return {cp: None for cp in planes if unicodedata.category(chr(cp)) == "Mn"}
