"""Console users managed in the browser, by the tenant's admins only (agents and auditors: 403).

``/admin/{tenant}/users`` lists the users (role, active or disabled, locked, sessions) with a
form to add one; ``/admin/{tenant}/users/{user_id}`` changes a user's role, disables or
re-enables them, or sets a new password, and shows the user's events (changes and sign-ins,
newest first). Every form carries the session's CSRF token; a user id
of another tenant answers 404. Changes go through the service, which keeps an active admin,
ends sessions on disable and reset, and logs each change with the admin's name.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from consentry.errors import Conflict, InvalidInput, NotFound
from consentry.service._user_admin import EVENTS_SHOWN, UserOverview
from consentry.service._users import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, ConsoleUser, Role
from consentry.web.admin.session import (
    ADMINS,
    SESSION_COOKIE,
    Checked,
    Console,
    ConsoleRoute,
    SignedIn,
)
from consentry.web.admin.user_events import events_of

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

ROLES = tuple(role.value for role in Role)
DONE = {
    "created": "User created. They can sign in now.",
    "role": "Role changed.",
    "disabled": "User disabled: their sessions have ended.",
    "enabled": "User enabled again: they can sign in.",
    "password": "Password set: their sessions have ended; give them the new one in person.",
}
_Password = Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)]


def admin_page(console: SignedIn) -> Console:
    """A signed-in admin (403 for the other roles)."""
    console.require(ADMINS)
    return console


def admin_post(console: Checked) -> Console:
    """A CSRF-checked form post of an admin (403 for the other roles)."""
    console.require(ADMINS)
    return console


AdminPage = Annotated[Console, Depends(admin_page)]
AdminPost = Annotated[Console, Depends(admin_post)]


def _target(console: Console, user_id: str) -> ConsoleUser:
    """The tenant's user with this id (never looked up by e-mail address here), or 404."""
    if "@" in user_id or len(user_id) > 40:
        raise NotFound(f"no user {user_id!r}", field="user")
    return console.service.get_user(console.tenant, user_id)


def _overview(console: Console, user: ConsoleUser) -> UserOverview:
    return next(o for o in console.service.user_overview(console.tenant) if o.user.id == user.id)


def _users_page(
    console: Console,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return console.render(
        "admin/users.html",
        {
            "overview": console.service.user_overview(console.tenant),
            "roles": ROLES,
            "form": form or {"email": "", "role": Role.AGENT.value},
            "errors": errors or {},
            "min_password": MIN_PASSWORD_LENGTH,
        },
        status,
    )


def _user_page(
    console: Console,
    user: ConsoleUser,
    *,
    done: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return console.render(
        "admin/user.html",
        {
            "one": _overview(console, user),
            "roles": ROLES,
            "done": DONE.get(done, ""),
            "errors": errors or {},
            "is_me": user.id == console.user.id,
            "min_password": MIN_PASSWORD_LENGTH,
            "events": events_of(console, user),
            "events_shown": EVENTS_SHOWN,
        },
        status,
    )


def _done(console: Console, user: ConsoleUser, what: str) -> Response:
    return RedirectResponse(f"{console.base}/users/{user.id}?done={what}", status_code=303)


@router.get("/admin/{tenant_slug}/users", response_class=HTMLResponse)
def users(console: AdminPage) -> Response:
    """The tenant's console users and a form to add one (admins)."""
    return _users_page(console)


@router.post("/admin/{tenant_slug}/users", response_class=HTMLResponse)
def create(
    console: AdminPost,
    email: Annotated[str, Form(max_length=254)] = "",
    role: Annotated[str, Form(max_length=16)] = "",
    password: _Password = "",
    confirm: _Password = "",
) -> Response:
    """Add a user with an initial password (the same rules as ``consentry users create``)."""
    form = {"email": email, "role": role}
    errors: dict[str, str] = {}
    if password != confirm:
        errors["confirm"] = "The two passwords differ."
    else:
        try:
            user = console.service.create_user(
                console.tenant, email, role, password, actor=console.actor
            )
        except InvalidInput as problem:
            errors[problem.field or "email"] = _sentence(problem.message)
        except Conflict as problem:
            return _users_page(
                console, form=form, errors={"email": _sentence(problem.message)}, status=409
            )
        else:
            return _done(console, user, "created")
    return _users_page(console, form=form, errors=errors, status=422)


@router.get("/admin/{tenant_slug}/users/{user_id}", response_class=HTMLResponse)
def user_page(
    console: AdminPage, user_id: str, done: Annotated[str, Query(max_length=16)] = ""
) -> Response:
    """One user: role, disable or enable, new password (admins)."""
    return _user_page(console, _target(console, user_id), done=done)


@router.post("/admin/{tenant_slug}/users/{user_id}/role", response_class=HTMLResponse)
def change_role(
    console: AdminPost, user_id: str, role: Annotated[str, Form(max_length=16)] = ""
) -> Response:
    """Give the user another role; the tenant's last active admin keeps theirs."""
    user = _target(console, user_id)
    try:
        changed = console.service.change_user_role(
            console.tenant, user.id, role, actor=console.actor
        )
    except (InvalidInput, Conflict) as problem:
        status = 409 if isinstance(problem, Conflict) else 422
        return _user_page(console, user, errors={"role": _sentence(problem.message)}, status=status)
    if changed.id == console.user.id and changed.role != Role.ADMIN:
        return RedirectResponse(f"{console.base}/", status_code=303)  # no longer an admin
    return _done(console, changed, "role")


@router.post("/admin/{tenant_slug}/users/{user_id}/disable", response_class=HTMLResponse)
def disable(console: AdminPost, user_id: str) -> Response:
    """Disable the user and end their sessions (not the tenant's last active admin)."""
    user = _target(console, user_id)
    try:
        console.service.set_user_active(console.tenant, user.id, False, actor=console.actor)
    except Conflict as problem:
        return _user_page(console, user, errors={"user": _sentence(problem.message)}, status=409)
    if user.id == console.user.id:  # their own session has just ended
        response = RedirectResponse(f"{console.base}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=console.base, httponly=True, samesite="strict")
        return response
    return _done(console, user, "disabled")


@router.post("/admin/{tenant_slug}/users/{user_id}/enable", response_class=HTMLResponse)
def enable(console: AdminPost, user_id: str) -> Response:
    """Let a disabled user sign in again."""
    user = _target(console, user_id)
    console.service.set_user_active(console.tenant, user.id, True, actor=console.actor)
    return _done(console, user, "enabled")


@router.post("/admin/{tenant_slug}/users/{user_id}/password", response_class=HTMLResponse)
def reset_password(
    console: AdminPost, user_id: str, password: _Password = "", confirm: _Password = ""
) -> Response:
    """Set a new password for the user (ends their sessions); one's own changes on the
    password page, which asks for the current one."""
    user = _target(console, user_id)
    errors: dict[str, str] = {}
    if user.id == console.user.id:
        errors["password"] = "Change your own password on the Your password page."
    elif password != confirm:
        errors["confirm"] = "The two passwords differ."
    else:
        try:
            console.service.reset_password(console.tenant, user.id, password, actor=console.actor)
        except InvalidInput as problem:
            errors["password"] = _sentence(problem.message)
        else:
            return _done(console, user, "password")
    return _user_page(console, user, errors=errors, status=422)


def _sentence(message: str) -> str:
    """A service message as a sentence for the page (``password must ...`` -> ``Password ...``)."""
    text = message[:1].upper() + message[1:]
    return text if text.endswith(".") else text + "."
