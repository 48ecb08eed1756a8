"""Routes of the send gate: check one message or a batch, and record what was sent.

Decisions are JSON in one shape everywhere::

    {"allowed": false, "action": "defer", "defer_until": "2026-11-24T13:00:00+00:00",
     "findings": [{"rule_id": "TIME-QUIET-HOURS", "severity": "defer", "message": "...",
                   "citation": "47 CFR 64.1200(c)(1) ...", "details": {...}}]}

Batches answer per message (``status`` 200 with its decision, or 4xx with its error), in order.
Responses are serialised with orjson: a batch of 10,000 decisions is several megabytes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from consentry.api.auth import ServiceDep, TenantDep
from consentry.api.errors import error_body, status_of
from consentry.api.schemas import Strict
from consentry.collector import collector_paused
from consentry.domain.model import Tenant
from consentry.domain.policy import decision_json
from consentry.service import MAX_BATCH, MAX_BODY, BatchItem, Consentry

router = APIRouter(prefix="/v1", tags=["send gate"])


_Body = TypeVar("_Body", bound=BaseModel)


class _JSON(Response):
    """JSON serialised by orjson (a 10,000-decision batch is several megabytes): dataclasses
    (decisions, findings), enums and datetimes are written natively."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)

    @classmethod
    def of_bytes(cls, payload: bytes) -> Response:
        """A response of JSON already serialised."""
        return Response(payload, media_type=cls.media_type)


class MessageIn(Strict):
    sender: str = Field(alias="from", min_length=1, max_length=64, description="sender address")
    recipient: str = Field(alias="to", min_length=1, max_length=64, description="recipient number")
    program: str = Field(min_length=1, max_length=64, description="program id or slug")
    body: str = Field(min_length=1, max_length=MAX_BODY)
    # Checked in pydantic's core (a Python validator costs a call per message of a batch).
    at: AwareDatetime | None = Field(
        default=None,
        description="when it would leave, with a time zone, e.g. 2026-11-23T10:00:00Z "
        "(default: now)",
    )
    category: Literal["marketing", "informational", "transactional", "conversational"] | None = None


class CheckIn(MessageIn):
    record: bool = Field(default=False, description="record the message as sent when allowed")


class BatchIn(Strict):
    messages: list[MessageIn] = Field(min_length=1, max_length=MAX_BATCH)
    record: bool = Field(default=False, description="record each allowed message as sent")


class SentIn(Strict):
    messages: list[MessageIn] = Field(min_length=1, max_length=MAX_BATCH)


@router.post("/messages:check", response_class=_JSON)
def check_message(body: CheckIn, tenant: TenantDep, app: ServiceDep) -> Response:
    """Decide whether one message may be sent now (or at ``at``), with the rules that say so."""
    item = app.check_batch(tenant, [body], record=body.record)[0]
    if item.error is not None:
        raise item.error
    assert item.decision is not None
    decision = decision_json(item.decision)
    if item.send_id is not None:
        decision["send_id"] = item.send_id
    return _JSON(decision)


def _parsed(model: type[_Body], raw: bytes) -> _Body:
    """Validate a JSON body in pydantic's Rust parser: about 4x faster than FastAPI's default
    (``json.loads`` then model validation), which matters for 10,000-message batches."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        problems = [{**problem, "loc": ("body", *problem["loc"])} for problem in error.errors()]
        raise RequestValidationError(problems) from None


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema(by_alias=True)}},
        }
    }


@router.post("/messages:check-batch", response_class=_JSON, openapi_extra=_schema(BatchIn))
async def check_batch(
    raw: Annotated[bytes, Depends(_body)], tenant: TenantDep, app: ServiceDep
) -> Response:
    """Decide up to 10,000 messages; each gets its own decision (or error), in order."""
    with collector_paused():
        return _JSON.of_bytes(_checked(raw, tenant, app))


@router.post("/messages:sent", response_class=_JSON, openapi_extra=_schema(SentIn))
def record_sent(
    raw: Annotated[bytes, Depends(_body)], tenant: TenantDep, app: ServiceDep
) -> Response:
    """Record messages as sent (frequency caps, first-message and snowshoe rules count them)."""
    with collector_paused():
        return _JSON.of_bytes(_recorded(raw, tenant, app))


def _checked(raw: bytes, tenant: Tenant, app: Consentry) -> bytes:
    # Everything a batch allocates is dropped when this returns, inside the collector's pause.
    body = _parsed(BatchIn, raw)
    return orjson.dumps(_batch_json(app.check_batch(tenant, body.messages, record=body.record)))


def _recorded(raw: bytes, tenant: Tenant, app: Consentry) -> bytes:
    body = _parsed(SentIn, raw)
    return orjson.dumps(_batch_json(app.record_sent(tenant, body.messages)))


async def _body(request: Request) -> bytes:
    return await request.body()


def _batch_json(items: list[BatchItem]) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    summary = {"send": 0, "block": 0, "defer": 0, "error": 0, "recorded": 0}
    for item in items:
        if item.error is not None:
            summary["error"] += 1
            error = error_body(item.error.code, item.error.message, field=item.error.field)
            results.append({"index": item.index, "status": status_of(item.error), **error})
            continue
        entry: dict[str, Any] = {"index": item.index, "status": 200}
        if item.decision is not None:
            summary[item.decision.action.value] += 1
            entry["decision"] = item.decision  # orjson writes the dataclasses in C
        if item.send_id is not None:
            summary["recorded"] += 1
            entry["send_id"] = item.send_id
        results.append(entry)
    return {"results": results, "summary": summary}
