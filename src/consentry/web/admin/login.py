"""Signing in and out of the console: ``/admin/{tenant}/login`` and ``/logout``.

The log-in form is protected by a double-submit CSRF cookie (there is no session yet) and a
rate limit per IP address; the service locks an e-mail address out after repeated failures.
A successful log-in sets the session cookie: HttpOnly, SameSite=Strict, Secure over https,
scoped to the tenant's console path.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from consentry.errors import AuthenticationError
from consentry.service._users import SESSION_LIFETIME, AccountLocked
from consentry.web.admin.session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Checked,
    ConsoleRoute,
    PageError,
    console_tenant,
    cookie_path,
    render,
    service_of,
)
from consentry.web.pages import set_private_cookie, tokens_match

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

LOGIN_RATE_LIMIT = "30/minute"  # failed log-ins per IP address, every tenant together
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class LoginLimits:
    """Moving-window limit of failed log-ins per IP address (successful ones do not count)."""

    def __init__(self, per_ip: str = LOGIN_RATE_LIMIT) -> None:
        self.per_ip = parse(per_ip)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def allow(self, address: str) -> bool:
        """Whether this address may try (again)."""
        return bool(self._limiter.test(self.per_ip, "admin-login", address))

    def failed(self, address: str) -> None:
        self._limiter.hit(self.per_ip, "admin-login", address)


def _limits(request: Request) -> LoginLimits:
    limits: LoginLimits | None = getattr(request.app.state, "admin_login_limits", None)
    if limits is None:
        limits = request.app.state.admin_login_limits = LoginLimits()
    return limits


@router.get("/admin", response_class=HTMLResponse)
def landing(request: Request) -> Response:
    """Ask for the account's slug, then go to its log-in page."""
    return render(request, "admin/landing.html", {})


@router.get("/admin/login")
def to_login(tenant: Annotated[str, Query(max_length=64)] = "") -> Response:
    slug = tenant.strip().lower()
    if not _SLUG.match(slug):
        raise PageError(404, "Not found", "There is no such account.")
    return RedirectResponse(f"/admin/{slug}/login", status_code=303)


def _form(
    request: Request, tenant_slug: str, *, email: str = "", error: str = "", status: int = 200
) -> HTMLResponse:
    tenant = console_tenant(request, tenant_slug)
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "admin/login.html",
        {
            "tenant": tenant,
            "action": f"{cookie_path(tenant)}/login",
            "csrf_token": token,
            "email": email,
            "error": error,
        },
        status,
    )
    set_private_cookie(response, request, LOGIN_CSRF_COOKIE, token, path=cookie_path(tenant))
    return response


@router.get("/admin/{tenant_slug}/login", response_class=HTMLResponse)
def login_form(request: Request, tenant_slug: str) -> Response:
    """The log-in form of one tenant's console."""
    return _form(request, tenant_slug)


@router.post("/admin/{tenant_slug}/login", response_class=HTMLResponse)
def login(
    request: Request,
    tenant_slug: str,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the e-mail address and password; start a session."""
    tenant = console_tenant(request, tenant_slug)
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
        raise PageError(
            403, "Please try again", "This form expired. Reload the log-in page and try again."
        )
    address = request.client.host if request.client else "unknown"
    if not _limits(request).allow(address):
        raise PageError(429, "Too many attempts", "Too many failed log-ins from here: wait.")
    try:
        session = service_of(request).log_in(tenant, email, password, ip_address=address)
    except AccountLocked as locked:
        _limits(request).failed(address)
        return _form(request, tenant_slug, email=email, error=locked.message, status=429)
    except AuthenticationError:
        _limits(request).failed(address)
        return _form(
            request,
            tenant_slug,
            email=email,
            error="Wrong e-mail address or password.",
            status=401,
        )
    response = RedirectResponse(f"{cookie_path(tenant)}/", status_code=303)
    set_private_cookie(
        response,
        request,
        SESSION_COOKIE,
        session.token,
        path=cookie_path(tenant),
        max_age=int(SESSION_LIFETIME.total_seconds()),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=cookie_path(tenant))
    return response


@router.post("/admin/{tenant_slug}/logout")
def logout(console: Checked) -> Response:
    """End the session (any role)."""
    console.service.end_session(console.tenant, console.session_token)
    response = RedirectResponse(f"{console.base}/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE,
        path=console.base,
        httponly=True,
        samesite="strict",
        secure=console.request.url.scheme == "https",
    )
    return response
