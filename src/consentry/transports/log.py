"""The ``log`` transport: delivers to the log (the embedded default needs no provider account)."""

from __future__ import annotations

import logging

from consentry.transports.base import OutboundMessage

logger = logging.getLogger("consentry.delivery")


class LogTransport:
    name = "log"

    def send(self, message: OutboundMessage) -> str:
        logger.info(
            "deliver %s from %s to %s: %s",
            message.outbox_id,
            message.sender,
            message.recipient,
            message.body,
        )
        return f"log-{message.outbox_id}"
