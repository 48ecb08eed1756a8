"""Delivery of the outbox: consentry's own replies, through each tenant's transport.

A worker claims due messages (``queued`` -> ``sending``, one worker per message), passes each
through the send gate (:meth:`DeliveryLayer._gate_reply`; the opt-out confirmation is always
sent once), hands it to the transport and records the outcome: ``sent`` with the provider's id,
``queued`` again with exponential back-off after a temporary failure (or until the gate's
``defer_until``), ``dead`` after the last attempt or a permanent failure, ``suppressed`` when the
gate forbids it (``last_error`` starts with the deciding rule id). A message a stopped worker
left ``sending`` becomes ``unknown``, never re-sent.

The transport is the tenant's first provider configured for sending: Twilio (``account_sid``),
AWS (``region``), Azure (``connection_string``); ``log`` otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from consentry.domain.model import OptOutSource, Tenant
from consentry.errors import ConsentryError, NotFound
from consentry.service._providers import ProvidersLayer
from consentry.store import messages
from consentry.store.tables import outbox
from consentry.transports import LogTransport, OutboundMessage, Transport, TransportError

MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)
STALE_SENDING = timedelta(minutes=15)
ALWAYS_ONCE = frozenset({"opt_out_confirmation"})
TwilioApiUrlEnv = "CONSENTRY_TWILIO_API_URL"
AwsEndpointUrlEnv = "CONSENTRY_AWS_ENDPOINT_URL"  # e.g. a VPC endpoint (and the tests' fake)
AzureCaBundleEnv = "CONSENTRY_AZURE_CA_BUNDLE"  # CA bundle for the Azure endpoint's certificate
# What each provider reports when the recipient is on its opt-out list for that sender.
OPTED_OUT_CODES = {
    "21610": "Twilio 21610: the recipient replied STOP to this number at Twilio",
    "DESTINATION_PHONE_NUMBER_OPTED_OUT": "AWS: the recipient is on this sender's opt-out list",
}
# Delivery statuses that are not final: a late report of one never replaces a final one.
_NOT_FINAL = frozenset({"queued", "accepted", "sending", "sent", "pending", "scheduled"})


@dataclass(frozen=True, slots=True)
class GateOutcome:
    """What the gate says about one queued reply: send it, hold it until ``until``, or not."""

    action: str  # "send" | "defer" | "suppress"
    reason: str | None = None  # "<RULE-ID>: why", for defer and suppress
    until: datetime | None = None


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    suppressed: int = 0
    deferred: int = 0
    unknown: int = 0
    outcomes: dict[str, str] = field(default_factory=dict)  # outbox id -> status


TransportFor = Callable[[Tenant], Transport]


class DeliveryLayer(ProvidersLayer):
    """Delivery of the outbox: consentry's own replies, through each tenant's transport."""

    def deliver_outbox(
        self,
        *,
        tenant: Tenant | None = None,
        limit: int = 100,
        transport_for: TransportFor | None = None,
    ) -> DeliveryReport:
        """Deliver up to ``limit`` due messages (of one tenant, or all); return what happened."""
        now = self.now()
        report = DeliveryReport()
        with self.engine.begin() as conn:
            report.unknown = messages.stale_sending(conn, now - STALE_SENDING)
            claimed = messages.claim_due(
                conn, now, tenant_id=tenant.id if tenant else None, limit=limit
            )
        choose = transport_for or self.transport_for
        tenants: dict[str, Tenant] = {}
        # Per tenant, once a round: its transport and where the provider reports delivery.
        transports: dict[str, tuple[Transport, str | None]] = {}
        for row in claimed:
            owner = tenants.get(row["tenant_id"]) or self.get_tenant(row["tenant_id"])
            tenants[owner.id] = owner
            status, values = self._deliver_one(owner, row, choose, transports)
            stored = "queued" if status == "deferred" else status
            with self.engine.begin() as conn:
                messages.finish(conn, owner.id, row["outbox_id"], status=stored, **values)
            report.outcomes[row["outbox_id"]] = status
            if status == "sent":
                report.sent += 1
            elif status == "queued":
                report.retried += 1
            elif status == "dead":
                report.dead += 1
            elif status == "deferred":
                report.deferred += 1
                report.outcomes[row["outbox_id"]] = "queued"
            else:
                report.suppressed += 1
        return report

    def record_delivery_report(
        self,
        tenant: Tenant,
        provider_message_id: str,
        status: str,
        error_code: str | None = None,
        *,
        detail: str | None = None,
        opted_out: str | None = None,
    ) -> bool:
        """Store a provider's delivery report on the message it concerns (False: unknown id).

        Idempotent on ``provider_message_id``: a repeated report changes nothing, and a late
        non-final status (queued, sent, ...) never replaces a final one (delivered, failed, ...).
        ``opted_out`` (why) says the provider refused the message because the recipient opted
        out at that sender (Twilio error 21610, an AWS or Azure opt-out report): the recipient is
        then opted out at that sender here too, recorded as reported by the provider. ``detail``
        (the provider's words on a failure) is kept in ``last_error``.
        """
        if opted_out is None and error_code in OPTED_OUT_CODES:
            opted_out = OPTED_OUT_CODES[error_code]
        with self.engine.begin() as conn:
            current = conn.execute(
                sa.select(outbox.c.delivery_status).where(
                    outbox.c.tenant_id == tenant.id,
                    outbox.c.provider_message_id == provider_message_id,
                )
            ).first()
            if current is None:
                return False
            final = current.delivery_status and current.delivery_status not in _NOT_FINAL
            if final and status.lower() in _NOT_FINAL:
                return True
            error = detail[:500] if detail else (error_code and f"error {error_code}")
            row = messages.delivery_report(conn, tenant.id, provider_message_id, status, error)
        if row is not None and opted_out is not None:
            self.add_optouts(
                tenant,
                [str(row["recipient"])],
                sender=str(row["sender_address"]),
                source=OptOutSource.PROVIDER,
                reason=opted_out,
            )
        return row is not None

    def transport_for(self, tenant: Tenant) -> Transport:
        """The tenant's transport: the first provider configured for sending, else ``log``."""
        for provider in ("twilio", "aws", "azure"):
            try:
                settings, secrets = self.provider_secrets(tenant, provider)
            except NotFound:
                continue
            if provider == "twilio" and settings.get("account_sid"):
                from consentry.transports.twilio import TwilioTransport

                return TwilioTransport(
                    settings["account_sid"],
                    secrets["auth_token"],
                    api_url=os.environ.get(TwilioApiUrlEnv) or None,
                )
            if provider == "aws" and settings.get("region"):
                from consentry.transports.aws import AwsTransport

                return AwsTransport(
                    settings["region"],
                    access_key_id=settings.get("access_key_id"),
                    secret_access_key=secrets.get("secret_access_key"),
                    configuration_set=settings.get("configuration_set"),
                    endpoint_url=os.environ.get(AwsEndpointUrlEnv) or None,
                )
            if provider == "azure" and secrets.get("connection_string"):
                from consentry.transports.azure import AzureTransport

                return AzureTransport(
                    secrets["connection_string"],
                    delivery_reports=bool(settings.get("delivery_reports", True)),
                    verify=os.environ.get(AzureCaBundleEnv) or True,
                )
        return LogTransport()

    def _gate_reply(self, tenant: Tenant, row: dict[str, object]) -> GateOutcome:
        """Whether a queued reply may go now. Here: not to someone who opted out since it was
        queued; the send gate's layer (``ReplyGateLayer``) applies every rule instead."""
        [status] = self.check_optouts(
            tenant, [str(row["recipient"])], sender=str(row["sender_address"])
        )
        if status.opted_out:
            scopes = ", ".join(str(scope) for scope in status.scopes)
            return GateOutcome(
                "suppress", f"OPTOUT-ACTIVE: opted out since it was queued ({scopes})"
            )
        return GateOutcome("send")

    def _deliver_one(
        self,
        tenant: Tenant,
        row: dict[str, object],
        choose: TransportFor,
        transports: dict[str, tuple[Transport, str | None]],
    ) -> tuple[str, dict[str, object]]:
        recipient = str(row["recipient"])
        sender = str(row["sender_address"])
        if row["purpose"] not in ALWAYS_ONCE:
            try:
                verdict = self._gate_reply(tenant, row)
            except ConsentryError as error:  # e.g. its program was deleted since
                return "suppressed", {"last_error": f"the send gate cannot check it: {error}"}
            if verdict.action == "suppress":
                return "suppressed", {"last_error": verdict.reason}
            if verdict.action == "defer":
                # Not an attempt: the gate holds it until the first instant it may go.
                return "deferred", {
                    "last_error": verdict.reason,
                    "next_attempt_at": verdict.until,
                    "attempts": int(str(row["attempts"])) - 1,
                }
        try:
            chosen = transports.get(tenant.id)
            if chosen is None:
                try:
                    chosen = (choose(tenant), self._status_callback(tenant))
                except ConsentryError as error:  # a wrong secret key: retry once it is fixed
                    raise TransportError(str(error), retryable=True) from error
                transports[tenant.id] = chosen
            transport, status_callback = chosen
            provider_id = transport.send(
                OutboundMessage(
                    outbox_id=str(row["outbox_id"]),
                    tenant_id=tenant.id,
                    sender=sender,
                    recipient=recipient,
                    body=str(row["body"]),
                    status_callback=status_callback,
                )
            )
        except TransportError as error:
            attempts = int(str(row["attempts"]))
            if error.code in OPTED_OUT_CODES:
                self.add_optouts(
                    tenant,
                    [recipient],
                    sender=sender,
                    source=OptOutSource.PROVIDER,
                    reason=OPTED_OUT_CODES[error.code],
                )
            if not error.retryable or attempts >= MAX_ATTEMPTS:
                return "dead", {"last_error": str(error)}
            delay = min(FIRST_RETRY * 2 ** (attempts - 1), LAST_RETRY)
            return "queued", {"last_error": str(error), "next_attempt_at": self.now() + delay}
        return "sent", {
            "transport": transport.name,
            "provider_message_id": provider_id[:64],
            "sent_at": self.now(),
            "last_error": None,
        }

    def _status_callback(self, tenant: Tenant) -> str | None:
        """Where Twilio should post its delivery reports (the other providers publish theirs to
        an SNS topic or Event Grid, configured at the provider)."""
        try:
            settings, _token = self.provider_secret(tenant, "twilio")
        except NotFound:
            return None
        url = settings.get("webhook_url")
        return f"{str(url).rstrip('/')}/status" if url else None
