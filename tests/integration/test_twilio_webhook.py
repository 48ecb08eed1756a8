"""Twilio's Messaging webhook, signed by the ``twilio`` SDK's own RequestValidator, against a
real server on SQLite and PostgreSQL; replies are compared with TwiML built by the SDK."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from consentry import Tenant
from consentry.providers import twilio as twilio_protocol
from tests.integration.helpers import create_registry

SENDER = "+12065550100"
TOKEN = "0123456789abcdef0123456789abcdef"


def _configure(client: httpx.Client, **settings: Any) -> dict[str, Any]:
    response = client.put("/v1/providers/twilio", json={"auth_token": TOKEN, **settings})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _post(
    base_url: str, tenant: Tenant, params: dict[str, str], *, token: str = TOKEN, sign: bool = True
) -> httpx.Response:
    url = f"{base_url}/webhooks/twilio/{tenant.slug}"
    headers = {}
    if sign:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(url, params)
    return httpx.post(url, data=params, headers=headers)


def _sms(number: str, body: str, sid: str | None = None) -> dict[str, str]:
    return {
        "MessageSid": sid or "SM" + secrets.token_hex(16),
        "AccountSid": "AC" + "0" * 32,
        "From": number,
        "To": SENDER,
        "Body": body,
        "NumMedia": "0",
    }


def _same_xml(left: str, right: str) -> bool:
    def canonical(text: str) -> list[tuple[str, str | None]]:
        return [(el.tag, (el.text or "").strip() or None) for el in ET.fromstring(text).iter()]

    return canonical(left) == canonical(right)


def _inbound(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/v1/inbound")
    assert response.status_code == 200
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_a_signed_stop_opts_out_and_is_answered_in_twiml(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    response = _post(base_url, tenant, _sms("+14255550123", "Stop"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    [outbox] = client.get("/v1/outbox").json()
    assert outbox["status"] == "sent_twiml"  # no worker will send it again
    expected = MessagingResponse()
    expected.message(outbox["body"])
    assert _same_xml(response.text, str(expected))
    check = client.post(
        "/v1/optouts:check", json={"from": SENDER, "recipients": [{"to": "+14255550123"}]}
    )
    assert check.json()["value"][0]["isOptedOut"] is True


@pytest.mark.parametrize(
    ("case", "token", "sign", "tamper"),
    [
        ("unsigned", TOKEN, False, False),
        ("signed with another token", "f" * 32, True, False),
        ("body changed after signing", TOKEN, True, True),
    ],
)
def test_a_request_that_fails_the_signature_is_403_and_stores_nothing(
    client: httpx.Client,
    base_url: str,
    tenant: Tenant,
    case: str,
    token: str,
    sign: bool,
    tamper: bool,
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    params = _sms("+14255550124", "STOP")
    url = f"{base_url}/webhooks/twilio/{tenant.slug}"
    headers = (
        {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}
        if sign
        else {}
    )
    if tamper:
        params = {**params, "Body": "START"}
    response = httpx.post(url, data=params, headers=headers)
    assert response.status_code == 403, case
    assert response.json()["error"]["code"] == "forbidden"
    assert _inbound(client) == []


def test_a_retried_message_is_processed_once_and_answered_the_same(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    params = _sms("+14255550125", "HELP", sid="SM" + "a" * 32)
    first = _post(base_url, tenant, params)
    second = _post(base_url, tenant, params)
    assert first.status_code == second.status_code == 200
    assert _same_xml(first.text, second.text) and "<Message>" in first.text
    assert len(_inbound(client)) == 1
    assert len(client.get("/v1/outbox").json()) == 1


def test_replies_can_stay_in_the_outbox(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client, reply_with_twiml=False)
    response = _post(base_url, tenant, _sms("+14255550126", "STOP"))
    assert response.status_code == 200
    assert _same_xml(response.text, str(MessagingResponse()))
    [outbox] = client.get("/v1/outbox").json()
    assert outbox["status"] == "queued"


def test_settings_are_write_only_and_checked(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    assert client.get("/v1/providers/twilio").status_code == 404
    assert _post(base_url, tenant, _sms("+14255550127", "STOP")).status_code == 404
    shown = _configure(client, account_sid="AC" + "1" * 32)
    assert shown["auth_token_set"] is True and "auth_token" not in shown
    again = client.get("/v1/providers/twilio").json()
    assert TOKEN not in str(again) and again["account_sid"] == "AC" + "1" * 32
    # Later updates may leave the token out: it is kept.
    kept = client.put("/v1/providers/twilio", json={"reply_with_twiml": False})
    assert kept.status_code == 200 and kept.json()["reply_with_twiml"] is False
    for body, field in (
        ({"auth_token": "short"}, "auth_token"),
        ({"auth_token": TOKEN, "account_sid": "XX1"}, "account_sid"),
        ({"auth_token": TOKEN, "webhook_url": "ftp://x"}, "webhook_url"),
        ({"auth_token": TOKEN, "colour": "red"}, "colour"),
    ):
        response = client.put("/v1/providers/twilio", json=body)
        assert response.status_code == 422, body
        assert response.json()["error"]["field"] == field
    assert client.put("/v1/providers/aws", json={}).status_code == 422


def test_the_signature_matches_the_sdk_behind_a_proxy(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    public = f"https://sms.example.com/webhooks/twilio/{tenant.slug}"
    _configure(client, webhook_url=public)
    params = _sms("+14255550128", "HELP")
    # Twilio signs the public URL it called; the proxy forwards to consentry's own address.
    signature = RequestValidator(TOKEN).compute_signature(public, params)
    response = httpx.post(
        f"{base_url}/webhooks/twilio/{tenant.slug}",
        data=params,
        headers={"X-Twilio-Signature": signature},
    )
    assert response.status_code == 200, response.text
    assert twilio_protocol.signature(TOKEN, public, params) == signature
    assert twilio_protocol.signature_valid(
        TOKEN, public.replace(".com/", ".com:443/"), params, signature
    )


@pytest.mark.parametrize(
    ("body", "twilio_answers"),
    [("STOP", True), ("stop", True), ("Help", True), ("Stop please", False), ("ARRET", False)],
)
def test_keywords_twilio_answers_itself_are_not_answered_twice(
    client: httpx.Client, base_url: str, tenant: Tenant, body: str, twilio_answers: bool
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client, provider_answers_keywords=True)
    response = _post(base_url, tenant, _sms("+14255550129", body))
    assert response.status_code == 200
    [outbox] = client.get("/v1/outbox").json()
    if twilio_answers:
        assert _same_xml(response.text, str(MessagingResponse()))
        assert outbox["status"] == "provider_replied"
    else:
        assert "<Message>" in response.text and outbox["status"] == "sent_twiml"


def test_the_provider_keyword_lists_are_cited_data() -> None:
    from consentry.providers.keywords import answered_by_provider, citation

    for provider in ("twilio", "aws", "azure"):
        assert len(citation(provider)) > 40
    assert answered_by_provider("aws", " td ") and not answered_by_provider("twilio", "TD")
    assert not answered_by_provider("unknown", "STOP")
