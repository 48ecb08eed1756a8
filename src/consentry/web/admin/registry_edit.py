"""Editing a brand or a sender in the console (admins), through ``update_brand`` and
``update_sender`` like the API. The brand page shows the linter's findings for the sign-up text
the hosted opt-in page makes for each of its programs with the brand's settings as typed (live
with JavaScript, ``static/admin/program-edit.js``; on submit without it). Each page shows the
change history of what it edits."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from consentry.domain.cta import CATEGORIES, LintContext, LintFinding, lint
from consentry.domain.model import Brand, Program, Sender, SenderKind
from consentry.errors import InvalidInput, NotFound
from consentry.web.admin.history import history_of
from consentry.web.admin.programs import MAX_FIELD, findings_response
from consentry.web.admin.session import ADMINS, Checked, Console, ConsoleRoute, Posted, SignedIn
from consentry.web.pages import hosted_call_to_action

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

BRAND_TEXTS = ("name", "support_contact", "support_phone", "terms_url", "privacy_url")
BRAND_OPTIONAL = ("support_phone", "terms_url", "privacy_url")
MAX_PROGRAMS = 100


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value[:MAX_FIELD] if isinstance(value, str) else ""


# --- brands -----------------------------------------------------------------------------------


def brand_values(brand: Brand) -> dict[str, str]:
    """The brand form's fields for a stored brand (empty text for unset optional ones)."""
    return {name: getattr(brand, name) or "" for name in BRAND_TEXTS}


def brand_changes(values: dict[str, str]) -> dict[str, Any]:
    """The service's changes for the form's values: an empty optional field clears it."""
    changes: dict[str, Any] = {name: values[name] for name in ("name", "support_contact")}
    return changes | {name: values[name].strip() or None for name in BRAND_OPTIONAL}


def signup_findings(
    console: Console, brand: Brand, values: dict[str, str], programs: list[Program]
) -> dict[str, list[LintFinding]]:
    """For each of the brand's ``programs``, the findings for the sign-up text the hosted
    opt-in page would show with the brand as the form makes it (never stored)."""
    preview = replace(
        brand,
        name=values["name"].strip() or brand.name,
        support_contact=values["support_contact"].strip() or brand.support_contact,
        support_phone=values["support_phone"].strip() or None,
        terms_url=values["terms_url"].strip() or None,
        privacy_url=values["privacy_url"].strip() or None,
    )
    found: dict[str, list[LintFinding]] = {}
    for program in programs:
        cta = hosted_call_to_action(console.request, console.tenant.slug, preview, program)
        context = LintContext(
            brand=preview.name,
            program=program.name,
            category=program.category if program.category in CATEGORIES else "marketing",
            support_contact=preview.support_contact,
        )
        found[f"signup-{program.slug}"] = list(lint("cta", cta, context).findings)
    return found


def _brand_page(
    console: Console,
    brand: Brand,
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    programs = _programs_of(console, brand)
    findings = signup_findings(console, brand, values, programs)
    return console.render(
        "admin/brand_edit.html",
        {
            "brand": brand,
            "values": values,
            "errors": errors or {},
            "signups": [
                (program, f"signup-{program.slug}", findings[f"signup-{program.slug}"])
                for program in programs
            ],
            "history": history_of(console, "brand", brand.id),
        },
        status,
    )


def _programs_of(console: Console, brand: Brand) -> list[Program]:
    return [p for p in console.service.list_programs(console.tenant) if p.brand_id == brand.id]


def _admin_brand(console: Console, ref: str) -> Brand:
    console.require(ADMINS)
    return console.service.get_brand(console.tenant, ref)


async def _brand_posted(console: Console) -> dict[str, str]:
    form = await console.request.form()
    return {name: _text(form, name) for name in BRAND_TEXTS}


@router.get("/admin/{tenant_slug}/brands/{ref}/edit", response_class=HTMLResponse)
def brand_form(console: SignedIn, ref: str) -> Response:
    """The settings form of one brand (admins), with its programs' sign-up findings."""
    brand = _admin_brand(console, ref)
    return _brand_page(console, brand, brand_values(brand))


@router.post("/admin/{tenant_slug}/brands/{ref}/edit", response_class=HTMLResponse)
async def brand_edit(console: Posted, ref: str) -> Response:
    """Store the brand's settings (all checked first; a bad one: 422 naming it, nothing stored)."""
    brand = _admin_brand(console, ref)
    values = await _brand_posted(console)
    try:
        console.service.update_brand(
            console.tenant, brand.id, brand_changes(values), actor=console.actor
        )
    except InvalidInput as problem:
        field_name = problem.field or "name"
        return _brand_page(console, brand, values, errors={field_name: problem.message}, status=422)
    return RedirectResponse(f"{console.base}/brands/{brand.slug}/edit?saved=1", status_code=303)


@router.post("/admin/{tenant_slug}/brands/{ref}/lint")
async def brand_lint(console: Checked, ref: str) -> Response:
    """The sign-up findings for the brand form's current texts, as JSON (admins)."""
    brand = _admin_brand(console, ref)
    values = await _brand_posted(console)
    return findings_response(signup_findings(console, brand, values, _programs_of(console, brand)))


# --- senders ----------------------------------------------------------------------------------


def sender_values(sender: Sender) -> dict[str, Any]:
    """The sender form's fields for a stored sender."""
    return {
        "kind": sender.kind.value,
        "verified": sender.verified,
        "program_ids": list(sender.program_ids),
    }


def _sender_page(
    console: Console,
    sender: Sender,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    brands = {b.id: b.name for b in console.service.list_brands(console.tenant)}
    return console.render(
        "admin/sender_edit.html",
        {
            "sender": sender,
            "values": values,
            "errors": errors or {},
            "kinds": [kind.value for kind in SenderKind],
            "programs": console.service.list_programs(console.tenant),
            "brands": brands,
            "history": history_of(console, "sender", sender.id),
        },
        status,
    )


def _admin_sender(console: Console, ref: str) -> Sender:
    console.require(ADMINS)
    return console.service.get_sender(console.tenant, ref)


@router.get("/admin/{tenant_slug}/senders/{ref}/edit", response_class=HTMLResponse)
def sender_form(console: SignedIn, ref: str) -> Response:
    """The settings form of one sender (admins): verified, kind and the programs it serves."""
    sender = _admin_sender(console, ref)
    return _sender_page(console, sender, sender_values(sender))


@router.post("/admin/{tenant_slug}/senders/{ref}/edit", response_class=HTMLResponse)
async def sender_edit(console: Posted, ref: str) -> Response:
    """Store the sender's settings (all checked first; a bad one: 422 naming it, nothing
    stored). The address never changes."""
    sender = _admin_sender(console, ref)
    form = await console.request.form()
    values: dict[str, Any] = {
        "kind": _text(form, "kind") or sender.kind.value,
        "verified": form.get("verified") == "on",
        "program_ids": [
            value[:MAX_FIELD]
            for value in form.getlist("program_ids")[:MAX_PROGRAMS]
            if isinstance(value, str)
        ],
    }
    try:
        console.service.update_sender(console.tenant, sender.id, values, actor=console.actor)
    except (InvalidInput, NotFound) as problem:
        if isinstance(problem, NotFound) and problem.field != "program_ids":
            raise
        field_name = problem.field or "kind"
        return _sender_page(
            console, sender, values, errors={field_name: problem.message}, status=422
        )
    return RedirectResponse(f"{console.base}/senders/{sender.id}/edit?saved=1", status_code=303)
