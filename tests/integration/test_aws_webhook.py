"""AWS End User Messaging SMS inbound through Amazon SNS, against a real server on SQLite and
PostgreSQL: messages signed as SNS signs them (SignatureVersion 1 and 2) with a key and a
self-signed certificate made here and served by a local fake of AWS, the trust checks (topic,
certificate URL, signature, replay window), the subscription handshake, retries, validation and
the settings.

The fake serves over plain http on 127.0.0.1, so the webhook under test runs in an app of its own
whose ``app.state.aws_sns`` allows http (the only test hook); the session's ``base_url`` app is
left as in production, where an http certificate URL is refused."""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from consentry import Consentry, Tenant
from consentry.api import create_app
from consentry.api.aws import SnsWeb
from tests.conftest import serving
from tests.domain.test_aws_sns import make_certificate, make_key, pem, sign, sns_time
from tests.integration.helpers import create_registry, is_opted_out

SENDER = "+12065550100"
TOPIC = "arn:aws:sns:us-west-2:123456789012:consentry-inbound"
LOCAL_HOSTS = r"^127\.0\.0\.1$"
TYPE_HEADER = "x-amz-sns-message-type"


@dataclass
class FakeAws:
    """What the webhook fetches from AWS: signing certificates and SubscribeURLs."""

    certificate: bytes
    url: str = ""
    fetches: Counter[str] = field(default_factory=Counter)
    confirmations: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        async def cert(request: Request) -> Response:
            name = request.path_params["name"]
            self.fetches[name] += 1
            if name == "missing.pem":
                return PlainTextResponse("no such key", 404)
            if name == "garbage.pem":
                return PlainTextResponse("<html>hello</html>")
            return Response(self.certificate, media_type="application/x-x509-ca-cert")

        async def confirm(request: Request) -> Response:
            self.confirmations.append(request.query_params.get("Token", ""))
            return Response("<ConfirmSubscriptionResponse/>", media_type="text/xml")

        return Starlette(
            routes=[Route("/certs/{name}", cert), Route("/confirm", confirm)],
        )

    def cert_url(self, name: str | None = None) -> str:
        return f"{self.url}/certs/{name or 'SimpleNotificationService-' + secrets.token_hex(8)}.pem"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return make_key()


@pytest.fixture(scope="module")
def aws(key: rsa.RSAPrivateKey) -> Iterator[FakeAws]:
    fake = FakeAws(pem(make_certificate(key)))
    with serving(fake.app()) as url:
        fake.url = url
        yield fake


@pytest.fixture(scope="module")
def sns_url(service: Consentry) -> Iterator[str]:
    """The API with the test hook: SigningCertURL and SubscribeURL may also be http."""
    app = create_app(service)
    app.state.aws_sns = SnsWeb(schemes=("https", "http"), timeout=5)
    with serving(app) as url:
        yield url


def _configure(client: httpx.Client, **settings: Any) -> dict[str, Any]:
    body = {"topic_arn": TOPIC, "cert_host_pattern": LOCAL_HOSTS, **settings}
    response = client.put("/v1/providers/aws", json=body)
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()
    return shown


def _sms(
    aws: FakeAws,
    number: str,
    text: str,
    inbound_id: str | None = None,
    *,
    at: datetime | None = None,
    topic: str = TOPIC,
    cert_url: str | None = None,
    **sms: Any,
) -> dict[str, Any]:
    """An unsigned SNS Notification carrying an inbound SMS, as AWS End User Messaging sends it."""
    inbound_id = inbound_id or secrets.token_hex(16)
    payload = {
        "originationNumber": number,
        "destinationNumber": SENDER,
        "messageKeyword": "KEYWORD_123456789012",
        "messageBody": text,
        "inboundMessageId": inbound_id,
        "previousPublishedMessageId": "wJ0GQ5NH3VISEgFm",
        **sms,
    }
    return {
        "Type": "Notification",
        "MessageId": str(secrets.token_hex(16)),
        "TopicArn": topic,
        "Message": json.dumps({k: v for k, v in payload.items() if v is not None}),
        "Timestamp": sns_time(at or datetime.now(UTC)),
        "SigningCertURL": cert_url or aws.cert_url(),
        "UnsubscribeURL": f"{aws.url}/unsubscribe?SubscriptionArn={topic}:1",
    }


def _subscription(aws: FakeAws, kind: str = "SubscriptionConfirmation") -> dict[str, Any]:
    token = secrets.token_hex(32)
    return {
        "Type": kind,
        "MessageId": str(secrets.token_hex(16)),
        "Token": token,
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
        "SubscribeURL": f"{aws.url}/confirm?Action=ConfirmSubscription&Token={token}",
        "Timestamp": sns_time(datetime.now(UTC)),
        "SigningCertURL": aws.cert_url(),
    }


def _post(url: str, tenant: Tenant, message: Any, *, kind: str | None = None) -> httpx.Response:
    """POST as SNS does: JSON as text/plain, the type in x-amz-sns-message-type."""
    headers = {"content-type": "text/plain; charset=UTF-8"}
    if isinstance(message, dict) and (kind or message.get("Type")):
        headers[TYPE_HEADER] = str(kind or message["Type"])
    content = message if isinstance(message, bytes) else json.dumps(message).encode()
    return httpx.post(f"{url}/webhooks/aws-sns/{tenant.slug}", content=content, headers=headers)


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


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_stop_opts_out_at_that_sender_and_queues_one_confirmation(
    client: httpx.Client,
    sns_url: str,
    tenant: Tenant,
    aws: FakeAws,
    key: rsa.RSAPrivateKey,
    version: str,
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    message = sign(_sms(aws, "+14255550123", "Stop"), key, version)
    response = _post(sns_url, tenant, message)
    assert response.status_code == 200, response.text
    assert response.json() == {"action": "opted_out", "duplicate": False}
    assert is_opted_out(client, SENDER, "+14255550123")
    check = client.post(
        "/v1/optouts:check", json={"from": SENDER, "recipients": [{"to": "+14255550123"}]}
    )
    assert check.json()["value"][0]["isOptedOut"] is True
    [outbox] = _outbox(client)
    assert outbox["status"] == "queued"  # SNS carries no reply: it waits for delivery
    assert outbox["recipient"] == "+14255550123"
    [row] = _inbound(client)
    assert row["action"] == "opted_out"
    assert row["provider_message_id"] == json.loads(message["Message"])["inboundMessageId"]
    assert row["received_at"][:16] == message["Timestamp"][:16]


def test_the_certificate_is_fetched_once_per_url(
    client: httpx.Client, sns_url: str, tenant: Tenant, aws: FakeAws, key: rsa.RSAPrivateKey
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    name = "SimpleNotificationService-" + secrets.token_hex(8)
    cert_url = aws.cert_url(name)
    for number in ("+14255550140", "+14255550141", "+14255550142"):
        message = sign(_sms(aws, number, "HELP", cert_url=cert_url), key)
        assert _post(sns_url, tenant, message).status_code == 200
    assert aws.fetches[name + ".pem"] == 1
    assert len(_inbound(client)) == 3


def _resigned(aws: FakeAws, key: rsa.RSAPrivateKey, **changes: Any) -> dict[str, Any]:
    return sign({**_sms(aws, "+14255550124", "STOP"), **changes}, key)


UNTRUSTED = [
    (
        "signed with another key",
        lambda aws, key: sign(_sms(aws, "+14255550124", "STOP"), make_key()),
    ),
    (
        "tampered message",
        lambda aws, key: {
            **sign(_sms(aws, "+14255550124", "HELP"), key),
            "Message": _sms(aws, "+14255550124", "STOP")["Message"],
        },
    ),
    (
        "signature version swapped",
        lambda aws, key: {**sign(_sms(aws, "+14255550124", "STOP"), key), "SignatureVersion": "1"},
    ),
    (
        "unknown signature version",
        lambda aws, key: {**sign(_sms(aws, "+14255550124", "STOP"), key), "SignatureVersion": "3"},
    ),
    (
        "other topic",
        lambda aws, key: sign(
            _sms(aws, "+14255550124", "STOP", topic=TOPIC.replace("consentry-inbound", "other")),
            key,
        ),
    ),
    (
        "stale timestamp",
        lambda aws, key: sign(
            _sms(aws, "+14255550124", "STOP", at=datetime.now(UTC) - timedelta(minutes=61)), key
        ),
    ),
    (
        "cert URL on a host not allowed",
        lambda aws, key: sign(
            _sms(
                aws,
                "+14255550124",
                "STOP",
                cert_url=aws.cert_url().replace("127.0.0.1", "localhost"),
            ),
            key,
        ),
    ),
    (
        "cert URL not a certificate",
        lambda aws, key: sign(
            _sms(aws, "+14255550124", "STOP", cert_url=aws.cert_url("garbage")), key
        ),
    ),
    (
        "cert URL not found",
        lambda aws, key: sign(
            _sms(aws, "+14255550124", "STOP", cert_url=aws.cert_url("missing")), key
        ),
    ),
]


@pytest.mark.parametrize(("case", "build"), UNTRUSTED, ids=[case for case, _ in UNTRUSTED])
def test_an_untrusted_message_is_403_and_stores_nothing(
    client: httpx.Client,
    sns_url: str,
    tenant: Tenant,
    aws: FakeAws,
    key: rsa.RSAPrivateKey,
    case: str,
    build: Any,
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    response = _post(sns_url, tenant, build(aws, key))
    assert response.status_code == 403, (case, response.text)
    assert response.json()["error"]["code"] == "forbidden"
    assert _inbound(client) == []
    assert _outbox(client) == []
    assert not is_opted_out(client, SENDER, "+14255550124")


def test_production_refuses_an_http_certificate_url(
    client: httpx.Client, base_url: str, tenant: Tenant, aws: FakeAws, key: rsa.RSAPrivateKey
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)  # the host is allowed: only the scheme is wrong
    name = "SimpleNotificationService-" + secrets.token_hex(8)
    message = sign(_sms(aws, "+14255550124", "STOP", cert_url=aws.cert_url(name)), key)
    response = _post(base_url, tenant, message)
    assert response.status_code == 403, response.text
    assert "https" in response.json()["error"]["message"]
    assert aws.fetches[name + ".pem"] == 0  # not even fetched
    subscription = sign(_subscription(aws), key)
    assert _post(base_url, tenant, subscription).status_code == 403
    assert _inbound(client) == []
    assert _outbox(client) == []
    assert not is_opted_out(client, SENDER, "+14255550124")


def test_production_refuses_the_default_hosts_for_anyone_but_sns(
    client: httpx.Client, base_url: str, tenant: Tenant, aws: FakeAws, key: rsa.RSAPrivateKey
) -> None:
    create_registry(client, sender=SENDER)
    shown = _configure(client, cert_host_pattern=None)
    assert shown["cert_host_pattern"] == r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$"
    for cert_url in (
        "https://sns.us-west-2.amazonaws.com.evil.example/SimpleNotificationService-1.pem",
        "https://evil.example/sns.us-west-2.amazonaws.com.pem",
        aws.cert_url(),
    ):
        message = sign(_sms(aws, "+14255550124", "STOP", cert_url=cert_url), key)
        response = _post(base_url, tenant, message)
        assert response.status_code == 403, cert_url
        assert response.json()["error"]["code"] == "forbidden"
    assert _inbound(client) == []


def test_a_retried_message_is_processed_once(
    client: httpx.Client, sns_url: str, tenant: Tenant, aws: FakeAws, key: rsa.RSAPrivateKey
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    inbound_id = "a" * 80  # cut to 64
    first = sign(_sms(aws, "+14255550125", "STOP", inbound_id), key)
    again = sign(_sms(aws, "+14255550125", "STOP", inbound_id), key, "1")  # a new SNS message
    assert _post(sns_url, tenant, first).json() == {"action": "opted_out", "duplicate": False}
    assert _post(sns_url, tenant, first).json() == {"action": "duplicate", "duplicate": True}
    assert _post(sns_url, tenant, again).json() == {"action": "duplicate", "duplicate": True}
    [row] = _inbound(client)
    assert row["provider_message_id"] == "a" * 64
    assert len(_outbox(client)) == 1


def test_a_subscription_is_confirmed_by_visiting_the_subscribe_url(
    client: httpx.Client, sns_url: str, tenant: Tenant, aws: FakeAws, key: rsa.RSAPrivateKey
) -> None:
    _configure(client)
    message = sign(_subscription(aws), key, "1")
    response = _post(sns_url, tenant, message)
    assert response.status_code == 200, response.text
    assert response.json() == {"confirmed": True}
    assert aws.confirmations.count(message["Token"]) == 1
    # A forged handshake is not confirmed.
    forged = {**sign(_subscription(aws), make_key())}
    assert _post(sns_url, tenant, forged).status_code == 403
    assert forged["Token"] not in aws.confirmations
    # Nor is one whose SubscribeURL is on a host not allowed (even signed).
    elsewhere = _subscription(aws)
    elsewhere["SubscribeURL"] = elsewhere["SubscribeURL"].replace("127.0.0.1", "localhost")
    assert _post(sns_url, tenant, sign(elsewhere, key)).status_code == 403
    assert elsewhere["Token"] not in aws.confirmations


def test_a_subscription_is_left_unconfirmed_when_auto_confirm_is_off(
    client: httpx.Client, sns_url: str, tenant: Tenant, aws: FakeAws, key: rsa.RSAPrivateKey
) -> None:
    shown = _configure(client, auto_confirm_subscription=False)
    assert shown["auto_confirm_subscription"] is False
    message = sign(_subscription(aws), key)
    response = _post(sns_url, tenant, message)
    assert response.status_code == 200, response.text
    assert response.json() == {"confirmed": False, "subscribe_url": message["SubscribeURL"]}
    assert message["Token"] not in aws.confirmations


def test_an_unsubscribe_confirmation_is_acknowledged(
    client: httpx.Client, sns_url: str, tenant: Tenant, aws: FakeAws, key: rsa.RSAPrivateKey
) -> None:
    _configure(client)
    message = sign(_subscription(aws, "UnsubscribeConfirmation"), key)
    response = _post(sns_url, tenant, message)
    assert response.status_code == 200, response.text
    assert response.json() == {"unsubscribed": True}
    assert message["Token"] not in aws.confirmations
    assert _inbound(client) == []


def _message_without(aws: FakeAws, name: str) -> dict[str, Any]:
    return _sms(aws, "+14255550126", "STOP", **{name: None})


MALFORMED = [
    (
        "no originationNumber",
        lambda aws: _message_without(aws, "originationNumber"),
        "Message.originationNumber",
    ),
    (
        "no destinationNumber",
        lambda aws: _message_without(aws, "destinationNumber"),
        "Message.destinationNumber",
    ),
    ("no messageBody", lambda aws: _message_without(aws, "messageBody"), "Message.messageBody"),
    (
        "no inboundMessageId",
        lambda aws: _message_without(aws, "inboundMessageId"),
        "Message.inboundMessageId",
    ),
    (
        "body not text",
        lambda aws: _sms(aws, "+14255550126", "x", messageBody=5),
        "Message.messageBody",
    ),
    ("bad number", lambda aws: _sms(aws, "nope", "STOP"), "Message.originationNumber"),
    (
        "Message not JSON",
        lambda aws: {**_sms(aws, "+14255550126", "x"), "Message": "STOP"},
        "Message",
    ),
    ("Message a list", lambda aws: {**_sms(aws, "+14255550126", "x"), "Message": "[1]"}, "Message"),
    (
        "Timestamp without a zone",
        lambda aws: {**_sms(aws, "+14255550126", "x"), "Timestamp": "2024-05-01T12:00:00"},
        "Timestamp",
    ),
]


@pytest.mark.parametrize(("case", "build", "field"), MALFORMED, ids=[c for c, _, _ in MALFORMED])
def test_a_malformed_signed_message_is_422_naming_the_field(
    client: httpx.Client,
    sns_url: str,
    tenant: Tenant,
    aws: FakeAws,
    key: rsa.RSAPrivateKey,
    case: str,
    build: Any,
    field: str,
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    response = _post(sns_url, tenant, sign(build(aws), key))
    assert response.status_code == 422, (case, response.text)
    error = response.json()["error"]
    assert error["code"] in ("invalid_input", "invalid_number")
    assert error["field"] == field, error
    assert _inbound(client) == []
    assert _outbox(client) == []


@pytest.mark.parametrize(
    ("case", "content", "field"),
    [
        ("not JSON", b"STOP", None),
        ("not UTF-8", b"\xff\xfe{", None),
        ("an array", b"[]", None),
        ("no Type", json.dumps({"Message": "x"}).encode(), "Type"),
        ("unknown Type", json.dumps({"Type": "Other"}).encode(), "Type"),
    ],
)
def test_a_body_that_is_not_an_sns_message_is_422(
    client: httpx.Client, sns_url: str, tenant: Tenant, case: str, content: bytes, field: str | None
) -> None:
    _configure(client)
    response = _post(sns_url, tenant, content)
    assert response.status_code == 422, case
    assert response.json()["error"]["code"] == "invalid_input"
    assert response.json()["error"].get("field") == field
    assert _inbound(client) == []


def test_missing_keys_and_a_conflicting_type_header_are_422(
    client: httpx.Client, sns_url: str, tenant: Tenant, aws: FakeAws, key: rsa.RSAPrivateKey
) -> None:
    _configure(client)
    signed = sign(_sms(aws, "+14255550127", "STOP"), key)
    for name in ("MessageId", "Signature", "SigningCertURL", "Timestamp", "TopicArn"):
        response = _post(sns_url, tenant, {k: v for k, v in signed.items() if k != name})
        assert response.status_code == 422, name
        assert response.json()["error"]["field"] == name
    conflicting = _post(sns_url, tenant, signed, kind="SubscriptionConfirmation")
    assert conflicting.status_code == 422
    assert conflicting.json()["error"]["field"] == TYPE_HEADER
    assert _inbound(client) == []


def test_settings_are_checked_and_shown_in_full(
    client: httpx.Client, sns_url: str, tenant: Tenant, aws: FakeAws, key: rsa.RSAPrivateKey
) -> None:
    assert client.get("/v1/providers/aws").status_code == 404
    assert _post(sns_url, tenant, sign(_sms(aws, "+14255550128", "STOP"), key)).status_code == 404
    shown = client.put("/v1/providers/aws", json={"topic_arn": TOPIC})
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["provider"] == "aws" and body["topic_arn"] == TOPIC
    assert body["cert_host_pattern"] == r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$"
    assert body["auto_confirm_subscription"] is True
    assert body["secret_set"] is False and "auth_token_set" not in body
    assert body["updated_at"]
    again = client.get("/v1/providers/aws").json()
    assert {k: v for k, v in again.items() if k != "updated_at"} == {
        k: v for k, v in body.items() if k != "updated_at"
    }
    for settings, name in (
        ({}, "topic_arn"),
        ({"cert_host_pattern": LOCAL_HOSTS}, "topic_arn"),
        ({"topic_arn": "arn:aws:sqs:us-west-2:123456789012:queue"}, "topic_arn"),
        ({"topic_arn": "arn:aws:sns:us-west-2:12345678901:topic"}, "topic_arn"),
        ({"topic_arn": "arn:aws:sns:us-west-2:123456789012:"}, "topic_arn"),
        ({"topic_arn": "arn:aws:sns:us-west-2:123456789012:a b"}, "topic_arn"),
        ({"topic_arn": TOPIC + "\n"}, "topic_arn"),
        ({"topic_arn": 5}, "topic_arn"),
        ({"topic_arn": TOPIC, "cert_host_pattern": "("}, "cert_host_pattern"),
        ({"topic_arn": TOPIC, "cert_host_pattern": ""}, "cert_host_pattern"),
        ({"topic_arn": TOPIC, "auto_confirm_subscription": "yes"}, "auto_confirm_subscription"),
        ({"topic_arn": TOPIC, "auto_confirm_subscription": 1}, "auto_confirm_subscription"),
        ({"topic_arn": TOPIC, "webhook_secret": "x" * 30}, "webhook_secret"),
        ({"topic_arn": TOPIC, "access_key_id": "AKIA"}, "access_key_id"),
    ):
        response = client.put("/v1/providers/aws", json=settings)
        assert response.status_code == 422, settings
        assert response.json()["error"]["field"] == name, (settings, response.text)
    # The rejected updates changed nothing.
    assert client.get("/v1/providers/aws").json()["topic_arn"] == TOPIC
    for topic in (
        "arn:aws:sns:eu-central-1:123456789012:a_b-C",
        "arn:aws-cn:sns:cn-north-1:123456789012:t",
        "arn:aws:sns:us-east-1:123456789012:inbound.fifo",
    ):
        assert client.put("/v1/providers/aws", json={"topic_arn": topic}).status_code == 200


def test_the_topic_can_be_changed(
    client: httpx.Client, sns_url: str, tenant: Tenant, aws: FakeAws, key: rsa.RSAPrivateKey
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    other = TOPIC.replace("consentry-inbound", "moved")
    _configure(client, topic_arn=other)
    assert _post(sns_url, tenant, sign(_sms(aws, "+14255550129", "HELP"), key)).status_code == 403
    moved = sign(_sms(aws, "+14255550129", "HELP", topic=other), key)
    assert _post(sns_url, tenant, moved).status_code == 200
    assert len(_inbound(client)) == 1


def test_an_unknown_tenant_is_404(
    client: httpx.Client, sns_url: str, tenant: Tenant, aws: FakeAws, key: rsa.RSAPrivateKey
) -> None:
    _configure(client)
    message = json.dumps(sign(_sms(aws, "+14255550139", "STOP"), key)).encode()
    for ref in (f"no-such-tenant-{secrets.token_hex(4)}", tenant.id):  # by slug only
        response = httpx.post(
            f"{sns_url}/webhooks/aws-sns/{ref}",
            content=message,
            headers={"content-type": "text/plain", TYPE_HEADER: "Notification"},
        )
        assert response.status_code == 404, ref
        assert response.json()["error"]["code"] == "not_found"


def test_aws_azure_and_twilio_settings_are_kept_apart(client: httpx.Client) -> None:
    _configure(client)
    assert client.get("/v1/providers/twilio").status_code == 404
    assert client.get("/v1/providers/azure").status_code == 404
    azure = client.put("/v1/providers/azure", json={"webhook_secret": "A" * 30})
    assert azure.status_code == 200 and azure.json()["secret_set"] is True
    twilio = client.put("/v1/providers/twilio", json={"auth_token": "0123456789abcdef" * 2})
    assert twilio.status_code == 200 and twilio.json()["auth_token_set"] is True
    assert client.get("/v1/providers/aws").json()["topic_arn"] == TOPIC
    wrong = client.put("/v1/providers/twilio", json={"topic_arn": TOPIC})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "topic_arn"
    wrong = client.put("/v1/providers/azure", json={"topic_arn": TOPIC})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "topic_arn"


# --- delivery reports: SMS events published to SNS ----------------------------------------------

EVENTS_TOPIC = TOPIC.replace("consentry-inbound", "consentry-events")


def _event(aws: FakeAws, message_id: str, kind: str, *, topic: str = TOPIC, **extra: Any) -> Any:
    """An unsigned SNS Notification carrying an AWS End User Messaging SMS event."""
    payload = {
        "eventType": kind,
        "eventVersion": "1.0",
        "eventTimestamp": 1686975103470,
        "isFinal": kind not in ("TEXT_QUEUED", "TEXT_PENDING"),
        "originationPhoneNumber": SENDER,
        "destinationPhoneNumber": "+14255550190",
        "messageId": message_id,
        "messageType": "TRANSACTIONAL",
        "messageStatus": kind.removeprefix("TEXT_"),
        "messageStatusDescription": f"scripted {kind}",
        **extra,
    }
    return {
        "Type": "Notification",
        "MessageId": secrets.token_hex(16),
        "TopicArn": topic,
        "Message": json.dumps(payload),
        "Timestamp": sns_time(datetime.now(UTC)),
        "SigningCertURL": aws.cert_url(),
    }


def _sent_reply(service: Consentry, client: httpx.Client, tenant: Tenant, number: str) -> str:
    """A HELP answer delivered (by the log transport); its provider message id."""
    response = client.post("/v1/inbound", json={"from": number, "to": SENDER, "body": "HELP"})
    assert response.status_code in (200, 201), response.text
    assert service.deliver_outbox(tenant=tenant).sent == 1
    [row] = [r for r in _outbox(client) if r["recipient"] == number]
    return str(row["provider_message_id"])


def test_an_sms_event_updates_the_message_it_reports_on(
    service: Consentry,
    client: httpx.Client,
    sns_url: str,
    tenant: Tenant,
    aws: FakeAws,
    key: rsa.RSAPrivateKey,
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client, events_topic_arn=EVENTS_TOPIC)
    message_id = _sent_reply(service, client, tenant, "+14255550190")
    delivered = sign(_event(aws, message_id, "TEXT_DELIVERED", topic=EVENTS_TOPIC), key)
    response = _post(sns_url, tenant, delivered)
    assert response.status_code == 200, response.text
    assert response.json() == {"delivery_report": True}
    [row] = _outbox(client)
    assert row["delivery_status"] == "delivered" and row["last_error"] is None
    # A repeated delivery, or a late non-final event, changes nothing.
    assert _post(sns_url, tenant, delivered).json() == {"delivery_report": True}
    late = sign(_event(aws, message_id, "TEXT_PENDING"), key)
    assert _post(sns_url, tenant, late).json() == {"delivery_report": True}
    assert _outbox(client)[0]["delivery_status"] == "delivered"
    unknown = sign(_event(aws, "no-such-message", "TEXT_DELIVERED"), key)
    assert _post(sns_url, tenant, unknown).json() == {"delivery_report": False}
    other = sign(_event(aws, message_id, "TEXT_BLOCKED", topic=TOPIC + "-other"), key)
    assert _post(sns_url, tenant, other).status_code == 403


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("TEXT_BLOCKED", "blocked"),
        ("TEXT_CARRIER_UNREACHABLE", "unreachable"),
        ("TEXT_SUCCESSFUL", "successful"),
        ("TEXT_SPAM", "spam"),
    ],
)
def test_sms_event_types_become_short_statuses(
    service: Consentry,
    client: httpx.Client,
    sns_url: str,
    tenant: Tenant,
    aws: FakeAws,
    key: rsa.RSAPrivateKey,
    kind: str,
    status: str,
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    message_id = _sent_reply(service, client, tenant, "+14255550191")
    assert _post(sns_url, tenant, sign(_event(aws, message_id, kind), key)).status_code == 200
    [row] = _outbox(client)
    assert row["delivery_status"] == status
    failed = status not in ("delivered", "successful")
    assert (row["last_error"] == f"scripted {kind}") is failed


def test_an_opted_out_event_opts_the_recipient_out_at_that_sender_once(
    service: Consentry,
    client: httpx.Client,
    sns_url: str,
    tenant: Tenant,
    aws: FakeAws,
    key: rsa.RSAPrivateKey,
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client)
    number = "+14255550192"
    message_id = _sent_reply(service, client, tenant, number)
    event = sign(_event(aws, message_id, "TEXT_BLOCKED", messageStatus="OPTED_OUT"), key)
    for _ in range(2):
        assert _post(sns_url, tenant, event).json() == {"delivery_report": True}
    assert _outbox(client)[0]["delivery_status"] == "opted_out"
    assert is_opted_out(client, SENDER, number)
    history = client.get(f"/v1/optouts/{number}/history").json()
    [added] = [e for e in history["events"] if e["action"] == "add"]
    assert added["source"] == "provider" and added["scope"] == f"sender:{SENDER}"


def test_keywords_aws_answers_itself_are_not_answered_twice(
    client: httpx.Client, sns_url: str, tenant: Tenant, aws: FakeAws, key: rsa.RSAPrivateKey
) -> None:
    create_registry(client, sender=SENDER)
    _configure(client, provider_answers_keywords=True)
    assert _post(sns_url, tenant, sign(_sms(aws, "+14255550193", "STOP"), key)).status_code == 200
    assert _post(sns_url, tenant, sign(_sms(aws, "+14255550194", "HELP"), key)).status_code == 200
    rows = {row["recipient"]: row for row in _outbox(client)}
    # AWS answers its opt-out keywords itself; it does not answer HELP (rules/providers.toml).
    assert rows["+14255550193"]["status"] == "provider_replied"
    assert rows["+14255550194"]["status"] == "queued"
    assert is_opted_out(client, SENDER, "+14255550193")
