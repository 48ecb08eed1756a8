"""Provider webhooks (inbound replies) and the providers' settings.

``POST /webhooks/twilio/{tenant}``: Twilio's Messaging webhook (form-encoded). The signature is
checked with the tenant's auth token before anything else; a request that fails it gets 403
and changes nothing. The reply goes back as TwiML in the response (and the outbox entry is marked
as sent that way), or stays in the outbox when the tenant chose so. A retry of the same
MessageSid is processed once.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from consentry.api.auth import ServiceDep, TenantDep
from consentry.api.errors import error_body
from consentry.api.schemas import Strict
from consentry.domain.model import Tenant
from consentry.errors import InvalidInput, NotFound
from consentry.providers import twilio
from consentry.providers.keywords import answered_by_provider

router = APIRouter(tags=["providers"])


class TwilioSettingsIn(Strict):
    auth_token: str | None = Field(default=None, max_length=128, description="write-only")
    account_sid: str | None = Field(default=None, max_length=64)
    webhook_url: str | None = Field(default=None, max_length=2000)
    reply_with_twiml: bool = True
    provider_answers_keywords: bool = Field(
        default=False, description="Twilio's own keyword handling answers STOP/START/HELP"
    )


@router.put("/v1/providers/{provider}")
def configure_provider(
    provider: Literal["twilio"], body: TwilioSettingsIn, tenant: TenantDep, app: ServiceDep
) -> dict[str, Any]:
    """Store the tenant's provider settings; secrets are never returned."""
    settings = body.model_dump(exclude_none=True)
    return app.configure_provider(tenant, provider, settings)


@router.get("/v1/providers/{provider}")
def provider_settings(
    provider: Literal["twilio"], tenant: TenantDep, app: ServiceDep
) -> dict[str, Any]:
    """The tenant's provider settings, without secrets."""
    return app.provider_view(tenant, provider)


async def _verified_twilio(
    request: Request, tenant_slug: str
) -> tuple[Tenant, dict[str, Any], dict[str, str]] | Response:
    """The tenant, its Twilio settings and the form, or the 404/403 response to give instead."""
    app = request.app.state.service
    try:
        tenant = await run_in_threadpool(app.get_tenant, tenant_slug)
        if tenant.slug != tenant_slug:
            raise NotFound(f"no tenant {tenant_slug!r}", field="tenant")
        settings, token = await run_in_threadpool(app.provider_secret, tenant, "twilio")
    except NotFound as error:
        return JSONResponse(error_body(error.code, error.message, field=error.field), 404)
    form = await request.form()
    params = {key: str(value) for key, value in form.items()}
    url = str(request.url)
    if settings.get("webhook_url"):
        url = str(settings["webhook_url"]).rstrip("/") + request.url.path.split(tenant_slug, 1)[1]
    header = request.headers.get(twilio.SIGNATURE_HEADER, "")
    if not twilio.signature_valid(token, url, params, header):
        return JSONResponse(
            error_body("forbidden", "X-Twilio-Signature does not match this request"), 403
        )
    return tenant, settings, params


def _required(params: dict[str, str], *names: str) -> None:
    missing = [name for name in names if not params.get(name)]
    if missing:
        raise InvalidInput(f"{missing[0]} is missing from the webhook", field=missing[0])


@router.post("/webhooks/twilio/{tenant_slug}")
async def twilio_inbound(request: Request, tenant_slug: str) -> Response:
    """An inbound SMS from Twilio: verify, handle like ``POST /v1/inbound``, answer in TwiML."""
    verified = await _verified_twilio(request, tenant_slug)
    if isinstance(verified, Response):
        return verified
    tenant, settings, params = verified
    _required(params, "From", "To", "MessageSid")
    app = request.app.state.service
    result = await run_in_threadpool(
        lambda: app.receive_inbound(
            tenant,
            params["To"],
            params["From"],
            params.get("Body", ""),
            provider_message_id=params["MessageSid"][:64],
        )
    )
    reply = None
    if (
        settings.get("provider_answers_keywords")
        and result.outbox_id is not None
        and answered_by_provider("twilio", params.get("Body", ""))
    ):
        # Twilio has already answered this keyword: a second confirmation would be one too many.
        await run_in_threadpool(app.mark_outbox_sent, tenant, result.outbox_id, "provider_replied")
    elif settings.get("reply_with_twiml", True) and result.reply is not None:
        reply = result.reply
        if result.outbox_id is not None:
            await run_in_threadpool(app.mark_outbox_sent, tenant, result.outbox_id, "sent_twiml")
    return Response(twilio.twiml(reply), media_type="application/xml")


@router.post("/webhooks/twilio/{tenant_slug}/status")
async def twilio_status(request: Request, tenant_slug: str) -> Response:
    """Twilio's delivery report for a message consentry sent (status callback)."""
    verified = await _verified_twilio(request, tenant_slug)
    if isinstance(verified, Response):
        return verified
    tenant, _settings, params = verified
    _required(params, "MessageSid", "MessageStatus")
    app = request.app.state.service
    known = await run_in_threadpool(
        app.record_delivery_report,
        tenant,
        params["MessageSid"][:64],
        params["MessageStatus"],
        params.get("ErrorCode") or None,
    )
    return JSONResponse({"recorded": known})
