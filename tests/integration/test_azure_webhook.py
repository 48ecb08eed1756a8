"""Azure Communication Services inbound SMS through Event Grid (Event Grid schema), against a real
server on SQLite and PostgreSQL: the subscription handshake, the shared secret, SMSReceived
handled like ``POST /v1/inbound``, retries, whole-delivery validation and the settings."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from consentry import Consentry, Tenant
from tests.integration.helpers import create_registry, is_opted_out

SENDER = "+12065550100"
SECRET = "azure-webhook-" + "s3cr3t_Value.~" * 2
SECRET_HEADER = "X-Consentry-Webhook-Secret"
TOPIC = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
    "Microsoft.Communication/CommunicationServices/acs"
)


def _configure(client: httpx.Client, **settings: Any) -> dict[str, Any]:
    response = client.put("/v1/providers/azure", json={"webhook_secret": SECRET, **settings})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _sms(
    number: str,
    text: str,
    message_id: str | None = None,
    *,
    received: str = "2024-05-01T12:30:45.1234567Z",
) -> dict[str, Any]:
    """An SMSReceived event as Event Grid delivers it (Event Grid schema)."""
    message_id = message_id or "Incoming_20240501123045" + secrets.token_hex(16)
    return {
        "id": message_id,
        "topic": TOPIC,
        "subject": f"/phonenumber/{SENDER.lstrip('+')}",
        "data": {
            "messageId": message_id,
            "from": number,
            "to": SENDER,
            "message": text,
            "receivedTimestamp": received,
            "segmentCount": 1,
        },
        "eventType": "Microsoft.Communication.SMSReceived",
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": "2024-05-01T12:30:46Z",
    }


def _handshake(code: str) -> dict[str, Any]:
    return {
        "id": secrets.token_hex(8),
        "topic": TOPIC,
        "subject": "",
        "data": {
            "validationCode": code,
            "validationUrl": "https://rp-eastus2.eventgrid.azure.net/eventsubscriptions/x/validate",
        },
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": "2024-05-01T12:00:00Z",
        "metadataVersion": "1",
        "dataVersion": "1",
    }


def _post(
    base_url: str,
    tenant: Tenant,
    events: Any,
    *,
    code: str | None = SECRET,
    header: str | None = None,
) -> httpx.Response:
    url = f"{base_url}/webhooks/azure/{tenant.slug}"
    params = {"code": code} if code is not None else {}
    headers = {"aeg-event-type": "Notification"}
    if header is not None:
        headers[SECRET_HEADER] = header
    return httpx.post(url, params=params, json=events, headers=headers)


def _inbound(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/v1/inbound")
    assert response.status_code == 200
    rows: list[dict[str, Any]] = response.json()
    return rows


def _outbox(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/v1/outbox")
    assert response.status_code == 200
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_the_subscription_handshake_returns_the_validation_code(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    _configure(client)
    code = "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"
    response = _post(base_url, tenant, [_handshake(code)])
    assert response.status_code == 200, response.text
    assert response.json() == {"validationResponse": code}
    # The handshake needs the secret too.
    assert _post(base_url, tenant, [_handshake(code)], code=None).status_code == 403


def test_a_received_stop_opts_out_at_that_sender_and_queues_one_confirmation(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    event = _sms("+14255550123", "Stop")
    response = _post(base_url, tenant, [event])
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 1, "duplicates": 0, "delivery_reports": 0, "ignored": 0}
    assert is_opted_out(client, SENDER, "+14255550123")
    check = client.post(
        "/v1/optouts:check", json={"from": SENDER, "recipients": [{"to": "+14255550123"}]}
    )
    assert check.json()["value"][0]["isOptedOut"] is True
    [outbox] = _outbox(client)
    assert outbox["status"] == "queued"  # Event Grid carries no reply: it waits for delivery
    assert outbox["recipient"] == "+14255550123"
    [row] = _inbound(client)
    assert row["action"] == "opted_out"
    assert row["provider_message_id"] == event["data"]["messageId"][:64]
    assert row["received_at"].startswith("2024-05-01T12:30:45.123456")


def test_the_secret_may_come_in_a_header(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    response = _post(base_url, tenant, [_sms("+14255550129", "HELP")], code=None, header=SECRET)
    assert response.status_code == 200, response.text
    assert len(_inbound(client)) == 1


@pytest.mark.parametrize(
    ("case", "code", "header"),
    [
        ("no secret", None, None),
        ("wrong code", "x" * len(SECRET), None),
        ("wrong header", None, SECRET[:-1] + "!"),
        ("prefix of the secret", SECRET[:24], None),
        ("secret with a suffix", SECRET + "a", None),
        ("not ASCII", "é" * 30, None),
    ],
)
def test_a_delivery_without_the_secret_is_403_and_stores_nothing(
    client: httpx.Client,
    base_url: str,
    tenant: Tenant,
    case: str,
    code: str | None,
    header: str | None,
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    response = _post(base_url, tenant, [_sms("+14255550124", "STOP")], code=code, header=header)
    assert response.status_code == 403, case
    assert response.json()["error"]["code"] == "forbidden"
    assert SECRET not in response.text
    assert _inbound(client) == []
    assert _outbox(client) == []
    assert not is_opted_out(client, SENDER, "+14255550124")


def test_a_retried_delivery_is_processed_once(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    event = _sms("+14255550125", "STOP", message_id="Incoming_" + "a" * 80)  # cut to 64
    first = _post(base_url, tenant, [event])
    second = _post(base_url, tenant, [event])
    assert first.json() == {"received": 1, "duplicates": 0, "delivery_reports": 0, "ignored": 0}
    assert second.status_code == 200
    assert second.json() == {"received": 0, "duplicates": 1, "delivery_reports": 0, "ignored": 0}
    assert len(_inbound(client)) == 1
    assert len(_outbox(client)) == 1


def test_other_event_types_are_acknowledged_and_ignored(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    report = {
        "id": "r1",
        "topic": TOPIC,
        "subject": "/phonenumber/12065550100",
        "eventType": "Microsoft.Communication.SMSDeliveryReportReceived",
        "data": {"messageId": "Outgoing_1", "deliveryStatus": "Delivered"},
        "eventTime": "2024-05-01T12:00:00Z",
        "dataVersion": "1.0",
        "metadataVersion": "1",
    }
    deleted = {"eventType": "Microsoft.EventGrid.SubscriptionDeletedEvent", "data": {}}
    response = _post(
        base_url,
        tenant,
        [report, _sms("+14255550126", "HELP"), deleted, _sms("+14255550127", "hi")],
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 2, "duplicates": 0, "delivery_reports": 0, "ignored": 2}
    assert len(_inbound(client)) == 2
    only_ignored = _post(base_url, tenant, [report])
    assert only_ignored.json() == {
        "received": 0,
        "duplicates": 0,
        "delivery_reports": 0,
        "ignored": 1,
    }
    assert _post(base_url, tenant, []).json() == {
        "received": 0,
        "duplicates": 0,
        "delivery_reports": 0,
        "ignored": 0,
    }


def _without(event: dict[str, Any], name: str) -> dict[str, Any]:
    data = {key: value for key, value in event["data"].items() if key != name}
    return {**event, "data": data}


@pytest.mark.parametrize(
    ("case", "bad", "field"),
    [
        ("missing from", lambda e: _without(e, "from"), "1.data.from"),
        ("missing messageId", lambda e: _without(e, "messageId"), "1.data.messageId"),
        (
            "message not text",
            lambda e: {**e, "data": {**e["data"], "message": 5}},
            "1.data.message",
        ),
        ("bad number", lambda e: {**e, "data": {**e["data"], "from": "nope"}}, "1.data.from"),
        (
            "timestamp without a zone",
            lambda e: {**e, "data": {**e["data"], "receivedTimestamp": "2024-05-01T12:00:00"}},
            "1.data.receivedTimestamp",
        ),
        (
            "timestamp not a time",
            lambda e: {**e, "data": {**e["data"], "receivedTimestamp": "yesterday"}},
            "1.data.receivedTimestamp",
        ),
        ("no data", lambda e: {k: v for k, v in e.items() if k != "data"}, "1.data"),
        ("no eventType", lambda e: {k: v for k, v in e.items() if k != "eventType"}, "1.eventType"),
        ("not an object", lambda e: ["STOP"], "1"),
    ],
)
def test_one_malformed_event_rejects_the_whole_delivery(
    client: httpx.Client, base_url: str, tenant: Tenant, case: str, bad: Any, field: str
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    events = [
        _sms("+14255550130", "STOP"),
        bad(_sms("+14255550131", "STOP")),
        _sms("+14255550132", "STOP"),
    ]
    response = _post(base_url, tenant, events)
    assert response.status_code == 422, case
    error = response.json()["error"]
    assert error["code"] in ("invalid_input", "invalid_number")
    assert error["field"] == field, error
    assert _inbound(client) == []
    assert _outbox(client) == []
    assert not is_opted_out(client, SENDER, "+14255550130")


@pytest.mark.parametrize(
    ("case", "content"),
    [
        ("not JSON", b"STOP"),
        ("an object, not an array", b'{"eventType": "Microsoft.Communication.SMSReceived"}'),
        ("not UTF-8", b"\xff\xfe["),
    ],
)
def test_a_body_that_is_not_an_array_of_events_is_422(
    client: httpx.Client, base_url: str, tenant: Tenant, case: str, content: bytes
) -> None:
    _configure(client)
    response = httpx.post(
        f"{base_url}/webhooks/azure/{tenant.slug}",
        params={"code": SECRET},
        content=content,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, case
    assert response.json()["error"]["code"] == "invalid_input"
    assert _inbound(client) == []


def test_a_handshake_mixed_with_messages_is_refused(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    response = _post(base_url, tenant, [_handshake("abc"), _sms("+14255550133", "STOP")])
    assert response.status_code == 422
    assert _inbound(client) == []


def test_the_event_time_stands_in_for_a_missing_received_timestamp(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    event = _without(_sms("+14255550134", "HELP"), "receivedTimestamp")
    assert _post(base_url, tenant, [event]).status_code == 200
    [row] = _inbound(client)
    assert row["received_at"].startswith("2024-05-01T12:30:46")


def test_settings_are_write_only_and_checked(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    assert client.get("/v1/providers/azure").status_code == 404
    assert _post(base_url, tenant, [_sms("+14255550135", "STOP")]).status_code == 404
    missing = client.put("/v1/providers/azure", json={})
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "webhook_secret"
    shown = _configure(client)
    assert shown["provider"] == "azure" and shown["reply_via"] == "outbox"
    assert shown["secret_set"] is True and "webhook_secret" not in shown
    assert "auth_token_set" not in shown
    again = client.get("/v1/providers/azure").json()
    assert SECRET not in str(again) and again["secret_set"] is True
    # Later updates may leave the secret out: it is kept.
    kept = client.put("/v1/providers/azure", json={"reply_via": "outbox"})
    assert kept.status_code == 200 and SECRET not in kept.text
    assert _post(base_url, tenant, [_sms("+14255550136", "HELP")]).status_code == 200
    # A new secret replaces the old one.
    rotated = "R" * 40
    assert client.put("/v1/providers/azure", json={"webhook_secret": rotated}).status_code == 200
    assert _post(base_url, tenant, [_sms("+14255550137", "HELP")]).status_code == 403
    assert _post(base_url, tenant, [_sms("+14255550137", "HELP")], code=rotated).status_code == 200
    for body, field in (
        ({"webhook_secret": "short"}, "webhook_secret"),
        ({"webhook_secret": "a" * 23}, "webhook_secret"),
        ({"webhook_secret": "a" * 257}, "webhook_secret"),
        ({"webhook_secret": "has spaces in it " * 3}, "webhook_secret"),
        ({"webhook_secret": "a" * 30 + "&code=x"}, "webhook_secret"),
        ({"webhook_secret": 12345678901234567890123456}, "webhook_secret"),
        ({"webhook_secret": SECRET, "reply_via": "response"}, "reply_via"),
        ({"webhook_secret": SECRET, "connection_string": "endpoint=x"}, "connection_string"),
        ({"webhook_secret": SECRET, "delivery_reports": "yes"}, "delivery_reports"),
        ({"webhook_secret": SECRET, "topic_arn": "arn:aws:sns:x"}, "topic_arn"),
    ):
        response = client.put("/v1/providers/azure", json=body)
        assert response.status_code == 422, body
        assert response.json()["error"]["field"] == field
    # The rejected updates changed nothing.
    assert _post(base_url, tenant, [_sms("+14255550138", "HELP")], code=rotated).status_code == 200


def test_an_unknown_tenant_is_404(client: httpx.Client, base_url: str, tenant: Tenant) -> None:
    _configure(client)
    for ref in (f"no-such-tenant-{secrets.token_hex(4)}", tenant.id):  # by slug only
        response = httpx.post(
            f"{base_url}/webhooks/azure/{ref}",
            params={"code": SECRET},
            json=[_sms("+14255550139", "STOP")],
        )
        assert response.status_code == 404, ref
        assert response.json()["error"]["code"] == "not_found"


def test_azure_and_twilio_settings_are_kept_apart(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    _configure(client)
    assert client.get("/v1/providers/twilio").status_code == 404
    twilio = client.put("/v1/providers/twilio", json={"auth_token": "0123456789abcdef" * 2})
    assert twilio.status_code == 200
    assert twilio.json()["auth_token_set"] is True and twilio.json()["reply_with_twiml"] is True
    assert client.get("/v1/providers/azure").json()["reply_via"] == "outbox"
    # Each provider refuses the other's settings.
    wrong = client.put("/v1/providers/twilio", json={"webhook_secret": SECRET})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "webhook_secret"
    wrong = client.put("/v1/providers/azure", json={"auth_token": "0123456789abcdef" * 2})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "auth_token"


# --- delivery reports: SMSDeliveryReportReceived ------------------------------------------------


def _report(message_id: str, status: str, details: str = "No error.") -> dict[str, Any]:
    """An SMSDeliveryReportReceived event as Event Grid delivers it (Event Grid schema)."""
    return {
        "id": secrets.token_hex(8),
        "topic": TOPIC,
        "subject": "/phonenumber/12065550100",
        "data": {
            "messageId": message_id,
            "from": SENDER,
            "to": "+14255550195",
            "deliveryStatus": status,
            "deliveryStatusDetails": details,
            "deliveryAttempts": [
                {"timestamp": "2024-05-01T12:31:00Z", "segmentsSucceeded": 1, "segmentsFailed": 0}
            ],
            "receivedTimestamp": "2024-05-01T12:31:05Z",
            "tag": "out_x",
        },
        "eventType": "Microsoft.Communication.SMSDeliveryReportReceived",
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": "2024-05-01T12:31:06Z",
    }


def _sent_reply(service: Consentry, client: httpx.Client, tenant: Tenant, number: str) -> str:
    """A HELP answer delivered (by the log transport); its provider message id."""
    response = client.post("/v1/inbound", json={"from": number, "to": SENDER, "body": "HELP"})
    assert response.status_code in (200, 201), response.text
    assert service.deliver_outbox(tenant=tenant).sent == 1
    [row] = [r for r in _outbox(client) if r["recipient"] == number]
    return str(row["provider_message_id"])


def test_a_delivery_report_updates_the_message_it_reports_on(
    service: Consentry, client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    message_id = _sent_reply(service, client, tenant, "+14255550195")
    delivered = _report(message_id, "Delivered")
    response = _post(base_url, tenant, [delivered, _report("Outgoing_unknown", "Delivered")])
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 0, "duplicates": 0, "delivery_reports": 1, "ignored": 1}
    [row] = _outbox(client)
    assert row["delivery_status"] == "delivered" and row["last_error"] is None
    # Event Grid retries, and a late non-final report, change nothing.
    assert _post(base_url, tenant, [delivered]).json()["delivery_reports"] == 1
    assert _post(base_url, tenant, [_report(message_id, "Sent")]).json()["delivery_reports"] == 1
    assert _outbox(client)[0]["delivery_status"] == "delivered"
    # Without the secret nothing is recorded.
    assert _post(base_url, tenant, [_report(message_id, "Failed")], code=None).status_code == 403
    assert _outbox(client)[0]["delivery_status"] == "delivered"


def test_a_failed_report_keeps_azure_s_reason(
    service: Consentry, client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    message_id = _sent_reply(service, client, tenant, "+14255550196")
    details = "Message failed to deliver: the destination is unreachable."
    _post(base_url, tenant, [_report(message_id, "Failed", details)])
    [row] = _outbox(client)
    assert row["delivery_status"] == "failed" and row["last_error"] == details
    assert not is_opted_out(client, SENDER, "+14255550196")


def test_an_opted_out_report_opts_the_recipient_out_at_that_sender(
    service: Consentry, client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    number = "+14255550197"
    message_id = _sent_reply(service, client, tenant, number)
    report = _report(
        message_id, "Failed", "The recipient has opted out of messages from this number."
    )
    assert _post(base_url, tenant, [report]).json()["delivery_reports"] == 1
    assert _outbox(client)[0]["delivery_status"] == "opted_out"
    assert is_opted_out(client, SENDER, number)
    history = client.get(f"/v1/optouts/{number}/history").json()
    [added] = [e for e in history["events"] if e["action"] == "add"]
    assert added["source"] == "provider" and added["scope"] == f"sender:{SENDER}"


def test_a_malformed_delivery_report_rejects_the_delivery(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    bad = _report("Outgoing_1", "Delivered")
    del bad["data"]["deliveryStatus"]
    response = _post(base_url, tenant, [_sms("+14255550198", "STOP"), bad])
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "1.data.deliveryStatus"
    assert _inbound(client) == []


def test_keywords_azure_answers_itself_are_not_answered_twice(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client, provider_answers_keywords=True)
    events = [_sms("+14255550199", "STOP"), _sms("+14255550189", "stop please")]
    assert _post(base_url, tenant, events).status_code == 200
    rows = {row["recipient"]: row for row in _outbox(client)}
    assert rows["+14255550199"]["status"] == "provider_replied"  # Azure answered STOP itself
    assert rows["+14255550189"]["status"] == "queued"  # not a keyword Azure knows: ours to answer
