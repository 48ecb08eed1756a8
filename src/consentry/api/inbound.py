"""Routes of inbound replies (STOP / START / HELP and the rest) and the reply outbox."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from consentry.api.auth import ServiceDep, TenantDep
from consentry.api.schemas import ClassificationOut, InboundIn, InboundOut, ReplyOut, Strict

router = APIRouter(prefix="/v1", tags=["inbound"])


@router.post("/inbound", response_model_by_alias=True)
def receive_inbound(body: InboundIn, tenant: TenantDep, app: ServiceDep) -> InboundOut:
    """Classify and act on one reply; the reply to send (if any) is returned and queued."""
    result = app.receive_inbound(
        tenant,
        body.sender,
        body.recipient,
        body.body,
        received_at=body.received_at,
        language=body.language,
    )
    verdict = result.classification
    return InboundOut(
        id=result.inbound_id,
        sender=result.sender_address,
        recipient=result.recipient,
        classification=ClassificationOut(
            kind=verdict.kind.value,
            keyword=verdict.keyword,
            language=verdict.language,
            stage=verdict.stage,
            account_wide=verdict.account_wide,
        ),
        action=result.action,
        scopes=[str(scope) for scope in result.scopes],
        reply=(
            ReplyOut(body=result.reply, outbox_id=result.outbox_id)
            if result.reply is not None and result.outbox_id is not None
            else None
        ),
        needs_review=result.needs_review,
        notes=list(result.notes),
    )


@router.get("/inbound")
def list_inbound(
    tenant: TenantDep,
    app: ServiceDep,
    needs_review: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Received replies, newest first; ``needs_review=true`` lists the ambiguous ones."""
    return app.list_inbound(tenant, needs_review=needs_review, limit=limit)


@router.get("/outbox")
def list_outbox(
    tenant: TenantDep,
    app: ServiceDep,
    to: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Replies queued for delivery (confirmations, HELP answers), newest first."""
    return app.list_outbox(tenant, recipient=to, limit=limit)


class ResolveIn(Strict):
    decision: Literal["opt_out", "not_a_revocation"]
    actor: str | None = Field(default=None, max_length=200, description="who decided")


@router.get("/review")
def review_queue(
    tenant: TenantDep,
    app: ServiceDep,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Replies held as possible revocations, soonest due first (``overdue=true``: past due).

    47 CFR 64.1200(a)(10): a revocation must be honoured within ten business days.
    """
    return app.review_queue(tenant, overdue=overdue, limit=limit)


@router.post("/inbound/{inbound_id}:resolve")
def resolve_review(
    inbound_id: str, body: ResolveIn, tenant: TenantDep, app: ServiceDep
) -> dict[str, Any]:
    """Decide a held reply: ``opt_out`` applies it where STOP would land."""
    return app.resolve_review(tenant, inbound_id, body.decision, actor=body.actor)


@router.get("/reports/late-confirmations")
def late_confirmations(tenant: TenantDep, app: ServiceDep) -> list[dict[str, Any]]:
    """Opt-out confirmations handed to the provider more than five minutes after the STOP (or
    still waiting past that), over the last 30 days."""
    return app.late_confirmations(tenant)
