"""Providers: each tenant's settings per messaging provider (secrets write-only)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from consentry.domain.model import Tenant
from consentry.errors import InvalidInput, NotFound
from consentry.service._checks import web_url
from consentry.service._inbound import InboundLayer
from consentry.store import messages
from consentry.store.tables import provider_settings

PROVIDERS = ("twilio",)
_TWILIO_TOKEN = re.compile(r"^[A-Za-z0-9]{16,128}$")
_TWILIO_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")


class ProvidersLayer(InboundLayer):
    """Providers: each tenant's settings per messaging provider (secrets write-only)."""

    def configure_provider(
        self, tenant: Tenant, provider: str, settings: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Store ``provider`` settings for ``tenant``; return what may be shown (no secret).

        Twilio: ``auth_token`` (required the first time; kept when left out later),
        ``account_sid``, ``webhook_url`` (the URL configured in Twilio, when a proxy in front of
        consentry changes it) and ``reply_with_twiml`` (default true: answer in the webhook's
        response; false: leave replies in the outbox for delivery).
        """
        if provider not in PROVIDERS:
            raise InvalidInput(
                f"provider must be one of {', '.join(PROVIDERS)}; got {provider!r}",
                field="provider",
            )
        unknown = sorted(
            set(settings) - {"auth_token", "account_sid", "webhook_url", "reply_with_twiml"}
        )
        if unknown:
            raise InvalidInput(f"unknown setting {unknown[0]!r}", field=unknown[0])
        token = settings.get("auth_token")
        if token is not None and (not isinstance(token, str) or not _TWILIO_TOKEN.match(token)):
            raise InvalidInput(
                "auth_token must be the 32-character Twilio auth token", field="auth_token"
            )
        sid = settings.get("account_sid")
        if sid is not None and (not isinstance(sid, str) or not _TWILIO_SID.match(sid)):
            raise InvalidInput(
                "account_sid must look like AC followed by 32 hex digits", field="account_sid"
            )
        reply_with_twiml = settings.get("reply_with_twiml", True)
        if not isinstance(reply_with_twiml, bool):
            raise InvalidInput("reply_with_twiml must be true or false", field="reply_with_twiml")
        shown = {
            "account_sid": sid,
            "webhook_url": web_url(settings.get("webhook_url"), "webhook_url"),
            "reply_with_twiml": reply_with_twiml,
        }
        now = self.now()
        with self.engine.begin() as conn:
            existing = conn.execute(
                sa.select(provider_settings.c.secret).where(
                    provider_settings.c.tenant_id == tenant.id,
                    provider_settings.c.provider == provider,
                )
            ).first()
            secret = token if token is not None else (existing.secret if existing else None)
            if secret is None:
                raise InvalidInput("auth_token is required", field="auth_token")
            values = {"settings": shown, "secret": secret, "updated_at": now}
            if existing is None:
                conn.execute(
                    sa.insert(provider_settings).values(
                        tenant_id=tenant.id, provider=provider, **values
                    )
                )
            else:
                conn.execute(
                    sa.update(provider_settings)
                    .where(
                        provider_settings.c.tenant_id == tenant.id,
                        provider_settings.c.provider == provider,
                    )
                    .values(**values)
                )
        return {"provider": provider, **shown, "auth_token_set": True, "updated_at": now}

    def provider_view(self, tenant: Tenant, provider: str) -> dict[str, Any]:
        """The provider's settings as they may be shown (``auth_token_set``, never the token)."""
        settings, _secret, updated_at = self._provider(tenant, provider)
        return {"provider": provider, **settings, "auth_token_set": True, "updated_at": updated_at}

    def provider_secret(self, tenant: Tenant, provider: str) -> tuple[dict[str, Any], str]:
        """The settings and the secret, for verifying the provider's webhooks."""
        settings, secret, _updated_at = self._provider(tenant, provider)
        return settings, secret

    def mark_outbox_sent(self, tenant: Tenant, outbox_id: str, status: str) -> bool:
        """Mark a queued reply as handed to the provider, so that no worker sends it again."""
        with self.engine.begin() as conn:
            return messages.mark_sent(conn, tenant.id, outbox_id, status)

    def _provider(self, tenant: Tenant, provider: str) -> tuple[dict[str, Any], str, Any]:
        with self._read() as conn:
            row = conn.execute(
                sa.select(provider_settings).where(
                    provider_settings.c.tenant_id == tenant.id,
                    provider_settings.c.provider == provider,
                )
            ).first()
        if row is None or not row.secret:
            raise NotFound(f"{provider} is not configured for this tenant", field="provider")
        return dict(row.settings), str(row.secret), row.updated_at
