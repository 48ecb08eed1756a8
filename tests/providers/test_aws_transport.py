"""The ``aws`` transport: the real boto3 ``pinpoint-sms-voice-v2`` client, pointed at a local fake
of the API (endpoint_url), on SQLite and PostgreSQL: a send signed with the tenant's static
credentials, a temporary failure retried with back-off, permanent failures dead-lettered, an
opted-out refusal recorded as an opt-out at that sender."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from consentry import Consentry, Tenant
from tests.integration.helpers import create_registry, inbound
from tests.providers.conftest import AWS_KEY_ID, AWS_SECRET, FakeAws

SENDER = "+12065550100"
TOPIC = "arn:aws:sns:us-west-2:123456789012:consentry-inbound"


def configure_aws(client: httpx.Client, **settings: Any) -> dict[str, Any]:
    body = {
        "topic_arn": TOPIC,
        "region": "us-west-2",
        "access_key_id": AWS_KEY_ID,
        "secret_access_key": AWS_SECRET,
        "configuration_set": "consentry-events",
        **settings,
    }
    response = client.put("/v1/providers/aws", json=body)
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()
    return shown


def _outbox(client: httpx.Client) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = client.get("/v1/outbox").json()
    return rows


def test_a_reply_is_sent_through_aws_with_the_tenant_credentials(
    service: Consentry, client: httpx.Client, tenant: Tenant, fake_aws: FakeAws
) -> None:
    create_registry(client, sender=SENDER)
    shown = configure_aws(client)
    assert shown["secret_set"] is True and AWS_SECRET not in str(shown)
    inbound(client, "+14255550150", SENDER, "HELP")
    report = service.deliver_outbox(tenant=tenant)
    assert report.sent == 1, report
    [sent] = fake_aws.sent()
    assert sent["DestinationPhoneNumber"] == "+14255550150"
    assert sent["OriginationIdentity"] == SENDER
    assert sent["ConfigurationSetName"] == "consentry-events"
    [row] = _outbox(client)
    assert sent["MessageBody"] == row["body"]
    assert row["transport"] == "aws" and row["provider_message_id"] == "aws-00000001"
    # SigV4 with the tenant's static key, for the sms-voice service in its region.
    [request] = fake_aws.requests
    assert f"Credential={AWS_KEY_ID}/" in request["auth"]
    assert "/us-west-2/sms-voice/aws4_request" in request["auth"]


def test_a_throttled_send_is_retried_with_back_off_then_sent(
    database_url: str, client: httpx.Client, tenant: Tenant, fake_aws: FakeAws
) -> None:
    create_registry(client, sender=SENDER)
    configure_aws(client)
    inbound(client, "+14255550151", SENDER, "HELP")
    now = [datetime.now(UTC)]
    clocked = Consentry(database_url, clock=lambda: now[0])
    try:
        fake_aws.script = [(400, "ThrottlingException", None)]
        assert clocked.deliver_outbox(tenant=tenant).retried == 1
        [row] = _outbox(client)
        assert row["status"] == "queued" and "ThrottlingException" in row["last_error"]
        assert clocked.deliver_outbox(tenant=tenant).outcomes == {}  # not due yet
        now[0] += timedelta(seconds=31)
        assert clocked.deliver_outbox(tenant=tenant).sent == 1
        [row] = _outbox(client)
        assert row["status"] == "sent" and row["attempts"] == 2 and row["last_error"] is None
        assert len(fake_aws.sent()) == 2
    finally:
        clocked.close()


@pytest.mark.parametrize(
    ("kind", "status"),
    [("ValidationException", 400), ("AccessDeniedException", 403)],
)
def test_a_permanent_failure_is_dead_at_once(
    service: Consentry,
    client: httpx.Client,
    tenant: Tenant,
    fake_aws: FakeAws,
    kind: str,
    status: int,
) -> None:
    create_registry(client, sender=SENDER)
    configure_aws(client)
    inbound(client, "+14255550152", SENDER, "HELP")
    fake_aws.script = [(status, kind, None)]
    assert service.deliver_outbox(tenant=tenant).dead == 1
    [row] = _outbox(client)
    assert row["status"] == "dead" and kind in row["last_error"]
    assert service.deliver_outbox(tenant=tenant).outcomes == {}
    assert len(fake_aws.sent()) == 1


def test_an_opted_out_refusal_opts_the_recipient_out_at_that_sender(
    service: Consentry, client: httpx.Client, tenant: Tenant, fake_aws: FakeAws
) -> None:
    create_registry(client, sender=SENDER)
    configure_aws(client)
    inbound(client, "+14255550153", SENDER, "HELP")
    fake_aws.script = [(400, "ConflictException", "DESTINATION_PHONE_NUMBER_OPTED_OUT")]
    assert service.deliver_outbox(tenant=tenant).dead == 1
    history = client.get("/v1/optouts/+14255550153/history").json()
    [added] = [event for event in history["events"] if event["action"] == "add"]
    assert added["source"] == "provider" and added["scope"] == f"sender:{SENDER}"


def test_without_a_region_the_log_transport_is_used(
    service: Consentry, client: httpx.Client, tenant: Tenant, fake_aws: FakeAws
) -> None:
    create_registry(client, sender=SENDER)
    response = client.put("/v1/providers/aws", json={"topic_arn": TOPIC})
    assert response.status_code == 200 and response.json()["secret_set"] is False
    inbound(client, "+14255550154", SENDER, "HELP")
    assert service.deliver_outbox(tenant=tenant).sent == 1
    assert _outbox(client)[0]["transport"] == "log" and fake_aws.requests == []


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"region": "mars"}, "region"),
        ({"access_key_id": "AKIA"}, "access_key_id"),
        ({"secret_access_key": "short"}, "secret_access_key"),
        ({"access_key_id": None, "secret_access_key": AWS_SECRET}, "access_key_id"),
        ({"configuration_set": "has space"}, "configuration_set"),
        ({"opt_out_list": ""}, "opt_out_list"),
        ({"events_topic_arn": "arn:aws:sqs:us-west-2:123456789012:q"}, "events_topic_arn"),
        ({"provider_answers_keywords": "yes"}, "provider_answers_keywords"),
    ],
)
def test_sending_settings_are_checked(
    client: httpx.Client, settings: dict[str, Any], field: str
) -> None:
    body = {"topic_arn": TOPIC, "region": "us-west-2", **settings}
    body = {k: v for k, v in body.items() if v is not None}
    response = client.put("/v1/providers/aws", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_static_credentials_need_their_secret_the_first_time(client: httpx.Client) -> None:
    response = client.put(
        "/v1/providers/aws", json={"topic_arn": TOPIC, "access_key_id": AWS_KEY_ID}
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "secret_access_key"
    configure_aws(client)
    kept = client.put(
        "/v1/providers/aws",
        json={"topic_arn": TOPIC, "region": "us-east-1", "access_key_id": AWS_KEY_ID},
    )
    assert kept.status_code == 200 and kept.json()["secret_set"] is True
