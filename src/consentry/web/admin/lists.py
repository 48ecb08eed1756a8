"""The console's lists: opt-outs (search, add with a note, CSV export), inbound replies with
their classification, the review queue, the audit chain status, brands/programs/senders."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from consentry.domain.numbers import to_e164
from consentry.errors import Conflict, InvalidNumber, NotFound
from consentry.service._review import DECISIONS
from consentry.web.admin.recipients import names_of, record_optout, scope_label
from consentry.web.admin.session import (
    ADMINS,
    EXPORTERS,
    Console,
    ConsoleRoute,
    PageError,
    Posted,
    SignedIn,
)

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _optouts_page(
    console: Console,
    q: str,
    *,
    number: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    names = names_of(console)
    found = console.service.search_optouts(console.tenant, q, limit=200)
    return console.render(
        "admin/optouts.html",
        {
            "q": q,
            "rows": [
                {
                    "recipient": o.recipient,
                    "quoted": quote(o.recipient),
                    "scope": scope_label(o.scope.kind.value, o.scope.id, names),
                    "source": o.source.value,
                    "since": o.created_at,
                }
                for o in found
            ],
            "total": console.service.count_optouts(console.tenant),
            "programs": console.service.list_programs(console.tenant),
            "brands": console.service.list_brands(console.tenant),
            "number": number,
            "errors": errors or {},
        },
        status,
    )


@router.get("/admin/{tenant_slug}/optouts", response_class=HTMLResponse)
def optouts(console: SignedIn, q: Annotated[str, Query(max_length=64)] = "") -> Response:
    """Current opt-outs, newest first, searched by any part of the number."""
    return _optouts_page(console, q)


@router.post("/admin/{tenant_slug}/optouts", response_class=HTMLResponse)
def add_optout(
    console: Posted,
    number: Annotated[str, Form(max_length=64)] = "",
    scope: Annotated[str, Form(max_length=100)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Add one opt-out with its reason (agents and admins)."""
    try:
        e164 = to_e164(number, console.tenant.default_region, field="number")
    except InvalidNumber:
        errors = {"number": "Enter a valid phone number, e.g. +1 206 555 0123."}
        return _optouts_page(console, "", number=number, errors=errors, status=422)
    errors = record_optout(console, e164, scope, note)
    if errors:
        return _optouts_page(console, "", number=number, errors=errors, status=422)
    return RedirectResponse(f"{console.base}/optouts?q={quote(e164[1:])}", status_code=303)


@router.get("/admin/{tenant_slug}/optouts.csv")
def export_optouts(console: SignedIn) -> Response:
    """Every current opt-out as CSV (admins and auditors)."""
    console.require(EXPORTERS)
    rows = console.service.export_optouts(console.tenant)

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["phone", "scope", "source", "created_at", "event_id"])
        for optout in rows:
            writer.writerow(
                [
                    optout.recipient,
                    str(optout.scope),
                    optout.source.value,
                    optout.created_at.isoformat(),
                    optout.event_id,
                ]
            )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="optouts-{console.tenant.slug}.csv"'
        },
    )


@router.get("/admin/{tenant_slug}/inbound", response_class=HTMLResponse)
def inbound(console: SignedIn) -> Response:
    """The latest inbound replies and what consentry made of each."""
    rows = console.service.list_inbound(console.tenant, limit=200)
    return console.render("admin/inbound.html", {"rows": rows})


@router.get("/admin/{tenant_slug}/inbound/{inbound_id}", response_class=HTMLResponse)
def inbound_one(console: SignedIn, inbound_id: str) -> Response:
    """One inbound reply (404 for an id of another tenant)."""
    row = console.service.get_inbound(console.tenant, inbound_id)
    if row is None:
        raise NotFound(f"no inbound reply {inbound_id!r}", field="inbound_id")
    return console.render("admin/inbound_one.html", {"row": row, "quoted": quote(row["recipient"])})


@router.get("/admin/{tenant_slug}/review", response_class=HTMLResponse)
def review(console: SignedIn) -> Response:
    """Replies held as possible revocations, soonest due first."""
    rows = console.service.review_queue(console.tenant, limit=200)
    now = console.service.now()
    return console.render("admin/review.html", {"rows": rows, "now": now})


@router.post("/admin/{tenant_slug}/review/{inbound_id}")
def resolve(
    console: Posted,
    inbound_id: str,
    decision: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Decide a held reply: opt the person out, or mark it not a revocation (admins)."""
    console.require(ADMINS)
    if console.service.get_inbound(console.tenant, inbound_id) is None:
        raise NotFound(f"no inbound reply {inbound_id!r}", field="inbound_id")
    if decision not in DECISIONS:
        raise PageError(422, "Choose a decision", "Mark the reply as an opt-out or not.")
    try:
        console.service.resolve_review(console.tenant, inbound_id, decision, actor=console.actor)
    except Conflict as error:
        raise PageError(409, "Already decided", error.message) from None
    return RedirectResponse(f"{console.base}/review", status_code=303)


@router.get("/admin/{tenant_slug}/audit", response_class=HTMLResponse)
def audit(console: SignedIn) -> Response:
    """Recompute the tenant's ledger hash chain and show whether it is intact."""
    report = console.service.verify_ledger(console.tenant)
    return console.render("admin/audit.html", {"report": report})


@router.get("/admin/{tenant_slug}/registry", response_class=HTMLResponse)
def registry(console: SignedIn) -> Response:
    """Brands, programs and senders, with edit links for admins."""
    service, tenant = console.service, console.tenant
    programs = service.list_programs(tenant)
    brands = service.list_brands(tenant)
    return console.render(
        "admin/registry.html",
        {
            "brands": brands,
            "programs": programs,
            "senders": service.list_senders(tenant),
            "names": {p.id: p.name for p in programs} | {b.id: b.name for b in brands},
        },
    )
