"""Amazon SNS: message signatures, per AWS's published protocol ("Verifying the signatures of
Amazon SNS messages", Amazon SNS developer guide). No I/O here: fetching the signing
certificate and confirming subscriptions is the web layer's job (``consentry.api.aws``).

SNS signs a canonical string built from some of the message's keys, each as ``key\\nvalue\\n``
in this order:

* ``Notification``: Message, MessageId, Subject (only when present), Timestamp, TopicArn, Type;
* ``SubscriptionConfirmation`` / ``UnsubscribeConfirmation``: Message, MessageId, SubscribeURL,
  Timestamp, Token, TopicArn, Type.

``SignatureVersion`` ``"1"`` is SHA1withRSA, ``"2"`` SHA256withRSA (PKCS#1 v1.5), with the
public key of the X.509 certificate at ``SigningCertURL``. That URL is only trusted on ``https``
and a host matching the tenant's pattern (by default SNS's own hosts): otherwise anyone could
sign with a certificate of their own.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from consentry.errors import InvalidInput
from consentry.providers import zoned_time

MESSAGE_TYPE_HEADER = "x-amz-sns-message-type"
NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"
DEFAULT_CERT_HOST_PATTERN = r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$"
MAX_AGE = timedelta(hours=1)  # older messages are refused as replays
MAX_AHEAD = timedelta(minutes=15)  # clock skew tolerated for messages from the future

_SIGNED_KEYS: dict[str, tuple[str, ...]] = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    SUBSCRIPTION_CONFIRMATION: (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_SIGNED_KEYS[UNSUBSCRIBE_CONFIRMATION] = _SIGNED_KEYS[SUBSCRIPTION_CONFIRMATION]
_OPTIONAL_KEYS = frozenset({"Subject"})
_ENVELOPE_KEYS = ("Signature", "SignatureVersion", "SigningCertURL")
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
MESSAGE_TYPES = tuple(_SIGNED_KEYS)


class Untrusted(Exception):
    """The message cannot be trusted: bad signature, untrusted certificate URL, stale, ..."""


def signed_keys(message_type: str) -> tuple[str, ...]:
    """The keys SNS signs for this message type, in order (``Subject`` only when present)."""
    try:
        return _SIGNED_KEYS[message_type]
    except KeyError:
        raise InvalidInput(
            f"Type must be one of {', '.join(MESSAGE_TYPES)}; got {message_type!r}", field="Type"
        ) from None


def check_envelope(message: Any) -> dict[str, str]:
    """The SNS message as a dict of text, with every key the signature needs.

    Raises :class:`InvalidInput` naming the first missing or malformed key.
    """
    if not isinstance(message, dict):
        raise InvalidInput("the body must be a JSON object (an Amazon SNS message)")
    kind = message.get("Type")
    if not isinstance(kind, str):
        raise InvalidInput("Type is missing" if kind is None else "Type is not text", field="Type")
    for key in (*signed_keys(kind), *_ENVELOPE_KEYS):
        value = message.get(key)
        if key in _OPTIONAL_KEYS and value is None:
            continue
        if not isinstance(value, str):
            raise InvalidInput(f"{key} is {'missing' if value is None else 'not text'}", field=key)
    return {key: value for key, value in message.items() if isinstance(value, str)}


def canonical_string(message: Mapping[str, str]) -> bytes:
    """The bytes SNS signs for ``message`` (``key\\nvalue\\n`` for each signed key, in order)."""
    parts = []
    for key in signed_keys(message["Type"]):
        value = message.get(key)
        if value is None and key in _OPTIONAL_KEYS:
            continue
        if value is None:
            raise InvalidInput(f"{key} is missing", field=key)
        parts.append(f"{key}\n{value}\n")
    return "".join(parts).encode("utf-8")


def parse_timestamp(text: str) -> datetime:
    """SNS's ``Timestamp`` (ISO 8601 in UTC, e.g. ``2024-05-01T12:30:45.123Z``)."""
    return zoned_time(text, "Timestamp")


def check_fresh(message: Mapping[str, str], now: datetime) -> datetime:
    """The message's time; :class:`Untrusted` when older than an hour (or far in the future)."""
    at = parse_timestamp(message["Timestamp"])
    if now - at > MAX_AGE:
        raise Untrusted(f"the message is from {message['Timestamp']}: older than an hour")
    if at - now > MAX_AHEAD:
        raise Untrusted(f"the message is from {message['Timestamp']}: in the future")
    return at


def check_url(url: str, host_pattern: str, what: str, schemes: Collection[str] = ("https",)) -> str:
    """``url`` when it may be fetched: one of ``schemes`` (only https outside the tests), no
    user info, and a host that matches ``host_pattern`` entirely. Else :class:`Untrusted`."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises ValueError for a malformed port)
    except ValueError:
        raise Untrusted(f"{what} is not a valid URL") from None
    if parts.scheme.lower() not in schemes:
        allowed = " or ".join(sorted(schemes))
        raise Untrusted(f"{what} must be an {allowed} URL; got {parts.scheme or 'none'!r}")
    if parts.username is not None or parts.password is not None:
        raise Untrusted(f"{what} must not carry user info")
    if not host or not re.fullmatch(host_pattern, host):
        raise Untrusted(f"{what} is on host {host!r}, which is not an allowed SNS host")
    return url


def load_certificate(pem: bytes) -> x509.Certificate:
    """The signing certificate from its PEM; :class:`Untrusted` when it is not one."""
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise Untrusted("SigningCertURL does not hold a PEM certificate") from None


def verify(message: Mapping[str, str], certificate: x509.Certificate, now: datetime) -> None:
    """Check the message's signature with ``certificate``; :class:`Untrusted` when it fails.

    The certificate must be valid at ``now`` and hold an RSA key.
    """
    algorithm = _HASHES.get(message.get("SignatureVersion", ""))
    if algorithm is None:
        raise Untrusted(f"SignatureVersion {message.get('SignatureVersion')!r} is not 1 or 2")
    if not (certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc):
        raise Untrusted("the signing certificate is not valid now")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise Untrusted("the signing certificate does not hold an RSA key")
    try:
        signature = base64.b64decode(message.get("Signature", ""), validate=True)
    except (binascii.Error, ValueError):
        raise Untrusted("Signature is not base64") from None
    try:
        key.verify(signature, canonical_string(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise Untrusted("the message's signature does not match") from None
