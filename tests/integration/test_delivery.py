"""Delivery of the outbox: the ``log`` transport end to end, and the ``twilio`` transport (the real
SDK) against a local fake of Twilio's REST API that records what it was sent; Twilio's delivery
reports signed by the SDK's RequestValidator."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from twilio.request_validator import RequestValidator

from consentry import Consentry, Tenant
from consentry.service._delivery import TwilioApiUrlEnv
from tests.conftest import serving
from tests.integration.helpers import create_registry, inbound

SENDER = "+12065550100"
TOKEN = "0123456789abcdef0123456789abcdef"
ACCOUNT = "AC" + "0" * 32


@dataclass
class FakeTwilio:
    """Twilio's Messages endpoint, recording each request; answers from a script of statuses."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: list[tuple[int, int | None]] = field(default_factory=list)  # (HTTP status, error code)


@pytest.fixture
def fake_twilio(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    api = FastAPI()

    @api.post("/2010-04-01/Accounts/{account}/Messages.json")
    async def create_message(account: str, request: Request) -> JSONResponse:
        form = {key: str(value) for key, value in (await request.form()).items()}
        fake.requests.append(
            {"account": account, "auth": request.headers.get("authorization", ""), **form}
        )
        status, code = fake.script.pop(0) if fake.script else (201, None)
        if status >= 400:
            return JSONResponse(
                {"code": code, "message": "scripted failure", "status": status}, status
            )
        sid = f"SM{len(fake.requests):032d}"
        return JSONResponse(
            {
                "sid": sid,
                "status": "queued",
                "to": form["To"],
                "from": form["From"],
                "body": form["Body"],
                "account_sid": account,
            },
            201,
        )

    with serving(api) as url:
        fake.url = url
        monkeypatch.setenv(TwilioApiUrlEnv, url)
        yield fake


def _outbox(client: httpx.Client) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = client.get("/v1/outbox").json()
    return rows


def test_the_log_transport_delivers_each_reply_once(
    service: Consentry, client: httpx.Client, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    inbound(client, "+14255550140", SENDER, "HELP")
    report = service.deliver_outbox(tenant=tenant)
    assert report.sent == 1 and report.dead == report.retried == 0
    [row] = _outbox(client)
    assert row["status"] == "sent" and row["transport"] == "log"
    assert row["provider_message_id"] == f"log-{row['outbox_id']}" and row["sent_at"]
    assert service.deliver_outbox(tenant=tenant).outcomes == {}


def test_a_reply_to_someone_who_opted_out_since_is_suppressed(
    service: Consentry, client: httpx.Client, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    response = client.post(
        "/v1/consents",
        json={
            "recipient": "+14255550141",
            "program": "alerts",
            "medium": "web_form",
            "disclosure_text": "Acme alerts by text. Reply STOP to cancel.",
        },
    )
    assert response.status_code == 201
    client.post("/v1/optouts:add", json={"from": SENDER, "recipients": [{"to": "+14255550141"}]})
    report = service.deliver_outbox(tenant=tenant)
    assert report.suppressed == 1 and report.sent == 0
    [row] = _outbox(client)
    assert row["status"] == "suppressed" and "opted out" in row["last_error"]


def test_the_twilio_sdk_sends_through_the_configured_account(
    service: Consentry, client: httpx.Client, tenant: Tenant, fake_twilio: FakeTwilio
) -> None:
    create_registry(client, sender=SENDER)
    client.put(
        "/v1/providers/twilio",
        json={
            "auth_token": TOKEN,
            "account_sid": ACCOUNT,
            "reply_with_twiml": False,
            "webhook_url": f"https://sms.example.com/webhooks/twilio/{tenant.slug}",
        },
    )
    inbound(client, "+14255550142", SENDER, "HELP")
    report = service.deliver_outbox(tenant=tenant)
    assert report.sent == 1, report
    [sent] = fake_twilio.requests
    assert sent["account"] == ACCOUNT
    assert base64.b64decode(sent["auth"].split()[1]).decode() == f"{ACCOUNT}:{TOKEN}"
    assert (sent["From"], sent["To"]) == (SENDER, "+14255550142")
    assert sent["StatusCallback"] == f"https://sms.example.com/webhooks/twilio/{tenant.slug}/status"
    [row] = _outbox(client)
    assert row["transport"] == "twilio" and row["provider_message_id"] == f"SM{1:032d}"
    assert sent["Body"] == row["body"]


def test_a_failure_is_retried_with_back_off_then_dead(
    database_url: str, client: httpx.Client, tenant: Tenant, fake_twilio: FakeTwilio
) -> None:
    create_registry(client, sender=SENDER)
    client.put(
        "/v1/providers/twilio",
        json={"auth_token": TOKEN, "account_sid": ACCOUNT, "reply_with_twiml": False},
    )
    inbound(client, "+14255550143", SENDER, "HELP")
    now = [datetime.now(UTC)]
    clocked = Consentry(database_url, clock=lambda: now[0])
    try:
        fake_twilio.script = [(500, 20500)] * 5
        first = clocked.deliver_outbox(tenant=tenant)
        assert first.retried == 1
        [row] = _outbox(client)
        assert row["status"] == "queued" and row["attempts"] == 1 and "500" in row["last_error"]
        assert clocked.deliver_outbox(tenant=tenant).outcomes == {}  # not due yet
        for attempt in range(2, 6):
            now[0] += timedelta(hours=1)
            clocked.deliver_outbox(tenant=tenant)
            assert _outbox(client)[0]["attempts"] == attempt
        assert _outbox(client)[0]["status"] == "dead"
        assert len(fake_twilio.requests) == 5
    finally:
        clocked.close()


def test_twilio_21610_marks_the_recipient_opted_out_at_that_sender(
    service: Consentry, client: httpx.Client, tenant: Tenant, fake_twilio: FakeTwilio
) -> None:
    create_registry(client, sender=SENDER)
    client.put(
        "/v1/providers/twilio",
        json={"auth_token": TOKEN, "account_sid": ACCOUNT, "reply_with_twiml": False},
    )
    inbound(client, "+14255550144", SENDER, "HELP")
    fake_twilio.script = [(400, 21610)]
    assert service.deliver_outbox(tenant=tenant).dead == 1
    history = client.get("/v1/optouts/+14255550144/history").json()
    [added] = [event for event in history["events"] if event["action"] == "add"]
    assert added["source"] == "provider" and added["scope"] == f"sender:{SENDER}"


def test_a_signed_delivery_report_updates_the_message(
    service: Consentry, client: httpx.Client, base_url: str, tenant: Tenant, fake_twilio: FakeTwilio
) -> None:
    create_registry(client, sender=SENDER)
    client.put(
        "/v1/providers/twilio",
        json={"auth_token": TOKEN, "account_sid": ACCOUNT, "reply_with_twiml": False},
    )
    inbound(client, "+14255550145", SENDER, "HELP")
    service.deliver_outbox(tenant=tenant)
    [row] = _outbox(client)
    url = f"{base_url}/webhooks/twilio/{tenant.slug}/status"
    params = {"MessageSid": row["provider_message_id"], "MessageStatus": "delivered"}
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    response = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200 and response.json() == {"recorded": True}
    assert _outbox(client)[0]["delivery_status"] == "delivered"
    forged = httpx.post(
        url, data={**params, "MessageStatus": "failed"}, headers={"X-Twilio-Signature": signature}
    )
    assert forged.status_code == 403
    assert _outbox(client)[0]["delivery_status"] == "delivered"


def test_the_log_transport_masks_numbers_and_keeps_bodies_out_of_info_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from consentry.transports import LogTransport, OutboundMessage

    with caplog.at_level(logging.INFO, logger="consentry.delivery"):
        LogTransport().send(
            OutboundMessage("out_1", "t", SENDER, "+14255550123", "Acme: secret body text")
        )
    text = caplog.text
    assert "+14255550123" not in text and "0123" in text
    assert "secret body text" not in text
