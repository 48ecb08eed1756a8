"""Routes of the decisions log: the messages the send gate refused, and the rules behind them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from consentry.api.auth import ServiceDep, TenantDep
from consentry.errors import InvalidInput
from consentry.service._decisions import MAX_CURSOR

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


_PAGING_HEADERS: dict[str, Any] = {
    "Link": {
        "description": "The next older page, same filters: "
        '`</v1/decisions?...&before=...>; rel="next"` (absent on the last page)',
        "schema": {"type": "string"},
    },
    "X-Next-Cursor": {
        "description": "The cursor to pass as `before` for the next older page (absent on the "
        "last page)",
        "schema": {"type": "string"},
    },
}


@router.get("/decisions", responses={200: {"headers": _PAGING_HEADERS}})
def list_decisions(
    request: Request,
    response: Response,
    tenant: TenantDep,
    app: ServiceDep,
    rule_id: Annotated[str | None, Query(max_length=48)] = None,
    recipient: Annotated[str | None, Query(max_length=32)] = None,
    action: Annotated[Literal["block", "defer"] | None, Query()] = None,
    since: Annotated[
        str | None, Query(max_length=40, description="ISO 8601 time with a zone")
    ] = None,
    before: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR,
            description="A cursor from the previous page's `X-Next-Cursor` (or `Link`) header: "
            "the entries older than that page's last one",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DecisionOut]:
    """Messages the gate blocked or deferred, newest first, with each finding and its citation.

    Pages: when older entries remain, the response carries their cursor in `X-Next-Cursor` and a
    `Link` header (`rel="next"`) with the same filters; pass it as `before`. Entries logged
    meanwhile never shift an older page."""
    page = app.decisions_page(
        tenant,
        rule_id=rule_id,
        recipient=recipient,
        action=action,
        since=_instant(since),
        before=before,
        limit=limit,
    )
    if page.older is not None:
        following = request.url.include_query_params(before=page.older)
        response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
        response.headers["X-Next-Cursor"] = page.older
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
        for d in page.decisions
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
