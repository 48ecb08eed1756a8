"""The providers' delivery reports for messages consentry sent, validated into one shape.

* AWS End User Messaging SMS publishes SMS events to an SNS topic (a configuration set's event
  destination): ``eventType`` (``TEXT_DELIVERED``, ``TEXT_SUCCESSFUL``, ``TEXT_BLOCKED``,
  ``TEXT_CARRIER_UNREACHABLE``, ...), ``messageId``, ``messageStatus``,
  ``messageStatusDescription``, ``isFinal`` (AWS End User Messaging SMS User Guide, "Event types
  for SMS, MMS, and voice" and "Example SMS event data"). A ``messageStatus`` of ``OPTED_OUT``
  (or an event type naming it) says the number is on the sender's opt-out list at AWS.
* Azure Communication Services publishes ``Microsoft.Communication.SMSDeliveryReportReceived``
  through Event Grid: ``data.messageId``, ``data.from``, ``data.to``, ``data.deliveryStatus``
  (``Delivered``, ``Failed``, ...), ``data.deliveryStatusDetails``, ``data.deliveryAttempts``,
  ``data.receivedTimestamp``, ``data.tag`` (Azure Event Grid schema, "Azure Communication
  Services - SMS events"). A status detail mentioning an opt-out says the same as above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from consentry.errors import InvalidInput
from consentry.providers import payload_text

AZURE_DELIVERY_REPORT = "Microsoft.Communication.SMSDeliveryReportReceived"
# Short names for the outbox's delivery_status (16 characters at most).
_AWS_STATUS = {
    "TEXT_DELIVERED": "delivered",
    "TEXT_SUCCESSFUL": "successful",
    "TEXT_QUEUED": "queued",
    "TEXT_PENDING": "pending",
    "TEXT_BLOCKED": "blocked",
    "TEXT_CARRIER_BLOCKED": "carrier_blocked",
    "TEXT_CARRIER_UNREACHABLE": "unreachable",
    "TEXT_UNREACHABLE": "unreachable",
    "TEXT_INVALID": "invalid",
    "TEXT_INVALID_MESSAGE": "invalid_message",
    "TEXT_SPAM": "spam",
    "TEXT_TTL_EXPIRED": "expired",
    "TEXT_UNKNOWN": "unknown",
    "TEXT_PROTECT_BLOCKED": "protect_blocked",
}
_OPT_OUT_WORDS = re.compile(r"opt(ed)?[\s_-]?out", re.IGNORECASE)
_MAX_ID = 64  # the width of outbox.provider_message_id


@dataclass(frozen=True, slots=True)
class DeliveryEvent:
    """One delivery report: which message, its status, why, and whether it says opted out."""

    message_id: str
    status: str
    detail: str | None
    opted_out: bool


def is_aws_event(payload: Any) -> bool:
    """Whether an SNS ``Message`` (parsed) is an SMS event rather than an inbound message."""
    return (
        isinstance(payload, dict) and "eventType" in payload and "inboundMessageId" not in payload
    )


def aws_event(payload: dict[str, Any]) -> DeliveryEvent:
    """An AWS SMS event (the SNS ``Message``, parsed); :class:`InvalidInput` naming the field."""
    kind = payload_text(payload, "eventType", "Message")
    message_id = payload_text(payload, "messageId", "Message").strip()[:_MAX_ID]
    if not message_id:
        raise InvalidInput("Message.messageId is empty", field="Message.messageId")
    raw_status = payload.get("messageStatus")
    status_text = raw_status if isinstance(raw_status, str) else ""
    detail = payload.get("messageStatusDescription")
    detail = detail if isinstance(detail, str) else None
    opted_out = status_text.upper() == "OPTED_OUT" or "OPTED_OUT" in kind.upper()
    status = "opted_out" if opted_out else _AWS_STATUS.get(kind, kind.lower()[:16])
    return DeliveryEvent(message_id, status, detail, opted_out)


def azure_event(event: dict[str, Any], index: int) -> DeliveryEvent:
    """An Event Grid ``SMSDeliveryReportReceived`` event; :class:`InvalidInput` naming the
    field (``<index>.data.messageId``)."""
    data = event.get("data")
    if not isinstance(data, dict):
        raise InvalidInput(f"event {index} must have a data object", field=f"{index}.data")
    at = f"{index}.data"
    message_id = payload_text(data, "messageId", at).strip()[:_MAX_ID]
    if not message_id:
        raise InvalidInput(f"{at}.messageId is empty", field=f"{at}.messageId")
    status = payload_text(data, "deliveryStatus", at).strip().lower()[:16] or "unknown"
    detail = data.get("deliveryStatusDetails")
    detail = detail if isinstance(detail, str) else None
    opted_out = bool(detail and _OPT_OUT_WORDS.search(detail)) or status in (
        "optedout",
        "opted_out",
    )
    return DeliveryEvent(message_id, "opted_out" if opted_out else status, detail, opted_out)
