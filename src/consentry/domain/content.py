"""Analyse a message body: encoding and segments, listed content, links, opt-out instructions.

``analyse(body)`` returns a ``ContentAnalysis``; the send gate (``consentry.domain.policy``) turns
it into CONTENT-*, ENCODING-SEGMENTS and DISCLOSURE-* findings. The words are reviewed data, not
code: ``consentry/rules/content.toml`` holds every lexicon, the evasion techniques, the public URL
shorteners and the opt-out wording, each with its citation (``content_citation``), read once on
first use.

Lexicons. A term matches case-insensitively on whole words, so "gun" never matches "begun", "bet"
never "alphabet" and "sale" never "wholesale" (a decision: "wholesale" is not promotional
wording). A simple plural is the same word ("guns", "dispensaries"). A term of several words
matches those words in a row whatever punctuation sits between them ("e-cig", "20% off"). A term
inside one of its listed everyday phrases is not a hit ("glue gun", "weed killer", "you bet").

Evasion. A listed word that is hidden is still found, and the hit says how (``evasion``), with
the span of the ORIGINAL text that hid it (``body[start:end] == matched``):

    leet         digits and symbols for letters, in words that also hold a letter
                 ("c4nn4b1s", "w33d", "$ex", "0xyc0d0ne"); "1", "!" and "|" read as i or l
    spacing      separators between the letters ("c.b.d", "c b d", "w-e-e-d", "v*a*p*e") or
                 invisible characters inside a word; spaces only between single letters, so
                 "the rapist" stays two words
    homoglyph    look-alike letters (Cyrillic "сbd", Greek, full-width "ＣＢＤ"), from the
                 confusables shared with ``consentry.domain.keywords``
    diacritics   accents on the letters ("cánnabis")
    misspelling  one edit (insert, delete, substitute, swap two neighbours: optimal string
                 alignment distance, ``rapidfuzz``) from a term of at least 6 letters, keeping
                 its first letter ("canabis", "oxycodon", "marijuanna"), unless the word is in
                 the allow-list of everyday words ("casing", "setting", "exotic")

When several techniques combine, the first of that list is reported. Promotional wording is
matched only in its plain spelling (``evasion = false`` in the data): "S-A-L-E" is styling, not
evasion. Plain upper or lower case is never evasion.

Links are http(s) URLs, www. addresses and bare domains with a listed top-level domain
("bit.ly/x"); ``shortener`` says whether the host is a listed public URL shortener (or a
subdomain of one). Opt-out instructions are a verb and an opt-out keyword ("Reply STOP",
"Txt STOP to end", "Responde BAJA") or a keyword, a connector and a purpose ("STOP to cancel");
a plain "stop" in a sentence ("don't stop by", "reply: stop by our booth") is not.

Encoding counts the whole body: GSM-7 septets (extension characters count 2) when every
character is in the GSM 7-bit default alphabet or its extension table, else UCS-2 code units
(characters beyond the Basic Multilingual Plane count 2; lone surrogates count 1 and force
UCS-2). Segments are packed greedily: one segment holds 160 septets / 70 units, a concatenated
one 153 / 67, and an escape sequence or a surrogate pair never straddles two segments.

Bounds and cost. Lexicons, links and opt-out instructions look at the first
``MAX_ANALYSED_CHARS`` characters only. ``analyse`` never raises for any ``str``. Measured
uncached on the development machine (CPython 3.11, best of 7 x 500 runs): about 0.10 ms for a
typical 160-character ASCII transactional body, 0.12 ms for a promotional one with a link, and
0.14 ms for one with look-alike letters and accents; an adversarial 2,000-character body (every
character a separator or a single letter) stays under 10 ms. ``analyse`` and ``names_brand``
are memoised, so a repeated body costs a dictionary look-up.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from itertools import pairwise
from typing import Any, NamedTuple

import gsm0338
from rapidfuzz import process
from rapidfuzz.distance import OSA

# The classifier's invisible characters and stroke letters: one definition for both modules.
from consentry.domain.keywords import _INVISIBLE, _STROKES

__all__ = [
    "MAX_ANALYSED_CHARS",
    "ContentAnalysis",
    "Encoding",
    "LexiconHit",
    "Link",
    "analyse",
    "content_citation",
    "encoding",
    "names_brand",
]

MAX_ANALYSED_CHARS = 2000
"""Characters of a body searched for lexicon terms, links and opt-out instructions."""

RULE_IDS = frozenset({"CONTENT-PROHIBITED", "CONTENT-AGE-GATED", "CONTENT-PROMO-IN-TRANSACTIONAL"})

GSM7_SINGLE = 160
GSM7_CONCATENATED = 153
UCS2_SINGLE = 70
UCS2_CONCATENATED = 67


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Encoding:
    """How a body is encoded and how many segments it takes."""

    scheme: str  # "GSM-7" or "UCS-2"
    characters: int  # GSM-7 septets, or UCS-2 (UTF-16) code units
    segments: int
    forcing: tuple[str, ...]  # distinct characters that force UCS-2, in order of appearance


@dataclass(frozen=True, slots=True)
class LexiconHit:
    """A listed term found in a body, with the span of the original text that matched."""

    rule_id: str
    category: str
    term: str
    matched: str
    start: int
    end: int
    evasion: str | None  # None, "leet", "spacing", "homoglyph", "diacritics", "misspelling"
    citation: str


@dataclass(frozen=True, slots=True)
class Link:
    """A link in a body."""

    url: str
    host: str
    shortener: bool
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ContentAnalysis:
    """Everything the send gate needs to know about a body."""

    encoding: Encoding
    hits: tuple[LexiconHit, ...]
    links: tuple[Link, ...]
    opt_out_instructions: bool


# --- public functions ------------------------------------------------------------------------


def encoding(body: str) -> Encoding:
    """The encoding (GSM-7 or UCS-2), length in septets or code units, and segment count."""
    if not body:
        return Encoding("GSM-7", 0, 1, ())
    basic, extension = _gsm7()
    chars = set(body)
    if chars <= basic:
        count = len(body)
        return Encoding("GSM-7", count, _segments(count, (), GSM7_SINGLE, GSM7_CONCATENATED), ())
    if chars <= basic | extension:
        widths = [2 if ch in extension else 1 for ch in body]
        count = sum(widths)
        return Encoding(
            "GSM-7", count, _segments(count, widths, GSM7_SINGLE, GSM7_CONCATENATED), ()
        )
    gsm = basic | extension
    forcing = tuple(dict.fromkeys(ch for ch in body if ch not in gsm))
    if any(ord(ch) > 0xFFFF for ch in chars):
        widths = [2 if ord(ch) > 0xFFFF else 1 for ch in body]
        count = sum(widths)
    else:
        widths, count = [], len(body)
    return Encoding(
        "UCS-2", count, _segments(count, widths, UCS2_SINGLE, UCS2_CONCATENATED), forcing
    )


@lru_cache(maxsize=1 << 16)
def analyse(body: str) -> ContentAnalysis:
    """Analyse a message body (memoised: the same body is analysed once)."""
    rules = _rules()
    text = body[:MAX_ANALYSED_CHARS]
    return ContentAnalysis(
        encoding=encoding(body),
        hits=_hits(text, rules),
        links=_links(text, rules),
        opt_out_instructions=_opt_out_instructions(text, rules),
    )


@lru_cache(maxsize=1 << 14)
def names_brand(body: str, names: tuple[str, ...]) -> bool:
    """Whether ``body`` identifies the sender by one of ``names``.

    Case, accents and punctuation are ignored and names match on word boundaries: "Demo Coffee"
    is found in "DEMO COFFEE: your order..." and "Joe's Pizza" in "joes pizza", but "Demo" is not
    found in "Demonstration".
    """
    text = f" {_name_form(body)} "
    for name in names:
        form = _name_form(name)
        if form and f" {form} " in text:
            return True
    return False


def content_citation(section: str) -> str:
    """The citation of a section of ``rules/content.toml`` ("shorteners", "evasion", ...).

    Raises ``KeyError`` for a section that does not exist.
    """
    return _rules().citations[section]


# --- encoding --------------------------------------------------------------------------------


@cache
def _gsm7() -> tuple[frozenset[str], frozenset[str]]:
    """The GSM 7-bit default alphabet and its extension table, read from the codec once."""
    codec = gsm0338.Codec()
    basic: set[str] = set()
    extension: set[str] = set()
    for byte in range(128):
        if byte != 0x1B:  # ESC introduces the extension table; it is not a character
            basic.update(_decode(codec, bytes((byte,))))
        extension.update(_decode(codec, bytes((0x1B, byte))))
    return frozenset(basic), frozenset(extension - basic)


def _decode(codec: Any, data: bytes) -> str:
    try:
        text, _ = codec.decode(data)
    except (UnicodeError, KeyError):
        return ""
    return str(text)


def _segments(count: int, widths: list[int] | tuple[int, ...], single: int, per: int) -> int:
    """Segments for ``count`` units: greedy packing that never splits a 2-unit character."""
    if count <= single:
        return 1
    if not widths or max(widths) == 1:
        return -(-count // per)
    segments, used = 1, 0
    for width in widths:
        if used + width > per:
            segments += 1
            used = 0
        used += width
    return segments


# --- folding: the body as lower-case Latin letters, mapped back to the original ---------------

_HOMOGLYPH = 1
_DIACRITICS = 2
_INVISIBLE_FLAG = 4


@dataclass(frozen=True, slots=True)
class _Stream:
    """The folded body: one folded character per position, its origin and what folding did."""

    text: str
    origin: list[int] | None  # None: position i is original index i (ASCII bodies)
    flags: bytearray | None  # None: nothing was folded but case


@lru_cache(maxsize=1 << 13)
def _fold_char(ch: str) -> tuple[str, int]:
    """Fold one non-ASCII character to lower-case Latin where it looks like Latin."""
    if _INVISIBLE.match(ch):
        return "", _INVISIBLE_FLAG
    if unicodedata.combining(ch):
        return "", _DIACRITICS
    flags = 0
    out = unicodedata.normalize("NFKC", ch)
    if out != ch:
        flags |= _HOMOGLYPH
    out = out.casefold()
    decomposed = unicodedata.normalize("NFD", out)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    if stripped != decomposed:
        flags |= _DIACRITICS
        out = unicodedata.normalize("NFC", stripped)
    folded = out.translate(_STROKES)
    if folded != out:
        flags |= _DIACRITICS
    out = folded.translate(_rules().letters)
    if out != folded:
        flags |= _HOMOGLYPH
    return out, flags


def _stream(text: str) -> _Stream:
    if text.isascii():
        return _Stream(text.lower(), None, None)
    chars: list[str] = []
    origin: list[int] = []
    flags = bytearray()
    pending = 0
    for index, ch in enumerate(text):
        if ch.isascii():
            out, flag = ch.lower(), 0
        else:
            out, flag = _fold_char(ch)
        if not out:
            if flag == _DIACRITICS and flags:
                flags[-1] |= _DIACRITICS  # a combining mark belongs to the letter before it
            elif chars and chars[-1].isalnum():
                pending |= flag  # an invisible character inside a word
            continue
        for folded in out:
            chars.append(folded)
            origin.append(index)
            flags.append(flag | pending)
            pending = 0
    return _Stream("".join(chars), origin, flags)


# --- lexicon matching ------------------------------------------------------------------------

_LEET_SYMBOLS = "$@!|"
_TOKEN = re.compile(r"(?:[^\W_]|[$@!|])+|%")
_SPACES = frozenset(" \t\n\r\f\v\u00a0\u2009\u202f\u3000")


@dataclass(frozen=True, slots=True)
class _Section:
    name: str
    rule_id: str
    citation: str
    evasion: bool
    misspellings: bool
    exceptions: Mapping[str, tuple[tuple[str, ...], ...]]


@dataclass(frozen=True, slots=True)
class _Entry:
    term: str
    words: tuple[str, ...]
    section: _Section


class _Token(NamedTuple):
    start: int  # the whole token, symbols included
    end: int
    core_start: int  # without leading and trailing symbols ("cannabis!" -> "cannabis")
    core_end: int
    text: str
    core: str
    leet: bool  # holds a digit or symbol and a letter: read as l33t
    skeleton: str


class _Candidate(NamedTuple):
    start: int  # stream positions
    end: int
    entry: _Entry
    base: str | None  # "leet", "spacing", "misspelling" or None


def _hits(text: str, rules: _Rules) -> tuple[LexiconHit, ...]:
    if not text:
        return ()
    stream = _stream(text)
    tokens = _tokens(stream.text, rules.leet)
    if not tokens:
        return ()
    candidates: list[_Candidate] = []
    matched_tokens: set[int] = set()
    for index in range(len(tokens)):
        found = _phrase_candidates(tokens, index, rules)
        word = _word_candidate(tokens, index, rules)
        if word is not None:
            found.append(word)
        if found:
            matched_tokens.add(index)
            candidates.extend(found)
    candidates.extend(_joined_candidates(stream.text, tokens, rules))
    for index in range(len(tokens)):
        if index not in matched_tokens and (slip := _misspelling(tokens, index, rules)):
            candidates.append(slip)
    if not candidates:
        return ()
    return _resolve(text, stream, candidates)


def _tokens(folded: str, leet: Mapping[int, str]) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(folded):
        raw = match.group()
        start, end = match.span()
        if raw.isalpha():
            tokens.append(_Token(start, end, start, end, raw, raw, False, raw))
            continue
        if raw == "%":
            tokens.append(_Token(start, end, start, end, raw, raw, False, raw))
            continue
        core = raw.strip(_LEET_SYMBOLS)
        if not core:
            continue
        lead = len(raw) - len(raw.lstrip(_LEET_SYMBOLS))
        has_letter = not raw.isdigit() and any(c.isalpha() for c in raw)
        is_leet = has_letter and not raw.isalpha()
        skeleton = raw.translate(leet) if is_leet else raw
        tokens.append(
            _Token(start, end, start + lead, start + lead + len(core), raw, core, is_leet, skeleton)
        )
    return tokens


def _forms(word: str) -> Iterator[str]:
    """The word and its simple singular forms ("guns" -> "gun", "dispensaries" -> "dispensary")."""
    yield word
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        yield word[:-1]
        if word.endswith("es"):
            yield word[:-2]
        if word.endswith("ies"):
            yield word[:-3] + "y"


def _lookup(word: str, index: Mapping[str, _Entry]) -> _Entry | None:
    for form in _forms(word):
        entry = index.get(form)
        if entry is not None:
            return entry
    return None


def _word_candidate(tokens: list[_Token], index: int, rules: _Rules) -> _Candidate | None:
    token = tokens[index]
    entry = _lookup(token.core, rules.words)
    if entry is not None:
        if _excepted(tokens, index, entry):
            return None
        return _Candidate(token.core_start, token.core_end, entry, None)
    if not token.leet:
        return None
    entry = _lookup(token.skeleton, rules.skeletons)
    start, end = token.start, token.end
    if entry is None and token.core != token.text:
        core_skeleton = token.core.translate(rules.leet)
        entry = _lookup(core_skeleton, rules.skeletons)
        start, end = token.core_start, token.core_end
    if entry is None or _excepted(tokens, index, entry):
        return None
    return _Candidate(start, end, entry, "leet")


def _phrase_candidates(tokens: list[_Token], index: int, rules: _Rules) -> list[_Candidate]:
    token = tokens[index]
    options = rules.phrases.get(token.core, [])
    if token.leet:
        options = options + rules.phrase_skeletons.get(token.skeleton, [])
    found = []
    for entry in options:
        size = len(entry.words)
        if index + size > len(tokens):
            continue
        leet = False
        for offset, word in enumerate(entry.words):
            candidate = tokens[index + offset]
            last = offset == size - 1
            if candidate.core == word or (last and word in _forms(candidate.core)):
                continue
            if candidate.leet and (
                candidate.skeleton == rules.skeleton_of[word]
                or (last and rules.skeleton_of[word] in _forms(candidate.skeleton))
            ):
                leet = True
                continue
            break
        else:
            last_token = tokens[index + size - 1]
            end = last_token.end if leet else last_token.core_end
            start = token.start if leet else token.core_start
            found.append(_Candidate(start, end, entry, "leet" if leet else None))
    return found


def _excepted(tokens: list[_Token], index: int, entry: _Entry) -> bool:
    """Whether the hit at ``tokens[index]`` sits inside one of the term's everyday phrases."""
    phrases = entry.section.exceptions.get(entry.term)
    if not phrases:
        return False
    term = _stem(entry.words[0])
    for phrase in phrases:
        for offset, word in enumerate(phrase):
            if _stem(word) != term:
                continue
            first = index - offset
            if first < 0 or first + len(phrase) > len(tokens):
                continue
            if all(_stem(tokens[first + k].core) == _stem(phrase[k]) for k in range(len(phrase))):
                return True
    return False


def _stem(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _joined_candidates(folded: str, tokens: list[_Token], rules: _Rules) -> list[_Candidate]:
    """Words split by separators: "c.b.d", "c b d", "w-e-e-d", "can-na-bis"."""
    # What separates each token from the next: 2 separators only, 1 spaces (and separators),
    # 0 anything else. Most gaps are one space between words, which ends a join at once.
    gaps = []
    for before, after in pairwise(tokens):
        gap = folded[before.end : after.start]
        if gap == " ":
            gaps.append(1 if len(before.text) == 1 and len(after.text) == 1 else 0)
        elif not 0 < len(gap) <= rules.max_gap or "%" in (before.text, after.text):
            gaps.append(0)
        elif all(c in rules.separators for c in gap):
            gaps.append(2)
        elif all(c in rules.separators or c in _SPACES for c in gap):
            gaps.append(1 if len(before.text) == 1 and len(after.text) == 1 else 0)
        else:
            gaps.append(0)
    found = []
    longest = rules.longest_word + 3
    for first, kind in enumerate(gaps):
        if not kind:
            continue
        token = tokens[first]
        joined = token.text
        punct = True  # every gap so far is separators only
        single = len(token.text) == 1  # every piece so far is one character
        for last in range(first + 1, len(tokens)):
            kind = gaps[last - 1]
            punct = punct and kind == 2
            single = single and len(tokens[last].text) == 1
            if not kind or not (punct or single):
                break
            joined += tokens[last].text
            if len(joined) > longest:
                break
            entry = _lookup(joined, rules.words)
            if entry is None and not joined.isalpha() and any(c.isalpha() for c in joined):
                entry = _lookup(joined.translate(rules.leet), rules.skeletons)
            if entry is not None and len(entry.words[0]) >= 3:
                found.append(_Candidate(token.start, tokens[last].end, entry, "spacing"))
    return found


def _misspelling(tokens: list[_Token], index: int, rules: _Rules) -> _Candidate | None:
    token = tokens[index]
    word = token.core
    if len(word) < rules.min_length or not (word.isascii() and word.isalpha()):
        return None
    if word in rules.allow:
        return None
    choices = rules.fuzzy.get((word[0], len(word)))
    if not choices:
        return None
    best = process.extractOne(word, choices, scorer=OSA.distance, score_cutoff=rules.max_distance)
    if best is None:
        return None
    entry = rules.words[best[0]]
    if _excepted(tokens, index, entry):
        return None
    return _Candidate(token.core_start, token.core_end, entry, "misspelling")


def _technique(base: str | None, flags: int) -> str | None:
    if base == "spacing" or flags & _INVISIBLE_FLAG:
        return "spacing"
    if base == "leet":
        return "leet"
    if flags & _HOMOGLYPH:
        return "homoglyph"
    if flags & _DIACRITICS:
        return "diacritics"
    return base


def _resolve(text: str, stream: _Stream, candidates: list[_Candidate]) -> tuple[LexiconHit, ...]:
    """Map candidates back to the original text; keep the longest of overlapping ones."""
    scored = []
    for candidate in candidates:
        flags = 0
        if stream.flags is not None:
            for flag in stream.flags[candidate.start : candidate.end]:
                flags |= flag
        technique = _technique(candidate.base, flags)
        if technique is not None and not candidate.entry.section.evasion:
            continue
        if stream.origin is None:
            start, end = candidate.start, candidate.end
        else:
            start = stream.origin[candidate.start]
            end = stream.origin[candidate.end - 1] + 1
        while end < len(text) and unicodedata.combining(text[end]):
            end += 1  # an accent typed after the last letter belongs to the match
        scored.append((start, -(end - start), technique is not None, end, technique, candidate))
    scored.sort(key=lambda item: item[:3])
    hits = []
    reach = 0
    for start, _, _, end, technique, candidate in scored:
        if start < reach:
            continue
        reach = end
        section = candidate.entry.section
        hits.append(
            LexiconHit(
                rule_id=section.rule_id,
                category=section.name,
                term=candidate.entry.term,
                matched=text[start:end],
                start=start,
                end=end,
                evasion=technique,
                citation=section.citation,
            )
        )
    return tuple(hits)


# --- links -----------------------------------------------------------------------------------

_URL_CHARS = r"[^\s<>\"'`“”‘’«»]"
_TRAILING = ".,;:!?)]}'\"”’»>*"


def _links(text: str, rules: _Rules) -> tuple[Link, ...]:
    if "." not in text:
        return ()
    links = []
    for match in rules.url.finditer(text):
        url = match.group().rstrip(_TRAILING)
        if not url:
            continue
        host = _host(url)
        if not host or "." not in host:
            continue
        start = match.start()
        shortener = host in rules.shorteners or any(
            host.endswith("." + name) for name in rules.shorteners
        )
        links.append(Link(url, host, shortener, start, start + len(url)))
    return tuple(links)


def _host(url: str) -> str:
    rest = url.split("://", 1)[1] if "://" in url else url
    host = re.split(r"[/?#\\]", rest, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].lower().rstrip(".")
    return host.removeprefix("www.")


# --- opt-out instructions --------------------------------------------------------------------


def _opt_out_instructions(text: str, rules: _Rules) -> bool:
    folded = text.casefold()
    if not any(keyword in folded for keyword in rules.opt_out_keywords):
        return False  # the common case, decided without the regular expression
    return rules.opt_out.search(text) is not None


# --- brand names -----------------------------------------------------------------------------

_APOSTROPHES = str.maketrans("", "", "'\u2018\u2019\u02bc`\u00b4")
_NON_WORD = re.compile(r"[\W_]+")


def _name_form(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    if not text.isascii():
        text = "".join(
            c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
        )
    return " ".join(_NON_WORD.sub(" ", text).split())


# --- rule data -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rules:
    citations: dict[str, str]
    words: dict[str, _Entry]  # single-word terms by their plain form
    skeletons: dict[str, _Entry]  # single-word terms by their l33t skeleton
    phrases: dict[str, list[_Entry]]  # terms of several words by their first word
    phrase_skeletons: dict[str, list[_Entry]]
    skeleton_of: dict[str, str]  # every word of a phrase -> its skeleton
    longest_word: int
    leet: dict[int, str]
    letters: dict[int, str]
    separators: frozenset[str]
    max_gap: int
    min_length: int
    max_distance: int
    allow: frozenset[str]
    fuzzy: dict[tuple[str, int], list[str]]  # (first letter, length) -> candidate terms
    shorteners: frozenset[str]
    url: re.Pattern[str]
    opt_out: re.Pattern[str]
    opt_out_keywords: tuple[str, ...]  # case-folded: a body without any has no instructions


_TOP_LEVEL = {
    "evasion",
    "misspellings",
    "shorteners",
    "links",
    "opt_out_instructions",
    "encoding",
}


@cache
def _rules() -> _Rules:
    rules = resources.files("consentry.rules")
    data: dict[str, Any] = tomllib.loads(rules.joinpath("content.toml").read_text("utf-8"))
    confusables: dict[str, Any] = tomllib.loads(
        rules.joinpath("confusables.toml").read_text("utf-8")
    )
    return _build(data, confusables)


def _build(data: Mapping[str, Any], confusables: Mapping[str, Any]) -> _Rules:
    citations: dict[str, str] = {}
    for name, table in data.items():
        if not isinstance(table, dict):
            raise ValueError(f"content.toml: {name!r} must be a table")
        citation = table.get("citation")
        if not isinstance(citation, str) or not citation.strip():
            raise ValueError(f"content.toml: [{name}] has no citation")
        if name not in _TOP_LEVEL and "terms" not in table:
            raise ValueError(f"content.toml: unknown table [{name}]")
        citations[name] = citation
    for name in _TOP_LEVEL:
        if name not in data:
            raise ValueError(f"content.toml: missing table [{name}]")

    evasion = data["evasion"]
    leet = {ord(k): v for k, v in _strings(confusables["digits_in_words"]["map"]).items()}
    for symbol, letter in _strings(evasion["leet"]).items():
        if len(symbol) != 1 or len(letter) != 1:
            raise ValueError(f"content.toml: bad leet entry {symbol!r} = {letter!r}")
        leet[ord(symbol)] = letter
    leet[ord("l")] = "i"  # "1", "!" and "|" stand for i or l: compare both as i
    letters = {}
    for char, latin in _strings(confusables["letters"]["map"]).items():
        if len(char) != 1 or not latin:
            raise ValueError(f"confusables.toml: bad entry {char!r} = {latin!r}")
        letters[ord(char)] = latin

    words: dict[str, _Entry] = {}
    skeletons: dict[str, _Entry] = {}
    phrases: dict[str, list[_Entry]] = {}
    phrase_skeletons: dict[str, list[_Entry]] = {}
    skeleton_of: dict[str, str] = {}
    fuzzy: dict[tuple[str, int], list[str]] = {}
    seen: dict[tuple[str, ...], str] = {}
    misspellings = data["misspellings"]
    min_length = int(misspellings["min_length"])
    for name, table in data.items():
        if "terms" not in table:
            continue
        section = _section(name, table)
        for term in _string_list(table["terms"], f"[{name}] terms"):
            key = _term_words(term)
            if not key:
                raise ValueError(f"content.toml: [{name}] term {term!r} has no word")
            if key in seen:
                raise ValueError(f"content.toml: {term!r} is listed in [{seen[key]}] and [{name}]")
            seen[key] = name
            entry = _Entry(term, key, section)
            if len(key) == 1:
                word = key[0]
                words[word] = entry
                skeletons.setdefault(word.translate(leet), entry)
                if section.misspellings and len(word) >= min_length and word.isalpha():
                    for size in (len(word) - 1, len(word), len(word) + 1):
                        fuzzy.setdefault((word[0], size), []).append(word)
            else:
                phrases.setdefault(key[0], []).append(entry)
                phrase_skeletons.setdefault(key[0].translate(leet), []).append(entry)
                for word in key:
                    skeleton_of[word] = word.translate(leet)
        for term, phrases_ in section.exceptions.items():
            if (term,) != _term_words(term) or seen.get((term,)) != name:
                raise ValueError(f"content.toml: [{name}.exceptions] {term!r} is not a term")
            for phrase in phrases_:
                if _stem(term) not in {_stem(w) for w in phrase}:
                    raise ValueError(f"content.toml: exception {phrase!r} lacks {term!r}")

    shorteners = data["shorteners"]
    hosts = frozenset(h.lower() for h in _string_list(shorteners["hosts"], "shortener hosts"))
    tlds = _string_list(data["links"]["bare_domain_tlds"], "bare_domain_tlds")
    return _Rules(
        citations=citations,
        words=words,
        skeletons=skeletons,
        phrases=phrases,
        phrase_skeletons=phrase_skeletons,
        skeleton_of=skeleton_of,
        longest_word=max(len(w) for w in words),
        leet=leet,
        letters=letters,
        separators=frozenset(str(evasion["separators"])),
        max_gap=int(evasion["max_gap"]),
        min_length=min_length,
        max_distance=int(misspellings["max_distance"]),
        allow=frozenset(_string_list(misspellings["allow"], "misspelling allow-list")),
        fuzzy=fuzzy,
        shorteners=hosts,
        url=_url_pattern(tlds),
        opt_out=_opt_out_pattern(data["opt_out_instructions"]),
        opt_out_keywords=tuple(
            sorted({k.casefold().split()[0] for k in data["opt_out_instructions"]["keywords"]})
        ),
    )


def _section(name: str, table: Mapping[str, Any]) -> _Section:
    rule_id = table.get("rule_id")
    if rule_id not in RULE_IDS:
        raise ValueError(f"content.toml: [{name}] has an unknown rule_id {rule_id!r}")
    exceptions = {
        term: tuple(_term_words(p) for p in _string_list(phrases, f"[{name}.exceptions]"))
        for term, phrases in table.get("exceptions", {}).items()
    }
    return _Section(
        name=name,
        rule_id=str(rule_id),
        citation=str(table["citation"]),
        evasion=bool(table.get("evasion", True)),
        misspellings=bool(table.get("misspellings", False)),
        exceptions=exceptions,
    )


def _term_words(term: str) -> tuple[str, ...]:
    """A listed term as the words the matcher compares it with ("E-cig" -> ("e", "cig"))."""
    return tuple(t.core for t in _tokens(term.lower(), {}))


def _strings(table: Any) -> dict[str, str]:
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in table.items()
    ):
        raise ValueError("content.toml: expected a table of strings")
    return dict(table)


def _string_list(values: Any, what: str) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ValueError(f"content.toml: {what} must be a list of words")
    return list(values)


def _alternatives(words: Iterable[str]) -> str:
    """A regular-expression alternation of ``words``, longest first; a space matches any."""
    ordered = sorted(set(words), key=lambda w: (-len(w), w))
    return "|".join(re.escape(w).replace(r"\ ", r"[\s-]+") for w in ordered)


def _url_pattern(tlds: list[str]) -> re.Pattern[str]:
    label = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    return re.compile(
        rf"(?i)(?<![\w@.\-/])(?:https?://{_URL_CHARS}+|www\.{_URL_CHARS}+"
        rf"|(?:{label}\.)+(?:{_alternatives(tlds)})(?![\w-])(?:[/?#]{_URL_CHARS}*)?)"
    )


def _opt_out_pattern(table: Mapping[str, Any]) -> re.Pattern[str]:
    verbs = _alternatives(_string_list(table["verbs"], "opt-out verbs"))
    keywords = _alternatives(_string_list(table["keywords"], "opt-out keywords"))
    any_case = _alternatives(_string_list(table["any_case"], "opt-out any_case"))
    connectors = _alternatives(_string_list(table["connectors"], "opt-out connectors"))
    purposes = _alternatives(_string_list(table["purposes"], "opt-out purposes"))
    opening, closing = "[\"'“‘«]", "[\"'”’»]"
    follows = rf"(?=\s*(?:$|[.,;:!?)\]]|(?i:{connectors}|at|or|anytime|any\s+time)(?!\w)))"
    keyword = (
        rf"(?:(?:{keywords})(?![\w-])|{opening}(?i:{keywords}){closing}"
        rf"|(?i:{any_case})(?![\w-]){follows})"
    )
    strict = rf"(?:(?<![\w-])(?:{keywords})(?![\w-])|{opening}(?i:{keywords}){closing})"
    verb_first = (
        rf"(?<!\w)(?i:{verbs})(?!\w)\s*[:,\-]?\s*"
        rf"(?i:(?:with\s+)?(?:the\s+)?(?:word\s+|keyword\s+)?)?{keyword}"
    )
    keyword_first = rf"{strict}\s*(?i:{connectors})\s+(?i:{purposes})(?!\w)"
    return re.compile(f"{verb_first}|{keyword_first}")
