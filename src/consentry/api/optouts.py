"""Routes of the opt-out database, in the shape of Azure's Opt-Out Management API."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from consentry.api.auth import ServiceDep, TenantDep
from consentry.api.schemas import (
    HistoryResponse,
    ImportResponse,
    OptOutEventOut,
    OptOutRequest,
    OptOutResponse,
    RecipientResult,
    ScopeIn,
)
from consentry.domain import provider_lists
from consentry.domain.model import OptOutSource, ScopeKind, Tenant
from consentry.domain.optout_lists import read_numbers
from consentry.domain.provider_lists import ListFormat
from consentry.errors import InvalidInput
from consentry.service import Consentry, ImportReport, ScopeRef

router = APIRouter(prefix="/v1", tags=["opt-outs"])

MAX_IMPORT_BYTES = 64 * 1024 * 1024


def _recipients(body: OptOutRequest) -> list[str]:
    return [recipient.to for recipient in body.recipients]


def _scope(body: OptOutRequest) -> ScopeRef | None:
    return body.scope.ref() if body.scope else None


@router.post("/optouts:add")
def add_optouts(body: OptOutRequest, tenant: TenantDep, app: ServiceDep) -> OptOutResponse:
    """Opt recipients out at the sender ``from`` (or in ``scope``). Invalid numbers get 400 entries."""
    statuses = app.add_optouts(
        tenant,
        _recipients(body),
        sender=body.sender,
        scope=_scope(body),
        source=OptOutSource.API,
        actor="api",
        reason=body.reason,
    )
    return OptOutResponse(value=[RecipientResult.of(status) for status in statuses])


@router.post("/optouts:remove")
def remove_optouts(body: OptOutRequest, tenant: TenantDep, app: ServiceDep) -> OptOutResponse:
    """Lift opt-outs in exactly that scope; ``isOptedOut`` tells if a wider one still applies."""
    statuses = app.remove_optouts(
        tenant,
        _recipients(body),
        sender=body.sender,
        scope=_scope(body),
        source=OptOutSource.API,
        actor="api",
        reason=body.reason,
    )
    return OptOutResponse(value=[RecipientResult.of(status) for status in statuses])


@router.post("/optouts:check")
def check_optouts(body: OptOutRequest, tenant: TenantDep, app: ServiceDep) -> OptOutResponse:
    """Whether each recipient is opted out for the sender ``from`` (any covering scope)."""
    statuses = app.check_optouts(tenant, _recipients(body), sender=body.sender, scope=_scope(body))
    return OptOutResponse(value=[RecipientResult.of(status) for status in statuses])


@router.post(
    "/optouts:import",
    responses={422: {"description": "rows rejected: nothing imported"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
)
async def import_optouts(
    request: Request,
    tenant: TenantDep,
    app: ServiceDep,
    sender: Annotated[str | None, Query(alias="from", max_length=64)] = None,
    scope_kind: Annotated[ScopeKind | None, Query()] = None,
    scope_id: Annotated[str | None, Query(max_length=64)] = None,
    reason: Annotated[str | None, Query(max_length=500)] = None,
    list_format: Annotated[ListFormat, Query(alias="format")] = ListFormat.CONSENTRY,
) -> ImportResponse:
    """Import a list, all rows or none: by default one number a line or CSV with a phone
    column; with ``format=twilio|aws|azure`` that provider's opt-out list file."""
    text = await read_text_upload(request)
    scope = ScopeIn(kind=scope_kind, id=scope_id).ref() if scope_kind else None
    rows: Iterable[tuple[int, str]] = (
        read_numbers(io.StringIO(text))
        if list_format is ListFormat.CONSENTRY
        else provider_lists.read(list_format, text)
    )
    report = await run_in_threadpool(
        app.import_optouts,
        tenant,
        rows,
        sender=sender,
        scope=scope,
        actor="api",
        reason=reason,
    )
    result = _import_response(report)
    if not report.imported:
        return JSONResponse(result.model_dump(), status_code=422)  # type: ignore[return-value]
    return result


@router.get(
    "/optouts",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def export_optouts(
    tenant: TenantDep,
    app: ServiceDep,
    history: bool = False,
    list_format: Annotated[ListFormat, Query(alias="format")] = ListFormat.CONSENTRY,
) -> StreamingResponse:
    """Export the current opt-outs as CSV, or with ``history=true`` every add and remove event.

    ``format=twilio|aws|azure`` writes the current opt-outs as that provider's list file: each
    number once, with its earliest opt-out time in any scope.
    """
    if list_format is not ListFormat.CONSENTRY:
        if history:
            raise InvalidInput(
                "the history is exported only in the consentry format", field="format"
            )
        rows = provider_lists.write(list_format, provider_lists.merge(app.export_optouts(tenant)))
        extension = "csv" if list_format is ListFormat.TWILIO else "json"
        name = f"optouts-{list_format.value}.{extension}"
    else:
        rows = _history_rows(app, tenant) if history else _current_rows(app, tenant)
        name = "optout-history.csv" if history else "optouts.csv"
    return StreamingResponse(
        rows,
        media_type=provider_lists.MEDIA_TYPES[list_format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/optouts/{number}/history")
def optout_history(number: str, tenant: TenantDep, app: ServiceDep) -> HistoryResponse:
    """Every opt-out change of one number, oldest first (removals never delete history)."""
    history = app.optout_history(tenant, number)
    return HistoryResponse(
        recipient=history.recipient,
        opted_out_scopes=sorted(str(optout.scope) for optout in history.current),
        events=[OptOutEventOut.of(event) for event in history.events],
    )


CURRENT_COLUMNS = [
    "recipient",
    "scope",
    "scope_kind",
    "scope_id",
    "source",
    "opted_out_at",
    "event_id",
]
HISTORY_COLUMNS = [
    "seq",
    "recipient",
    "action",
    "scope",
    "source",
    "actor",
    "reason",
    "inbound_id",
    "occurred_at",
    "event_id",
    "hash",
]


def current_csv_rows(app: Consentry, tenant: Tenant) -> Iterator[list[str]]:
    """The rows of a current opt-outs export (shared by the API and the CLI)."""
    for optout in app.export_optouts(tenant):
        yield [
            optout.recipient,
            str(optout.scope),
            optout.scope.kind.value,
            optout.scope.id,
            optout.source.value,
            optout.created_at.isoformat(),
            optout.event_id,
        ]


def history_csv_rows(app: Consentry, tenant: Tenant) -> Iterator[list[str]]:
    """The rows of an opt-out history export (shared by the API and the CLI)."""
    for event in app.export_optout_history(tenant):
        yield [
            str(event.seq),
            event.recipient,
            event.action,
            str(event.scope),
            event.source.value,
            event.actor or "",
            event.reason or "",
            event.inbound_id or "",
            event.occurred_at.isoformat(),
            event.id,
            event.hash,
        ]


def _csv_stream(header: list[str], rows: Iterator[list[str]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _current_rows(app: Consentry, tenant: Tenant) -> Iterator[str]:
    return _csv_stream(CURRENT_COLUMNS, current_csv_rows(app, tenant))


def _history_rows(app: Consentry, tenant: Tenant) -> Iterator[str]:
    return _csv_stream(HISTORY_COLUMNS, history_csv_rows(app, tenant))


def _import_response(report: ImportReport) -> ImportResponse:
    return ImportResponse(
        imported=report.imported,
        rows=report.rows,
        added=report.added,
        already_opted_out=report.already_opted_out,
        duplicates=report.duplicates,
        rejected=[{"line": r.line, "value": r.value, "error": r.error} for r in report.rejected],
    )


async def read_text_upload(request: Request) -> str:
    """The request body as UTF-8 text (a BOM is dropped); 413 past the size limit."""
    payload = await _read_limited(request)
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"the file is not UTF-8 text ({error.reason})", field="file") from None


async def _read_limited(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_IMPORT_BYTES:
        raise HTTPException(413, f"the file is larger than {MAX_IMPORT_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_IMPORT_BYTES:
            raise HTTPException(413, f"the file is larger than {MAX_IMPORT_BYTES} bytes")
        chunks.append(chunk)
    if not size:
        raise InvalidInput("the file is empty", field="file")
    return b"".join(chunks)
