"""Opt-out sync with the providers' own opt-out lists: compare, report, then pull and/or push.

* AWS End User Messaging SMS: the tenant's ``opt_out_list`` (``describe_opted_out_numbers``,
  paginated; ``put_opted_out_number`` to push). An AWS opt-out list blocks every origination
  identity attached to it, so it is compared with the opt-outs that cover the whole account
  (tenant scope), and numbers pulled from it are opted out in tenant scope.
* Azure Communication Services: the Opt-Out Management API (preview) works per sender and can
  only *check* numbers, not list them. For each registered sender, consentry checks the numbers
  it knows (every number opted out here, and everyone that sender has texted or been texted by)
  and compares; numbers pulled are opted out at that sender, pushes use ``optouts:add``.
* Twilio has no API for its opt-out list (Advanced Opt-Out keeps it inside Twilio; error 21610
  on a send is the only signal, handled on delivery): ``--provider twilio`` is refused.

Pulled opt-outs are recorded with source ``provider``; nothing is ever removed by a sync (an
opt-out only at one side may be one the other never heard of, never a reason to text again).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from consentry.domain.model import OptOutSource, ScopeKind, Tenant
from consentry.errors import InvalidInput
from consentry.service._delivery import AwsEndpointUrlEnv, AzureCaBundleEnv
from consentry.service._reply_gate import ReplyGateLayer
from consentry.service._results import ScopeRef
from consentry.store.tables import inbound, outbox

SYNC_PROVIDERS = ("aws", "azure", "twilio")
TWILIO_HAS_NO_LIST = (
    "Twilio has no API to read or write its opt-out list: Twilio keeps STOP replies inside its "
    "own filtering (Advanced Opt-Out). consentry learns of them from error 21610 when a send is "
    "refused (the recipient is then opted out at that sender here), and Twilio forwards each STOP "
    "to the webhook."
)


class SyncUnavailable(InvalidInput):
    """The provider has no opt-out list consentry could sync with."""


@dataclass(frozen=True, slots=True)
class SyncDifference:
    """One number opted out on one side only (``sender`` None: the whole account)."""

    sender: str | None
    recipient: str


@dataclass
class SyncReport:
    """What a sync found and did; ``pulled`` and ``pushed`` stay 0 on a dry run."""

    provider: str
    list_name: str  # the AWS opt-out list, or "per sender" for Azure
    dry_run: bool
    compared: int = 0  # numbers looked at on both sides
    only_at_provider: list[SyncDifference] = field(default_factory=list)
    only_here: list[SyncDifference] = field(default_factory=list)
    pulled: int = 0  # opted out here
    pushed: int = 0  # opted out at the provider

    def as_json(self) -> dict[str, Any]:
        def rows(items: Iterable[SyncDifference]) -> list[dict[str, str | None]]:
            return [{"sender": d.sender, "recipient": d.recipient} for d in items]

        return {
            "provider": self.provider,
            "list": self.list_name,
            "dry_run": self.dry_run,
            "compared": self.compared,
            "only_at_provider": rows(self.only_at_provider),
            "only_here": rows(self.only_here),
            "pulled": self.pulled,
            "pushed": self.pushed,
        }


class SyncLayer(ReplyGateLayer):
    """Opt-out sync with the providers' own opt-out lists."""

    def sync_optouts(
        self,
        tenant: Tenant,
        provider: str,
        *,
        pull: bool = False,
        push: bool = False,
        dry_run: bool = False,
    ) -> SyncReport:
        """Compare the tenant's opt-outs with ``provider``'s list; with ``pull`` opt out here
        the numbers only there, with ``push`` opt out there the numbers only here (nothing of
        either on a ``dry_run``). Raises :class:`SyncUnavailable` for Twilio, :class:`NotFound`
        when the provider is not configured, :class:`InvalidInput` naming a missing setting."""
        if provider == "twilio":
            raise SyncUnavailable(TWILIO_HAS_NO_LIST, field="provider")
        if provider == "aws":
            return self._sync_aws(tenant, pull=pull, push=push, dry_run=dry_run)
        if provider == "azure":
            return self._sync_azure(tenant, pull=pull, push=push, dry_run=dry_run)
        raise InvalidInput(
            f"provider must be one of {', '.join(SYNC_PROVIDERS)}; got {provider!r}",
            field="provider",
        )

    # --- AWS ------------------------------------------------------------------------------

    def _sync_aws(self, tenant: Tenant, *, pull: bool, push: bool, dry_run: bool) -> SyncReport:
        from consentry.transports import aws

        settings, secrets = self.provider_secrets(tenant, "aws")
        list_name = settings.get("opt_out_list")
        if not list_name or not settings.get("region"):
            missing = "opt_out_list" if not list_name else "region"
            raise InvalidInput(
                f"set the AWS {missing} (PUT /v1/providers/aws) before syncing", field=missing
            )
        client = aws.client(
            settings["region"],
            access_key_id=settings.get("access_key_id"),
            secret_access_key=secrets.get("secret_access_key"),
            endpoint_url=os.environ.get(AwsEndpointUrlEnv) or None,
        )
        there: set[str] = set()
        for page in client.get_paginator("describe_opted_out_numbers").paginate(
            OptOutListName=list_name
        ):
            there.update(str(item["OptedOutNumber"]) for item in page.get("OptedOutNumbers", []))
        here = {
            optout.recipient
            for optout in self.export_optouts(tenant)
            if optout.scope.kind is ScopeKind.TENANT
        }
        report = SyncReport(
            "aws",
            str(list_name),
            dry_run,
            compared=len(there | here),
            only_at_provider=[SyncDifference(None, n) for n in sorted(there - here)],
            only_here=[SyncDifference(None, n) for n in sorted(here - there)],
        )
        if dry_run:
            return report
        if pull and report.only_at_provider:
            statuses = self.add_optouts(
                tenant,
                [d.recipient for d in report.only_at_provider],
                scope=ScopeRef(ScopeKind.TENANT),
                source=OptOutSource.PROVIDER,
                reason=f"on the AWS opt-out list {list_name}",
            )
            report.pulled = sum(1 for status in statuses if status.status == 200)
        if push:
            for difference in report.only_here:
                client.put_opted_out_number(
                    OptOutListName=list_name, OptedOutNumber=difference.recipient
                )
                report.pushed += 1
        return report

    # --- Azure ----------------------------------------------------------------------------

    def _sync_azure(self, tenant: Tenant, *, pull: bool, push: bool, dry_run: bool) -> SyncReport:
        from consentry.providers.azure_optouts import AzureOptOuts
        from consentry.transports.azure import sms_client

        _settings, secrets = self.provider_secrets(tenant, "azure")
        connection = secrets.get("connection_string")
        if not connection:
            raise InvalidInput(
                "set the Azure connection_string (PUT /v1/providers/azure) before syncing",
                field="connection_string",
            )
        api = AzureOptOuts(sms_client(connection, verify=os.environ.get(AzureCaBundleEnv) or True))
        opted_out = sorted({optout.recipient for optout in self.export_optouts(tenant)})
        report = SyncReport("azure", "per sender", dry_run)
        plan: list[tuple[str, list[str], list[str]]] = []  # sender, to pull, to push
        for sender in self.list_senders(tenant):
            if sender.kind.value == "alphanumeric":
                continue  # no replies, no keyword opt-outs at Azure
            numbers = sorted(set(opted_out) | self._recipients_of(tenant, sender.address))
            if not numbers:
                continue
            there = api.check(sender.address, numbers)
            here = {
                status.to
                for status in self.check_optouts(tenant, numbers, sender=sender.address)
                if status.opted_out and status.to is not None
            }
            report.compared += len(numbers)
            pull_now = [n for n in numbers if there.get(n) and n not in here]
            push_now = [n for n in numbers if n in here and not there.get(n)]
            report.only_at_provider += [SyncDifference(sender.address, n) for n in pull_now]
            report.only_here += [SyncDifference(sender.address, n) for n in push_now]
            plan.append((sender.address, pull_now, push_now))
        if dry_run:
            return report
        for address, pull_now, push_now in plan:
            if pull and pull_now:
                statuses = self.add_optouts(
                    tenant,
                    pull_now,
                    sender=address,
                    source=OptOutSource.PROVIDER,
                    reason="opted out at Azure Communication Services",
                )
                report.pulled += sum(1 for status in statuses if status.status == 200)
            if push and push_now:
                report.pushed += api.add(address, push_now)
        return report

    def _recipients_of(self, tenant: Tenant, address: str) -> set[str]:
        """Every number ``address`` has texted or been texted by (outbox and inbound)."""
        with self._read() as conn:
            sent = conn.execute(
                sa.select(outbox.c.recipient)
                .where(outbox.c.tenant_id == tenant.id, outbox.c.sender_address == address)
                .distinct()
            ).scalars()
            received = conn.execute(
                sa.select(inbound.c.recipient)
                .where(inbound.c.tenant_id == tenant.id, inbound.c.sender_address == address)
                .distinct()
            ).scalars()
            return {str(n) for n in sent} | {str(n) for n in received}
