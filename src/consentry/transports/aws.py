"""The ``aws`` transport: AWS End User Messaging SMS (``pinpoint-sms-voice-v2``) through ``boto3``.

The SDK is an optional extra (``pip install consentry[aws]``). Credentials are the tenant's static
``access_key_id`` / ``secret_access_key`` when configured, else boto3's own chain (environment,
instance role, ...). ``endpoint_url`` points the client at another endpoint (a VPC endpoint, or
the tests' local fake server) instead of AWS's.

Errors: throttling, quota and server errors are temporary; validation, access and conflict
errors are permanent. ``ConflictException`` with reason ``DESTINATION_PHONE_NUMBER_OPTED_OUT``
means the number is on the sender's opt-out list at AWS (code :data:`OPTED_OUT`).
"""

from __future__ import annotations

from typing import Any

from consentry.transports.base import OutboundMessage, TransportError

SERVICE = "pinpoint-sms-voice-v2"
OPTED_OUT = "DESTINATION_PHONE_NUMBER_OPTED_OUT"
# https://docs.aws.amazon.com/pinpoint/latest/apireference_smsvoicev2/API_SendTextMessage.html
_TEMPORARY = frozenset(
    {"ThrottlingException", "InternalServerException", "ServiceQuotaExceededException"}
)


def client(
    region: str,
    *,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    endpoint_url: str | None = None,
) -> Any:
    """A boto3 ``pinpoint-sms-voice-v2`` client (TransportError when boto3 is missing)."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        raise TransportError(
            "the aws transport needs boto3: pip install consentry[aws]", retryable=False
        ) from error
    credentials: dict[str, str] = {}
    if access_key_id and secret_access_key:
        credentials = {
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
        }
    # consentry retries with its own back-off: one SDK attempt a delivery attempt.
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=15)
    return boto3.session.Session().client(
        SERVICE,
        region_name=region,
        endpoint_url=endpoint_url or None,
        config=config,
        **credentials,
    )


class AwsTransport:
    name = "aws"

    def __init__(
        self,
        region: str,
        *,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        configuration_set: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self._client = client(
            region,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            endpoint_url=endpoint_url,
        )
        self._configuration_set = configuration_set

    def send(self, message: OutboundMessage) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        request: dict[str, Any] = {
            "DestinationPhoneNumber": message.recipient,
            "OriginationIdentity": message.sender,
            "MessageBody": message.body,
            "MessageType": "TRANSACTIONAL",
            "Context": {"consentry_outbox_id": message.outbox_id},
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            sent = self._client.send_text_message(**request)
        except ClientError as error:
            raise _transport_error(error) from error
        except BotoCoreError as error:  # connection errors, timeouts
            raise TransportError(f"AWS unreachable: {error}", retryable=True) from error
        return str(sent["MessageId"])


def _transport_error(error: Any) -> TransportError:
    details = error.response.get("Error", {})
    kind = str(details.get("Code", ""))
    reason = str(error.response.get("Reason") or details.get("Reason") or "")
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    retryable = kind in _TEMPORARY or status >= 500 or status == 429
    text = f"AWS {status} {kind}{' ' + reason if reason else ''}: {details.get('Message', '')}"
    return TransportError(text, retryable=retryable, code=reason or kind or None)
