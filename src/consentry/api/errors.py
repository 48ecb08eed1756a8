"""Error responses: every error is JSON ``{"error": {"code", "message", "field"?, ...}}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from consentry.errors import (
    AuthenticationError,
    Conflict,
    ConsentryError,
    InvalidInput,
    NotFound,
)

_STATUS: tuple[tuple[type[ConsentryError], int], ...] = (
    (AuthenticationError, 401),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
)


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    field: str | None = None


class ErrorOut(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (400, "Bad request"),
        (401, "Missing, malformed or revoked API key"),
        (404, "Not found in this tenant"),
        (409, "Conflict: already taken"),
        (413, "Request body too large"),
        (422, "Invalid input: the field and the problem"),
        (429, "Too many requests from this tenant (see Retry-After)"),
    )
}
"""The error responses documented on every route of the OpenAPI schema."""


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON body of an error response."""
    return {"error": {"code": code, "message": message, **extra}}


def status_of(error: ConsentryError) -> int:
    """The HTTP status of an error (400 when no more specific one applies)."""
    return next((code for kind, code in _STATUS if isinstance(error, kind)), 400)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the JSON shape above."""

    @app.exception_handler(DataError)
    async def _data_error(_request: Request, _exc: DataError) -> JSONResponse:
        # Input the database cannot store or compare, which validation let through: on
        # PostgreSQL, a NUL character in any text (SQLite accepts it). The transaction is rolled
        # back; the SQL is not shown.
        return JSONResponse(
            error_body(
                "invalid_input",
                "a value cannot be stored (text may not contain NUL characters)",
            ),
            status_code=422,
        )

    @app.exception_handler(ConsentryError)
    async def _consentry_error(_request: Request, exc: ConsentryError) -> JSONResponse:
        status = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        body = error_body(exc.code, exc.message)
        if exc.field is not None:
            body["error"]["field"] = exc.field
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": _field(error.get("loc", ())), "message": str(error.get("msg", "invalid"))}
            for error in exc.errors()
        ]
        first: dict[str, str | None] = problems[0] if problems else {"field": None}
        text = first.get("message") or "invalid request"
        message = f"{first['field']}: {text}" if first["field"] else text
        return JSONResponse(
            error_body("invalid_input", message, field=first["field"], problems=problems),
            status_code=422,
        )

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )


def _field(location: Any) -> str | None:
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or None
