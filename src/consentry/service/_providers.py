"""Providers: each tenant's settings per messaging provider (secrets write-only)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from consentry.domain.model import Tenant
from consentry.errors import InvalidInput, NotFound
from consentry.providers.aws_sns import DEFAULT_CERT_HOST_PATTERN
from consentry.service._checks import web_url
from consentry.service._inbound import InboundLayer
from consentry.store import messages
from consentry.store.tables import provider_settings

PROVIDERS = ("twilio", "azure", "aws")
_TWILIO_TOKEN = re.compile(r"^[A-Za-z0-9]{16,128}$")
_TWILIO_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_AZURE_SECRET = re.compile(r"[A-Za-z0-9._~-]{24,256}")  # unreserved in URLs: fits ?code=
_AWS_TOPIC_ARN = re.compile(
    r"arn:aws(-cn|-us-gov)?:sns:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?"
)
_WITHOUT_SECRET = frozenset({"aws"})  # verified otherwise (SNS: signatures)


@dataclass(frozen=True)
class _Checked:
    """One provider's settings after validation: what may be shown, and the secret if given."""

    shown: dict[str, Any]
    secret: str | None  # None: keep the stored one (required the first time)
    secret_field: str | None  # the setting that carries the secret; None: there is none


def _unknown(settings: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise InvalidInput(f"unknown setting {unknown[0]!r}", field=unknown[0])


def _twilio_settings(settings: Mapping[str, Any]) -> _Checked:
    """Twilio: ``auth_token`` (secret), ``account_sid``, ``webhook_url``, ``reply_with_twiml``,
    ``provider_answers_keywords`` (Twilio's own STOP/START/HELP handling is on: consentry does
    not answer those keywords again)."""
    _unknown(
        settings,
        {
            "auth_token",
            "account_sid",
            "webhook_url",
            "reply_with_twiml",
            "provider_answers_keywords",
        },
    )
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
    provider_answers = settings.get("provider_answers_keywords", False)
    if not isinstance(provider_answers, bool):
        raise InvalidInput(
            "provider_answers_keywords must be true or false", field="provider_answers_keywords"
        )
    shown = {
        "account_sid": sid,
        "webhook_url": web_url(settings.get("webhook_url"), "webhook_url"),
        "reply_with_twiml": reply_with_twiml,
        "provider_answers_keywords": provider_answers,
    }
    return _Checked(shown, token, "auth_token")


def _azure_settings(settings: Mapping[str, Any]) -> _Checked:
    """Azure Communication Services (Event Grid): ``webhook_secret`` (secret), ``reply_via``."""
    _unknown(settings, {"webhook_secret", "reply_via"})
    secret = settings.get("webhook_secret")
    if secret is not None and (not isinstance(secret, str) or not _AZURE_SECRET.fullmatch(secret)):
        raise InvalidInput(
            "webhook_secret must be 24 to 256 URL-safe characters "
            "(letters, digits, '-', '_', '.', '~')",
            field="webhook_secret",
        )
    reply_via = settings.get("reply_via", "outbox")
    if reply_via != "outbox":
        raise InvalidInput(
            "reply_via must be 'outbox' (Event Grid cannot carry a reply)", field="reply_via"
        )
    return _Checked({"reply_via": reply_via}, secret, "webhook_secret")


def _aws_settings(settings: Mapping[str, Any]) -> _Checked:
    """AWS End User Messaging SMS through Amazon SNS: ``topic_arn`` (required),
    ``cert_host_pattern`` and ``auto_confirm_subscription``; no secret (SNS signs its messages)."""
    _unknown(settings, {"topic_arn", "cert_host_pattern", "auto_confirm_subscription"})
    topic = settings.get("topic_arn")
    if topic is None:
        raise InvalidInput("topic_arn is required", field="topic_arn")
    if not isinstance(topic, str) or not _AWS_TOPIC_ARN.fullmatch(topic):
        raise InvalidInput(
            "topic_arn must be an SNS topic ARN, arn:aws:sns:<region>:<12 digits>:<name>",
            field="topic_arn",
        )
    pattern = settings.get("cert_host_pattern", DEFAULT_CERT_HOST_PATTERN)
    if not isinstance(pattern, str) or not pattern or len(pattern) > 300:
        raise InvalidInput(
            "cert_host_pattern must be a regular expression of 1 to 300 characters",
            field="cert_host_pattern",
        )
    try:
        re.compile(pattern)
    except re.error as error:
        raise InvalidInput(
            f"cert_host_pattern is not a regular expression ({error})", field="cert_host_pattern"
        ) from None
    auto_confirm = settings.get("auto_confirm_subscription", True)
    if not isinstance(auto_confirm, bool):
        raise InvalidInput(
            "auto_confirm_subscription must be true or false", field="auto_confirm_subscription"
        )
    shown = {
        "topic_arn": topic,
        "cert_host_pattern": pattern,
        "auto_confirm_subscription": auto_confirm,
    }
    return _Checked(shown, None, None)


_SETTINGS: dict[str, Callable[[Mapping[str, Any]], _Checked]] = {
    "twilio": _twilio_settings,
    "azure": _azure_settings,
    "aws": _aws_settings,
}


def _view(provider: str, shown: Mapping[str, Any], updated_at: Any) -> dict[str, Any]:
    """Settings as they may be shown: ``secret_set`` (and Twilio's ``auth_token_set``).

    ``secret_set`` is false for a provider without a secret (AWS): nothing is hidden there.
    """
    flags = {"auth_token_set": True} if provider == "twilio" else {}
    secret_set = provider not in _WITHOUT_SECRET
    return {
        "provider": provider,
        **shown,
        **flags,
        "secret_set": secret_set,
        "updated_at": updated_at,
    }


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

        Azure: ``webhook_secret`` (required the first time; kept when left out later: the
        shared secret Event Grid sends as ``?code=`` or ``X-Consentry-Webhook-Secret``) and
        ``reply_via`` (only ``"outbox"``: replies stay queued for delivery).

        AWS (End User Messaging SMS through Amazon SNS): ``topic_arn`` (required: the SNS topic
        the tenant's inbound messages are published to), ``cert_host_pattern`` (the hosts
        SNS's ``SigningCertURL`` and ``SubscribeURL`` may point at; default SNS's own) and
        ``auto_confirm_subscription`` (default true). No secret: SNS signs its messages.
        """
        if provider not in PROVIDERS:
            raise InvalidInput(
                f"provider must be one of {', '.join(PROVIDERS)}; got {provider!r}",
                field="provider",
            )
        checked = _SETTINGS[provider](settings)
        now = self.now()
        with self.engine.begin() as conn:
            existing = conn.execute(
                sa.select(provider_settings.c.secret).where(
                    provider_settings.c.tenant_id == tenant.id,
                    provider_settings.c.provider == provider,
                )
            ).first()
            stored = existing.secret if existing is not None else None
            secret = checked.secret if checked.secret is not None else stored
            if secret is None and checked.secret_field is not None:
                raise InvalidInput(
                    f"{checked.secret_field} is required", field=checked.secret_field
                )
            values = {"settings": checked.shown, "secret": secret, "updated_at": now}
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
        return _view(provider, checked.shown, now)

    def provider_view(self, tenant: Tenant, provider: str) -> dict[str, Any]:
        """The provider's settings as they may be shown (``secret_set``, never the secret)."""
        settings, _secret, updated_at = self._provider(tenant, provider)
        return _view(provider, settings, updated_at)

    def provider_secret(self, tenant: Tenant, provider: str) -> tuple[dict[str, Any], str]:
        """The settings and the secret, for verifying the provider's webhooks (``""`` for a
        provider without a secret, such as AWS)."""
        settings, secret, _updated_at = self._provider(tenant, provider)
        return settings, secret

    def mark_outbox_sent(self, tenant: Tenant, outbox_id: str, status: str) -> bool:
        """Mark a queued reply as handed to the provider, so that no worker sends it again."""
        with self.engine.begin() as conn:
            return messages.mark_sent(conn, tenant.id, outbox_id, status, self.now())

    def _provider(self, tenant: Tenant, provider: str) -> tuple[dict[str, Any], str, Any]:
        with self._read() as conn:
            row = conn.execute(
                sa.select(provider_settings).where(
                    provider_settings.c.tenant_id == tenant.id,
                    provider_settings.c.provider == provider,
                )
            ).first()
        if row is None or (not row.secret and provider not in _WITHOUT_SECRET):
            raise NotFound(f"{provider} is not configured for this tenant", field="provider")
        return dict(row.settings), str(row.secret or ""), row.updated_at
