"""Request-size and per-tenant rate limits: 413 and 429, as JSON errors.

- **Body size**: an ASGI middleware refuses a body larger than the limit of its path with 413,
  before the route sees it: at once when ``Content-Length`` says so, and while streaming for a
  chunked body (bytes are counted as they arrive). Most JSON routes get
  :data:`DEFAULT_MAX_BODY_BYTES`; routes that take large uploads (batches, list imports, list
  screening) are named in :data:`LARGE_BODY_PATHS`.
- **Rate**: every authenticated API request counts against its tenant's moving-window limit
  (``limits`` notation, e.g. ``"20000/minute"``); over it, 429 with ``Retry-After``. The window is
  kept in memory per worker process, so with ``--workers N`` a tenant may reach N times the limit.

Both answer ``{"error": {"code", "message", ...}}`` like every other error.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consentry.api.errors import error_body
from consentry.domain.model import Tenant

MiB = 1024 * 1024
DEFAULT_MAX_BODY_BYTES = 2 * MiB
"""The largest request body a JSON route accepts."""

LARGE_BODY_PATHS: dict[str, int | None] = {
    # 10,000 messages of up to 5,000 characters each
    "/v1/messages:check-batch": 64 * MiB,
    "/v1/messages:sent": 64 * MiB,
    # bulk lists: the routes enforce their own limits while streaming (None: not here)
    "/v1/optouts:import": None,
    "/v1/consents:import": None,
    "/v1/screen": None,  # CONSENTRY_SCREEN_MAX_BYTES
}
"""Paths with another limit than the default (exact paths; a key ending in ``*`` is a prefix);
``None``: the route enforces its own. ``create_app(body_limits=...)`` adds to or overrides
these."""

DEFAULT_API_RATE_LIMIT = "20000/minute"
"""Authenticated API requests a tenant may make (per worker process), moving window."""


class BodyTooLarge(HTTPException):
    """A request body over its path's limit (413; the app's error handler writes the JSON)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class RateLimited(HTTPException):
    """A tenant over its request rate (429 with ``Retry-After``)."""

    def __init__(self, limit: RateLimitItem, retry_after: int) -> None:
        super().__init__(
            429,
            f"more than {limit.amount} requests per {limit.multiples} "
            f"{limit.GRANULARITY.name}: retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class BodySizeLimit:
    """ASGI middleware: 413 for a request body larger than its path's limit."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default: int = DEFAULT_MAX_BODY_BYTES,
        paths: Mapping[str, int | None],
    ) -> None:
        self.app = app
        self.default = default
        self.exact = {path: size for path, size in paths.items() if not path.endswith("*")}
        self.prefixes = sorted(
            ((path[:-1], size) for path, size in paths.items() if path.endswith("*")),
            key=lambda item: -len(item[0]),
        )

    def limit_for(self, path: str) -> int | None:
        """The largest body accepted on ``path`` (None: the route enforces its own)."""
        if path in self.exact:
            return self.exact[path]
        return next(
            (size for prefix, size in self.prefixes if path.startswith(prefix)), self.default
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(limit)(scope, receive, send)


class TenantRateLimit:
    """A moving-window request limit per tenant, kept in this process's memory."""

    def __init__(self, limit: str) -> None:
        self.limit: RateLimitItem = parse(limit)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, tenant_id: str) -> None:
        """Count one request of the tenant, or raise :class:`RateLimited` when over the limit."""
        if self._limiter.hit(self.limit, "api", tenant_id):
            return
        reset = self._limiter.get_window_stats(self.limit, "api", tenant_id).reset_time
        raise RateLimited(self.limit, max(1, math.ceil(reset - time.time())))


def enforce_rate_limit(request: Request, tenant: Tenant) -> None:
    """Count an authenticated request against its tenant's limit (no-op when none is set)."""
    limiter: TenantRateLimit | None = getattr(request.app.state, "tenant_rate_limit", None)
    if limiter is not None:
        limiter.hit(tenant.id)


def install(
    app: FastAPI,
    *,
    rate_limit: str | None = DEFAULT_API_RATE_LIMIT,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_limits: Mapping[str, int | None] | None = None,
) -> None:
    """Add the body-size middleware and the per-tenant rate limit (``None``: no rate limit)."""
    app.state.tenant_rate_limit = TenantRateLimit(rate_limit) if rate_limit else None
    paths = {**LARGE_BODY_PATHS, **(body_limits or {})}
    app.add_middleware(BodySizeLimit, default=max_body_bytes, paths=paths)

    @app.exception_handler(RateLimited)
    async def _rate_limited(_request: Request, exc: RateLimited) -> JSONResponse:
        return JSONResponse(
            error_body("rate_limited", str(exc.detail), retry_after=exc.retry_after),
            status_code=429,
            headers=exc.headers,
        )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        error_body("too_large", f"the request body is larger than {limit} bytes"),
        status_code=413,
        headers={"Connection": "close"},
    )
