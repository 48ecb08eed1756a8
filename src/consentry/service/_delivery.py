"""Delivery of the outbox: consentry's own replies, through each tenant's transport.

A worker claims due messages (``queued`` -> ``sending``, one worker per message), checks that the
recipient has not opted out since the reply was queued (the opt-out confirmation and HELP
answers are always sent once), hands each to the transport and records the outcome: ``sent``
with the provider's id, ``queued`` again with exponential back-off after a temporary failure,
``dead`` after the last attempt or a permanent failure, ``suppressed`` when an opt-out now
forbids it. A message a stopped worker left ``sending`` becomes ``unknown``, never re-sent.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from consentry.domain.model import OptOutSource, Tenant
from consentry.errors import NotFound
from consentry.service._providers import ProvidersLayer
from consentry.store import messages
from consentry.transports import LogTransport, OutboundMessage, Transport, TransportError

MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)
STALE_SENDING = timedelta(minutes=15)
ALWAYS_ONCE = frozenset({"opt_out_confirmation", "help_reply"})
TwilioApiUrlEnv = "CONSENTRY_TWILIO_API_URL"


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    suppressed: int = 0
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
            with self.engine.begin() as conn:
                messages.finish(conn, owner.id, row["outbox_id"], status=status, **values)
            report.outcomes[row["outbox_id"]] = status
            if status == "sent":
                report.sent += 1
            elif status == "queued":
                report.retried += 1
            elif status == "dead":
                report.dead += 1
            else:
                report.suppressed += 1
        return report

    def record_delivery_report(
        self,
        tenant: Tenant,
        provider_message_id: str,
        status: str,
        error_code: str | None = None,
    ) -> bool:
        """Store a provider's delivery report on the message it concerns (False: unknown id).

        Twilio error 21610 means the person had replied STOP to that number at Twilio: the
        recipient is opted out at that sender, recorded as reported by the provider.
        """
        with self.engine.begin() as conn:
            row = messages.delivery_report(
                conn, tenant.id, provider_message_id, status, error_code and f"error {error_code}"
            )
        if row is None:
            return False
        if error_code == "21610":
            self.add_optouts(
                tenant,
                [str(row["recipient"])],
                sender=str(row["sender_address"]),
                source=OptOutSource.PROVIDER,
                reason="Twilio 21610: the recipient replied STOP to this number at Twilio",
            )
        return True

    def transport_for(self, tenant: Tenant) -> Transport:
        """The tenant's transport: Twilio when configured with an account SID, else ``log``."""
        try:
            settings, token = self.provider_secret(tenant, "twilio")
        except NotFound:
            return LogTransport()
        if not settings.get("account_sid"):
            return LogTransport()
        from consentry.transports.twilio import TwilioTransport

        return TwilioTransport(
            settings["account_sid"], token, api_url=os.environ.get(TwilioApiUrlEnv) or None
        )

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
            [status] = self.check_optouts(tenant, [recipient], sender=sender)
            if status.opted_out:
                scopes = ", ".join(str(scope) for scope in status.scopes)
                return "suppressed", {"last_error": f"opted out since it was queued ({scopes})"}
        try:
            chosen = transports.get(tenant.id)
            if chosen is None:
                chosen = transports[tenant.id] = (choose(tenant), self._status_callback(tenant))
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
            if error.code == "21610":
                self.add_optouts(
                    tenant,
                    [recipient],
                    sender=sender,
                    source=OptOutSource.PROVIDER,
                    reason="Twilio 21610: the recipient replied STOP to this number at Twilio",
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
        try:
            settings, _token = self.provider_secret(tenant, "twilio")
        except NotFound:
            return None
        url = settings.get("webhook_url")
        return f"{str(url).rstrip('/')}/status" if url else None
