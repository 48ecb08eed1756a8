"""Lint opt-in copy: a call-to-action, SMS terms, a privacy policy or a message template.

``lint(kind, text, context)`` returns a ``LintReport``: every finding names its check, severity,
the offending span of the visible text (or None when an element is missing), a citation and a
fix. The checks are reviewed data, not code: ``consentry/rules/lint.toml`` holds the catalogue
(``checks()``) and the wording each check looks for, read once on first use. Each check's
``rule`` names one small function of the registry below, which yields the check's hits.

What counts is what a reader sees. HTML (detected when the text has tags of HTML elements or a
comment, or forced with ``html=``) is reduced by ``visible_text``: comments, ``<head>``,
``<script>``, ``<style>``, ``<template>``, ``<noscript>``, embedded content (``<iframe>``,
``<object>``, ``<svg>``, media), ``<input type="hidden">``, elements with the ``hidden``
attribute or ``aria-hidden="true"``, a ``<dialog>`` that is not open and the body of a closed
``<details>`` are dropped, and so is an element whose inline style or whose rule in a
``<style>`` block (simple selectors, applied in source order, inline style last, media queries
ignored, so hidden on small screens is hidden) hides it: ``display:none``, ``visibility:
hidden`` (a child may show itself again with ``visible``), ``opacity:0``, ``font-size:0``
(likewise), ``content-visibility:hidden``, ``transform:scale(0)``, off-screen positioning or
``text-indent`` of 999px or more, the "visually hidden" recipe (a clip of at most 1px, or 1px
boxes with ``overflow:hidden``), and text whose colour equals the background behind it (the
nearest background colour set on it or an ancestor; white when none is; unknown, so never
equal, behind a background image). A disclosure hidden any of these ways is missing.

Links and checkboxes. A link is rendered as its text followed by its target in parentheses,
``Terms (https://example.com/terms)``, unless the target adds nothing (empty, ``#...``,
``javascript:``, or the text already shows it). The targets are part of ``visible_text`` (a
reader can follow them), but only the link checks and the support-contact check read them:
the other checks look at the text with the targets blanked out, so ``acme.com/alerts`` in an
``href`` neither names the brand nor describes the messages. A terms (privacy) link is an
``<a href>`` whose text or target says terms (privacy), or a written URL whose path says so or
that follows the word within the same sentence ("Terms: acme.com/sms"). A checkbox is rendered
``[x]`` (ticked) or ``[ ]``; in plain text ``[x]`` and ``☑`` are read the same way. In a web
form (``LintContext.web_form``, by default: HTML with a ``<form>`` or ``<input>``) every ticked
checkbox is a CTA-PRECHECKED finding whose span runs from the box to the end of its sentence
or line.

Matching is case-insensitive and tolerant of spacing and punctuation ("Msg&Data", "msg & data",
"Reply 'STOP' to end"), on whole words; ``rules/lint.toml`` describes its phrase notation.
Judgement calls: with no brand or program in the context the brand check is skipped (nothing
to compare with); "recurring" and "one-time" count as a frequency; a rates phrase without
"message and data" ("Standard rates may apply") is reported once as *-RATES-WORDING (with its
span), not also as *-RATES; a general promise not to share personal data is a no-sharing
clause, but a statement that shares data in general ("we may share your information with
partners") is PRIVACY-SHARING-ALLOWED unless the policy also excludes mobile data somewhere (the
exclusion carriers ask for), while one that shares mobile data is always reported unless its
own sentence excludes it; a sharing verb under a negation before it in its clause ("will not
be shared", "we never sell") is a promise, not sharing.

The score is the weighted share of the applicable checks that passed (``[weights]``: block 3,
warn 1, info 0, so an info finding such as TEMPLATE-ENCODING is a fact, never a failure): 100
exactly when there is no block or warn finding, and floored, so any such finding keeps it
below 100.

``lint`` raises ``consentry.errors.InvalidInput`` for an unknown kind (field "kind"), category
("category") or template ("template"), a template kind without a template ("template"), an
empty text, one over ``MAX_TEXT_CHARS``, or HTML that the parser rejects ("text"); for any
``str`` it raises nothing else. Every pattern is bounded, so a long or hostile text costs
linear time (about half a second for the worst 100,000-character texts tried).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any, NamedTuple

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning
from bs4.element import NavigableString, PageElement, PreformattedString, Tag
from bs4.exceptions import ParserRejectedMarkup

from consentry.domain import content

# The link finder and name normalisation of the content analyser: one definition for both.
from consentry.domain.content import _links, _name_form, _rules
from consentry.errors import InvalidInput

__all__ = [
    "CATEGORIES",
    "KINDS",
    "MAX_TEXT_CHARS",
    "SEVERITIES",
    "TEMPLATES",
    "LintCheck",
    "LintContext",
    "LintFinding",
    "LintReport",
    "Span",
    "checks",
    "lint",
    "visible_text",
]

KINDS = ("cta", "terms", "privacy", "template")
TEMPLATES = (
    "opt_in_confirmation",
    "opt_out_confirmation",
    "help_reply",
    "first_message",
    "reminder",
)
CATEGORIES = ("marketing", "informational", "transactional", "conversational")
SEVERITIES = ("block", "warn", "info")
MAX_TEXT_CHARS = 100_000
"""The longest text ``lint`` accepts, in characters (HTML counted before it is reduced)."""

# bs4 warns when forced HTML looks like a file name, a URL or XML: the text is what it is.
warnings.filterwarnings("ignore", category=MarkupResemblesLocatorWarning)
warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LintContext:
    """What the text is for: who sends, what kind of program, which template."""

    brand: str | None = None  # the brand name the text should carry (when known)
    program: str | None = None  # the program name
    category: str = "marketing"  # marketing | informational | transactional | conversational
    support_contact: str | None = None  # e-mail/phone/URL expected in HELP text and terms
    template: str | None = None  # for kind "template": one of TEMPLATES (required then)
    web_form: bool | None = None  # checkbox rules apply; None: HTML with a <form> or <input>


@dataclass(frozen=True, slots=True)
class Span:
    """A piece of ``LintReport.visible_text``: ``visible_text[start:end] == text``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class LintFinding:
    id: str  # stable check id, e.g. "CTA-FREQUENCY"
    severity: str  # "block" | "warn" | "info"
    message: str
    span: Span | None  # the offending text; None when an element is missing
    citation: str
    fix: str


@dataclass(frozen=True, slots=True)
class LintReport:
    kind: str
    template: str | None
    findings: tuple[LintFinding, ...]
    score: int  # 0..100, weighted share of the applicable checks passed
    visible_text: str  # the text that was checked (HTML reduced to what a reader sees)

    @property
    def blocking(self) -> bool:
        """Whether any finding blocks."""
        return any(finding.severity == "block" for finding in self.findings)


@dataclass(frozen=True, slots=True)
class LintCheck:
    """One entry of the catalogue in ``rules/lint.toml``."""

    id: str
    kind: str
    severity: str
    checks: str
    citation: str
    fix: str = ""
    templates: tuple[str, ...] = ()  # kind "template": the templates it applies to


# --- public functions ------------------------------------------------------------------------


def lint(
    kind: str, text: str, context: LintContext | None = None, *, html: bool | None = None
) -> LintReport:
    """Check ``text`` of ``kind`` (cta, terms, privacy, template) against the catalogue.

    ``html`` None detects HTML from the text. Raises ``InvalidInput`` for bad input only.
    """
    context = context or LintContext()
    _validate(kind, text, context)
    is_html = _looks_like_html(text) if html is None else html
    doc = _read_html(text) if is_html else _read_plain(text)
    web_form = doc.form if context.web_form is None else context.web_form
    run = _Run(doc, context, web_form)
    catalogue = _catalogue()
    template = context.template if kind == "template" else None
    findings: list[LintFinding] = []
    total = passed = 0
    for check in catalogue.checks:
        if not check.applies(kind, context.category, template, web_form):
            continue
        hits = _RULES[check.rule](run, check)
        if hits is None:  # not applicable to this text or context
            continue
        weight = catalogue.weights[check.severity]
        total += weight
        if not hits:
            passed += weight
        findings.extend(check.finding(hit, run) for hit in hits)
    score = 100 if total == 0 else 100 * passed // total
    return LintReport(kind, template, tuple(findings), score, doc.text)


def visible_text(html: str) -> str:
    """What a reader of ``html`` sees (see the module docstring for what is dropped).

    Raises ``InvalidInput`` (field "text") when the parser rejects the markup.
    """
    return _read_html(html).text


def checks(kind: str | None = None) -> tuple[LintCheck, ...]:
    """The catalogue of checks, all or those of one kind (``InvalidInput`` for another)."""
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}: one of {', '.join(KINDS)}", field="kind")
    return tuple(c.public for c in _catalogue().checks if kind is None or c.kind == kind)


def _validate(kind: str, text: str, context: LintContext) -> None:
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}: one of {', '.join(KINDS)}", field="kind")
    if context.template is not None and context.template not in TEMPLATES:
        raise InvalidInput(
            f"unknown template {context.template!r}: one of {', '.join(TEMPLATES)}",
            field="template",
        )
    if kind == "template" and context.template is None:
        raise InvalidInput(
            f"kind 'template' needs a template: one of {', '.join(TEMPLATES)}", field="template"
        )
    if context.category not in CATEGORIES:
        raise InvalidInput(
            f"unknown category {context.category!r}: one of {', '.join(CATEGORIES)}",
            field="category",
        )
    if not isinstance(text, str):
        raise InvalidInput("text must be a string", field="text")
    if not text.strip():
        raise InvalidInput("text is empty", field="text")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(
            f"text is {len(text)} characters long; at most {MAX_TEXT_CHARS} are checked",
            field="text",
        )


# --- the document: visible text, links, checkboxes -------------------------------------------


@dataclass(frozen=True, slots=True)
class _Anchor:
    start: int  # the link text in the visible text
    end: int
    href: str  # "" when the target goes nowhere a reader can follow


@dataclass(frozen=True, slots=True)
class _Doc:
    text: str  # the visible text, link targets included
    masked: str  # the same with the link targets blanked out (same length, same offsets)
    anchors: tuple[_Anchor, ...]
    checked: tuple[tuple[int, int], ...]  # spans of ticked checkboxes
    form: bool  # HTML with a <form> or <input>


_HTML_HINT = re.compile(
    r"<!--|<!doctype\s|</?(?:a|abbr|article|aside|b|blockquote|body|br|button|center|code|details"
    r"|dialog|div|em|fieldset|font|footer|form|h[1-6]|head|header|hr|html|i|img|input|label"
    r"|legend|li|link|main|meta|nav|noscript|ol|option|p|pre|section|select|small|span|strong"
    r"|style|sub|summary|sup|table|tbody|td|template|textarea|th|thead|title|tr|u|ul)(?=[\s/>])",
    re.IGNORECASE,
)
_CHECKED_MARK = re.compile(r"\[[xX✓✔]\]|☑")


def _looks_like_html(text: str) -> bool:
    return _HTML_HINT.search(text) is not None


def _read_plain(text: str) -> _Doc:
    checked = tuple(_to_line_end(text, m.start()) for m in _CHECKED_MARK.finditer(text))
    return _Doc(text, text, (), checked, False)


_LINE_END = re.compile(r"[.!?](?=\s|$)|\n")


def _to_line_end(text: str, start: int, longest: int = 200) -> tuple[int, int]:
    """From ``start`` to the end of its sentence or line (at most ``longest`` characters)."""
    stop = _LINE_END.search(text, start + 3, start + longest)
    end = min(len(text), start + longest) if stop is None else stop.end()
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _trim(text: str, start: int, end: int, chars: str | None = None) -> tuple[int, int]:
    """``start, end`` narrowed past leading and trailing ``chars`` (whitespace by default)."""
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip(chars))
    return start + lead, max(start + lead, start + len(piece.rstrip(chars)))


class _Builder:
    """Visible text built left to right; nothing written is rewritten, so offsets stay valid."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.pending_space = False
        self.line_start = True

    def space(self) -> None:
        self.pending_space = True

    def newline(self) -> None:
        self.pending_space = False
        if not self.line_start:
            self._write("\n")

    def text(self, value: str) -> tuple[int, int] | None:
        """Write ``value`` with its whitespace collapsed; the span written, if anything was."""
        if value[:1].isspace():
            self.pending_space = True
        words = value.split()
        if not words:
            return None
        if self.pending_space and not self.line_start:
            self._write(" ")
        start = self.length
        self._write(" ".join(words))
        self.pending_space = value[-1].isspace()
        return start, self.length

    def _write(self, value: str) -> None:
        self.parts.append(value)
        self.length += len(value)
        self.line_start = value.endswith("\n")

    def result(self) -> str:
        return "".join(self.parts).rstrip("\n")


_DROPPED = frozenset(
    {
        "head", "title", "meta", "link", "base", "script", "style", "template", "noscript",
        "iframe", "object", "embed", "audio", "video", "canvas", "map", "datalist", "svg",
    }
)  # fmt: skip
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "dd", "details",
        "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1",
        "h2", "h3", "h4", "h5", "h6", "header", "hr", "html", "legend", "li", "main", "nav",
        "ol", "p", "pre", "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
    }
)  # fmt: skip
_CELLS = frozenset({"td", "th", "option"})


@dataclass(frozen=True, slots=True)
class _Ink:
    """What a text node inherits that decides whether it can be seen."""

    color: str | None  # None: unknown
    backdrop: str | None  # the background behind the text; None: unknown (an image)
    invisible: bool  # visibility: hidden
    font_zero: bool  # font-size: 0

    def shows_text(self) -> bool:
        if self.invisible or self.font_zero or self.color == "transparent":
            return False
        return self.color is None or self.backdrop is None or self.color != self.backdrop


@dataclass(frozen=True, slots=True)
class _Close:
    block: bool
    cell: bool
    anchor: tuple[int, int, str] | None  # link text start (offset, part), its target


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _read_html(markup: str) -> _Doc:
    # BeautifulSoup encodes the markup to UTF-8, which a lone surrogate (possible in JSON input)
    # cannot be: it becomes U+FFFD, one character for one, so offsets stay true.
    markup = _LONE_SURROGATE.sub("\ufffd", markup)
    try:
        soup = BeautifulSoup(markup, "html.parser")
    except ParserRejectedMarkup as error:
        raise InvalidInput(f"text is not readable as HTML: {error}", field="text") from error
    form = soup.find(["form", "input"]) is not None
    sheet = _style_sheet(soup)
    out = _Builder()
    anchors: list[tuple[int, int, str]] = []
    targets: list[tuple[int, int]] = []
    checked: list[int] = []
    root = _Ink("#000000", "#ffffff", False, False)
    stack: list[tuple[PageElement, _Ink] | _Close] = [(child, root) for child in soup.contents]
    stack.reverse()
    while stack:
        item = stack.pop()
        if isinstance(item, _Close):
            _close(item, out, anchors, targets)
            continue
        node, ink = item
        if isinstance(node, NavigableString):
            if not isinstance(node, PreformattedString) and ink.shows_text():
                out.text(str(node))
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name.lower()
        style = dict(sheet.get(id(node), {}))
        style.update(_declarations(_attr(node, "style") or ""))
        if _hides(node, name, style):
            continue
        ink = _inherit(ink, node, name, style)
        if name in ("br", "hr"):
            out.newline()
            continue
        if name == "input":
            _input(node, ink, out, checked)
            continue
        block, cell = name in _BLOCKS, name in _CELLS
        if block:
            out.newline()
        elif cell:
            out.space()
        anchor = None
        if name == "a" and node.has_attr("href"):
            anchor = (out.length, len(out.parts), _href(_attr(node, "href") or ""))
        stack.append(_Close(block, cell, anchor))
        children: Sequence[PageElement] = node.contents
        if name == "details" and not node.has_attr("open"):
            children = [c for c in children if isinstance(c, Tag) and c.name == "summary"][:1]
        stack.extend((child, ink) for child in reversed(children))
    text = out.result()
    masked = list(text)
    for start, end in targets:
        masked[start:end] = " " * (end - start)
    return _Doc(
        text,
        "".join(masked),
        tuple(_Anchor(*_trim(text, start, end), href) for start, end, href in anchors),
        tuple(_to_line_end(text, start) for start in checked),
        form,
    )


def _close(
    item: _Close, out: _Builder, anchors: list[tuple[int, int, str]], targets: list[tuple[int, int]]
) -> None:
    if item.anchor is not None:
        start, part, href = item.anchor
        end = out.length
        label = "".join(out.parts[part:]).casefold() if href else ""
        anchors.append((start, end, href))
        if href and _shown(href) not in label:
            out.space()
            written = out.text(f"({href})")
            out.space()
            if written is not None:
                targets.append(written)
    if item.block:
        out.newline()
    elif item.cell:
        out.space()


def _input(node: Tag, ink: _Ink, out: _Builder, checked: list[int]) -> None:
    kind = (_attr(node, "type") or "text").strip().lower()
    if kind == "checkbox":
        out.space()
        written = out.text("[x]" if node.has_attr("checked") else "[ ]")
        out.space()
        if written is not None and node.has_attr("checked"):
            checked.append(written[0])
    elif kind in ("submit", "button", "reset") and ink.shows_text():
        out.space()
        out.text(_attr(node, "value") or "")
        out.space()


def _attr(node: Tag, name: str) -> str | None:
    value = node.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else " ".join(value)


def _href(href: str) -> str:
    """A link target a reader can follow, or "" (empty, same-page anchor, script)."""
    href = " ".join(href.split())
    if not href or href.startswith("#") or href.casefold().startswith("javascript:"):
        return ""
    return href


def _shown(href: str) -> str:
    """The part of a target that link text would show (no scheme, no trailing slash)."""
    shown = re.sub(r"^(?:https?://|mailto:|tel:)", "", href.casefold())
    return shown.rstrip("/")


# --- CSS: what hides an element -------------------------------------------------------------

_STYLE_PROPERTIES = frozenset(
    {
        "display", "visibility", "opacity", "font-size", "color", "background",
        "background-color", "content-visibility", "transform", "text-indent", "position",
        "left", "top", "clip", "clip-path", "width", "height", "max-height", "overflow",
    }
)  # fmt: skip
_MAX_STYLE_RULES = 500  # selectors applied per document: each one walks the tree
_LENGTH = re.compile(r"^(-?\d*\.?\d+)\s*(px|em|rem|%|pt|vw|vh)?$")
_NAMED_COLORS = {
    "white": "#ffffff",
    "black": "#000000",
    "red": "#ff0000",
    "green": "#008000",
    "blue": "#0000ff",
    "yellow": "#ffff00",
    "gray": "#808080",
    "grey": "#808080",
    "silver": "#c0c0c0",
    "transparent": "transparent",
}
_COLOR_TOKEN = re.compile(r"#[0-9a-f]{3,8}\b|rgba?\([^)]*\)|\b[a-z]+\b")


def _style_sheet(soup: BeautifulSoup) -> dict[int, dict[str, str]]:
    """Declarations from ``<style>`` blocks that matter here, per element (by ``id``)."""
    declared: dict[int, dict[str, str]] = {}
    applied = 0
    for style in soup.find_all("style"):
        for selectors, body in _css_rules(style.get_text()):
            rules = _declarations(body)
            if not rules:
                continue
            for selector in selectors.split(","):
                applied += 1
                if applied > _MAX_STYLE_RULES:
                    return declared
                try:
                    matched = soup.select(selector.strip())
                except Exception:  # a selector soupsieve cannot read hides nothing
                    continue
                for element in matched:
                    declared.setdefault(id(element), {}).update(rules)
    return declared


def _css_rules(css: str) -> Iterator[tuple[str, str]]:
    """``(selectors, declarations)`` of each innermost block, in source order (linear time)."""
    css = _strip_css_comments(css)
    last, opened, selector = 0, -1, ""
    for brace in re.finditer(r"[{}]", css):
        if brace.group() == "{":
            selector = css[last : brace.start()].rsplit(";", 1)[-1].strip()
            opened = brace.end()
        elif opened >= 0:
            if selector and not selector.startswith("@"):
                yield selector, css[opened : brace.start()]
            opened = -1
        last = brace.end()


def _strip_css_comments(css: str) -> str:
    parts, at = [], 0
    while (start := css.find("/*", at)) >= 0:
        parts.append(css[at:start])
        end = css.find("*/", start + 2)
        at = len(css) if end < 0 else end + 2
    parts.append(css[at:])
    return " ".join(parts)


def _declarations(body: str) -> dict[str, str]:
    declared: dict[str, str] = {}
    for declaration in body.split(";"):
        name, colon, value = declaration.partition(":")
        name = name.strip().lower()
        if colon and name in _STYLE_PROPERTIES:
            value = value.lower().replace("!important", "").strip()
            if value:
                declared[name] = " ".join(value.split())
    return declared


def _hides(node: Tag, name: str, style: Mapping[str, str]) -> bool:
    """Whether ``node`` and everything in it is out of sight."""
    if name in _DROPPED or node.has_attr("hidden"):
        return True
    if (_attr(node, "aria-hidden") or "").strip().lower() == "true":
        return True
    if name == "dialog" and not node.has_attr("open"):
        return True
    if name == "input" and (_attr(node, "type") or "").strip().lower() == "hidden":
        return True
    if style.get("display") == "none" or style.get("content-visibility") == "hidden":
        return True
    opacity = _number(style.get("opacity", ""))
    if opacity is not None and opacity <= 0:
        return True
    if re.search(r"scale[xy]?\(\s*0(?:\.0*)?\s*[,)]", style.get("transform", "")):
        return True
    indent = _number(style.get("text-indent", ""))
    if indent is not None and indent <= -999:
        return True
    if style.get("position") in ("absolute", "fixed"):
        for side in ("left", "top"):
            offset = _number(style.get(side, ""))
            if offset is not None and offset <= -999:
                return True
    return _clipped(style)


def _clipped(style: Mapping[str, str]) -> bool:
    clip = style.get("clip", "")
    if clip.startswith("rect("):
        sizes = [_number(v) for v in re.split(r"[\s,]+", clip[5:].rstrip(")").strip()) if v]
        if sizes and all(s is not None and abs(s) <= 1 for s in sizes):
            return True
    inset = re.match(r"inset\(\s*(\d+(?:\.\d+)?)%", style.get("clip-path", ""))
    if inset and float(inset.group(1)) >= 50:
        return True
    if style.get("overflow") in ("hidden", "clip"):
        for side in ("width", "height", "max-height"):
            size = _number(style.get(side, ""))
            if size is not None and size <= 1 and not style.get(side, "").endswith("%"):
                return True
    return False


def _number(value: str) -> float | None:
    """A length or number in CSS pixels (an em counts 16), or None."""
    match = _LENGTH.match(value.strip())
    if match is None:
        return None
    number = float(match.group(1))
    return number * 16 if match.group(2) in ("em", "rem") else number


def _inherit(ink: _Ink, node: Tag, name: str, style: Mapping[str, str]) -> _Ink:
    color, backdrop = ink.color, ink.backdrop
    if "color" in style:
        color = _color(style["color"], color)
    elif name == "font" and node.has_attr("color"):
        color = _color(_attr(node, "color") or "", color)
    background = style.get("background-color") or style.get("background")
    if background is None and node.has_attr("bgcolor"):
        background = _attr(node, "bgcolor")
    if background is not None:
        if "url(" in background or "gradient(" in background:
            backdrop = None
        else:
            token = _COLOR_TOKEN.search(background)
            painted = _color(token.group(), None) if token else None
            if painted is not None and painted != "transparent":
                backdrop = painted
    invisible = ink.invisible
    if "visibility" in style:
        invisible = style["visibility"] in ("hidden", "collapse") or (
            invisible and style["visibility"] != "visible"
        )
    font_zero = ink.font_zero
    if "font-size" in style:
        size = _LENGTH.match(style["font-size"])
        if size is not None:
            zero = float(size.group(1)) <= 0
            relative = size.group(2) in ("em", "%")
            font_zero = zero or (relative and ink.font_zero)
    return _Ink(color, backdrop, invisible, font_zero)


def _color(value: str, inherited: str | None) -> str | None:
    """A colour in one canonical form ("#rrggbb" or "transparent"); ``inherited`` for keywords."""
    value = value.strip().lower()
    if value in ("", "inherit", "currentcolor", "initial", "unset", "revert"):
        return inherited
    if value in _NAMED_COLORS:
        return _NAMED_COLORS[value]
    if re.fullmatch(r"#[0-9a-f]{3,4}", value):
        value = "#" + "".join(ch * 2 for ch in value[1:])
    if re.fullmatch(r"#[0-9a-f]{6}(?:[0-9a-f]{2})?", value):
        return "transparent" if value[7:] == "00" else value[:7]
    functional = re.fullmatch(r"rgba?\(([^)]*)\)", value)
    if functional:
        numbers = re.findall(r"-?\d*\.?\d+%?", functional.group(1))
        if len(numbers) >= 3:
            if len(numbers) > 3 and _alpha(numbers[3]) <= 0:
                return "transparent"
            channels = [_channel(n) for n in numbers[:3]]
            return "#" + "".join(f"{c:02x}" for c in channels)
    return value


def _channel(number: str) -> int:
    value = float(number.rstrip("%")) * (2.55 if number.endswith("%") else 1)
    return max(0, min(255, round(value)))


def _alpha(number: str) -> float:
    return float(number.rstrip("%")) / (100 if number.endswith("%") else 1)


# --- the rules: one small function per `rule` of the catalogue --------------------------------


class _Fields(dict[str, str]):
    """Message fields; a field no rule filled shows as itself, so a test can catch it."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class _Hit(NamedTuple):
    span: tuple[int, int] | None
    fields: dict[str, str]


_MISSING = [_Hit(None, {})]
_Rule = Callable[["_Run", "_Check"], list[_Hit] | None]


class _Run:
    """One lint run: the document, the context and what several rules share, computed once."""

    def __init__(self, doc: _Doc, context: LintContext, web_form: bool) -> None:
        self.doc = doc
        self.context = context
        self.web_form = web_form
        self.elements = _catalogue().elements

    @cached_property
    def names(self) -> tuple[str, ...]:
        given = (self.context.brand, self.context.program)
        return tuple(dict.fromkeys(name.strip() for name in given if name and name.strip()))

    @cached_property
    def name_form(self) -> str:
        return f" {_name_form(self.doc.masked)} "

    @cached_property
    def encoding(self) -> content.Encoding:
        return content.encoding(self.doc.text)

    @cached_property
    def privacy(self) -> _Privacy:
        return _read_privacy(self.doc.masked, self.elements)

    def found(self, element: str, *, targets: bool = False) -> bool:
        text = self.doc.text if targets else self.doc.masked
        return self.elements[element].search(text) is not None

    def fields(self) -> dict[str, str]:
        names = " or ".join(f'"{name}"' for name in self.names) or "the brand"
        return {
            "names": names,
            "first_name": self.names[0] if self.names else "Brand",
            "contact": self.context.support_contact or "support@example.com",
            "expected": "",
            "limit": str(_catalogue().opt_out_limit),
        }


def _present(run: _Run, check: _Check) -> list[_Hit] | None:
    return [] if run.found(check.element) else _MISSING


def _brand(run: _Run, check: _Check) -> list[_Hit] | None:
    if not run.names:
        return None
    for name in run.names:
        form = _name_form(name)
        if form and f" {form} " in run.name_form:
            return []
    return _MISSING


def _rates(run: _Run, check: _Check) -> list[_Hit] | None:
    return [] if run.found("rates") or run.found("rates_near_miss") else _MISSING


def _rates_wording(run: _Run, check: _Check) -> list[_Hit] | None:
    if run.found("rates"):
        return []
    misses = run.elements["rates_near_miss"].phrases.finditer(run.doc.masked)
    return [_Hit((m.start(), m.end()), {}) for m in misses]


def _help(run: _Run, check: _Check) -> list[_Hit] | None:
    """HELP instructions, or any support contact (not necessarily the context's)."""
    contact = (run.context.support_contact or "").strip()
    if run.found("help_keyword") or run.found("support_contact", targets=True):
        return []
    return [] if contact and _mentions(run.doc.text, contact) else _MISSING


def _support_contact(run: _Run, check: _Check) -> list[_Hit] | None:
    contact = (run.context.support_contact or "").strip()
    if contact:
        return (
            [] if _mentions(run.doc.text, contact) else [_Hit(None, {"expected": f" ({contact})"})]
        )
    return [] if run.found("support_contact", targets=True) else _MISSING


_PHONE_RUN = re.compile(r"\+?\d[\d\s().-]{5,}\d")


def _mentions(text: str, contact: str) -> bool:
    """Whether ``text`` gives ``contact``: a phone number in any format, else the address."""
    digits = re.sub(r"\D", "", contact)
    if len(digits) >= 7 and not re.search(r"[^\W\d_]|@", contact):
        wanted = digits[-10:]
        return any(re.sub(r"\D", "", m.group()).endswith(wanted) for m in _PHONE_RUN.finditer(text))
    return _shown(contact) in text.casefold()


def _link(run: _Run, check: _Check) -> list[_Hit] | None:
    element = run.elements[check.element]
    doc = run.doc
    for anchor in doc.anchors:
        label = doc.text[anchor.start : anchor.end]
        if anchor.href and (element.phrases.search(label) or element.patterns.search(anchor.href)):
            return []
    for link in _links(doc.masked, _rules()):
        if element.patterns.search(link.url):
            return []
        before = doc.masked[max(0, link.start - 60) : link.start]
        words = list(element.phrases.finditer(before))
        if words and not re.search(r"[.!?](?:\s|$)|\n", before[words[-1].end() :]):
            return []
    mention = element.phrases.search(doc.masked)
    return [_Hit((mention.start(), mention.end()), {})] if mention else _MISSING


def _mention(run: _Run, check: _Check) -> list[_Hit] | None:
    if _link(run, check) == [] or run.found(check.element):
        return []
    return _MISSING


def _prechecked(run: _Run, check: _Check) -> list[_Hit] | None:
    return [_Hit(span, {}) for span in run.doc.checked]


def _no_sharing(run: _Run, check: _Check) -> list[_Hit] | None:
    return [] if run.privacy.promise else _MISSING


def _sharing_allowed(run: _Run, check: _Check) -> list[_Hit] | None:
    privacy = run.privacy
    return [
        _Hit((start, end), {})
        for start, end, mobile in privacy.sharing
        if mobile or not privacy.mobile_promise
    ]


def _encoding_fields(run: _Run) -> dict[str, str]:
    encoding = run.encoding
    forcing = ", ".join(f'"{ch}"' for ch in encoding.forcing)
    return {
        "scheme": encoding.scheme,
        "characters": str(encoding.characters),
        "segments": str(encoding.segments),
        "units": "characters" if encoding.scheme == "GSM-7" else "UCS-2 code units",
        "forcing": forcing,
        "forced": f"; UCS-2 because of {forcing}" if forcing else "",
        "plain": f", e.g. by replacing {forcing}" if forcing else "",
    }


def _opt_out_length(run: _Run, check: _Check) -> list[_Hit] | None:
    limit = _catalogue().opt_out_limit
    encoding = run.encoding
    if encoding.characters <= limit:
        return []
    text = run.doc.text
    return [_Hit((_overflow(text, encoding.scheme, limit), len(text)), _encoding_fields(run))]


def _overflow(text: str, scheme: str, limit: int) -> int:
    """The index of the first character past ``limit`` units (septets or UTF-16 units)."""
    count = 0
    for index, ch in enumerate(text):
        count += content.encoding(ch).characters if scheme == "GSM-7" else 1 + (ord(ch) > 0xFFFF)
        if count > limit:
            return index
    return len(text)


def _opt_out_encoding(run: _Run, check: _Check) -> list[_Hit] | None:
    encoding = run.encoding
    if encoding.scheme == "GSM-7" or not encoding.forcing:
        return []
    first = run.doc.text.find(encoding.forcing[0])
    return [_Hit((first, first + 1), _encoding_fields(run))]


def _marketing(run: _Run, check: _Check) -> list[_Hit] | None:
    body = run.doc.masked[: content.MAX_ANALYSED_CHARS]
    hits = content.analyse(body).hits
    return [
        _Hit((hit.start, hit.end), {})
        for hit in hits
        if hit.rule_id == "CONTENT-PROMO-IN-TRANSACTIONAL"
    ]


def _segments(run: _Run, check: _Check) -> list[_Hit] | None:
    return [_Hit(None, _encoding_fields(run))] if run.encoding.segments > 1 else []


def _encoding(run: _Run, check: _Check) -> list[_Hit] | None:
    return [_Hit(None, _encoding_fields(run))]


_RULES: dict[str, _Rule] = {
    "present": _present,
    "brand": _brand,
    "rates": _rates,
    "rates_wording": _rates_wording,
    "help": _help,
    "support_contact": _support_contact,
    "link": _link,
    "mention": _mention,
    "prechecked": _prechecked,
    "no_sharing": _no_sharing,
    "sharing_allowed": _sharing_allowed,
    "opt_out_length": _opt_out_length,
    "opt_out_encoding": _opt_out_encoding,
    "marketing": _marketing,
    "segments": _segments,
    "encoding": _encoding,
}
_RULES_WITH_ELEMENT = frozenset({"present", "link", "mention"})


# --- privacy policies ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Privacy:
    promise: bool  # some sentence promises not to share data, or excludes mobile data
    mobile_promise: bool  # ... and it is about mobile data
    sharing: tuple[tuple[int, int, bool], ...]  # (start, end, about mobile data) of each statement


_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n")
_CLAUSE_BREAK = re.compile(r"[;:]|\b(?:but|however|whereas|although|though)\b", re.IGNORECASE)


def _pieces(text: str, start: int, end: int, breaks: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    at = start
    for match in breaks.finditer(text, start, end):
        yield at, match.start()
        at = match.end()
    yield at, end


def _read_privacy(text: str, elements: Mapping[str, _Element]) -> _Privacy:
    mobile, personal = elements["mobile_data"], elements["personal_data"]
    verbs, recipient, sell = elements["share_verb"], elements["recipient"], elements["sell_data"]
    negation, exclusion = elements["negation"], elements["exclusion"]
    promise = mobile_promise = False
    sharing: list[tuple[int, int, bool]] = []
    for s_start, s_end in _pieces(text, 0, len(text), _SENTENCE_END):
        sentence = text[s_start:s_end]
        if not verbs.search(sentence) and not exclusion.search(sentence):
            continue
        about_mobile = mobile.search(sentence) is not None
        if exclusion.search(sentence):
            promise = mobile_promise = True
            continue  # whatever this sentence shares, it excludes mobile data from it
        for c_start, c_end in _pieces(sentence, 0, len(sentence), _CLAUSE_BREAK):
            for verb in verbs.finditer(sentence, c_start, c_end):
                if negation.search(sentence, c_start, verb.start()):
                    if personal.search(sentence):
                        promise = True
                        mobile_promise = mobile_promise or about_mobile
                    continue
                target = recipient.search(sentence, verb.end(), c_end) or sell.match(
                    sentence, verb.start(), c_end
                )
                if target is None:
                    continue
                comma = sentence.rfind(",", c_start, verb.start())  # "To stay free, we sell"
                start, end = _trim(sentence, max(c_start, comma + 1), target.end(), " \t\n-•*·")
                shares_mobile = mobile.search(sentence, c_start, target.end()) is not None
                sharing.append((s_start + start, s_start + end, shares_mobile))
                break
    return _Privacy(promise, mobile_promise, tuple(sharing))


# --- rule data -------------------------------------------------------------------------------


_NEVER = re.compile(r"(?!)")


@dataclass(frozen=True, slots=True)
class _Element:
    """The wording of one element: its phrases and its raw patterns, compiled."""

    phrases: re.Pattern[str]
    patterns: re.Pattern[str]
    both: re.Pattern[str]

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match[str] | None:
        return self.both.search(text, pos, len(text) if endpos is None else endpos)

    def finditer(
        self, text: str, pos: int = 0, endpos: int | None = None
    ) -> Iterator[re.Match[str]]:
        return self.both.finditer(text, pos, len(text) if endpos is None else endpos)

    def match(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match[str] | None:
        return self.both.match(text, pos, len(text) if endpos is None else endpos)


@dataclass(frozen=True, slots=True)
class _Check:
    id: str
    kind: str
    severity: str
    rule: str
    element: str
    checks: str
    message: str
    message_span: str
    fix: str
    citation: str
    categories: frozenset[str] | None
    templates: tuple[str, ...]
    web_form: bool

    @property
    def public(self) -> LintCheck:
        return LintCheck(
            self.id, self.kind, self.severity, self.checks, self.citation, self.fix, self.templates
        )

    def applies(self, kind: str, category: str, template: str | None, web_form: bool) -> bool:
        if kind != self.kind or (self.web_form and not web_form):
            return False
        if self.categories is not None and category not in self.categories:
            return False
        return not self.templates or template in self.templates

    def finding(self, hit: _Hit, run: _Run) -> LintFinding:
        text = run.doc.text
        span = None if hit.span is None else Span(*hit.span, text[hit.span[0] : hit.span[1]])
        fields = _Fields(run.fields() | hit.fields | {"text": span.text if span else ""})
        message = self.message_span if span is not None and self.message_span else self.message
        return LintFinding(
            self.id,
            self.severity,
            message.format_map(fields),
            span,
            self.citation,
            self.fix.format_map(fields),
        )


@dataclass(frozen=True, slots=True)
class _Catalogue:
    checks: tuple[_Check, ...]
    elements: dict[str, _Element]
    weights: dict[str, int]
    opt_out_limit: int


@cache
def _catalogue() -> _Catalogue:
    raw = resources.files("consentry.rules").joinpath("lint.toml").read_text("utf-8")
    data = tomllib.loads(raw)
    sources: dict[str, Any] = data["elements"]
    compiled: dict[str, str] = {}
    elements = {name: _compile_element(name, sources, compiled) for name in sources}
    checks = tuple(_load_check(entry, elements) for entry in data["checks"])
    ids = [check.id for check in checks]
    if len(ids) != len(set(ids)):
        raise ValueError("lint.toml: a check id is listed twice")
    weights = {severity: int(data["weights"][severity]) for severity in SEVERITIES}
    return _Catalogue(checks, elements, weights, int(data["limits"]["opt_out_characters"]))


def _load_check(entry: Mapping[str, Any], elements: Mapping[str, _Element]) -> _Check:
    check_id = str(entry["id"])
    rule, element = str(entry["rule"]), str(entry.get("element", ""))
    if entry["kind"] not in KINDS or entry["severity"] not in SEVERITIES or rule not in _RULES:
        raise ValueError(f"lint.toml: {check_id}: unknown kind, severity or rule")
    if (rule in _RULES_WITH_ELEMENT) != bool(element) or (element and element not in elements):
        raise ValueError(f"lint.toml: {check_id}: rule {rule!r} and element {element!r}")
    templates = tuple(str(t) for t in entry.get("templates", ()))
    if set(templates) - set(TEMPLATES) or (entry["kind"] == "template") != bool(templates):
        raise ValueError(f"lint.toml: {check_id}: templates {templates}")
    categories = entry.get("categories")
    return _Check(
        id=check_id,
        kind=str(entry["kind"]),
        severity=str(entry["severity"]),
        rule=rule,
        element=element,
        checks=str(entry["checks"]),
        message=str(entry["message"]),
        message_span=str(entry.get("message_span", "")),
        fix=str(entry["fix"]),
        citation=str(entry["citation"]),
        categories=None if categories is None else frozenset(categories),
        templates=templates,
        web_form=bool(entry.get("web_form", False)),
    )


# Phrase notation (see rules/lint.toml): words in a row with any spacing or punctuation between.
_SEP = r"[\W_]{0,8}"
_GAP = r"(?:[^\W_]+[\W_]{1,8}){0,10}?"
_NUMBER = (
    r"(?:\d{1,4}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen"
    r"|twenty|thirty)"
)
_EDGE_BEFORE, _EDGE_AFTER = r"(?<![^\W_])", r"(?![^\W_])"
_OPTIONAL_PUNCTUATION = frozenset("-'’.")


def _compile_element(name: str, sources: Mapping[str, Any], compiled: dict[str, str]) -> _Element:
    phrases = _phrases_regex(name, sources, compiled, ())
    raw = [str(p) for p in sources[name].get("patterns", ())]
    patterns = "|".join(f"(?:{p})" for p in raw)
    phrase_part = f"{_EDGE_BEFORE}(?:{phrases}){_EDGE_AFTER}" if phrases else ""
    both = "|".join(part for part in (phrase_part, patterns) if part)
    flags = re.IGNORECASE
    return _Element(
        re.compile(phrase_part, flags) if phrase_part else _NEVER,
        re.compile(patterns, flags) if patterns else _NEVER,
        re.compile(both, flags),
    )


def _phrases_regex(
    name: str, sources: Mapping[str, Any], compiled: dict[str, str], seen: tuple[str, ...]
) -> str:
    """The alternation of an element's phrases (no word edges), references resolved."""
    if name in compiled:
        return compiled[name]
    if name in seen or name not in sources:
        raise ValueError(f"lint.toml: element <{name}> is unknown or refers to itself")

    def refer(other: str) -> str:
        return _phrases_regex(other, sources, compiled, (*seen, name))

    phrases = [str(p) for p in sources[name].get("phrases", ())]
    compiled[name] = "|".join(_phrase(p, refer) for p in phrases)
    return compiled[name]


def _phrase(source: str, refer: Callable[[str], str]) -> str:
    items, at = _sequence(source, 0, "", refer)
    if at != len(source):
        raise ValueError(f"lint.toml: unbalanced phrase {source!r}")
    return _join(items, source)


def _sequence(
    source: str, at: int, stops: str, refer: Callable[[str], str]
) -> tuple[list[tuple[str, bool]], int]:
    """The items (regex, optional) of a phrase from ``at`` up to one of ``stops``."""
    items: list[tuple[str, bool]] = []
    while at < len(source):
        ch = source[at]
        if ch.isspace():
            at += 1
        elif ch in stops:
            break
        elif ch == "{":
            alternatives: list[str] = []
            while at < len(source) and source[at] != "}":
                part, at = _sequence(source, at + 1, "|}", refer)
                alternatives.append(_join(part, source))
            if at >= len(source):
                raise ValueError(f"lint.toml: unclosed '{{' in {source!r}")
            items.append(("(?:" + "|".join(alternatives) + ")", False))
            at += 1
        elif ch == "[":
            part, at = _sequence(source, at + 1, "]", refer)
            if at >= len(source):
                raise ValueError(f"lint.toml: unclosed '[' in {source!r}")
            items.append((_join(part, source), True))
            at += 1
        elif source.startswith("...", at):
            items.append((_GAP, False))
            at += 3
        elif ch in "}]|":
            raise ValueError(f"lint.toml: stray {ch!r} in {source!r}")
        else:
            end = at
            while end < len(source) and not source[end].isspace() and source[end] not in "{}[]|":
                end += 1
            items.append((_word(source[at:end], refer), False))
            at = end
    return items, at


def _join(items: list[tuple[str, bool]], source: str) -> str:
    if all(optional for _, optional in items):
        raise ValueError(f"lint.toml: a phrase needs a word that is not optional: {source!r}")
    regex, started = "", False
    for item, optional in items:
        if not started:
            if optional:
                regex += f"(?:{item}{_SEP})?"
                continue
            regex += item
            started = True
        else:
            regex += f"(?:{_SEP}{item})?" if optional else f"{_SEP}{item}"
    return regex


def _word(word: str, refer: Callable[[str], str]) -> str:
    if word == "#":
        return _NUMBER
    if word.startswith("<") and word.endswith(">") and len(word) > 2:
        return f"(?:{refer(word[1:-1])})"
    regex = ""
    for ch in word:
        if ch.isalnum() or ch == "_":
            regex += re.escape(unicodedata.normalize("NFC", ch))
        elif ch in _OPTIONAL_PUNCTUATION:
            regex += _SEP
        else:
            regex += f"{_SEP}{re.escape(ch)}{_SEP}"
    return regex


def report_json(report: LintReport) -> dict[str, Any]:
    """A lint report as JSON."""
    return {
        "kind": report.kind,
        "template": report.template,
        "score": report.score,
        "blocking": report.blocking,
        "findings": [asdict(finding) for finding in report.findings],
        "visible_text": report.visible_text,
    }
