"""Twilio: webhook signatures and TwiML replies, per Twilio's published protocol.

Twilio signs each webhook request: HMAC-SHA1, keyed with the account's auth token, of the full
URL it called followed by every POST parameter as name and value, sorted by name; base64 in the
``X-Twilio-Signature`` header ("Webhooks security", Twilio docs). consentry checks it itself so
that the ``twilio`` SDK stays an optional extra; the tests sign with the SDK's own
``RequestValidator``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape

SIGNATURE_HEADER = "X-Twilio-Signature"


def signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio sends for a POST of ``params`` to ``url``."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_valid(auth_token: str, url: str, params: Mapping[str, str], header: str) -> bool:
    """Whether ``header`` signs this request. Like Twilio's own validator, the URL is tried as
    given and with the default port added or removed (proxies differ in what they pass on)."""
    if not header:
        return False
    return any(
        hmac.compare_digest(signature(auth_token, candidate, params), header)
        for candidate in _url_variants(url)
    )


def _url_variants(url: str) -> tuple[str, ...]:
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if parts.port is None and default is not None:
        other = parts._replace(netloc=f"{_credentials(parts.netloc)}{host}:{default}")
    elif parts.port == default:
        other = parts._replace(netloc=f"{_credentials(parts.netloc)}{host}")
    else:
        return (url,)
    return (url, urlunsplit(other))


def _credentials(netloc: str) -> str:
    return netloc.rpartition("@")[0] + "@" if "@" in netloc else ""


def twiml(reply: str | None) -> str:
    """A TwiML messaging response: the reply as one ``<Message>``, or an empty response."""
    head = '<?xml version="1.0" encoding="UTF-8"?>'
    if reply is None:
        return head + "<Response />"
    return f"{head}<Response><Message>{escape(reply)}</Message></Response>"
