"""Check copy with the linter: paste a call-to-action, terms, privacy text or a reply template,
pick the program it is for, and see each finding with its citation and suggested fix. Opened
from a program, the page starts with the sign-up text the hosted opt-in page shows for it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, Response

from consentry.domain.cta import CATEGORIES, TEMPLATES, LintContext, LintReport, lint
from consentry.domain.model import Program
from consentry.errors import InvalidInput, NotFound
from consentry.web.admin.session import Checked, Console, ConsoleRoute, SignedIn
from consentry.web.pages import hosted_call_to_action

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

KINDS = ("cta", "terms", "privacy", "template")
MAX_TEXT = 100_000


def _hosted_cta(console: Console, program: Program) -> str:
    brand = console.service.get_brand(console.tenant, program.brand_id)
    return hosted_call_to_action(console.request, console.tenant.slug, brand, program)


def _page(
    console: Console,
    form: dict[str, str],
    *,
    report: LintReport | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    return console.render(
        "admin/copy.html",
        {
            "kinds": KINDS,
            "templates": TEMPLATES,
            "programs": console.service.list_programs(console.tenant),
            "kind": form.get("kind", "cta"),
            "template": form.get("template", ""),
            "program": form.get("program", ""),
            "text": form.get("text", ""),
            "report": report,
            "error": error,
        },
        status,
    )


@router.get("/admin/{tenant_slug}/copy", response_class=HTMLResponse)
def copy_form(console: SignedIn, program: Annotated[str, Query(max_length=64)] = "") -> Response:
    """The form; with ``program``, it starts from that program's hosted sign-up text."""
    if not program:
        return _page(console, {})
    chosen = console.service.get_program(console.tenant, program)
    return _page(console, {"program": chosen.id, "text": _hosted_cta(console, chosen)})


@router.post("/admin/{tenant_slug}/copy", response_class=HTMLResponse)
def copy_check(
    console: Checked,
    text: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    kind: Annotated[str, Form(max_length=16)] = "cta",
    template: Annotated[str, Form(max_length=40)] = "",
    program: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Run the linter on the text (any role: nothing is stored)."""
    kind = kind if kind in KINDS else "cta"
    keep = {"kind": kind, "template": template, "program": program, "text": text}
    if not text.strip():
        return _page(console, keep, error="Paste the text to check.", status=422)
    context = LintContext(template=(template or None) if kind == "template" else None)
    if program:
        try:
            chosen = console.service.get_program(console.tenant, program)
        except NotFound:
            return _page(console, keep, error="Choose one of the programs.", status=422)
        brand = console.service.get_brand(console.tenant, chosen.brand_id)
        category = chosen.category if chosen.category in CATEGORIES else "marketing"
        context = LintContext(
            brand=brand.name,
            program=chosen.name,
            category=category,
            support_contact=brand.support_contact,
            template=context.template,
        )
    try:
        report = lint(kind, text, context)
    except InvalidInput as problem:
        return _page(console, keep, error=problem.message, status=422)
    return _page(console, keep, report=report)
