"""Azure Communication Services: Event Grid webhooks (inbound SMS) and the tenant's settings.

``PUT/GET /v1/providers/azure``: the tenant's settings. ``webhook_secret`` is write-only (the
view says ``secret_set``); ``reply_via`` is only ``"outbox"``: Event Grid has no way to carry a
reply, so confirmations and HELP answers stay queued in the outbox for delivery.

``POST /webhooks/azure/{tenant}``: the Event Grid subscription's webhook (Event Grid schema, a
JSON array of events). Event Grid cannot sign deliveries to a plain webhook, so the subscription's
URL carries the tenant's shared secret, as ``?code=<webhook_secret>`` or in the
``X-Consentry-Webhook-Secret`` header (the first when the URL is all Event Grid lets you set).
It is checked before anything else: a delivery without it gets 403 and changes nothing.

* ``Microsoft.EventGrid.SubscriptionValidationEvent`` (the handshake when the subscription is
  created, delivered alone): answered ``{"validationResponse": <validationCode>}``.
* ``Microsoft.Communication.SMSReceived``: handled like ``POST /v1/inbound``; a retried delivery
  of the same ``messageId`` is processed once (counted in ``duplicates``).
* ``Microsoft.Communication.SMSDeliveryReportReceived``: the delivery report of a message
  consentry sent through the ``azure`` transport, stored on it like Twilio's status callback
  (counted in ``delivery_reports``; a report for an unknown message id is counted in
  ``ignored``); a report saying the recipient opted out also opts them out at that sender here
  (source ``provider``). Idempotent on the message id.
* Any other event type is acknowledged and ignored (counted in ``ignored``).

Sending (the ``azure`` transport) and opt-out sync use ``connection_string`` (write-only,
``endpoint=https://<resource>.communication.azure.com/;accesskey=<key>``); ``delivery_reports``
(default true) asks Azure for delivery reports.

Every event of a delivery is validated before any is processed: one malformed event makes the
whole delivery 422 (naming it, e.g. ``0.data.from``) and nothing of it is stored.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field, StrictBool
from starlette.concurrency import run_in_threadpool

from consentry.api.auth import ServiceDep, TenantDep
from consentry.api.errors import error_body
from consentry.api.schemas import Strict
from consentry.domain.model import Tenant
from consentry.domain.numbers import sender_lookup_key, to_e164
from consentry.errors import InvalidInput, NotFound
from consentry.providers import payload_text, zoned_time
from consentry.providers.delivery_events import AZURE_DELIVERY_REPORT, DeliveryEvent, azure_event
from consentry.providers.keywords import answered_by_provider
from consentry.service import MAX_INBOUND_BODY, Consentry

router = APIRouter(tags=["providers"])

PROVIDER = "azure"
SECRET_HEADER = "X-Consentry-Webhook-Secret"
VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
SMS_RECEIVED = "Microsoft.Communication.SMSReceived"
_MAX_MESSAGE_ID = 64  # the width of inbound.provider_message_id


class AzureSettingsIn(Strict):
    webhook_secret: str | None = Field(
        default=None,
        max_length=256,
        description="write-only; 24 to 256 URL-safe characters (letters, digits, - _ . ~); "
        "required the first time, kept when left out later",
    )
    reply_via: Literal["outbox"] = Field(
        default="outbox", description="replies stay queued in the outbox for delivery"
    )
    connection_string: str | None = Field(
        default=None,
        max_length=2000,
        description="write-only; for sending and opt-out sync: "
        "endpoint=https://<resource>.communication.azure.com/;accesskey=<key>",
    )
    delivery_reports: StrictBool = Field(
        default=True, description="ask Azure for delivery reports (through Event Grid)"
    )
    provider_answers_keywords: StrictBool = Field(
        default=False,
        description="Azure's own keyword handling answers STOP/START/HELP: consentry does not "
        "answer those a second time",
    )


@router.put("/v1/providers/azure")
def configure_azure(body: AzureSettingsIn, tenant: TenantDep, app: ServiceDep) -> dict[str, Any]:
    """Store the tenant's Azure Communication Services settings; the secret is never returned."""
    return app.configure_provider(tenant, PROVIDER, body.model_dump(exclude_none=True))


@router.get("/v1/providers/azure")
def azure_settings(tenant: TenantDep, app: ServiceDep) -> dict[str, Any]:
    """The tenant's Azure settings, without the secret (``secret_set``)."""
    return app.provider_view(tenant, PROVIDER)


@dataclass(frozen=True)
class InboundSms:
    """One ``SMSReceived`` event, validated."""

    sender: str  # the business number it was sent to (data.to)
    recipient: str  # the person who sent it (data.from)
    body: str
    received_at: datetime
    message_id: str


@dataclass
class Delivery:
    """One Event Grid delivery, validated: the messages, the handshake code, the rest."""

    messages: list[InboundSms] = field(default_factory=list)
    reports: list[DeliveryEvent] = field(default_factory=list)
    validation_code: str | None = None
    ignored: int = 0


def parse_delivery(payload: Any, region: str) -> Delivery:
    """Validate a whole delivery (Event Grid schema) before anything of it is processed.

    Raises :class:`InvalidInput` naming the first bad field, e.g. ``"1.data.from"``.
    """
    if not isinstance(payload, list):
        raise InvalidInput("the body must be a JSON array of Event Grid events (Event Grid schema)")
    delivery = Delivery()
    for index, event in enumerate(payload):
        if not isinstance(event, dict):
            raise InvalidInput(f"event {index} must be a JSON object", field=str(index))
        kind = payload_text(event, "eventType", str(index))
        if kind == VALIDATION_EVENT:
            data = _data(event, index)
            delivery.validation_code = payload_text(data, "validationCode", f"{index}.data")
        elif kind == SMS_RECEIVED:
            delivery.messages.append(_sms(event, index, region))
        elif kind == AZURE_DELIVERY_REPORT:
            delivery.reports.append(azure_event(event, index))
        else:
            delivery.ignored += 1
    if delivery.validation_code is not None and len(payload) > 1:
        raise InvalidInput(
            f"a {VALIDATION_EVENT} is delivered alone; got {len(payload)} events", field=None
        )
    return delivery


_EVENTS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {"type": "object"},
                    "description": "Event Grid events (Event Grid schema)",
                }
            }
        },
    }
}


@router.post("/webhooks/azure/{tenant_slug}", openapi_extra=_EVENTS_BODY)
async def azure_inbound(
    request: Request,
    tenant_slug: str,
    app: ServiceDep,
    code: Annotated[str | None, Query(description="the tenant's webhook_secret")] = None,
    secret: Annotated[
        str | None, Header(alias=SECRET_HEADER, description="or the secret in a header")
    ] = None,
) -> Response:
    """An Event Grid delivery from Azure Communication Services: handshake or inbound SMS."""
    tenant, settings, expected = await run_in_threadpool(_tenant_and_secret, app, tenant_slug)
    if not _secret_matches(expected, code, secret):
        message = f"the webhook secret (?code= or {SECRET_HEADER}) is missing or wrong"
        return JSONResponse(error_body("forbidden", message), 403)
    raw = await request.body()
    delivery = await run_in_threadpool(_parse, raw, tenant.default_region)
    if delivery.validation_code is not None:
        return JSONResponse({"validationResponse": delivery.validation_code})
    provider_answers = bool(settings.get("provider_answers_keywords"))
    received, duplicates = await run_in_threadpool(
        _receive, app, tenant, delivery.messages, provider_answers
    )
    reports = await run_in_threadpool(_reports, app, tenant, delivery.reports)
    return JSONResponse(
        {
            "received": received,
            "duplicates": duplicates,
            "delivery_reports": reports,
            "ignored": delivery.ignored + len(delivery.reports) - reports,
        }
    )


def _parse(raw: bytes, region: str) -> Delivery:
    try:
        payload = json.loads(raw)
    except ValueError as error:  # UnicodeDecodeError is a ValueError too
        raise InvalidInput(f"the body is not JSON ({error})") from error
    return parse_delivery(payload, region)


def _tenant_and_secret(app: Consentry, slug: str) -> tuple[Tenant, dict[str, Any], str]:
    tenant = app.get_tenant(slug)
    if tenant.slug != slug:  # get_tenant also accepts ids; the webhook URL names the slug
        raise NotFound(f"no tenant {slug!r}", field="tenant")
    settings, secret = app.provider_secret(tenant, PROVIDER)
    return tenant, settings, secret


def _secret_matches(expected: str, *given: str | None) -> bool:
    """Whether any of the given secrets is the tenant's (compared in constant time)."""
    want = expected.encode("utf-8")
    matches = [
        hmac.compare_digest(value.encode("utf-8"), want) for value in given if value is not None
    ]
    return any(matches)


def _receive(
    app: Consentry, tenant: Tenant, messages: list[InboundSms], provider_answers: bool
) -> tuple[int, int]:
    received = duplicates = 0
    for sms in messages:
        result = app.receive_inbound(
            tenant,
            sms.sender,
            sms.recipient,
            sms.body,
            received_at=sms.received_at,
            provider_message_id=sms.message_id,
        )
        if result.action == "duplicate":
            duplicates += 1
        else:
            received += 1
            if (
                provider_answers
                and result.outbox_id is not None
                and answered_by_provider(PROVIDER, sms.body)
            ):
                # Azure has already answered this keyword: a second answer would be one too many.
                app.mark_outbox_sent(tenant, result.outbox_id, "provider_replied")
    return received, duplicates


def _reports(app: Consentry, tenant: Tenant, reports: list[DeliveryEvent]) -> int:
    """Store each delivery report on its message; how many concerned a message of this tenant."""
    known = 0
    for report in reports:
        failed = report.status not in ("delivered",)
        known += app.record_delivery_report(
            tenant,
            report.message_id,
            report.status,
            detail=report.detail if failed else None,
            opted_out="Azure reported the recipient opted out at this sender"
            if report.opted_out
            else None,
        )
    return known


def _data(event: dict[str, Any], index: int) -> dict[str, Any]:
    data = event.get("data")
    if not isinstance(data, dict):
        raise InvalidInput(f"event {index} must have a data object", field=f"{index}.data")
    return data


def _sms(event: dict[str, Any], index: int, region: str) -> InboundSms:
    data, at = _data(event, index), f"{index}.data"
    recipient = to_e164(payload_text(data, "from", at), region, field=f"{at}.from")
    sender = sender_lookup_key(payload_text(data, "to", at), region, field=f"{at}.to")
    body = payload_text(data, "message", at)
    if len(body) > MAX_INBOUND_BODY:
        raise InvalidInput(
            f"{at}.message is {len(body)} characters; at most {MAX_INBOUND_BODY}",
            field=f"{at}.message",
        )
    message_id = payload_text(data, "messageId", at).strip()
    if not message_id:
        raise InvalidInput(f"{at}.messageId is empty", field=f"{at}.messageId")
    if "receivedTimestamp" in data or "eventTime" not in event:
        received_at = zoned_time(
            payload_text(data, "receivedTimestamp", at), f"{at}.receivedTimestamp"
        )
    else:  # optional in the SDKs' schema: then when Event Grid got the event
        received_at = zoned_time(payload_text(event, "eventTime", str(index)), f"{index}.eventTime")
    return InboundSms(sender, recipient, body, received_at, message_id[:_MAX_MESSAGE_ID])
