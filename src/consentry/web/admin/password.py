"""Changing one's own password: ``/admin/{tenant}/password`` (any role).

The current password is required, and a wrong one counts like a failed log-in (towards the
address's lock-out and the per-IP limit of failed log-ins). The new one follows the rules of
``consentry users create`` and is typed twice. Afterwards every session of the user ends and
this browser gets a new session token (the old cookie is replaced), so a copy of the old cookie
opens nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from consentry.errors import AuthenticationError, InvalidInput
from consentry.service._users import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    SESSION_LIFETIME,
    AccountLocked,
)
from consentry.web.admin.login import _limits
from consentry.web.admin.session import (
    SESSION_COOKIE,
    Checked,
    Console,
    ConsoleRoute,
    PageError,
    SignedIn,
)
from consentry.web.pages import set_private_cookie

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

_Password = Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)]


def _page(
    console: Console, *, done: bool = False, errors: dict[str, str] | None = None, status: int = 200
) -> HTMLResponse:
    return console.render(
        "admin/password.html",
        {"done": done, "errors": errors or {}, "min_password": MIN_PASSWORD_LENGTH},
        status,
    )


@router.get("/admin/{tenant_slug}/password", response_class=HTMLResponse)
def password_form(console: SignedIn, done: Annotated[str, Query(max_length=4)] = "") -> Response:
    """The form to change one's own password."""
    return _page(console, done=done == "1")


@router.post("/admin/{tenant_slug}/password", response_class=HTMLResponse)
def change_password(
    console: Checked,
    current_password: _Password = "",
    new_password: _Password = "",
    confirm_password: _Password = "",
) -> Response:
    """Check the current password, set the new one, end the other sessions, rotate this one."""
    request = console.request
    address = request.client.host if request.client else "unknown"
    limits = _limits(request)
    if not limits.allow(address):
        raise PageError(429, "Too many attempts", "Too many failed log-ins from here: wait.")
    if new_password != confirm_password:
        return _page(
            console, errors={"confirm_password": "The two new passwords differ."}, status=422
        )
    try:
        session = console.service.change_own_password(
            console.tenant,
            console.session_token,
            current_password,
            new_password,
            ip_address=address,
        )
    except InvalidInput as problem:
        message = problem.message[:1].upper() + problem.message[1:] + "."
        return _page(console, errors={"new_password": message}, status=422)
    except AccountLocked as locked:
        limits.failed(address)
        message = locked.message[:1].upper() + locked.message[1:] + "."
        return _page(console, errors={"current_password": message}, status=429)
    except AuthenticationError as refused:
        if refused.field == "session":  # signed out meanwhile
            raise PageError(303, "Sign in", "", location=f"{console.base}/login") from None
        limits.failed(address)
        errors = {"current_password": "The current password is wrong."}
        return _page(console, errors=errors, status=401)
    response = RedirectResponse(f"{console.base}/password?done=1", status_code=303)
    set_private_cookie(
        response,
        request,
        SESSION_COOKIE,
        session.token,
        path=console.base,
        max_age=int(SESSION_LIFETIME.total_seconds()),
    )
    return response
