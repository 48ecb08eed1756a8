"""Opt-out import in two steps (admins): upload a list and see a preview (rows, valid, rejected
with their lines and reasons, duplicates, already opted out), then confirm to import it, all
rows or none, through the service's ``import_optouts`` (the ledger names the user and reason).

The preview carries the normalised numbers in the confirmation form, so nothing is kept on the
server between the two steps; the import re-checks every number anyway. The console takes lists
of up to ``MAX_ROWS`` rows; larger ones go through the CLI or the API.

Confirming starts the import as a job in a background thread (``import_jobs``) and redirects to
its progress page; the page's script polls the job's JSON status, and the page itself, reloaded,
shows the same status without script.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from consentry.api.errors import error_body
from consentry.domain import provider_lists
from consentry.domain.numbers import to_e164
from consentry.domain.optout_lists import read_numbers
from consentry.domain.provider_lists import ListFormat
from consentry.errors import InvalidInput, InvalidNumber, NotFound
from consentry.web.admin.import_jobs import ImportJob, ImportRunning, jobs_of
from consentry.web.admin.recipients import MAX_NOTE, scope_ref
from consentry.web.admin.session import ADMINS, Console, ConsoleRoute, PageError, Posted, SignedIn

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
SHOWN_REJECTED = 50


def _form(console: Console, errors: dict[str, str], status: int = 200) -> Response:
    return console.render(
        "admin/import.html",
        {
            "step": "upload",
            "formats": [f.value for f in ListFormat],
            "programs": console.service.list_programs(console.tenant),
            "brands": console.service.list_brands(console.tenant),
            "errors": errors,
        },
        status,
    )


@router.get("/admin/{tenant_slug}/optouts/import", response_class=HTMLResponse)
def import_form(console: SignedIn) -> Response:
    """Step 1: choose the file, its format, the scope and the reason."""
    console.require(ADMINS)
    return _form(console, {})


def _rows(text: str, list_format: ListFormat) -> Iterable[tuple[int, str]]:
    if list_format is ListFormat.CONSENTRY:
        return list(read_numbers(io.StringIO(text)))
    return provider_lists.read(list_format, text)


@router.post("/admin/{tenant_slug}/optouts/import/preview", response_class=HTMLResponse)
def import_preview(
    console: Posted,
    file: Annotated[UploadFile, File()],
    scope: Annotated[str, Form(max_length=100)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
    list_format: Annotated[str, Form(alias="format", max_length=16)] = "consentry",
) -> Response:
    """Step 2: read the list without changing anything and show what importing it would do."""
    console.require(ADMINS)
    errors: dict[str, str] = {}
    note = reason.strip()[:MAX_NOTE]
    if not note:
        errors["reason"] = "Say where this list comes from (a reason is required)."
    try:
        target = scope_ref(console, scope)
    except NotFound:
        target = None
    if target is None:
        errors["scope"] = "Choose where the opt-outs apply."
    try:
        fmt = ListFormat(list_format)
    except ValueError:
        fmt = ListFormat.CONSENTRY
        errors["format"] = "Choose a list format."
    payload = file.file.read(MAX_BYTES + 1)
    if len(payload) > MAX_BYTES:
        errors["file"] = f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB: use the CLI."
    elif not payload:
        errors["file"] = "Choose a file (it is empty)."
    rows: list[tuple[int, str]] = []
    if "file" not in errors:
        try:
            rows = list(_rows(payload.decode("utf-8-sig"), fmt))
        except UnicodeDecodeError:
            errors["file"] = "The file is not UTF-8 text."
        except InvalidInput as error:
            errors["file"] = error.message
        if len(rows) > MAX_ROWS:
            errors["file"] = f"The list has {len(rows)} rows; the console takes {MAX_ROWS}."
        elif not rows and "file" not in errors:
            errors["file"] = "The file holds no numbers."
    if errors or target is None:
        return _form(console, errors, 422)
    valid: list[str] = []
    rejected: list[tuple[int, str, str]] = []
    for line, raw in rows:
        try:
            valid.append(to_e164(raw, console.tenant.default_region, field="number"))
        except InvalidNumber as error:
            rejected.append((line, raw[:64], error.message))
    unique = list(dict.fromkeys(valid))
    already = sum(
        1
        for status in console.service.check_optouts(console.tenant, unique, scope=target)
        if status.opted_out
    )
    return console.render(
        "admin/import.html",
        {
            "step": "preview",
            "filename": (file.filename or "upload")[:200],
            "scope": scope,
            "scope_label": _chosen_scope(console, scope),
            "reason": note,
            "rows": len(rows),
            "valid": len(valid),
            "unique": len(unique),
            "duplicates": len(valid) - len(unique),
            "already": already,
            "new": len(unique) - already,
            "rejected": rejected[:SHOWN_REJECTED],
            "rejected_count": len(rejected),
            "sample": unique[:10],
            "numbers": ",".join(unique),
        },
    )


def _chosen_scope(console: Console, value: str) -> str:
    kind, _, ref = value.partition(":")
    if kind == "program":
        return f"program {console.service.get_program(console.tenant, ref).name}"
    if kind == "brand":
        return f"every program of {console.service.get_brand(console.tenant, ref).name}"
    return "everything from this account"


@router.post("/admin/{tenant_slug}/optouts/import", response_class=HTMLResponse)
def import_confirm(
    console: Posted,
    numbers: Annotated[str, Form(max_length=MAX_ROWS * 20)] = "",
    scope: Annotated[str, Form(max_length=100)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Step 3: start importing the previewed numbers, all or none, and show the progress page.

    The import runs in a background thread; a second one for the same account while the first
    runs is refused (409).
    """
    console.require(ADMINS)
    note = reason.strip()[:MAX_NOTE]
    target = scope_ref(console, scope)
    listed = [n for n in numbers.split(",") if n.strip()]
    if target is None or not note or not listed:
        raise PageError(422, "Nothing imported", "The preview was incomplete: upload it again.")
    service, tenant, actor = console.service, console.tenant, console.actor
    try:
        job = jobs_of(console.request).start(
            tenant.id,
            len(listed),
            lambda progress: service.import_optouts(
                tenant,
                enumerate(listed, start=1),
                scope=target,
                actor=actor,
                reason=note,
                progress=progress,
            ),
            scope_label=_chosen_scope(console, scope),
        )
    except ImportRunning as running:
        raise PageError(
            409,
            "An import is already running",
            f"This account's import {running.running.job_id} (started "
            f"{running.running.started_at:%H:%M:%S} UTC) is still running: one import runs at a "
            "time. Nothing was started; wait until it ends (the opt-outs page lists what it "
            "imported), then upload this list again.",
        ) from None
    return RedirectResponse(f"{console.base}/optouts/import/{job.job_id}/progress", 303)


def _job(console: Console, job_id: str) -> ImportJob:
    job = jobs_of(console.request).get(console.tenant.id, job_id)
    if job is None:
        raise NotFound(f"no import {job_id!r}", field="job_id")
    return job


@router.get("/admin/{tenant_slug}/optouts/import/{job_id}/progress", response_class=HTMLResponse)
def import_progress(console: SignedIn, job_id: str) -> Response:
    """The progress page of an import job: rows written, then the result or the error."""
    console.require(ADMINS)
    job = _job(console, job_id)
    return console.render(
        "admin/import.html",
        {"step": "job", "job": job, "report": job.report, "scope_label": job.scope_label},
    )


@router.get("/admin/{tenant_slug}/optouts/import/{job_id}")
def import_status(console: SignedIn, job_id: str) -> JSONResponse:
    """An import job's state as JSON: ``{state, done, total, error?, result?}``.

    ``state`` is ``running``, ``committed`` (only once the transaction committed) or ``failed``
    (nothing imported). Another account's job, or one this server does not know, answers 404.
    """
    headers = {"Cache-Control": "no-store"}
    if not console.can(ADMINS):
        message = f"The {console.user.role.value} role cannot import opt-outs."
        return JSONResponse(error_body("forbidden", message), 403, headers)
    job = jobs_of(console.request).get(console.tenant.id, job_id)
    if job is None:
        message = (
            f"no import {job_id[:64]!r} on this server (it restarted, or the import ended more "
            "than 15 minutes ago)"
        )
        return JSONResponse(error_body("not_found", message, field="job_id"), 404, headers)
    return JSONResponse(job.as_json(), headers=headers)
