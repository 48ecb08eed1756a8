"""The hosted opt-in page: ``/join/{tenant}/{program}``, with its terms and privacy pages.

The page shows every disclosure carriers require next to an unchecked checkbox and works without
JavaScript. A submission is checked (CSRF double-submit cookie, rate limits per IP and per
number, a valid mobile number, the box ticked) and recorded as a consent with its full evidence:
the exact text shown, the page URL, IP address, user agent and time. Programs with double opt-in
get a pending consent and a "Reply YES" text; a number that had opted out comes back only
through this new consent. Errors are shown next to the field, and nothing is recorded.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool

from consentry.domain import disclosures
from consentry.domain.consent import ConsentStatus
from consentry.domain.model import Brand, Program, Tenant
from consentry.domain.numbers import to_e164
from consentry.errors import ConsentryError, InvalidNumber, NotFound
from consentry.service import Consentry
from consentry.web.pages import (
    SECURITY_HEADERS,
    hosted_links,
    set_private_cookie,
    templates,
    tokens_match,
)

router = APIRouter(include_in_schema=False)

CSRF_COOKIE = "consentry_csrf"
DEFAULT_RATE_LIMITS = ("20/minute", "5/hour")  # per IP address, per phone number
_HEADERS = SECURITY_HEADERS


class OptInLimits:
    """Moving-window rate limits of opt-in submissions, per IP address and per phone number."""

    def __init__(self, per_ip: str, per_number: str) -> None:
        self.per_ip: RateLimitItem = parse(per_ip)
        self.per_number: RateLimitItem = parse(per_number)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def allow_ip(self, address: str) -> bool:
        return bool(self._limiter.hit(self.per_ip, "optin-ip", address))

    def allow_number(self, number: str) -> bool:
        return bool(self._limiter.hit(self.per_number, "optin-number", number))


@dataclass(frozen=True, slots=True)
class _Page:
    tenant: Tenant
    brand: Brand
    program: Program
    terms_url: str
    privacy_url: str
    cta: str


def _service(request: Request) -> Consentry:
    service: Consentry = request.app.state.service
    return service


def _limits(request: Request) -> OptInLimits:
    limits: OptInLimits | None = getattr(request.app.state, "optin_limits", None)
    if limits is None:
        limits = request.app.state.optin_limits = OptInLimits(*DEFAULT_RATE_LIMITS)
    return limits


def _page(request: Request, tenant_slug: str, program_slug: str) -> _Page:
    service = _service(request)
    tenant = service.get_tenant(tenant_slug)
    if tenant.slug != tenant_slug:  # public pages answer to the slug only, never to an id
        raise NotFound(f"no tenant {tenant_slug!r}", field="tenant")
    program = service.get_program(tenant, program_slug)
    if program.slug != program_slug:
        raise NotFound(f"no program {program_slug!r}", field="program")
    brand = service.get_brand(tenant, program.brand_id)
    terms_url, privacy_url = hosted_links(request, tenant.slug, brand, program)
    return _Page(
        tenant,
        brand,
        program,
        terms_url,
        privacy_url,
        disclosures.call_to_action(brand, program, terms_url, privacy_url),
    )


def _render(
    request: Request, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(_HEADERS)
    return response


def _message(request: Request, heading: str, text: str, status: int) -> HTMLResponse:
    return _render(request, "message.html", {"heading": heading, "text": text}, status)


def _form(
    request: Request,
    page: _Page,
    *,
    phone: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = _render(
        request,
        "join.html",
        {
            "brand": page.brand,
            "program": page.program,
            "description": disclosures.description(page.program, page.brand),
            "cta": page.cta,
            "terms_url": page.terms_url,
            "privacy_url": page.privacy_url,
            "action": f"/join/{page.tenant.slug}/{page.program.slug}",
            "csrf_token": token,
            "phone": phone,
            "errors": errors or {},
        },
        status,
    )
    set_private_cookie(response, request, CSRF_COOKIE, token, path="/join")
    return response


@router.get("/join/{tenant_slug}/{program_slug}", response_class=HTMLResponse)
def join_form(request: Request, tenant_slug: str, program_slug: str) -> Response:
    """The opt-in form of one program."""
    try:
        page = _page(request, tenant_slug, program_slug)
    except NotFound:
        return _message(request, "Not found", "There is no such sign-up page.", 404)
    return _form(request, page)


@router.post("/join/{tenant_slug}/{program_slug}", response_class=HTMLResponse)
async def join_submit(request: Request, tenant_slug: str, program_slug: str) -> Response:
    """Record the consent given on the form, with its evidence."""
    try:
        page = await run_in_threadpool(_page, request, tenant_slug, program_slug)
    except NotFound:
        return _message(request, "Not found", "There is no such sign-up page.", 404)
    form = await request.form()
    phone = str(form.get("phone") or "").strip()[:64]
    cookie = request.cookies.get(CSRF_COOKIE, "")
    token = str(form.get("csrf_token") or "")
    if not tokens_match(cookie, token):
        return _message(
            request,
            "Please try again",
            "This form expired or was not sent from this page. Reload the page and try again.",
            403,
        )
    address = request.client.host if request.client else "unknown"
    if not _limits(request).allow_ip(address):
        return _message(
            request, "Too many attempts", "Too many sign-ups from here: try again later.", 429
        )
    errors: dict[str, str] = {}
    number = ""
    try:
        number = to_e164(phone, page.tenant.default_region, field="phone")
    except InvalidNumber:
        errors["phone"] = (
            "Enter a valid mobile number, e.g. (206) 555-0123 or +1 206 555 0123."
            if phone
            else "Enter your mobile number."
        )
    if form.get("consent") != "yes":
        errors["consent"] = "Tick the box to agree to receive text messages."
    if errors:
        return _form(request, page, phone=phone, errors=errors, status=422)
    if not _limits(request).allow_number(number):
        return _message(
            request, "Too many attempts", "Too many sign-ups for this number: try later.", 429
        )
    try:
        outcome = await run_in_threadpool(
            _service(request).record_consent,
            page.tenant,
            number,
            page.program.id,
            medium="web_form",
            disclosure_text=page.cta,
            source_url=str(request.url),
            ip_address=address,
            user_agent=request.headers.get("user-agent", "")[:1000] or None,
            evidence={"form": "consentry hosted opt-in page", "checkbox_default": "unchecked"},
            source="web",
        )
    except ConsentryError as error:
        return _form(request, page, phone=phone, errors={"form": error.message}, status=422)
    pending = outcome.state is not None and outcome.state.status is ConsentStatus.PENDING
    if pending:
        heading = "Check your phone"
        next_step = (
            f"We sent a text to {number}. Reply YES to it to confirm your subscription to "
            f"{page.program.name}."
        )
    elif outcome.still_opted_out:
        heading = "Thank you"
        next_step = (
            f"Your consent is recorded, but {number} asked earlier to stop all messages from "
            f"{page.brand.name}: text START to any of our numbers to receive them again."
        )
    else:
        heading = "You are subscribed"
        next_step = f"{page.brand.name} will text {number}: a confirmation is on its way."
    return _render(
        request,
        "joined.html",
        {
            "brand": page.brand,
            "program": page.program,
            "heading": heading,
            "next_step": next_step,
            "terms_url": page.terms_url,
            "privacy_url": page.privacy_url,
        },
    )


@router.get("/join/{tenant_slug}/{program_slug}/terms", response_class=HTMLResponse)
def join_terms(request: Request, tenant_slug: str, program_slug: str) -> Response:
    """The program's SMS terms and conditions."""
    try:
        page = _page(request, tenant_slug, program_slug)
    except NotFound:
        return _message(request, "Not found", "There is no such page.", 404)
    sections = disclosures.terms(page.brand, page.program, page.privacy_url)
    return _document(request, page, "Terms and conditions", sections)


@router.get("/join/{tenant_slug}/{program_slug}/privacy", response_class=HTMLResponse)
def join_privacy(request: Request, tenant_slug: str, program_slug: str) -> Response:
    """The program's privacy policy for text messages."""
    try:
        page = _page(request, tenant_slug, program_slug)
    except NotFound:
        return _message(request, "Not found", "There is no such page.", 404)
    return _document(request, page, "Privacy policy", disclosures.privacy(page.brand, page.program))


def _document(
    request: Request, page: _Page, heading: str, sections: tuple[disclosures.Section, ...]
) -> HTMLResponse:
    return _render(
        request,
        "document.html",
        {"brand": page.brand, "program": page.program, "heading": heading, "sections": sections},
    )
