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

from consentry.api.auth import ServiceDep, TenantDep
from consentry.api.errors import error_body
from consentry.api.schemas import Strict
from consentry.errors import InvalidInput, NotFound
from consentry.providers import twilio

router = APIRouter(tags=["providers"])


class TwilioSettingsIn(Strict):
    auth_token: str | None = Field(default=None, max_length=128, description="write-only")
    account_sid: str | None = Field(default=None, max_length=64)
    webhook_url: str | None = Field(default=None, max_length=2000)
    reply_with_twiml: bool = True


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


@router.post("/webhooks/twilio/{tenant_slug}", include_in_schema=True)
async def twilio_inbound(request: Request, tenant_slug: str) -> Response:
    """An inbound SMS from Twilio: verify, handle like ``POST /v1/inbound``, answer in TwiML."""
    from starlette.concurrency import run_in_threadpool

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
    url = settings.get("webhook_url") or str(request.url)
    header = request.headers.get(twilio.SIGNATURE_HEADER, "")
    if not twilio.signature_valid(token, url, params, header):
        return JSONResponse(
            error_body("forbidden", "X-Twilio-Signature does not match this request"), 403
        )
    missing = [name for name in ("From", "To", "Body", "MessageSid") if name not in params]
    if missing:
        raise InvalidInput(f"{missing[0]} is missing from the webhook", field=missing[0])
    result = await run_in_threadpool(
        lambda: app.receive_inbound(
            tenant,
            params["To"],
            params["From"],
            params["Body"],
            provider_message_id=params["MessageSid"][:64],
        )
    )
    reply = None
    if settings.get("reply_with_twiml", True) and result.reply is not None:
        reply = result.reply
        if result.outbox_id is not None:
            await run_in_threadpool(app.mark_outbox_sent, tenant, result.outbox_id, "sent_twiml")
    return Response(twilio.twiml(reply), media_type="application/xml")
