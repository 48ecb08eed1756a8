"""``sync_optouts``: the tenant's opt-outs against the provider's own list, through the real SDKs
(boto3 against the local fake of AWS's SMS API; azure-communication-sms's pipeline against the
local fake of Azure's Opt-Out Management API), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from consentry import Consentry, Tenant
from consentry.errors import InvalidInput, NotFound
from consentry.service._sync import SyncDifference, SyncUnavailable
from tests.integration.helpers import create_registry, inbound, is_opted_out
from tests.providers.conftest import AWS_KEY_ID, AWS_SECRET, FakeAws, FakeAzure

SENDER = "+12065550100"
TOPIC = "arn:aws:sns:us-west-2:123456789012:consentry-inbound"
LIST = "consentry-list"
WEBHOOK_SECRET = "azure-webhook-" + "s3cr3t_Value.~" * 2


def _configure_aws(client: httpx.Client, **settings: Any) -> None:
    body = {
        "topic_arn": TOPIC,
        "region": "us-west-2",
        "access_key_id": AWS_KEY_ID,
        "secret_access_key": AWS_SECRET,
        "opt_out_list": LIST,
        **settings,
    }
    response = client.put("/v1/providers/aws", json={k: v for k, v in body.items() if v})
    assert response.status_code == 200, response.text


def _tenant_optout(client: httpx.Client, *numbers: str) -> None:
    response = client.post(
        "/v1/optouts:add",
        json={"recipients": [{"to": n} for n in numbers], "scope": {"kind": "tenant"}},
    )
    assert response.status_code == 200, response.text


def _sources(client: httpx.Client, number: str) -> list[tuple[str, str]]:
    history = client.get(f"/v1/optouts/{number}/history").json()
    return [(e["source"], e["scope"]) for e in history["events"] if e["action"] == "add"]


def test_aws_differences_are_reported_and_a_dry_run_changes_nothing(
    service: Consentry, client: httpx.Client, tenant: Tenant, fake_aws: FakeAws
) -> None:
    _configure_aws(client)
    fake_aws.opt_out_lists[LIST] = {"+14255550180", "+14255550181", "+14255550182"}
    _tenant_optout(client, "+14255550181", "+14255550183")
    report = service.sync_optouts(tenant, "aws", pull=True, push=True, dry_run=True)
    assert report.only_at_provider == [
        SyncDifference(None, "+14255550180"),
        SyncDifference(None, "+14255550182"),
    ]
    assert report.only_here == [SyncDifference(None, "+14255550183")]
    assert (report.pulled, report.pushed, report.compared) == (0, 0, 4)
    assert not is_opted_out(client, SENDER, "+14255550180")
    assert "+14255550183" not in fake_aws.opt_out_lists[LIST]
    actions = [r["action"] for r in fake_aws.requests]
    assert actions == ["DescribeOptedOutNumbers"] * 2  # two pages of two
    assert all(f"Credential={AWS_KEY_ID}/" in r["auth"] for r in fake_aws.requests)


def test_aws_pull_and_push_apply_the_differences(
    service: Consentry, client: httpx.Client, tenant: Tenant, fake_aws: FakeAws
) -> None:
    create_registry(client, sender=SENDER)
    _configure_aws(client)
    fake_aws.opt_out_lists[LIST] = {"+14255550184"}
    _tenant_optout(client, "+14255550185")
    pulled = service.sync_optouts(tenant, "aws", pull=True)
    assert (pulled.pulled, pulled.pushed) == (1, 0)
    assert is_opted_out(client, SENDER, "+14255550184")
    assert _sources(client, "+14255550184") == [("provider", "tenant")]
    assert fake_aws.opt_out_lists[LIST] == {"+14255550184"}
    pushed = service.sync_optouts(tenant, "aws", push=True)
    assert (pushed.pulled, pushed.pushed) == (0, 1)
    assert fake_aws.opt_out_lists[LIST] == {"+14255550184", "+14255550185"}
    again = service.sync_optouts(tenant, "aws", pull=True, push=True)
    assert again.only_at_provider == again.only_here == [] and again.compared == 2


def test_aws_sync_needs_an_opt_out_list(
    service: Consentry, client: httpx.Client, tenant: Tenant, fake_aws: FakeAws
) -> None:
    with pytest.raises(NotFound):
        service.sync_optouts(tenant, "aws")
    _configure_aws(client, opt_out_list=None)
    with pytest.raises(InvalidInput) as raised:
        service.sync_optouts(tenant, "aws")
    assert raised.value.field == "opt_out_list" and fake_aws.requests == []


def test_twilio_has_no_opt_out_list_to_sync(service: Consentry, tenant: Tenant) -> None:
    with pytest.raises(SyncUnavailable, match="no API"):
        service.sync_optouts(tenant, "twilio", pull=True)
    with pytest.raises(InvalidInput) as raised:
        service.sync_optouts(tenant, "sinch")
    assert raised.value.field == "provider"


def test_azure_checks_the_numbers_it_knows_per_sender_and_applies_the_differences(
    service: Consentry, client: httpx.Client, tenant: Tenant, fake_azure: FakeAzure
) -> None:
    create_registry(client, sender=SENDER)
    response = client.put(
        "/v1/providers/azure",
        json={"webhook_secret": WEBHOOK_SECRET, "connection_string": fake_azure.connection_string},
    )
    assert response.status_code == 200, response.text
    at_azure, here_only, both = "+14255550186", "+14255550187", "+14255550188"
    inbound(client, at_azure, SENDER, "hello there")  # a number the sender knows
    client.post(
        "/v1/optouts:add", json={"from": SENDER, "recipients": [{"to": here_only}, {"to": both}]}
    )
    fake_azure.opted_out[SENDER] = {at_azure, both}
    dry = service.sync_optouts(tenant, "azure", pull=True, push=True, dry_run=True)
    assert dry.only_at_provider == [SyncDifference(SENDER, at_azure)]
    assert dry.only_here == [SyncDifference(SENDER, here_only)]
    assert (dry.pulled, dry.pushed, dry.compared) == (0, 0, 3)
    assert fake_azure.opted_out[SENDER] == {at_azure, both}
    assert not is_opted_out(client, SENDER, at_azure)
    applied = service.sync_optouts(tenant, "azure", pull=True, push=True)
    assert (applied.pulled, applied.pushed) == (1, 1)
    assert is_opted_out(client, SENDER, at_azure)
    assert _sources(client, at_azure) == [("provider", f"sender:{SENDER}")]
    assert fake_azure.opted_out[SENDER] == {at_azure, both, here_only}
    assert fake_azure.bad_signatures == 0
    paths = {r["path"] for r in fake_azure.requests}
    assert paths == {"/sms/optouts:check", "/sms/optouts:add"}
    assert {r["query"]["api-version"] for r in fake_azure.requests} == {"2024-12-10-preview"}
