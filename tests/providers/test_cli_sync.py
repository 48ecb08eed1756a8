"""``consentry optouts sync`` against the local fake of AWS (real boto3), on SQLite and
PostgreSQL: the differences are reported before anything is applied, --dry-run applies nothing,
and --provider twilio exits 2 explaining why."""

from __future__ import annotations

import json

import httpx
from typer.testing import CliRunner

from consentry import Tenant
from consentry.cli import app
from tests.integration.helpers import is_opted_out
from tests.providers.conftest import AWS_KEY_ID, AWS_SECRET, FakeAws

runner = CliRunner()
SENDER = "+12065550100"
LIST = "consentry-list"


def _configure(client: httpx.Client) -> None:
    response = client.put(
        "/v1/providers/aws",
        json={
            "topic_arn": "arn:aws:sns:us-west-2:123456789012:consentry-inbound",
            "region": "us-west-2",
            "access_key_id": AWS_KEY_ID,
            "secret_access_key": AWS_SECRET,
            "opt_out_list": LIST,
        },
    )
    assert response.status_code == 200, response.text


def _sync(database_url: str, tenant: Tenant, *args: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        ["optouts", "sync", "--database", database_url, "--tenant", tenant.slug, *args],
    )
    return result.exit_code, result.output


def test_a_dry_run_reports_the_differences_and_changes_nothing(
    database_url: str, client: httpx.Client, tenant: Tenant, fake_aws: FakeAws
) -> None:
    _configure(client)
    fake_aws.opt_out_lists[LIST] = {"+14255550177"}
    client.post(
        "/v1/optouts:add",
        json={"recipients": [{"to": "+14255550178"}], "scope": {"kind": "tenant"}},
    )
    code, output = _sync(
        database_url, tenant, "--provider", "aws", "--pull", "--push", "--dry-run", "--json"
    )
    assert code == 0, output
    body = json.loads(output)
    assert body["applied"] is None
    assert body["differences"]["only_at_provider"] == [
        {"sender": None, "recipient": "+14255550177"}
    ]
    assert body["differences"]["only_here"] == [{"sender": None, "recipient": "+14255550178"}]
    assert not is_opted_out(client, SENDER, "+14255550177")
    assert fake_aws.opt_out_lists[LIST] == {"+14255550177"}


def test_pull_then_push_apply_after_reporting(
    database_url: str, client: httpx.Client, tenant: Tenant, fake_aws: FakeAws
) -> None:
    _configure(client)
    fake_aws.opt_out_lists[LIST] = {"+14255550179"}
    client.post(
        "/v1/optouts:add",
        json={"recipients": [{"to": "+14255550169"}], "scope": {"kind": "tenant"}},
    )
    code, output = _sync(database_url, tenant, "--provider", "aws", "--pull")
    assert code == 0, output
    assert "only at aws" in output and "+14255550179" in output
    assert "applied: 1 opted out here, 0 opted out at aws" in " ".join(output.split())
    assert is_opted_out(client, SENDER, "+14255550179")
    assert fake_aws.opt_out_lists[LIST] == {"+14255550179"}
    code, output = _sync(database_url, tenant, "--provider", "aws", "--push")
    assert code == 0, output
    assert fake_aws.opt_out_lists[LIST] == {"+14255550179", "+14255550169"}


def test_twilio_exits_2_and_says_why(database_url: str, tenant: Tenant) -> None:
    code, output = _sync(database_url, tenant, "--provider", "twilio", "--pull")
    assert code == 2
    assert "Twilio has no API" in " ".join(output.split())


def test_an_unconfigured_provider_exits_2(database_url: str, tenant: Tenant) -> None:
    code, output = _sync(database_url, tenant, "--provider", "azure")
    assert code == 2 and "azure is not configured" in output
