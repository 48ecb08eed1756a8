"""Editing a program's settings in the console (admins): name, frequency, keyword replies,
category, purpose, opt-out scope, flags and description, through ``update_program`` like the
API. The page shows the linter's findings for the replies and for the sign-up text these
settings make; with JavaScript they follow the text as one types (``static/admin``), without
it they are shown when the form is sent."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from consentry.domain.cta import CATEGORIES, LintContext, LintFinding, lint
from consentry.domain.model import Brand, Program, ScopeKind
from consentry.domain.purposes import purpose_names
from consentry.errors import InvalidInput, NotFound
from consentry.service import PROGRAM_CATEGORIES
from consentry.web.admin.history import history_of
from consentry.web.admin.session import (
    ADMINS,
    CONSOLE_HEADERS,
    Checked,
    Console,
    ConsoleRoute,
    Posted,
    SignedIn,
)
from consentry.web.pages import hosted_call_to_action

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

STATIC = Path(__file__).resolve().parent.parent / "static" / "admin"
SCRIPTS = frozenset({"program-edit.js", "import-progress.js"})
TEXTS = ("name", "frequency", "help_reply", "opt_out_reply", "opt_in_reply", "description")
CHOICES = ("category", "purpose", "opt_out_scope")
FLAGS = ("double_opt_in", "age_gated", "block_shorteners", "one_way")
MAX_FIELD = 4000
# The reply templates of the linter each keyword reply is checked as.
REPLY_TEMPLATES = {
    "help_reply": "help_reply",
    "opt_out_reply": "opt_out_confirmation",
    "opt_in_reply": "opt_in_confirmation",
}


def form_values(program: Program) -> dict[str, Any]:
    """The form's fields for a stored program (empty text for unset optional texts)."""
    values: dict[str, Any] = {name: getattr(program, name) or "" for name in TEXTS}
    values |= {
        "category": program.category,
        "purpose": program.purpose,
        "opt_out_scope": program.opt_out_scope.value,
    }
    return values | {name: bool(getattr(program, name)) for name in FLAGS}


async def _posted_values(request: Request) -> dict[str, Any]:
    form = await request.form()
    values: dict[str, Any] = {}
    for name in TEXTS + CHOICES:
        value = form.get(name, "")
        values[name] = value[:MAX_FIELD] if isinstance(value, str) else ""
    return values | {name: form.get(name) == "on" for name in FLAGS}


def changes_of(values: dict[str, Any]) -> dict[str, Any]:
    """The service's changes for the form's values: an empty optional text clears it."""
    changes: dict[str, Any] = {"name": values["name"]}
    for name in TEXTS[1:]:
        changes[name] = values[name] if values[name].strip() else None
    return changes | {name: values[name] for name in CHOICES + FLAGS}


def _preview(program: Program, values: dict[str, Any]) -> Program:
    """The program as the form would make it (for the sign-up text; never stored)."""
    category = values["category"] if values["category"] in PROGRAM_CATEGORIES else program.category
    return replace(
        program,
        name=values["name"].strip() or program.name,
        category=category,
        frequency=values["frequency"].strip() or None,
        description=values["description"].strip() or None,
    )


def findings_for(
    console: Console, program: Program, brand: Brand, values: dict[str, Any]
) -> dict[str, list[LintFinding]]:
    """The linter's findings for each keyword reply and for the hosted sign-up text."""
    preview = _preview(program, values)
    context = LintContext(
        brand=brand.name,
        program=preview.name,
        category=preview.category if preview.category in CATEGORIES else "marketing",
        support_contact=brand.support_contact,
    )
    found: dict[str, list[LintFinding]] = {}
    for field_name, template in REPLY_TEMPLATES.items():
        text = values[field_name].strip()
        found[field_name] = (
            list(lint("template", text, replace(context, template=template)).findings)
            if text
            else []
        )
    cta = hosted_call_to_action(console.request, console.tenant.slug, brand, preview)
    found["signup"] = list(lint("cta", cta, context).findings)
    return found


def _page(
    console: Console,
    program: Program,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    brand = console.service.get_brand(console.tenant, program.brand_id)
    return console.render(
        "admin/program_edit.html",
        {
            "program": program,
            "brand": brand,
            "values": values,
            "errors": errors or {},
            "findings": findings_for(console, program, brand, values),
            "categories": PROGRAM_CATEGORIES,
            "purposes": purpose_names(),
            "scopes": [kind.value for kind in ScopeKind],
            "history": history_of(console, "program", program.id),
        },
        status,
    )


def _admin_program(console: Console, ref: str) -> Program:
    console.require(ADMINS)
    return console.service.get_program(console.tenant, ref)


@router.get("/admin/{tenant_slug}/programs/{ref}/edit", response_class=HTMLResponse)
def edit_form(console: SignedIn, ref: str) -> Response:
    """The settings form of one program (admins), with the findings for its stored texts."""
    program = _admin_program(console, ref)
    return _page(console, program, form_values(program))


@router.post("/admin/{tenant_slug}/programs/{ref}/edit", response_class=HTMLResponse)
async def edit(console: Posted, ref: str) -> Response:
    """Store the settings (all checked first; a bad one: 422 naming it, nothing stored)."""
    program = _admin_program(console, ref)
    values = await _posted_values(console.request)
    for name in CHOICES:
        if not values[name]:
            values[name] = form_values(program)[name]
    try:
        console.service.update_program(
            console.tenant, program.id, actor=console.actor, **changes_of(values)
        )
    except InvalidInput as problem:
        field_name = problem.field or "name"
        return _page(console, program, values, errors={field_name: problem.message}, status=422)
    return RedirectResponse(f"{console.base}/programs/{program.slug}/edit?saved=1", status_code=303)


@router.post("/admin/{tenant_slug}/programs/{ref}/lint")
async def lint_fields(console: Checked, ref: str) -> Response:
    """The findings for the form's current texts, as JSON for the page's script (admins)."""
    program = _admin_program(console, ref)
    values = await _posted_values(console.request)
    brand = console.service.get_brand(console.tenant, program.brand_id)
    try:
        found = findings_for(console, program, brand, values)
    except InvalidInput as problem:
        return JSONResponse({"error": problem.message, "field": problem.field}, status_code=422)
    return findings_response(found)


def findings_response(found: dict[str, list[LintFinding]]) -> JSONResponse:
    """The findings of each box as JSON for the page's script (``program-edit.js``)."""
    return JSONResponse(
        {
            "findings": {
                name: [
                    {
                        "id": f.id,
                        "severity": f.severity,
                        "message": f.message,
                        "at": f.span.text if f.span else "",
                        "fix": f.fix,
                        "citation": f.citation,
                    }
                    for f in findings
                ]
                for name, findings in found.items()
            }
        },
        headers=CONSOLE_HEADERS,
    )


@router.get("/admin/_static/{name}")
def script(name: str) -> Response:
    """The console's own scripts (vendored in the package; nothing loads from elsewhere)."""
    if name not in SCRIPTS:
        raise NotFound(f"no script {name!r}", field="name")
    return Response(
        (STATIC / name).read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers=CONSOLE_HEADERS | {"Cache-Control": "no-cache"},
    )
