"""``POST /v1/screen``: screen an uploaded list against the tenant's opt-outs and consent."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import AsyncGenerator
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from consentry.api.auth import ServiceDep, TenantDep
from consentry.errors import InvalidInput
from consentry.screening import ListFormat, guess_format

router = APIRouter(prefix="/v1", tags=["screening"])

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MAX_BYTES_ENV = "CONSENTRY_SCREEN_MAX_BYTES"
_PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet")


class ScreenOutput(StrEnum):
    """What ``POST /v1/screen`` answers with."""

    JSON = "json"  # the summary and every suppressed row with its reason
    ALLOWED = "allowed"  # the rows that may be sent, as CSV
    SUPPRESSED = "suppressed"  # the suppressed rows with a reason column, as CSV


def max_upload_bytes(request: Request) -> int:
    """The largest list accepted: ``app.state.screen_max_bytes``, else the environment variable
    ``CONSENTRY_SCREEN_MAX_BYTES``, else 50 MB."""
    configured = getattr(request.app.state, "screen_max_bytes", None)
    if configured is None:
        configured = os.environ.get(MAX_BYTES_ENV) or DEFAULT_MAX_BYTES
    return int(configured)


@router.post(
    "/screen",
    responses={
        200: {
            "description": "the summary and suppressed rows (JSON), or one file (CSV)",
            "content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}},
        },
        404: {"description": "unknown program"},
        413: {"description": "the list is larger than the configured limit"},
        422: {"description": "no such column, or a file that cannot be read"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
                "text/csv": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        }
    },
)
async def screen_list(
    request: Request,
    tenant: TenantDep,
    app: ServiceDep,
    column: Annotated[str | None, Query(max_length=200)] = None,
    program: Annotated[str | None, Query(max_length=64)] = None,
    sender: Annotated[str | None, Query(max_length=64)] = None,
    list_format: Annotated[ListFormat | None, Query(alias="format")] = None,
    output: Annotated[ScreenOutput, Query()] = ScreenOutput.JSON,
) -> Response:
    """Screen a list (multipart ``file``, or the body itself: CSV, plain list or Parquet).

    ``column`` names the phone-number column (a plain list needs none); ``program`` adds the
    consent check for that program and ``sender`` the sender's own opt-out scope. Answers the
    summary and the suppressed rows with their reason as JSON, or with ``output=allowed`` /
    ``output=suppressed`` that file as CSV.
    """
    payload, name, content_type = await _upload(request, max_upload_bytes(request))
    if list_format is None:
        if content_type in _PARQUET_TYPES:
            list_format = ListFormat.PARQUET
        else:
            list_format = guess_format(name) if name else ListFormat.CSV
    allowed = io.BytesIO() if output is ScreenOutput.ALLOWED else None
    suppressed = io.BytesIO() if output is not ScreenOutput.ALLOWED else None
    try:
        summary = await run_in_threadpool(
            app.screen,
            tenant,
            payload,
            column,
            program=program,
            sender=sender,
            list_format=list_format,
            allowed=allowed,
            suppressed=suppressed,
        )
    except UnicodeDecodeError:
        raise InvalidInput("the list is not UTF-8 text", field="file") from None
    counts = {
        "X-Rows": str(summary.rows),
        "X-Allowed": str(summary.allowed),
        "X-Suppressed": str(summary.suppressed_total),
    }
    if output is ScreenOutput.ALLOWED and allowed is not None:
        return Response(allowed.getvalue(), media_type="text/csv", headers=counts)
    assert suppressed is not None
    if output is ScreenOutput.SUPPRESSED:
        return Response(suppressed.getvalue(), media_type="text/csv", headers=counts)
    text = suppressed.getvalue().decode(errors="replace")
    rows: list[dict[str, Any]] = list(csv.DictReader(io.StringIO(text)))
    return JSONResponse(summary.as_dict() | {"suppressed_rows": rows})


async def _upload(request: Request, limit: int) -> tuple[bytes, str | None, str]:
    """The uploaded file's bytes, its name (multipart) and content type; 413 past ``limit``."""
    too_large = HTTPException(413, f"the list is larger than {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    body = b"".join(chunks)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        if not body:
            raise InvalidInput("the list is empty", field="file")
        return body, None, content_type

    async def replay() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        form = await MultiPartParser(request.headers, replay()).parse()
    except MultiPartException as error:
        raise InvalidInput(f"the multipart body cannot be read: {error}", field="file") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("send the list as the multipart field 'file'", field="file")
    data = await upload.read()
    if not data:
        raise InvalidInput("the list is empty", field="file")
    return data, upload.filename, (upload.content_type or "").lower()
