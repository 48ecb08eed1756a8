"""The FastAPI application: JSON API under ``/v1``, health check, OpenAPI at ``/docs``."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from consentry._version import __version__
from consentry.api import consents, errors, inbound, messages, optouts, registry
from consentry.service import Consentry


def create_app(service: Consentry) -> FastAPI:
    """Build the HTTP application around an (already migrated) service."""
    app = FastAPI(
        title="consentry",
        version=__version__,
        description="Self-hosted SMS compliance engine: opt-out database, STOP/START/HELP, "
        "consent ledger, send gate. Authenticate with `Authorization: Bearer <API key>`.",
    )
    app.state.service = service
    errors.install(app)
    app.include_router(registry.router)
    app.include_router(optouts.router)
    app.include_router(inbound.router)
    app.include_router(consents.router)
    app.include_router(messages.router)

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
