"""The ``azure`` transport: the real ``azure-communication-sms`` SmsClient, built from a
connection string, against a local fake of the SMS API on SQLite and PostgreSQL.

The SDK only speaks https when built from a connection string (it keeps the endpoint's host and
prefixes ``https://``), so the fake runs over TLS with a self-signed certificate made in the
test, and the SDK's transport verifies it against that certificate (``connection_verify``, set
through ``CONSENTRY_AZURE_CA_BUNDLE``). The fake checks every request's HMAC-SHA256 signature
with the access key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from consentry import Consentry, Tenant
from consentry.transports import OutboundMessage, TransportError
from consentry.transports.azure import AzureTransport
from tests.integration.helpers import create_registry, inbound
from tests.providers.conftest import FakeAzure

SENDER = "+12065550100"
SECRET = "azure-webhook-" + "s3cr3t_Value.~" * 2


def configure_azure(client: httpx.Client, fake: FakeAzure, **settings: Any) -> dict[str, Any]:
    body = {"webhook_secret": SECRET, "connection_string": fake.connection_string, **settings}
    response = client.put("/v1/providers/azure", json=body)
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()
    return shown


def _outbox(client: httpx.Client) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = client.get("/v1/outbox").json()
    return rows


def test_a_reply_is_sent_through_azure_signed_with_the_access_key(
    service: Consentry, client: httpx.Client, tenant: Tenant, fake_azure: FakeAzure
) -> None:
    create_registry(client, sender=SENDER)
    shown = configure_azure(client, fake_azure)
    assert shown["connection_string_set"] is True and "accesskey" not in str(shown)
    inbound(client, "+14255550160", SENDER, "HELP")
    report = service.deliver_outbox(tenant=tenant)
    assert report.sent == 1, report
    assert fake_azure.bad_signatures == 0
    [sent] = fake_azure.sent()
    assert sent["from"] == SENDER and sent["smsRecipients"][0]["to"] == "+14255550160"
    assert sent["smsSendOptions"]["enableDeliveryReport"] is True
    [row] = _outbox(client)
    assert sent["message"] == row["body"] and sent["smsSendOptions"]["tag"] == row["outbox_id"]
    assert row["transport"] == "azure" and row["provider_message_id"] == "Outgoing_00000001"


def test_a_server_error_is_retried_with_back_off_then_sent(
    database_url: str, client: httpx.Client, tenant: Tenant, fake_azure: FakeAzure
) -> None:
    create_registry(client, sender=SENDER)
    configure_azure(client, fake_azure)
    inbound(client, "+14255550161", SENDER, "HELP")
    now = [datetime.now(UTC)]
    clocked = Consentry(database_url, clock=lambda: now[0])
    try:
        fake_azure.script = [(503, None), (202, 429)]
        assert clocked.deliver_outbox(tenant=tenant).retried == 1
        [row] = _outbox(client)
        assert row["status"] == "queued" and "503" in row["last_error"]
        now[0] += timedelta(seconds=31)
        assert clocked.deliver_outbox(tenant=tenant).retried == 1  # recipient-level 429
        assert clocked.deliver_outbox(tenant=tenant).outcomes == {}  # not due yet
        now[0] += timedelta(seconds=61)
        assert clocked.deliver_outbox(tenant=tenant).sent == 1
        [row] = _outbox(client)
        assert row["status"] == "sent" and row["attempts"] == 3
        assert len(fake_azure.sent()) == 3
    finally:
        clocked.close()


@pytest.mark.parametrize("script", [(400, None), (202, 400)])
def test_a_permanent_failure_is_dead_at_once(
    service: Consentry,
    client: httpx.Client,
    tenant: Tenant,
    fake_azure: FakeAzure,
    script: tuple[int, int | None],
) -> None:
    create_registry(client, sender=SENDER)
    configure_azure(client, fake_azure)
    inbound(client, "+14255550162", SENDER, "HELP")
    fake_azure.script = [script]
    assert service.deliver_outbox(tenant=tenant).dead == 1
    [row] = _outbox(client)
    assert row["status"] == "dead" and "400" in row["last_error"]
    assert service.deliver_outbox(tenant=tenant).outcomes == {}


def test_the_sdk_refuses_a_server_it_cannot_verify(fake_azure: FakeAzure) -> None:
    transport = AzureTransport(fake_azure.connection_string)  # default trust store only
    with pytest.raises(TransportError) as raised:
        transport.send(OutboundMessage("out_1", "t", SENDER, "+14255550163", "Acme: hi"))
    assert raised.value.retryable and fake_azure.requests == []


def test_a_wrong_access_key_is_refused_by_the_signature_check(fake_azure: FakeAzure) -> None:
    wrong = fake_azure.connection_string.rsplit("=", 1)[0] + "=" + "QUJD" * 8
    transport = AzureTransport(wrong, verify=str(_ca_bundle()))
    with pytest.raises(TransportError) as raised:
        transport.send(OutboundMessage("out_1", "t", SENDER, "+14255550164", "Acme: hi"))
    assert "401" in str(raised.value) and not raised.value.retryable
    assert fake_azure.bad_signatures == 1


def _ca_bundle() -> str:
    import os

    from consentry.service._delivery import AzureCaBundleEnv

    return os.environ[AzureCaBundleEnv]


@pytest.mark.parametrize(
    "connection",
    [
        "endpoint=x",
        "endpoint=http://acs.example.com/;accesskey=QUJDREVGR0hJSktMTU5PUA==",
        "endpoint=https://acs.example.com/;accesskey=not base64!",
        "endpoint=https://acs.example.com/",
    ],
)
def test_a_malformed_connection_string_is_refused(client: httpx.Client, connection: str) -> None:
    response = client.put(
        "/v1/providers/azure", json={"webhook_secret": SECRET, "connection_string": connection}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "connection_string"
    assert "QUJDREVGR0hJSktMTU5PUA" not in response.text  # the key is never echoed
