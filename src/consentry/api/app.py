"""The FastAPI application: JSON API under ``/v1``, health check, OpenAPI at ``/docs``."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from consentry import logs
from consentry._version import __version__
from consentry.api import (
    aws,
    azure,
    consents,
    decisions,
    errors,
    inbound,
    keywords,
    limits,
    lint,
    messages,
    optouts,
    programs_edit,
    registry,
    screen,
    webhooks,
)
from consentry.service import Consentry
from consentry.web import optin as web
from consentry.web.admin import router as admin_console  # admin console (issue #8)
from consentry.web.optin import DEFAULT_RATE_LIMITS, OptInLimits


def create_app(
    service: Consentry,
    *,
    optin_rate_limits: tuple[str, str] = DEFAULT_RATE_LIMITS,
    api_rate_limit: str | None = limits.DEFAULT_API_RATE_LIMIT,
    max_body_bytes: int = limits.DEFAULT_MAX_BODY_BYTES,
    body_limits: dict[str, int | None] | None = None,
) -> FastAPI:
    """Build the HTTP application around an (already migrated) service.

    ``optin_rate_limits``: submissions of the hosted opt-in form allowed per IP address and per
    phone number (``limits`` notation, e.g. ``"20/minute"``). ``api_rate_limit``: authenticated
    requests per tenant (``None``: unlimited); ``max_body_bytes`` / ``body_limits``: request body
    sizes (413 beyond; see :mod:`consentry.api.limits`).
    """
    app = FastAPI(
        title="consentry",
        version=__version__,
        description="Self-hosted SMS compliance engine: opt-out database, STOP/START/HELP, "
        "consent ledger, send gate. Authenticate with `Authorization: Bearer <API key>`.",
        responses=errors.ERROR_RESPONSES,
    )
    app.state.service = service
    app.state.optin_limits = OptInLimits(*optin_rate_limits)
    errors.install(app)
    logs.install()  # phone numbers masked in the access log
    limits.install(
        app, rate_limit=api_rate_limit, max_body_bytes=max_body_bytes, body_limits=body_limits
    )
    app.include_router(registry.router)
    app.include_router(programs_edit.router)  # program editing (issue #8)
    app.include_router(optouts.router)
    app.include_router(inbound.router)
    app.include_router(keywords.router)
    app.include_router(consents.router)
    app.include_router(messages.router)
    app.include_router(decisions.router)  # the decisions log (issue #8)
    app.include_router(lint.router)
    app.include_router(screen.router)  # bulk screening (issue #11)
    app.include_router(aws.router)  # before webhooks: /v1/providers/aws is its own route
    app.include_router(azure.router)  # before webhooks: /v1/providers/azure is its own route
    app.include_router(webhooks.router)
    app.include_router(web.router)
    app.include_router(admin_console)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> JSONResponse:
        """200 when the database answers, 503 when it does not."""
        try:
            with service.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as error:
            return JSONResponse({"status": "unavailable", "error": type(error).__name__}, 503)
        return JSONResponse({"status": "ok"})

    return app


def create_app_from_environment() -> FastAPI:
    """The app over ``CONSENTRY_DATABASE_URL`` (already migrated): the factory each worker
    process of ``consentry serve --workers N`` calls. Every worker keeps its own send-gate
    caches, which follow the store through its version stamps."""
    return create_app(Consentry())
