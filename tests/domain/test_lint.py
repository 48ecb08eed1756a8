"""The opt-in copy linter: labelled examples, spans, score, bad input, hidden HTML, the catalogue.

The labelled texts live in ``lint_cases.toml`` next to this file (kind, context, the exact set
of finding ids expected, and some span texts). The tables below test ``visible_text`` technique
by technique; the property tests check that ``lint`` raises nothing but ``InvalidInput`` for
any text, plain or HTML-ish.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consentry.domain import cta
from consentry.domain.cta import (
    KINDS,
    MAX_TEXT_CHARS,
    TEMPLATES,
    LintCheck,
    LintContext,
    LintReport,
    checks,
    lint,
    visible_text,
)
from consentry.errors import InvalidInput

CASES: list[dict[str, Any]] = tomllib.loads(
    Path(__file__).with_name("lint_cases.toml").read_text("utf-8")
)["cases"]
RULES: dict[str, Any] = tomllib.loads(
    resources.files("consentry.rules").joinpath("lint.toml").read_text("utf-8")
)


def run(case: dict[str, Any]) -> LintReport:
    context = LintContext(**case.get("context", {}))
    return lint(case["kind"], case["text"], context, html=case.get("html"))


def describe(report: LintReport) -> list[tuple[str, str | None]]:
    return [(f.id, f.span.text if f.span else None) for f in report.findings]


# --- the labelled examples ---------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_labelled_case(case: dict[str, Any]) -> None:
    report = run(case)
    assert {f.id for f in report.findings} == set(case["expect"]), describe(report)
    for check_id, text in case.get("spans", {}).items():
        spans = [f.span.text for f in report.findings if f.id == check_id and f.span]
        assert spans and spans[0] == text, describe(report)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_spans_are_pieces_of_the_visible_text(case: dict[str, Any]) -> None:
    report = run(case)
    for finding in report.findings:
        if finding.span is not None:
            span = finding.span
            assert 0 <= span.start <= span.end <= len(report.visible_text)
            assert report.visible_text[span.start : span.end] == span.text, finding
        assert "{" not in finding.message or "{" in report.visible_text, finding.message
        assert "{" not in finding.fix or "{" in report.visible_text, finding.fix


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_score_is_100_exactly_without_block_or_warn(case: dict[str, Any]) -> None:
    report = run(case)
    failing = [f for f in report.findings if f.severity in ("block", "warn")]
    assert 0 <= report.score <= 100
    assert (report.score == 100) == (not failing), (report.score, describe(report))
    assert report.blocking == any(f.severity == "block" for f in report.findings)
    if report.blocking:
        assert report.score < 100


def test_case_file_covers_every_kind_template_and_check() -> None:
    assert len(CASES) >= 40
    assert {case["kind"] for case in CASES} == set(KINDS)
    templates = {case["context"]["template"] for case in CASES if case["kind"] == "template"}
    assert templates == set(TEMPLATES)
    html = [case for case in CASES if cta._looks_like_html(case["text"]) or case.get("html")]
    assert {case["kind"] for case in html} == set(KINDS)
    assert len(CASES) - len(html) >= 20
    expected = {check_id for case in CASES for check_id in case["expect"]}
    assert {check.id for check in checks()} - expected == set()
    assert sum(not case["expect"] for case in CASES) >= 10  # compliant copy passes too


def test_more_findings_lower_the_score() -> None:
    context = LintContext(brand="Acme")
    good = "Acme deals by text. Up to 4 msgs/mo. Msg&data rates may apply. Reply HELP for help, STOP to cancel. Consent is not a condition of purchase. Terms: acme.example.com/terms Privacy: acme.example.com/privacy"
    warn_only = good.replace("deals", "news").replace("news by text", "by text")
    one_block = good.replace(" Up to 4 msgs/mo.", "")
    scores = [lint("cta", text, context).score for text in (good, warn_only, one_block)]
    assert scores[0] == 100
    assert scores[1] < 100 and scores[2] < scores[1]
    assert lint("cta", "hello", context).score < scores[2]


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "context", "field"),
    [
        ("banner", "Reply STOP to cancel", None, "kind"),
        ("CTA", "Reply STOP to cancel", None, "kind"),
        ("template", "Acme: Reply STOP to cancel", None, "template"),
        ("template", "Acme: Reply STOP to cancel", LintContext(), "template"),
        ("template", "Acme: Reply STOP", LintContext(template="welcome"), "template"),
        ("cta", "Reply STOP", LintContext(template="welcome"), "template"),
        ("cta", "Reply STOP", LintContext(category="promotional"), "category"),
        ("cta", "", None, "text"),
        ("terms", "   \n\t ", None, "text"),
        ("privacy", "x" * (MAX_TEXT_CHARS + 1), None, "text"),
    ],
)
def test_invalid_input(kind: str, text: str, context: LintContext | None, field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        lint(kind, text, context)
    assert raised.value.field == field


def test_longest_text_is_accepted() -> None:
    text = ("Reply STOP to cancel. " * (MAX_TEXT_CHARS // 22 + 1))[:MAX_TEXT_CHARS]
    report = lint("terms", text, LintContext(program="Acme"))
    assert "TERMS-STOP" not in {f.id for f in report.findings}


@pytest.mark.parametrize(
    "text",
    [
        "a" * MAX_TEXT_CHARS,
        "1" * MAX_TEXT_CHARS,
        ("a." * MAX_TEXT_CHARS)[:MAX_TEXT_CHARS],
        ("&-/. " * MAX_TEXT_CHARS)[:MAX_TEXT_CHARS],
        ("https://" * MAX_TEXT_CHARS)[:MAX_TEXT_CHARS],
        ("www." * MAX_TEXT_CHARS)[:MAX_TEXT_CHARS],
        ("carriers are the partners who share " * 3000)[:MAX_TEXT_CHARS],
        ("<style>" + "/*" * MAX_TEXT_CHARS)[:MAX_TEXT_CHARS],
        ("<p style='color:#fff'>Reply STOP</p><a href='/terms'>Terms</a>" * 2000)[:MAX_TEXT_CHARS],
    ],
    ids=["letters", "digits", "dots", "punctuation", "schemes", "www", "words", "css", "html"],
)
def test_long_hostile_texts_finish(text: str) -> None:
    """Every pattern is bounded: these would take minutes with a quadratic one (not timed)."""
    for kind in ("cta", "terms", "privacy"):
        lint(kind, text, LintContext(brand="Acme", support_contact="help@acme.example.com"))


def test_checks_of_an_unknown_kind() -> None:
    with pytest.raises(InvalidInput) as raised:
        checks("banner")
    assert raised.value.field == "kind"


# --- never anything but InvalidInput ---------------------------------------------------------------

_CONTEXTS = st.builds(
    LintContext,
    brand=st.none() | st.text(max_size=20),
    program=st.none() | st.text(max_size=20),
    category=st.sampled_from(cta.CATEGORIES),
    support_contact=st.none() | st.text(max_size=30),
    template=st.none() | st.sampled_from(TEMPLATES),
    web_form=st.none() | st.booleans(),
)
_TAGS = ["p", "div", "span", "a", "form", "input", "label", "style", "script", "b", "details",
         "summary", "dialog", "br", "li", "td", "font", "template", "head", "!--", "![CDATA["]  # fmt: skip
_ATTRS = [
    "",
    " hidden",
    ' aria-hidden="true"',
    ' style="display:none"',
    ' style="color:#fff;background:#fff"',
    ' style="font-size:0"',
    ' style="opacity:0.0"',
    ' style="visibility:hidden"',
    ' class="x"',
    ' href="/terms"',
    ' href="#"',
    ' type="checkbox" checked',
    ' type="submit" value="Go"',
    " open",
    ' color="white"',
]
_WORDS = ["Reply STOP to cancel.", "Msg&data rates may apply", "Terms", "Privacy", "Acme",
          ".x{display:none}", "{", "}", "<", ">", "&amp;", "rates may apply", "we may share your "
          "data with partners", "🎉", "\n", "", "Up to 4 msgs/mo", "/*", "*/", "@media{"]  # fmt: skip


@st.composite
def html_ish(draw: st.DrawFn) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 25))):
        choice = draw(st.integers(0, 3))
        tag = draw(st.sampled_from(_TAGS))
        if choice == 0:
            parts.append(f"<{tag}{draw(st.sampled_from(_ATTRS))}>")
        elif choice == 1:
            parts.append(f"</{tag.lstrip('!')}>")
        elif choice == 2:
            parts.append(draw(st.sampled_from(_WORDS)))
        else:
            parts.append(draw(st.text(max_size=12)))
    return "".join(parts)


def _lint_or_invalid(kind: str, text: str, context: LintContext, html: bool | None) -> None:
    try:
        report = lint(kind, text, context, html=html)
    except InvalidInput:
        return
    assert 0 <= report.score <= 100
    for finding in report.findings:
        if finding.span is not None:
            span = finding.span
            assert report.visible_text[span.start : span.end] == span.text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), text=st.text(max_size=300), context=_CONTEXTS)
def test_any_text_raises_only_invalid_input(kind: str, text: str, context: LintContext) -> None:
    _lint_or_invalid(kind, text, context, None)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(KINDS),
    text=html_ish(),
    context=_CONTEXTS,
    html=st.sampled_from([None, True, False]),
)
def test_any_html_raises_only_invalid_input(
    kind: str, text: str, context: LintContext, html: bool | None
) -> None:
    _lint_or_invalid(kind, text, context, html)


def test_unreadable_markup_is_invalid_input() -> None:
    """html.parser gives up on some marked sections; that is bad input, not a crash."""
    for markup in ("<![if x]>Reply STOP", "<![x[Reply STOP", "<!x Reply STOP"):
        try:
            lint("cta", markup, html=True)
        except InvalidInput as error:
            assert error.field == "text"


def test_deeply_nested_html() -> None:
    body = "Acme: Reply STOP to cancel."
    assert visible_text("<div>" * 30_000 + body + "</div>" * 30_000) == body
    markup = "<b>" * 12_000 + body + "</b>" * 12_000
    report = lint("template", markup, LintContext(brand="Acme", template="first_message"))
    assert {f.id for f in report.findings} == {"TEMPLATE-ENCODING"}


# --- visible_text ------------------------------------------------------------------------------

HIDDEN = [
    ("comment", "<p>shown</p><!-- <p>SECRET</p> -->"),
    ("script", "<p>shown</p><script>var x = 'SECRET';</script>"),
    ("style", "<p>shown</p><style>p::after { content: 'SECRET' }</style>"),
    ("template", "<p>shown</p><template><p>SECRET</p></template>"),
    ("noscript", "<p>shown</p><noscript>SECRET</noscript>"),
    ("head", "<html><head><title>SECRET</title></head><body>shown</body></html>"),
    ("hidden attribute", "<p>shown</p><p hidden>SECRET</p>"),
    ("aria-hidden", '<p>shown</p><div aria-hidden="true">SECRET</div>'),
    ("closed dialog", "<p>shown</p><dialog>SECRET</dialog>"),
    ("closed details", "<details><summary>shown</summary>SECRET</details>"),
    ("inline display none", '<p>shown</p><p style="display: none">SECRET</p>'),
    ("inline visibility", '<p>shown</p><p style="visibility:hidden">SECRET</p>'),
    ("inline opacity", '<p>shown</p><span style="opacity: 0">SECRET</span>'),
    ("inline font-size", '<p>shown</p><span style="font-size:0px">SECRET</span>'),
    ("white on white", '<p>shown</p><p style="color:#FFF; background-color: white">SECRET</p>'),
    ("same as inherited background", '<div style="background:#123456">shown<p style="color:#123456">SECRET</p></div>'),
    ("transparent text", '<p>shown</p><p style="color: rgba(0,0,0,0)">SECRET</p>'),
    ("legacy font colour", '<body bgcolor="white"><p>shown</p><font color="#ffffff">SECRET</font></body>'),
    ("off screen", '<p>shown</p><p style="position:absolute; left:-9999px">SECRET</p>'),
    ("text-indent", '<p>shown</p><p style="text-indent:-10000px">SECRET</p>'),
    ("scale zero", '<p>shown</p><p style="transform: scale(0)">SECRET</p>'),
    ("class rule", "<style>.fine { display:none }</style><p>shown</p><p class='fine'>SECRET</p>"),
    ("id rule", "<style>#x{visibility:hidden}</style><p>shown</p><p id='x'>SECRET</p>"),
    ("descendant rule", "<style>div .a{opacity:0}</style><p class='a'>shown</p><div><p class='a'>SECRET</p></div>"),
    ("rule in a media query", "<style>@media (max-width:600px){.m{display:none}}</style><p>shown</p><p class='m'>SECRET</p>"),
    ("visually hidden", "<style>.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}</style><p>shown</p><span class='sr-only'>SECRET</span>"),
    ("hidden input", '<p>shown</p><input type="hidden" value="SECRET">'),
]  # fmt: skip


@pytest.mark.parametrize(("technique", "markup"), HIDDEN, ids=[t for t, _ in HIDDEN])
def test_visible_text_drops_hidden_content(technique: str, markup: str) -> None:
    text = visible_text(markup)
    assert "SECRET" not in text
    assert "shown" in text


SHOWN = [
    ("a later rule shows it again", "<style>.a{display:none} .a{display:block}</style><p class='a'>shown</p>"),
    ("inline style shows it again", "<style>.a{display:none}</style><p class='a' style='display:block'>shown</p>"),
    ("a child visible inside hidden", '<div style="visibility:hidden"><p style="visibility:visible">shown</p></div>'),
    ("a font size set again", '<div style="font-size:0"><span style="font-size:16px">shown</span></div>'),
    ("white on dark", '<div style="background:#1d4ed8"><p style="color:#fff">shown</p></div>'),
    ("behind an image", '<div style="background:url(x.png) #fff"><p style="color:#fff">shown</p></div>'),
    ("open details", "<details open><summary>a</summary>shown</details>"),
    ("a selector soupsieve cannot read", "<style>p::before{display:none} ??? {display:none}</style><p>shown</p>"),
    ("an unterminated comment in CSS", "<style>/* p{display:none}</style><p>shown</p>"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "markup"), SHOWN, ids=[c for c, _ in SHOWN])
def test_visible_text_keeps_what_shows(case: str, markup: str) -> None:
    assert "shown" in visible_text(markup)


def test_visible_text_layout_links_and_checkboxes() -> None:
    markup = (
        "<h1>Acme  Alerts</h1><p>Order&nbsp;updates<br>by text.</p>"
        '<form><label><input type="checkbox" checked> Yes</label>'
        '<label><input type="checkbox"> No</label><input type="submit" value="Join"></form>'
        '<p><a href="/terms">Terms</a> <a href="https://acme.example.com/privacy">'
        "acme.example.com/privacy</a> <a href='#'>Top</a> <a href='mailto:a@b.example'>Email</a></p>"
    )
    assert visible_text(markup) == (
        "Acme Alerts\n"
        "Order updates\n"
        "by text.\n"
        "[x] Yes [ ] No Join\n"
        "Terms (/terms) acme.example.com/privacy Top Email (mailto:a@b.example)"
    )


def test_link_targets_count_only_as_links() -> None:
    """An href can make a terms link or a support contact, but cannot name the brand."""
    base = "Deals by text. Up to 4 msgs/mo. Msg&data rates may apply. Reply STOP to cancel. Consent is not a condition of purchase."
    markup = (
        f"<p>{base} <a href='mailto:help@acme.example.com'>Email us</a> "
        "<a href='https://acme.example.com/sms'>SMS terms</a> "
        "<a href='https://acme.example.com/privacy'>Our policy</a></p>"
    )
    report = lint("cta", markup, LintContext(brand="Acme"))
    assert {f.id for f in report.findings} == {"CTA-BRAND"}


def test_plain_text_is_checked_as_written() -> None:
    text = "Acme: Reply <STOP> to cancel &amp; more"
    report = lint("template", text, LintContext(template="first_message"))
    assert report.visible_text == text
    assert (
        lint("template", text, LintContext(template="first_message"), html=False).visible_text
        == text
    )


def test_prechecked_box_in_plain_text_web_form() -> None:
    text = "[x] Text me Acme deals. Up to 4 msgs/mo."
    context = LintContext(brand="Acme", web_form=True)
    findings = [f for f in lint("cta", text, context).findings if f.id == "CTA-PRECHECKED"]
    assert [f.span.text for f in findings if f.span] == ["[x] Text me Acme deals."]
    assert not [f for f in lint("cta", text, LintContext()).findings if f.id == "CTA-PRECHECKED"]


def test_rates_wording_does_not_double_report() -> None:
    report = lint("cta", "Acme deals: data rates may apply.", LintContext(brand="Acme"))
    ids = [f.id for f in report.findings]
    assert "CTA-RATES-WORDING" in ids and "CTA-RATES" not in ids


def test_encoding_finding_reports_scheme_length_and_segments() -> None:
    report = lint("template", "Acme: hi 👋 Reply STOP to end", LintContext(template="reminder"))
    (info,) = [f for f in report.findings if f.id == "TEMPLATE-ENCODING"]
    assert info.severity == "info"
    assert info.message.startswith("UCS-2, 29 UCS-2 code units, 1 segment(s)")  # 👋 counts 2
    assert report.score == 100


# --- the catalogue ------------------------------------------------------------------------------


def test_catalogue_entries_cite_and_fix() -> None:
    catalogue = checks()
    assert len({check.id for check in catalogue}) == len(catalogue)
    for check in catalogue:
        assert isinstance(check, LintCheck)
        assert check.citation.strip() and check.fix.strip() and check.checks.strip(), check.id
        assert check.severity in ("block", "warn", "info"), check.id
        assert check.id.startswith(check.kind.upper() + "-"), check.id
        assert (check.kind == "template") == bool(check.templates), check.id
    for entry in RULES["checks"]:
        assert entry["citation"].strip() and entry["fix"].strip() and entry["message"].strip()
    for name, element in RULES["elements"].items():
        assert element["citation"].strip(), name
        assert element.get("phrases") or element.get("patterns"), name
    assert RULES["weights"]["citation"] and RULES["limits"]["citation"]


def test_checks_by_kind() -> None:
    for kind in KINDS:
        assert checks(kind) and all(check.kind == kind for check in checks(kind))
    assert sum(len(checks(kind)) for kind in KINDS) == len(checks())
    required = {"CTA-FREQUENCY", "CTA-RATES", "CTA-RATES-WORDING", "CTA-PRECHECKED",
                "TERMS-CARRIER-LIABILITY", "PRIVACY-NO-SHARING", "PRIVACY-SHARING-ALLOWED",
                "TEMPLATE-OPT-OUT-LENGTH", "TEMPLATE-ENCODING"}  # fmt: skip
    assert required <= {check.id for check in checks()}


@pytest.mark.parametrize(
    ("phrase", "text", "matches"),
    [
        ("msg {and|&} data", "Msg&Data", True),
        ("msg {and|&} data", "msg & data", True),
        ("msg {and|&} data", "msg data", False),
        ("one-time", "one time", True),
        ("one-time", "onetime", True),
        ("[up to] # msgs", "Up to 4 msgs", True),
        ("[up to] # msgs", "four msgs", True),
        ("reply [the] STOP", "Reply 'STOP'", True),
        ("reply [the] STOP", "replySTOPS", False),
        ("carriers ... liable", "Carriers (AT&T, Verizon) are liable", True),
    ],
)
def test_phrase_notation(phrase: str, text: str, matches: bool) -> None:
    sources = {"x": {"phrases": [phrase]}}
    element = cta._compile_element("x", sources, {})
    assert (element.search(text) is not None) == matches


@pytest.mark.parametrize("phrase", ["[a]", "{a|b", "a]", "[a", "<nowhere>"])
def test_bad_phrases_are_refused(phrase: str) -> None:
    with pytest.raises(ValueError):
        cta._compile_element("x", {"x": {"phrases": [phrase]}}, {})
