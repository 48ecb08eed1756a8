"""Amazon SNS message signatures: the canonical string, both signature versions, the trust of the
certificate URL and the replay window. Messages are signed here the way SNS signs them, with an
RSA key and a self-signed certificate made for the test (the signer below is written from AWS's
documentation, independently of consentry's own canonical string)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from consentry.errors import InvalidInput
from consentry.providers import aws_sns
from consentry.providers.aws_sns import Untrusted

TOPIC = "arn:aws:sns:us-west-2:123456789012:inbound-sms"
CERT_URL = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def make_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_certificate(
    key: Any, *, not_before: datetime | None = None, not_after: datetime | None = None
) -> x509.Certificate:
    """A self-signed certificate for ``key`` (like SNS's, only not issued by Amazon)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=3650))
        .not_valid_after(not_after or now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def string_to_sign(message: dict[str, Any]) -> bytes:
    """AWS's "Verifying the signatures of Amazon SNS messages", spelled out per type."""
    if message["Type"] == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        if "Subject" not in message:
            keys.remove("Subject")
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{key}\n{message[key]}\n" for key in keys).encode()


def sign(message: dict[str, Any], key: rsa.RSAPrivateKey, version: str = "2") -> dict[str, Any]:
    """``message`` with SignatureVersion and Signature, as SNS sends it."""
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(string_to_sign(message), padding.PKCS1v15(), algorithm)
    return {
        **message,
        "SignatureVersion": version,
        "Signature": base64.b64encode(signature).decode(),
    }


def sns_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def notification(message: str = '{"messageBody": "STOP"}', **extra: Any) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": message,
        "Timestamp": sns_time(NOW),
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&x=1",
        **extra,
    }


def confirmation(kind: str = "SubscriptionConfirmation") -> dict[str, Any]:
    return {
        "Type": kind,
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
        "SubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&T=1",
        "Timestamp": sns_time(NOW),
        "SigningCertURL": CERT_URL,
    }


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return make_key()


@pytest.fixture(scope="module")
def certificate(key: rsa.RSAPrivateKey) -> x509.Certificate:
    return aws_sns.load_certificate(pem(make_certificate(key)))


def test_the_canonical_string_of_a_notification() -> None:
    message = notification("hello\nworld", Subject="Hi")
    assert aws_sns.canonical_string(message) == (
        b"Message\nhello\nworld\n"
        b"MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
        b"Subject\nHi\n"
        b"Timestamp\n2024-05-01T12:00:00.000Z\n"
        b"TopicArn\narn:aws:sns:us-west-2:123456789012:inbound-sms\n"
        b"Type\nNotification\n"
    )
    without_subject = notification("hello")
    assert b"Subject" not in aws_sns.canonical_string(without_subject)
    assert aws_sns.canonical_string(without_subject) == string_to_sign(without_subject)


@pytest.mark.parametrize("kind", ["SubscriptionConfirmation", "UnsubscribeConfirmation"])
def test_the_canonical_string_of_a_confirmation(kind: str) -> None:
    message = confirmation(kind)
    text = aws_sns.canonical_string(message).decode()
    assert text.split("\n")[::2][:-1] == [
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ]
    assert text == string_to_sign(message).decode()


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize(
    "message",
    [notification(), notification(Subject="subject"), confirmation()],
    ids=["notification", "with subject", "confirmation"],
)
def test_a_message_signed_as_sns_signs_verifies(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate, version: str, message: dict[str, Any]
) -> None:
    signed = aws_sns.check_envelope(sign(message, key, version))
    aws_sns.verify(signed, certificate, NOW)


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("tampered message", {"Message": '{"messageBody": "START"}'}),
        ("tampered topic", {"TopicArn": TOPIC + "-other"}),
        ("tampered time", {"Timestamp": sns_time(NOW + timedelta(seconds=1))}),
        ("subject added", {"Subject": "x"}),
        ("other version", {"SignatureVersion": "1"}),
        ("unknown version", {"SignatureVersion": "3"}),
        ("not base64", {"Signature": "not base64!"}),
        ("empty signature", {"Signature": ""}),
    ],
)
def test_a_changed_message_does_not_verify(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate, case: str, change: dict[str, str]
) -> None:
    signed = {**sign(notification(), key, "2"), **change}
    with pytest.raises(Untrusted):
        aws_sns.verify(signed, certificate, NOW)


def test_another_key_or_certificate_does_not_verify(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    with pytest.raises(Untrusted, match="signature"):
        aws_sns.verify(sign(notification(), make_key()), certificate, NOW)
    expired = make_certificate(key, not_before=NOW - timedelta(days=2), not_after=NOW)
    with pytest.raises(Untrusted, match="not valid"):
        aws_sns.verify(sign(notification(), key), expired, NOW + timedelta(seconds=1))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(Untrusted, match="RSA"):
        aws_sns.verify(sign(notification(), key), make_certificate(ec_key), NOW)
    with pytest.raises(Untrusted, match="PEM"):
        aws_sns.load_certificate(b"<html>not a certificate</html>")


@pytest.mark.parametrize(
    "url",
    [
        CERT_URL,
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem",
        "HTTPS://sns.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com:443/x.pem",
    ],
)
def test_sns_hosts_on_https_are_trusted(url: str) -> None:
    assert aws_sns.check_url(url, aws_sns.DEFAULT_CERT_HOST_PATTERN, "SigningCertURL") == url


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-west-2.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.us-west-2.amazonaws.com.evil.example/x.pem",
        "https://evil.example/sns.us-west-2.amazonaws.com/x.pem",
        "https://sns.us-west-2.amazonaws.com@evil.example/x.pem",
        "https://user@sns.us-west-2.amazonaws.com/x.pem",
        "https://xsns.us-west-2.amazonaws.com/x.pem",
        "https://s3.us-west-2.amazonaws.com/x.pem",
        "https://sns.us-west-2.amazonaws.com:bad/x.pem",
        "file:///etc/passwd",
        "ftp://sns.us-west-2.amazonaws.com/x.pem",
        "/x.pem",
        "",
    ],
)
def test_other_urls_are_not_trusted(url: str) -> None:
    with pytest.raises(Untrusted):
        aws_sns.check_url(url, aws_sns.DEFAULT_CERT_HOST_PATTERN, "SigningCertURL")


def test_other_schemes_only_when_asked_for() -> None:
    url = "http://127.0.0.1:8080/cert.pem"
    with pytest.raises(Untrusted, match="https"):
        aws_sns.check_url(url, r"127\.0\.0\.1", "SigningCertURL")
    assert aws_sns.check_url(url, r"127\.0\.0\.1", "x", schemes=("https", "http")) == url


def test_messages_older_than_an_hour_are_replays() -> None:
    message = notification()
    assert aws_sns.check_fresh(message, NOW + timedelta(minutes=59)) == NOW
    with pytest.raises(Untrusted, match="older than an hour"):
        aws_sns.check_fresh(message, NOW + timedelta(hours=1, seconds=1))
    with pytest.raises(Untrusted, match="future"):
        aws_sns.check_fresh(message, NOW - timedelta(minutes=16))
    with pytest.raises(InvalidInput) as error:
        aws_sns.check_fresh({**message, "Timestamp": "2024-05-01T12:00:00"}, NOW)
    assert error.value.field == "Timestamp"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({k: v for k, v in notification().items() if k != "MessageId"}, "MessageId"),
        ({**notification(), "Message": {"messageBody": "STOP"}}, "Message"),
        ({**notification(), "Subject": 5}, "Subject"),
        ({k: v for k, v in confirmation().items() if k != "Token"}, "Token"),
        ({**notification(), "Type": "Other"}, "Type"),
        ({k: v for k, v in notification().items() if k != "Type"}, "Type"),
        ({k: v for k, v in notification().items() if k != "SigningCertURL"}, "SigningCertURL"),
        (["Notification"], None),
    ],
)
def test_malformed_messages_name_the_key(payload: Any, field: str | None) -> None:
    signed: Any = payload
    if isinstance(payload, dict):
        signed = {"Signature": "x", "SignatureVersion": "2", **payload}
    with pytest.raises(InvalidInput) as error:
        aws_sns.check_envelope(signed)
    assert error.value.field == field


def test_a_null_subject_is_absent(key: rsa.RSAPrivateKey, certificate: x509.Certificate) -> None:
    signed = {**sign(notification(), key), "Subject": None}
    message = aws_sns.check_envelope(signed)
    assert "Subject" not in message
    aws_sns.verify(message, certificate, NOW)
