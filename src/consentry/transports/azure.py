"""The ``azure`` transport: Azure Communication Services SMS through ``azure-communication-sms``.

The SDK is an optional extra (``pip install consentry[azure]``). It authenticates each request
with HMAC-SHA256 signed by the resource's access key, both taken from the connection string
(``endpoint=https://<resource>.communication.azure.com/;accesskey=<base64 key>``), and always
speaks https: ``SmsClient.from_connection_string`` keeps only the endpoint's host and prefixes
``https://``. ``verify`` is passed to the HTTP transport as ``connection_verify`` (a CA bundle
path for a private endpoint, or the tests' self-signed certificate).

A send returns one result a recipient: its ``messageId`` on success; otherwise the result's
``httpStatusCode`` (429 and 5xx temporary, other 4xx permanent) decides.
"""

from __future__ import annotations

from typing import Any

from consentry.transports.base import OutboundMessage, TransportError


def sms_client(connection_string: str, *, verify: str | bool = True) -> Any:
    """An ``SmsClient`` (TransportError when azure-communication-sms is missing)."""
    try:
        from azure.communication.sms import SmsClient
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        raise TransportError(
            "the azure transport needs azure-communication-sms: pip install consentry[azure]",
            retryable=False,
        ) from error
    # The SDK types ``cls`` as ``str`` in a type comment: hence the ignore.
    return SmsClient.from_connection_string(  # type: ignore[misc]
        connection_string,
        connection_verify=verify,
        retry_total=0,  # consentry retries with its own back-off
        connection_timeout=5,
        read_timeout=15,
    )


class AzureTransport:
    name = "azure"

    def __init__(
        self, connection_string: str, *, delivery_reports: bool = True, verify: str | bool = True
    ) -> None:
        self._client = sms_client(connection_string, verify=verify)
        self._delivery_reports = delivery_reports

    def send(self, message: OutboundMessage) -> str:
        from azure.core.exceptions import AzureError, HttpResponseError

        try:
            [result] = self._client.send(
                from_=message.sender,
                to=message.recipient,
                message=message.body,
                enable_delivery_report=self._delivery_reports,
                tag=message.outbox_id,
            )
        except HttpResponseError as error:
            status = int(error.status_code or 0)
            raise TransportError(
                f"Azure {status}: {error.message}",
                retryable=status >= 500 or status in (408, 429),
                code=str(status) if status else None,
            ) from error
        except AzureError as error:  # connection errors, timeouts
            raise TransportError(f"Azure unreachable: {error}", retryable=True) from error
        if not result.successful:
            status = int(result.http_status_code or 0)
            raise TransportError(
                f"Azure {status}: {result.error_message}",
                retryable=status >= 500 or status in (408, 429),
                code=str(status) if status else None,
            )
        return str(result.message_id)
