"""Routes of the decisions log: the messages the send gate refused, and the rules behind them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from consentry.api.auth import ServiceDep, TenantDep
from consentry.errors import InvalidInput

router = APIRouter(prefix="/v1", tags=["send gate"])


class FindingOut(BaseModel):
    rule_id: str
    severity: str
    message: str
    citation: str
    details: dict[str, Any]


class DecisionOut(BaseModel):
    id: str
    decided_at: datetime
    send_at: datetime
    sender: str
    recipient: str
    program_id: str
    category: str
    action: str
    defer_until: datetime | None
    rule_ids: list[str]
    findings: list[FindingOut]


class RuleDayCount(BaseModel):
    rule_id: str
    day: str
    refused: int


@router.get("/decisions")
def list_decisions(
    tenant: TenantDep,
    app: ServiceDep,
    rule_id: Annotated[str | None, Query(max_length=48)] = None,
    recipient: Annotated[str | None, Query(max_length=32)] = None,
    action: Annotated[Literal["block", "defer"] | None, Query()] = None,
    since: Annotated[
        str | None, Query(max_length=40, description="ISO 8601 time with a zone")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DecisionOut]:
    """Messages the gate blocked or deferred, newest first, with each finding and its citation."""
    logged = app.list_decisions(
        tenant,
        rule_id=rule_id,
        recipient=recipient,
        action=action,
        since=_instant(since),
        limit=limit,
    )
    return [
        DecisionOut(
            id=d.id,
            decided_at=d.decided_at,
            send_at=d.send_at,
            sender=d.sender,
            recipient=d.recipient,
            program_id=d.program_id,
            category=d.category,
            action=d.action,
            defer_until=d.defer_until,
            rule_ids=d.rule_ids,
            findings=[FindingOut(**f) for f in d.findings],
        )
        for d in logged
    ]


def _instant(text: str | None) -> datetime | None:
    """An ISO 8601 time (a bare number is not one: pydantic would read it as epoch seconds)."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"since must be an ISO 8601 time; got {text!r}", field="since") from None


@router.get("/reports/decisions-per-rule")
def decisions_per_rule(
    tenant: TenantDep, app: ServiceDep, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> list[RuleDayCount]:
    """How many messages each rule refused on each UTC day of the last ``days`` days."""
    counts = app.decision_counts(tenant, days=days)
    return [
        RuleDayCount(rule_id=rule_id, day=day.isoformat(), refused=n)
        for (rule_id, day), n in sorted(counts.items())
    ]
