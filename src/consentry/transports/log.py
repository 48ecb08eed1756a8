"""The ``log`` transport: delivers to the log (the embedded default needs no provider account).

At info level only the message id and masked numbers are logged; the body (personal data) only
at debug level.
"""

from __future__ import annotations

import logging

from consentry.transports.base import OutboundMessage

logger = logging.getLogger("consentry.delivery")


def masked(number: str) -> str:
    """A phone number with all but its last four digits hidden (``+1******0123``)."""
    if len(number) <= 4:
        return "*" * len(number)
    return number[:2] + "*" * (len(number) - 6) + number[-4:]


class LogTransport:
    name = "log"

    def send(self, message: OutboundMessage) -> str:
        logger.info(
            "deliver %s from %s to %s (%d characters)",
            message.outbox_id,
            message.sender,
            masked(message.recipient),
            len(message.body),
        )
        logger.debug("deliver %s body: %s", message.outbox_id, message.body)
        return f"log-{message.outbox_id}"
