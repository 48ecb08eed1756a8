"""AWS End User Messaging SMS: inbound messages through Amazon SNS, and the tenant's settings.

``PUT/GET /v1/providers/aws``: the tenant's settings. ``topic_arn`` (required) is the SNS topic
the tenant's phone numbers publish inbound messages to; ``cert_host_pattern`` (default SNS's
own hosts, ``^sns\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?$``) the hosts ``SigningCertURL`` and
``SubscribeURL`` may point at; ``auto_confirm_subscription`` (default true). There is no secret
(SNS signs every message), so the view shows everything and ``secret_set`` is false. Replies
stay queued in the outbox: an SNS delivery cannot carry one.

``POST /webhooks/aws-sns/{tenant}``: the topic's HTTPS subscription. SNS posts a JSON message
(as ``text/plain``), the type also in ``x-amz-sns-message-type``. Before anything is done, the
message must be for the configured topic, at most an hour old, and signed (SignatureVersion 1:
SHA1withRSA, 2: SHA256withRSA) by the certificate at ``SigningCertURL``, which is only fetched
over https from a host matching ``cert_host_pattern``; otherwise 403 and nothing changes.

* ``SubscriptionConfirmation``: with ``auto_confirm_subscription`` the ``SubscribeURL`` (https on
  an allowed host too) is fetched, ``{"confirmed": true}``; without, ``{"confirmed": false,
  "subscribe_url": ...}`` for someone to visit.
* ``Notification``: the inbound SMS in ``Message`` is handled like ``POST /v1/inbound``,
  ``{"action": ..., "duplicate": ...}``; SNS retries of the same ``inboundMessageId`` are
  processed once.
* ``Notification`` carrying an SMS event (a configuration set's SNS event destination, on
  ``topic_arn`` or ``events_topic_arn``): the delivery report of a message consentry sent
  (``TEXT_DELIVERED``, ``TEXT_BLOCKED``, ...) is stored on it like Twilio's status callback,
  ``{"delivery_report": true}`` (false: no message of this tenant has that id); an opted-out
  report also opts the recipient out at that sender (source ``provider``). Idempotent on the
  message id.
* ``UnsubscribeConfirmation``: acknowledged, ``{"unsubscribed": true}``.

Sending (the ``aws`` transport) uses ``region``, ``access_key_id`` / ``secret_access_key``
(write-only; or neither, for the machine's own credentials) and ``configuration_set``; opt-out
sync uses ``opt_out_list``.

Certificates are fetched by :class:`SnsWeb` (httpx, a timeout, no redirects, cached per URL in a
bounded cache). Production uses :data:`DEFAULT_WEB`, which only ever speaks https. The one test
hook is ``app.state.aws_sns``: an :class:`SnsWeb` built with other ``schemes`` (the tests allow
``http`` to serve a certificate of their own from 127.0.0.1). Hosts are still those of the
tenant's ``cert_host_pattern``.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import httpx
from cryptography import x509
from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field, StrictBool
from starlette.concurrency import run_in_threadpool

from consentry.api.auth import ServiceDep, TenantDep
from consentry.api.errors import error_body
from consentry.api.schemas import Strict
from consentry.domain.model import Tenant
from consentry.domain.numbers import sender_lookup_key, to_e164
from consentry.errors import InvalidInput, NotFound
from consentry.providers import aws_sns, payload_text
from consentry.providers.aws_sns import Untrusted
from consentry.providers.delivery_events import aws_event, is_aws_event
from consentry.providers.keywords import answered_by_provider
from consentry.service import MAX_INBOUND_BODY, Consentry

router = APIRouter(tags=["providers"])

PROVIDER = "aws"
STATE_ATTRIBUTE = "aws_sns"  # the test hook: app.state.aws_sns = SnsWeb(schemes=...)
_MAX_MESSAGE_ID = 64  # the width of inbound.provider_message_id
_MAX_CERTIFICATE = 64 * 1024


class AwsSettingsIn(Strict):
    topic_arn: str | None = Field(
        default=None,
        max_length=400,
        description="required: the SNS topic inbound messages are published to, "
        "arn:aws:sns:<region>:<account>:<name>",
    )
    cert_host_pattern: str | None = Field(
        default=None,
        max_length=300,
        description="regular expression the host of SigningCertURL and SubscribeURL must match "
        "entirely; default SNS's own hosts",
    )
    auto_confirm_subscription: StrictBool = Field(
        default=True, description="confirm the topic's subscription by fetching SubscribeURL"
    )
    events_topic_arn: str | None = Field(
        default=None,
        max_length=400,
        description="the SNS topic SMS events (delivery reports) are published to, when it is "
        "not topic_arn",
    )
    region: str | None = Field(
        default=None, max_length=40, description="for sending: the AWS region, e.g. us-west-2"
    )
    access_key_id: str | None = Field(
        default=None, max_length=128, description="for sending: static credentials (optional)"
    )
    secret_access_key: str | None = Field(
        default=None, max_length=128, description="write-only; with access_key_id"
    )
    configuration_set: str | None = Field(
        default=None, max_length=256, description="for sending: the configuration set (events)"
    )
    opt_out_list: str | None = Field(
        default=None, max_length=256, description="for opt-out sync: the opt-out list name"
    )
    provider_answers_keywords: StrictBool = Field(
        default=False,
        description="AWS's own keyword handling answers the opt-out keywords (not self-managed "
        "opt-outs): consentry does not answer those a second time",
    )


@router.put("/v1/providers/aws")
def configure_aws(body: AwsSettingsIn, tenant: TenantDep, app: ServiceDep) -> dict[str, Any]:
    """Store the tenant's AWS End User Messaging SMS (Amazon SNS) settings."""
    return app.configure_provider(tenant, PROVIDER, body.model_dump(exclude_none=True))


@router.get("/v1/providers/aws")
def aws_settings(tenant: TenantDep, app: ServiceDep) -> dict[str, Any]:
    """The tenant's AWS settings (no secret: ``secret_set`` is false)."""
    return app.provider_view(tenant, PROVIDER)


class Unavailable(Exception):
    """The signing certificate could not be fetched right now (SNS retries later)."""


class SnsWeb:
    """What the webhook fetches: signing certificates (cached per URL) and subscription URLs.

    Every URL must be one of ``schemes`` (only ``https`` unless a test says otherwise) on a host
    matching the tenant's pattern; redirects are not followed.
    """

    def __init__(
        self,
        *,
        schemes: Collection[str] = ("https",),
        timeout: float = 5.0,
        cache_size: int = 32,
    ) -> None:
        self.schemes = frozenset(scheme.lower() for scheme in schemes)
        self.timeout = timeout
        self.cache_size = cache_size
        self._cache: OrderedDict[str, x509.Certificate] = OrderedDict()
        self._lock = threading.Lock()

    def certificate(self, url: str, host_pattern: str) -> x509.Certificate:
        """The certificate at ``url``; :class:`Untrusted` or :class:`Unavailable` if none."""
        aws_sns.check_url(url, host_pattern, "SigningCertURL", self.schemes)
        with self._lock:
            if url in self._cache:
                self._cache.move_to_end(url)
                return self._cache[url]
        certificate = aws_sns.load_certificate(self._download(url))
        with self._lock:
            self._cache[url] = certificate
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return certificate

    def confirm(self, url: str, host_pattern: str) -> bool:
        """Visit ``SubscribeURL``; whether SNS accepted it (:class:`Untrusted` if not allowed)."""
        aws_sns.check_url(url, host_pattern, "SubscribeURL", self.schemes)
        try:
            response = httpx.get(url, timeout=self.timeout, follow_redirects=False)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def _download(self, url: str) -> bytes:
        try:
            with httpx.stream("GET", url, timeout=self.timeout, follow_redirects=False) as answer:
                if answer.status_code >= 500:
                    raise Unavailable(f"SigningCertURL answered {answer.status_code}")
                if answer.status_code != 200:
                    raise Untrusted(f"SigningCertURL answered {answer.status_code}")
                content = b""
                for chunk in answer.iter_bytes():
                    content += chunk
                    if len(content) > _MAX_CERTIFICATE:
                        raise Untrusted("SigningCertURL holds more than a certificate")
                return content
        except httpx.HTTPError as error:
            raise Unavailable(
                f"SigningCertURL could not be fetched ({type(error).__name__})"
            ) from error


DEFAULT_WEB = SnsWeb()


def sns_web(request: Request) -> SnsWeb:
    """The app's :class:`SnsWeb`: :data:`DEFAULT_WEB` unless a test installed another."""
    web = getattr(request.app.state, STATE_ATTRIBUTE, None)
    return web if isinstance(web, SnsWeb) else DEFAULT_WEB


@dataclass(frozen=True)
class InboundSms:
    """The SMS in a ``Notification``'s ``Message``, validated."""

    sender: str  # the business number it was sent to (destinationNumber)
    recipient: str  # the person who sent it (originationNumber)
    body: str
    message_id: str


def parse_message(payload: Any, header_type: str | None) -> dict[str, str]:
    """The SNS message, with every signed key; :class:`InvalidInput` naming the first bad one."""
    message = aws_sns.check_envelope(payload)
    if header_type is not None and header_type != message["Type"]:
        raise InvalidInput(
            f"{aws_sns.MESSAGE_TYPE_HEADER} is {header_type!r} but the message's Type is "
            f"{message['Type']!r}",
            field=aws_sns.MESSAGE_TYPE_HEADER,
        )
    return message


def parse_sms(text: str, region: str) -> InboundSms:
    """The inbound SMS in a ``Notification``'s ``Message`` (AWS End User Messaging's JSON)."""
    try:
        payload = json.loads(text)
    except ValueError as error:
        raise InvalidInput(f"Message is not JSON ({error})", field="Message") from error
    if not isinstance(payload, dict):
        raise InvalidInput("Message must be a JSON object", field="Message")
    recipient = to_e164(
        payload_text(payload, "originationNumber", "Message"),
        region,
        field="Message.originationNumber",
    )
    sender = sender_lookup_key(
        payload_text(payload, "destinationNumber", "Message"),
        region,
        field="Message.destinationNumber",
    )
    body = payload_text(payload, "messageBody", "Message")
    if len(body) > MAX_INBOUND_BODY:
        raise InvalidInput(
            f"Message.messageBody is {len(body)} characters; at most {MAX_INBOUND_BODY}",
            field="Message.messageBody",
        )
    message_id = payload_text(payload, "inboundMessageId", "Message").strip()
    if not message_id:
        raise InvalidInput("Message.inboundMessageId is empty", field="Message.inboundMessageId")
    return InboundSms(sender, recipient, body, message_id[:_MAX_MESSAGE_ID])


_SNS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/plain": {
                "schema": {"type": "string", "description": "an Amazon SNS message (JSON)"}
            }
        },
    }
}


@router.post("/webhooks/aws-sns/{tenant_slug}", openapi_extra=_SNS_BODY)
async def aws_sns_inbound(
    request: Request,
    tenant_slug: str,
    app: ServiceDep,
    message_type: Annotated[
        str | None, Header(alias=aws_sns.MESSAGE_TYPE_HEADER, description="the message's Type")
    ] = None,
) -> Response:
    """An Amazon SNS message: subscription handshake or inbound SMS from AWS End User Messaging."""
    tenant, settings = await run_in_threadpool(_tenant_and_settings, app, tenant_slug)
    raw = await request.body()
    message = parse_message(_json(raw), message_type)
    web = sns_web(request)
    try:
        at = await run_in_threadpool(_verified, app, web, settings, message)
        if message["Type"] == aws_sns.SUBSCRIPTION_CONFIRMATION:
            return await _subscription(web, settings, message)
    except Untrusted as error:
        return JSONResponse(error_body("forbidden", str(error)), 403)
    except Unavailable as error:
        return JSONResponse(error_body("unavailable", str(error)), 503)
    if message["Type"] == aws_sns.UNSUBSCRIBE_CONFIRMATION:
        return JSONResponse({"unsubscribed": True})
    payload = _message_json(message["Message"])
    if is_aws_event(payload):
        event = aws_event(payload)
        known = await run_in_threadpool(
            lambda: app.record_delivery_report(
                tenant,
                event.message_id,
                event.status,
                detail=event.detail if event.status not in ("delivered", "successful") else None,
                opted_out="AWS reported the recipient opted out at this sender"
                if event.opted_out
                else None,
            )
        )
        return JSONResponse({"delivery_report": known})
    sms = parse_sms(message["Message"], tenant.default_region)
    result = await run_in_threadpool(
        app.receive_inbound,
        tenant,
        sms.sender,
        sms.recipient,
        sms.body,
        received_at=at,
        provider_message_id=sms.message_id,
    )
    if (
        settings.get("provider_answers_keywords")
        and result.outbox_id is not None
        and answered_by_provider(PROVIDER, sms.body)
    ):
        # AWS has already answered this keyword: a second answer would be one too many.
        await run_in_threadpool(app.mark_outbox_sent, tenant, result.outbox_id, "provider_replied")
    return JSONResponse({"action": result.action, "duplicate": result.action == "duplicate"})


async def _subscription(web: SnsWeb, settings: dict[str, Any], message: dict[str, str]) -> Response:
    url = message["SubscribeURL"]
    pattern = str(settings["cert_host_pattern"])
    if not settings.get("auto_confirm_subscription", True):
        aws_sns.check_url(url, pattern, "SubscribeURL", web.schemes)
        return JSONResponse({"confirmed": False, "subscribe_url": url})
    if not await run_in_threadpool(web.confirm, url, pattern):
        return JSONResponse(error_body("bad_gateway", "SubscribeURL did not confirm"), 502)
    return JSONResponse({"confirmed": True})


def _message_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None  # parse_sms names the problem


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as error:  # UnicodeDecodeError is a ValueError too
        raise InvalidInput(f"the body is not JSON ({error})") from error


def _tenant_and_settings(app: Consentry, slug: str) -> tuple[Tenant, dict[str, Any]]:
    tenant = app.get_tenant(slug)
    if tenant.slug != slug:  # get_tenant also accepts ids; the webhook URL names the slug
        raise NotFound(f"no tenant {slug!r}", field="tenant")
    settings, _secret = app.provider_secret(tenant, PROVIDER)
    return tenant, settings


def _verified(
    app: Consentry, web: SnsWeb, settings: dict[str, Any], message: dict[str, str]
) -> datetime:
    """The message's time once it is trusted; :class:`Untrusted` (or :class:`Unavailable`)."""
    if message["TopicArn"] not in (settings["topic_arn"], settings.get("events_topic_arn")):
        raise Untrusted(
            f"the message is from topic {message['TopicArn']!r}, not the configured one"
        )
    now = app.now()
    at = aws_sns.check_fresh(message, now)
    pattern = str(settings["cert_host_pattern"])
    certificate = web.certificate(message["SigningCertURL"], pattern)
    aws_sns.verify(message, certificate, now)
    return at
