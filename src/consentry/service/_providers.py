"""Providers: each tenant's settings per messaging provider (secrets write-only, encrypted).

Secrets (Twilio's auth token, Azure's webhook secret and connection string, AWS's secret access
key) are stored in ``provider_settings.secret`` as one JSON object sealed with Fernet
(:mod:`consentry.secrets_at_rest`); the API never returns them. A plaintext value an older
consentry stored is still read, and re-encrypted when it is read.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from consentry.domain.model import Tenant
from consentry.errors import InvalidInput, NotFound
from consentry.providers.aws_sns import DEFAULT_CERT_HOST_PATTERN
from consentry.secrets_at_rest import SecretBox, is_sealed, load_box
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
_AWS_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
_AWS_ACCESS_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")
_AWS_SECRET_KEY = re.compile(r"[A-Za-z0-9/+=]{16,128}")
_AWS_NAME = re.compile(r"[A-Za-z0-9_:/.-]{1,256}")
_WITHOUT_SECRET = frozenset({"aws"})  # verified otherwise (SNS: signatures)
# The secret a provider's webhooks are verified with (``provider_secret``); None: none.
MAIN_SECRET = {"twilio": "auth_token", "azure": "webhook_secret", "aws": None}


@dataclass(frozen=True)
class _Checked:
    """One provider's settings after validation: what may be shown, and the secrets given."""

    shown: dict[str, Any]
    secrets: dict[str, str]  # the secrets given; others keep their stored value
    required: str | None  # the secret that must be stored (given now or before); None: none


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
    return _Checked(shown, {"auth_token": token} if token is not None else {}, "auth_token")


def _azure_settings(settings: Mapping[str, Any]) -> _Checked:
    """Azure Communication Services: ``webhook_secret`` (secret), ``reply_via``, and for sending
    ``connection_string`` (secret: ``endpoint=https://...;accesskey=...``) and
    ``delivery_reports``."""
    _unknown(
        settings,
        {
            "webhook_secret",
            "reply_via",
            "connection_string",
            "delivery_reports",
            "provider_answers_keywords",
        },
    )
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
    connection = settings.get("connection_string")
    if connection is not None:
        _check_connection_string(connection)
    reports = settings.get("delivery_reports", True)
    if not isinstance(reports, bool):
        raise InvalidInput("delivery_reports must be true or false", field="delivery_reports")
    given = {
        name: value
        for name, value in (("webhook_secret", secret), ("connection_string", connection))
        if value is not None
    }
    shown = {
        "reply_via": reply_via,
        "delivery_reports": reports,
        "provider_answers_keywords": _flag(settings, "provider_answers_keywords"),
    }
    return _Checked(shown, given, "webhook_secret")


def _flag(settings: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = settings.get(name, default)
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false", field=name)
    return value


def _check_connection_string(value: Any) -> None:
    """An Azure Communication Services connection string: ``endpoint=https://...;accesskey=...``."""
    field = "connection_string"
    if not isinstance(value, str) or len(value) > 2000:
        raise InvalidInput("connection_string must be text of at most 2000 characters", field=field)
    parts: dict[str, str] = {}
    for element in value.split(";"):
        key, _, item = element.partition("=")
        if key.strip():
            parts[key.strip().lower()] = item.strip()
    endpoint = parts.get("endpoint", "")
    if not re.fullmatch(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?", endpoint):
        raise InvalidInput(
            "connection_string must hold endpoint=https://<resource host>/ (as Azure shows it)",
            field=field,
        )
    try:
        access_key = base64.b64decode(parts.get("accesskey", ""), validate=True)
    except binascii.Error:
        access_key = b""
    if len(access_key) < 16:
        raise InvalidInput(
            "connection_string must hold accesskey=<the resource's base64 access key>",
            field=field,
        )


def _aws_settings(settings: Mapping[str, Any]) -> _Checked:
    """AWS End User Messaging SMS through Amazon SNS: ``topic_arn`` (required),
    ``cert_host_pattern``, ``auto_confirm_subscription``, ``events_topic_arn``; for sending
    ``region``, ``access_key_id`` with ``secret_access_key`` (secret; leave both out to use the
    machine's own AWS credentials), ``configuration_set`` and ``opt_out_list``. The webhook needs
    no secret (SNS signs its messages)."""
    _unknown(
        settings,
        {
            "topic_arn",
            "cert_host_pattern",
            "auto_confirm_subscription",
            "events_topic_arn",
            "region",
            "access_key_id",
            "secret_access_key",
            "configuration_set",
            "opt_out_list",
            "provider_answers_keywords",
        },
    )
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
    events_topic = settings.get("events_topic_arn")
    if events_topic is not None and (
        not isinstance(events_topic, str) or not _AWS_TOPIC_ARN.fullmatch(events_topic)
    ):
        raise InvalidInput(
            "events_topic_arn must be an SNS topic ARN, arn:aws:sns:<region>:<12 digits>:<name>",
            field="events_topic_arn",
        )
    shown = {
        "topic_arn": topic,
        "cert_host_pattern": pattern,
        "auto_confirm_subscription": auto_confirm,
        "events_topic_arn": events_topic,
        "region": _matching(settings, "region", _AWS_REGION, "an AWS region such as us-west-2"),
        "access_key_id": _matching(
            settings, "access_key_id", _AWS_ACCESS_KEY_ID, "an AWS access key id (AKIA...)"
        ),
        "configuration_set": _matching(
            settings, "configuration_set", _AWS_NAME, "a configuration set name or ARN"
        ),
        "opt_out_list": _matching(
            settings, "opt_out_list", _AWS_NAME, "an opt-out list name or ARN"
        ),
        "provider_answers_keywords": _flag(settings, "provider_answers_keywords"),
    }
    secret = _matching(settings, "secret_access_key", _AWS_SECRET_KEY, "the AWS secret access key")
    if secret is not None and shown["access_key_id"] is None:
        raise InvalidInput("secret_access_key needs its access_key_id", field="access_key_id")
    return _Checked(
        shown,
        {"secret_access_key": secret} if secret is not None else {},
        "secret_access_key" if shown["access_key_id"] is not None else None,
    )


def _matching(settings: Mapping[str, Any], name: str, pattern: re.Pattern[str], what: str) -> Any:
    value = settings.get(name)
    if value is not None and (not isinstance(value, str) or not pattern.fullmatch(value)):
        raise InvalidInput(f"{name} must be {what}", field=name)
    return value


_SETTINGS: dict[str, Callable[[Mapping[str, Any]], _Checked]] = {
    "twilio": _twilio_settings,
    "azure": _azure_settings,
    "aws": _aws_settings,
}


def _view(
    provider: str, shown: Mapping[str, Any], secret_names: Collection[str], updated_at: Any
) -> dict[str, Any]:
    """Settings as they may be shown: ``secret_set`` (and Twilio's ``auth_token_set``, Azure's
    ``connection_string_set``), never a secret.

    ``secret_set`` says whether a secret is stored: for AWS, only with static credentials.
    """
    flags: dict[str, bool] = {}
    if provider == "twilio":
        flags["auth_token_set"] = True
    if provider == "azure":
        flags["connection_string_set"] = "connection_string" in secret_names
    secret_set = bool(secret_names)
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
        ``auto_confirm_subscription`` (default true), ``events_topic_arn`` (the topic SMS
        events are published to, when not ``topic_arn``); for sending: ``region``,
        ``access_key_id`` and ``secret_access_key`` (or neither: the machine's credentials),
        ``configuration_set`` and ``opt_out_list`` (for ``sync_optouts``). The webhook needs no
        secret: SNS signs its messages.

        Azure also takes ``connection_string`` (secret, for sending and opt-out sync) and
        ``delivery_reports`` (default true: ask for delivery reports through Event Grid).

        Every secret is stored encrypted (:mod:`consentry.secrets_at_rest`).
        """
        if provider not in PROVIDERS:
            raise InvalidInput(
                f"provider must be one of {', '.join(PROVIDERS)}; got {provider!r}",
                field="provider",
            )
        checked = _SETTINGS[provider](settings)
        now = self.now()
        box = self._secret_box()
        with self.engine.begin() as conn:
            existing = conn.execute(
                sa.select(provider_settings.c.secret).where(
                    provider_settings.c.tenant_id == tenant.id,
                    provider_settings.c.provider == provider,
                )
            ).first()
            stored = _opened(box, provider, existing.secret if existing is not None else None)
            secrets = {**stored, **checked.secrets}
            if checked.required is not None and not secrets.get(checked.required):
                raise InvalidInput(f"{checked.required} is required", field=checked.required)
            sealed = box.seal(json.dumps(secrets, sort_keys=True)) if secrets else None
            values = {"settings": checked.shown, "secret": sealed, "updated_at": now}
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
        return _view(provider, checked.shown, list(secrets), now)

    def provider_view(self, tenant: Tenant, provider: str) -> dict[str, Any]:
        """The provider's settings as they may be shown (``secret_set``, never the secret)."""
        settings, secrets, updated_at = self._provider(tenant, provider)
        return _view(provider, settings, list(secrets), updated_at)

    def provider_secret(self, tenant: Tenant, provider: str) -> tuple[dict[str, Any], str]:
        """The settings and the secret, for verifying the provider's webhooks (``""`` for a
        provider without a secret, such as AWS)."""
        settings, secrets, _updated_at = self._provider(tenant, provider)
        main = MAIN_SECRET.get(provider)
        return settings, secrets.get(main, "") if main else ""

    def provider_secrets(
        self, tenant: Tenant, provider: str
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The settings and every stored secret by name (for the transports and sync)."""
        settings, secrets, _updated_at = self._provider(tenant, provider)
        return settings, secrets

    def configured_providers(self, tenant: Tenant) -> list[str]:
        """The providers this tenant has settings for, in :data:`PROVIDERS` order."""
        with self._read() as conn:
            names = set(
                conn.execute(
                    sa.select(provider_settings.c.provider).where(
                        provider_settings.c.tenant_id == tenant.id
                    )
                ).scalars()
            )
        return [name for name in PROVIDERS if name in names]

    def mark_outbox_sent(self, tenant: Tenant, outbox_id: str, status: str) -> bool:
        """Mark a queued reply as handed to the provider, so that no worker sends it again."""
        with self.engine.begin() as conn:
            return messages.mark_sent(conn, tenant.id, outbox_id, status, self.now())

    def _secret_box(self) -> SecretBox:
        """The key provider secrets are sealed with (loaded once; see secrets_at_rest)."""
        box: SecretBox | None = getattr(self, "_box", None)
        if box is None:
            with _BOX_LOCK:
                box = getattr(self, "_box", None)
                if box is None:
                    url = self.engine.url
                    database = url.database if url.get_backend_name() == "sqlite" else None
                    box = self._box = load_box(database or None)
        return box

    def _provider(
        self, tenant: Tenant, provider: str
    ) -> tuple[dict[str, Any], dict[str, str], Any]:
        with self._read() as conn:
            row = conn.execute(
                sa.select(provider_settings).where(
                    provider_settings.c.tenant_id == tenant.id,
                    provider_settings.c.provider == provider,
                )
            ).first()
        if row is None or (not row.secret and provider not in _WITHOUT_SECRET):
            raise NotFound(f"{provider} is not configured for this tenant", field="provider")
        box = self._secret_box()
        secrets = _opened(box, provider, row.secret)
        if row.secret and not is_sealed(row.secret):
            self._reseal(tenant, provider, row.secret, box.seal(json.dumps(secrets)))
        return dict(row.settings), secrets, row.updated_at

    def _reseal(self, tenant: Tenant, provider: str, plaintext: str, sealed: str) -> None:
        """Replace a legacy plaintext secret by its encrypted form (unless it changed since)."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(provider_settings)
                .where(
                    provider_settings.c.tenant_id == tenant.id,
                    provider_settings.c.provider == provider,
                    provider_settings.c.secret == plaintext,
                )
                .values(secret=sealed)
            )


_BOX_LOCK = threading.Lock()


def _opened(box: SecretBox, provider: str, stored: str | None) -> dict[str, str]:
    """The secrets in a stored value: sealed JSON, or a legacy plaintext main secret."""
    if not stored:
        return {}
    if not is_sealed(stored):
        main = MAIN_SECRET.get(provider)
        return {main: stored} if main else {}
    value = json.loads(box.open(stored))
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
