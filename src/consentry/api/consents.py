"""Routes of the consent ledger: record consent, a recipient's state, history and proof, audit."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from consentry import proof
from consentry.api.auth import ServiceDep, TenantDep
from consentry.api.optouts import read_text_upload
from consentry.api.schemas import Strict
from consentry.domain.consent import ConsentState
from consentry.domain.consent_lists import read_consent_rows
from consentry.service import ConsentOutcome

router = APIRouter(prefix="/v1", tags=["consents"])


class ConsentIn(Strict):
    recipient: str = Field(max_length=64)
    program: str = Field(min_length=1, max_length=64, description="program id or slug")
    level: Literal["implied", "express", "express_written"] | None = None
    medium: Literal[
        "web_form",
        "keyword",
        "paper",
        "verbal",
        "ivr",
        "point_of_sale",
        "conversation",
        "api",
        "import",
    ]
    disclosure_text: str | None = Field(default=None, max_length=10_000)
    source_url: str | None = Field(default=None, max_length=2000)
    keyword: str | None = Field(default=None, max_length=200)
    ip_address: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=1000)
    session_id: str | None = Field(default=None, max_length=200)
    occurred_at: datetime | None = None
    evidence: dict[str, Any] | None = None


class ConsentStateOut(BaseModel):
    program_id: str
    brand_id: str
    status: str
    level: str
    granted_at: datetime | None
    requested_at: datetime | None
    expires_at: datetime | None
    reconfirmation_requested_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, state: ConsentState) -> ConsentStateOut:
        return cls(
            program_id=state.program_id,
            brand_id=state.brand_id,
            status=state.status.value,
            level=state.level.value,
            granted_at=state.granted_at,
            requested_at=state.requested_at,
            expires_at=state.expires_at,
            reconfirmation_requested_at=state.reconfirmation_requested_at,
            revoked_at=state.revoked_at,
        )


class ConsentOut(BaseModel):
    event_id: str
    consent: ConsentStateOut | None
    reply: str | None
    outbox_id: str | None
    still_opted_out: list[str]
    notes: list[str]

    @classmethod
    def of(cls, outcome: ConsentOutcome) -> ConsentOut:
        return cls(
            event_id=outcome.event_id,
            consent=ConsentStateOut.of(outcome.state) if outcome.state else None,
            reply=outcome.reply,
            outbox_id=outcome.outbox_id,
            still_opted_out=[str(scope) for scope in outcome.still_opted_out],
            notes=list(outcome.notes),
        )


class RecipientOut(BaseModel):
    recipient: str
    consents: list[ConsentStateOut]
    opt_outs: list[str]


class ChainOut(BaseModel):
    ok: bool
    events: int
    first_broken_seq: int | None
    problem: str | None


@router.post("/consents", status_code=201)
def record_consent(body: ConsentIn, tenant: TenantDep, app: ServiceDep) -> ConsentOut:
    """Record a consent with its evidence (double opt-in programs get a pending consent)."""
    outcome = app.record_consent(
        tenant,
        body.recipient,
        body.program,
        medium=body.medium,
        disclosure_text=body.disclosure_text,
        level=body.level,
        source_url=body.source_url,
        keyword=body.keyword,
        ip_address=body.ip_address,
        user_agent=body.user_agent,
        session_id=body.session_id,
        occurred_at=body.occurred_at,
        evidence=body.evidence,
        actor="api",
    )
    return ConsentOut.of(outcome)


class ReconfirmIn(Strict):
    recipient: str = Field(max_length=64)
    program: str = Field(min_length=1, max_length=64, description="program id or slug")


@router.post("/consents:reconfirm")
def request_reconfirmation(body: ReconfirmIn, tenant: TenantDep, app: ServiceDep) -> ConsentOut:
    """Ask an active consent to be reconfirmed; the recipient's YES reconfirms it (409 if none)."""
    outcome = app.request_reconfirmation(tenant, body.recipient, body.program)
    return ConsentOut.of(outcome)


@router.post("/consents:expire")
def expire_pending(tenant: TenantDep, app: ServiceDep) -> dict[str, int]:
    """Expire double opt-in requests left unconfirmed past their window."""
    return {"expired": app.expire_pending_consents(tenant)}


@router.post(
    "/consents:import",
    responses={422: {"description": "rows rejected: nothing imported"}},
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
)
async def import_consents(
    request: Request,
    tenant: TenantDep,
    app: ServiceDep,
    program: Annotated[str, Query(min_length=1, max_length=64, description="program id or slug")],
    filename: Annotated[str, Query(max_length=200)] = "upload.csv",
) -> JSONResponse:
    """Import existing consent records (CSV with a phone column and ``occurred_at``): all or none."""
    text = await read_text_upload(request)
    report = await run_in_threadpool(
        app.import_consents,
        tenant,
        program,
        read_consent_rows(io.StringIO(text)),
        source_name=filename,
        actor="api",
    )
    body = {
        "imported": report.imported,
        "rows": report.rows,
        "events": report.events,
        "rejected": [{"line": r.line, "value": r.value, "error": r.error} for r in report.rejected],
    }
    return JSONResponse(body, status_code=200 if report.imported else 422)


@router.get("/recipients/{number}")
def get_recipient(number: str, tenant: TenantDep, app: ServiceDep) -> RecipientOut:
    """A recipient's current consent per program, and the opt-outs in force."""
    view = app.recipient(tenant, number)
    return RecipientOut(
        recipient=view.recipient,
        consents=[ConsentStateOut.of(state) for state in view.consents],
        opt_outs=[str(optout.scope) for optout in view.optouts],
    )


@router.get("/recipients/{number}/history")
def recipient_history(number: str, tenant: TenantDep, app: ServiceDep) -> dict[str, Any]:
    """Every ledger event of a recipient, consent and opt-out alike, oldest first."""
    recipient, events = app.recipient_events(tenant, number)
    return {
        "recipient": recipient,
        "events": [{k: v for k, v in event.items() if k != "tenant_id"} for event in events],
    }


@router.get(
    "/recipients/{number}/proof",
    responses={200: {"content": {"application/json": {}, "text/html": {}}}},
)
def recipient_proof(
    number: str,
    tenant: TenantDep,
    app: ServiceDep,
    format: Annotated[Literal["json", "html"], Query()] = "json",
) -> Any:
    """A self-contained proof bundle (JSON, or ``format=html`` for people)."""
    bundle = app.proof_bundle(tenant, number)
    if format == "html":
        return HTMLResponse(proof.render_html(bundle))
    return bundle


@router.get("/audit/verify")
def audit_verify(tenant: TenantDep, app: ServiceDep) -> ChainOut:
    """Recompute the tenant's hash chain and report the first broken link."""
    report = app.verify_ledger(tenant)
    return ChainOut(
        ok=report.ok,
        events=report.events,
        first_broken_seq=report.first_broken_seq,
        problem=report.problem,
    )
