"""The transport interface: one method, ``send``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    outbox_id: str
    tenant_id: str
    sender: str
    recipient: str
    body: str
    status_callback: str | None = None  # where the provider should report delivery


class TransportError(Exception):
    """A send that failed; ``retryable`` says whether trying again later may succeed."""

    def __init__(self, message: str, *, retryable: bool, code: str | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code


class Transport(Protocol):
    name: str

    def send(self, message: OutboundMessage) -> str:
        """Hand ``message`` to the provider; return its id there, or raise TransportError."""
        ...
