"""Recipient look-up: current consent per brand and program, opt-outs in force, the full ledger
timeline, the proof bundle; and, for agents, an opt-out or opt-in on the customer's request.

Changes go through the service like any other (``add_optouts`` with source ``console``,
``record_consent`` with medium ``verbal``), so the ledger records who did it and the note.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from consentry import proof
from consentry.domain.model import OptOutSource, ScopeKind
from consentry.domain.numbers import to_e164
from consentry.errors import ConsentryError, InvalidNumber, NotFound
from consentry.service import ScopeRef
from consentry.web.admin.session import Console, ConsoleRoute, Posted, SignedIn
from consentry.web.pages import hosted_call_to_action

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

MAX_NOTE = 1000


def names_of(console: Console) -> dict[str, str]:
    """Display names of the tenant's brands, programs and scopes by id."""
    names = {brand.id: brand.name for brand in console.service.list_brands(console.tenant)}
    names.update(
        (program.id, program.name) for program in console.service.list_programs(console.tenant)
    )
    return names


def scope_label(kind: str | None, scope_id: str | None, names: dict[str, str]) -> str:
    """A scope in words, with the program's or brand's name."""
    if not kind:
        return ""
    if kind == ScopeKind.TENANT.value:
        return "whole account"
    return f"{kind} {names.get(scope_id or '', scope_id or '')}"


def _number(console: Console, raw: str) -> str:
    try:
        return to_e164(raw, console.tenant.default_region, field="number")
    except InvalidNumber:
        raise NotFound(f"no recipient {raw!r}", field="number") from None


@router.get("/admin/{tenant_slug}/recipients", response_class=HTMLResponse)
def look_up(console: SignedIn, number: Annotated[str, Query(max_length=64)] = "") -> Response:
    """The look-up form; a valid number goes straight to its page."""
    if not number.strip():
        return console.render("admin/lookup.html", {"number": "", "error": ""})
    try:
        e164 = to_e164(number, console.tenant.default_region, field="number")
    except InvalidNumber:
        return console.render(
            "admin/lookup.html",
            {"number": number, "error": "Enter a valid phone number, e.g. +1 206 555 0123."},
            422,
        )
    return RedirectResponse(f"{console.base}/recipients/{quote(e164)}", status_code=303)


def _view(
    console: Console, number: str, *, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    service, tenant = console.service, console.tenant
    e164 = _number(console, number)
    view = service.recipient(tenant, e164)
    _, events = service.recipient_events(tenant, e164)
    if not events and not view.consents and not view.optouts:
        raise NotFound(f"no records of {e164}", field="number")
    names = names_of(console)
    programs = service.list_programs(tenant)
    brands = service.list_brands(tenant)
    timeline = [
        {
            "seq": event["seq"],
            "kind": event["kind"],
            "occurred_at": event["occurred_at"],
            "recorded_at": event["recorded_at"],
            "scope": scope_label(event.get("scope_kind"), event.get("scope_id"), names),
            "program": names.get(event.get("program_id") or "", ""),
            "source": event["source"],
            "actor": event.get("actor") or "",
            "reason": event.get("reason") or "",
            "note": _note_of(event.get("evidence")),
            "medium": event.get("medium") or "",
            "level": event.get("level") or "",
            "keyword": event.get("keyword") or "",
        }
        for event in reversed(events)
    ]
    return console.render(
        "admin/recipient.html",
        {
            "number": e164,
            "quoted": quote(e164),
            "consents": [
                {
                    "program": names.get(state.program_id, state.program_id),
                    "brand": names.get(state.brand_id, state.brand_id),
                    "state": state,
                }
                for state in view.consents
            ],
            "optouts": [
                {
                    "scope": scope_label(o.scope.kind.value, o.scope.id, names),
                    "source": o.source.value,
                    "since": o.created_at,
                }
                for o in view.optouts
            ],
            "timeline": timeline,
            "programs": programs,
            "brands": brands,
            "errors": errors or {},
        },
        status,
    )


@router.get("/admin/{tenant_slug}/recipients/{number}", response_class=HTMLResponse)
def recipient(console: SignedIn, number: str) -> Response:
    """One number's current state per brand and program, and its full history."""
    return _view(console, number)


@router.get("/admin/{tenant_slug}/recipients/{number}/proof.json")
def proof_json(console: SignedIn, number: str) -> Response:
    """The proof bundle (JSON) to hand to an auditor or a carrier."""
    e164 = _number(console, number)
    bundle = _bundle(console, e164)
    return JSONResponse(
        proof_jsonable(bundle),
        headers={"Content-Disposition": f'attachment; filename="proof-{e164[1:]}.json"'},
    )


def _bundle(console: Console, e164: str) -> dict[str, Any]:
    bundle = console.service.proof_bundle(console.tenant, e164)
    if not bundle.get("events"):
        raise NotFound(f"no records of {e164}", field="number")
    return bundle


def proof_jsonable(bundle: dict[str, Any]) -> Any:
    return jsonable_encoder(bundle)


@router.get("/admin/{tenant_slug}/recipients/{number}/proof.html")
def proof_html(console: SignedIn, number: str) -> Response:
    """The proof bundle as a page for people (self-contained, printable)."""
    e164 = _number(console, number)
    bundle = _bundle(console, e164)
    return HTMLResponse(
        proof.render_html(bundle),
        headers={"Content-Disposition": f'attachment; filename="proof-{e164[1:]}.html"'},
    )


def _note_of(evidence: Any) -> str:
    note = evidence.get("note") if isinstance(evidence, dict) else None
    return note if isinstance(note, str) else ""


def _note(value: str) -> str | None:
    note = value.strip()
    return note[:MAX_NOTE] if note else None


def scope_ref(console: Console, value: str) -> ScopeRef | None:
    """The scope a form names: ``program:<id>``, ``brand:<id>`` or ``tenant`` (None otherwise)."""
    kind, _, ref = value.partition(":")
    if kind == ScopeKind.TENANT.value and not ref:
        return ScopeRef(ScopeKind.TENANT)
    if kind == ScopeKind.PROGRAM.value:
        return ScopeRef(ScopeKind.PROGRAM, console.service.get_program(console.tenant, ref).id)
    if kind == ScopeKind.BRAND.value:
        return ScopeRef(ScopeKind.BRAND, console.service.get_brand(console.tenant, ref).id)
    return None


def record_optout(
    console: Console, number: str, scope_value: str, note_value: str
) -> dict[str, str]:
    """Opt ``number`` out in the chosen scope with the agent's note; field errors, if any."""
    note = _note(note_value)
    errors: dict[str, str] = {}
    if note is None:
        errors["note"] = "Write down what the customer asked for (a note is required)."
    try:
        scope = scope_ref(console, scope_value)
    except NotFound:
        scope = None
    if scope is None:
        errors["scope"] = "Choose where the opt-out applies."
    if errors:
        return errors
    assert scope is not None
    try:
        [result] = console.service.add_optouts(
            console.tenant,
            [number],
            scope=scope,
            source=OptOutSource.CONSOLE,
            actor=console.actor,
            reason=note,
        )
    except ConsentryError as error:
        return {"scope": error.message}
    if result.status != 200:
        return {"number": result.error or "invalid number"}
    return {}


@router.post("/admin/{tenant_slug}/recipients/{number}/opt-out", response_class=HTMLResponse)
def opt_out(
    console: Posted,
    number: str,
    scope: Annotated[str, Form(max_length=100)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Record an opt-out the customer asked for (by phone, in person), with a mandatory note."""
    e164 = _number(console, number)
    errors = record_optout(console, e164, scope, note)
    if errors:
        return _view(
            console, e164, errors={f"optout_{k}": v for k, v in errors.items()}, status=422
        )
    return RedirectResponse(
        f"{console.base}/recipients/{quote(e164)}?done=opt-out", status_code=303
    )


@router.post("/admin/{tenant_slug}/recipients/{number}/opt-in", response_class=HTMLResponse)
def opt_in(
    console: Posted,
    number: str,
    program: Annotated[str, Form(max_length=100)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Record a verbal opt-in the customer gave, with a mandatory note (express consent: not
    enough for marketing, which needs written consent; the send gate will say so)."""
    e164 = _number(console, number)
    text = _note(note)
    errors: dict[str, str] = {}
    if text is None:
        errors["optin_note"] = "Write down what the customer agreed to (a note is required)."
    try:
        target = console.service.get_program(console.tenant, program) if program else None
    except NotFound:
        target = None
    if target is None:
        errors["optin_program"] = "Choose the program the customer agreed to."
    if errors or target is None:
        return _view(console, e164, errors=errors, status=422)
    brand = console.service.get_brand(console.tenant, target.brand_id)
    try:
        console.service.record_consent(
            console.tenant,
            e164,
            target.id,
            medium="verbal",
            level="express",
            disclosure_text=hosted_call_to_action(
                console.request, console.tenant.slug, brand, target
            ),
            evidence={"note": text, "recorded_in": "admin console"},
            actor=console.actor,
            source="console",
        )
    except ConsentryError as error:
        return _view(console, e164, errors={"optin_program": error.message}, status=422)
    return RedirectResponse(f"{console.base}/recipients/{quote(e164)}?done=opt-in", status_code=303)
