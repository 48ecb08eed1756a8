"""Outbound delivery of consentry's own replies (confirmations, HELP answers, YES requests).

A transport hands one message to a provider and returns the provider's id for it. ``log`` (the
default) needs no account; provider transports use the provider's SDK, an optional extra.
"""

from consentry.transports.base import OutboundMessage, Transport, TransportError
from consentry.transports.log import LogTransport

__all__ = ["LogTransport", "OutboundMessage", "Transport", "TransportError"]
