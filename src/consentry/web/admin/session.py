"""The signed-in console user of a request: session cookie, CSRF token, roles, page rendering.

Every console URL names its tenant (``/admin/{tenant}/...``) and the session cookie is scoped to
that path, so a session of one tenant is never even sent to another tenant's pages; the session
is looked up within the URL's tenant anyway. Forms carry a CSRF token derived from the session
token (HMAC), checked on every POST; roles are checked on every route, server-side.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from consentry.domain.model import Tenant
from consentry.errors import NotFound
from consentry.service import Consentry
from consentry.service._users import ConsoleUser, Role
from consentry.web.pages import SECURITY_HEADERS, templates, tokens_match

SESSION_COOKIE = "consentry_admin"
LOGIN_CSRF_COOKIE = "consentry_admin_csrf"
READERS = (Role.ADMIN, Role.AGENT, Role.AUDITOR)
WRITERS = (Role.ADMIN, Role.AGENT)  # opt-outs and opt-ins on a customer's request
ADMINS = (Role.ADMIN,)
EXPORTERS = (Role.ADMIN, Role.AUDITOR)

# The console's headers: those of every page, but scripts (and their requests) from this origin
# only, for the program form's live lint (static/admin/*.js, served by ``programs``). No inline
# script, nothing from elsewhere; the hosted opt-in pages keep their script-free policy.
CONSOLE_HEADERS = SECURITY_HEADERS | {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; connect-src 'self'; "
    "style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}


class PageError(Exception):
    """Stop handling a console request and answer with an HTML page (or a redirect)."""

    def __init__(self, status: int, heading: str, text: str, *, location: str | None = None):
        super().__init__(heading)
        self.status = status
        self.heading = heading
        self.text = text
        self.location = location


class ConsoleRoute(APIRoute):
    """Routes whose :class:`PageError` and :class:`NotFound` become HTML pages, not JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except PageError as error:
                if error.location is None:
                    return message(request, error.heading, error.text, error.status)
                response = RedirectResponse(error.location, status_code=error.status)
            except NotFound:
                return message(request, "Not found", "There is no such page or record.", 404)
            for name, value in CONSOLE_HEADERS.items():  # downloads and redirects too
                response.headers.setdefault(name, value)
            return response

        return handle


def service_of(request: Request) -> Consentry:
    service: Consentry = request.app.state.service
    return service


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render an admin template with the security headers every page carries."""
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(CONSOLE_HEADERS)
    return response


def message(request: Request, heading: str, text: str, status: int) -> HTMLResponse:
    return render(request, "admin/message.html", {"heading": heading, "text": text}, status)


def console_tenant(request: Request, tenant_slug: str) -> Tenant:
    """The tenant named by slug in the URL (never by id), or :class:`NotFound`."""
    tenant = service_of(request).get_tenant(tenant_slug)
    if tenant.slug != tenant_slug:
        raise NotFound(f"no tenant {tenant_slug!r}", field="tenant")
    return tenant


def cookie_path(tenant: Tenant) -> str:
    return f"/admin/{tenant.slug}"


def csrf_for(session_token: str) -> str:
    """The CSRF token of a session: only someone holding the session token can compute it."""
    return hmac.new(session_token.encode(), b"consentry admin csrf", hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Console:
    """A request of a signed-in console user."""

    request: Request
    service: Consentry
    tenant: Tenant
    user: ConsoleUser
    session_token: str

    @property
    def csrf_token(self) -> str:
        return csrf_for(self.session_token)

    @property
    def base(self) -> str:
        return cookie_path(self.tenant)

    @property
    def actor(self) -> str:
        """How the ledger names this user: ``console:<e-mail>``."""
        return f"console:{self.user.email}"

    def can(self, roles: tuple[Role, ...]) -> bool:
        return self.user.role in roles

    def require(self, roles: tuple[Role, ...]) -> None:
        """Refuse (403) unless the user has one of ``roles``."""
        if not self.can(roles):
            raise PageError(403, "Not allowed", f"The {self.user.role.value} role cannot do this.")

    def render(self, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        return render(
            self.request,
            name,
            {
                "console": self,
                "tenant": self.tenant,
                "user": self.user,
                "base": self.base,
                "csrf_token": self.csrf_token,
                "can_write": self.can(WRITERS),
                "can_admin": self.can(ADMINS),
                "can_export": self.can(EXPORTERS),
                **context,
            },
            status,
        )


def signed_in(request: Request, tenant_slug: str) -> Console:
    """The signed-in user of this tenant, or a redirect to its log-in page."""
    tenant = console_tenant(request, tenant_slug)
    service = service_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    user = service.session_user(tenant, token) if token else None
    if user is None:
        raise PageError(303, "Sign in", "", location=f"{cookie_path(tenant)}/login")
    return Console(request, service, tenant, user, token)


def checked(
    console: Annotated[Console, Depends(signed_in)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Console:
    """A signed-in user's form post with a valid CSRF token (403 otherwise)."""
    if not tokens_match(console.csrf_token, csrf_token):
        raise PageError(
            403,
            "Please try again",
            "This form expired or was not sent from this console. Reload the page.",
        )
    return console


def posted(console: Annotated[Console, Depends(checked)]) -> Console:
    """A CSRF-checked form post that changes data: auditors are read-only, so refused here."""
    console.require(WRITERS)
    return console


SignedIn = Annotated[Console, Depends(signed_in)]
Checked = Annotated[Console, Depends(checked)]
Posted = Annotated[Console, Depends(posted)]
