"""The ``twilio`` transport: Twilio's Programmable Messaging through the ``twilio`` SDK.

The SDK is an optional extra (``pip install consentry[twilio]``). ``api_url`` points the SDK at
another base URL (a proxy, or the tests' local fake server) instead of ``https://api.twilio.com``.
"""

from __future__ import annotations

from typing import Any

from consentry.transports.base import OutboundMessage, TransportError

# Twilio errors that no retry can fix (invalid number, unsubscribed recipient, ...):
# https://www.twilio.com/docs/api/errors
PERMANENT = frozenset({21211, 21408, 21610, 21612, 21614})
OPTED_OUT = 21610  # "Attempt to send to unsubscribed recipient"


class TwilioTransport:
    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, *, api_url: str | None = None) -> None:
        try:
            from twilio.base.exceptions import TwilioRestException
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client
        except ImportError as error:  # pragma: no cover - depends on the installed extras
            raise TransportError(
                "the twilio transport needs the twilio package: pip install consentry[twilio]",
                retryable=False,
            ) from error
        self._rest_error = TwilioRestException
        http_client: Any = TwilioHttpClient()
        if api_url:
            http_client = _rebased(api_url.rstrip("/"))
        self._client = Client(account_sid, auth_token, http_client=http_client)

    def send(self, message: OutboundMessage) -> str:
        try:
            sent = self._client.messages.create(
                to=message.recipient,
                from_=message.sender,
                body=message.body,
                **({"status_callback": message.status_callback} if message.status_callback else {}),
            )
        except self._rest_error as error:
            code = int(error.code) if error.code else None
            permanent = code in PERMANENT or (
                400 <= int(error.status) < 500 and error.status != 429
            )
            raise TransportError(
                f"Twilio {error.status} {code}: {error.msg}",
                retryable=not permanent,
                code=str(code) if code else None,
            ) from error
        except OSError as error:
            raise TransportError(f"Twilio unreachable: {error}", retryable=True) from error
        return str(sent.sid)


def _rebased(base: str) -> Any:
    from twilio.http.http_client import TwilioHttpClient

    class Rebased(TwilioHttpClient):  # type: ignore[misc]
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            path = url.split("://", 1)[-1].split("/", 1)[-1]
            return super().request(method, f"{base}/{path}", *args, **kwargs)

    return Rebased()
