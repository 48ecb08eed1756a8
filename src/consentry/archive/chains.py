"""Verifying tenants' ledger chains from a stream of events (no database needed).

The same rules as :func:`consentry.store.ledger.verify_chain`: sequence numbers run 1, 2, 3 ...
without a gap, each event's ``prev_hash`` is the hash of the event before it (the genesis hash
for the first), each event's hash is the SHA-256 of its canonical form (except for events a purge
redacted, which keep only their links), and the chain ends at the tenant's recorded head.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from consentry.store.ledger import GENESIS_HASH, event_hash


@dataclass(slots=True)
class _Chain:
    seq: int = 0
    hash: str = GENESIS_HASH
    events: int = 0
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ChainResult:
    """One tenant's chain: its last event (seq, hash), events seen, and the first problem."""

    seq: int
    hash: str
    events: int
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


class ChainChecker:
    """Feed events in sequence order per tenant with :meth:`add`; then :meth:`finish`."""

    def __init__(self) -> None:
        self._chains: dict[str, _Chain] = {}

    def add(self, event: Mapping[str, Any]) -> None:
        """Check one event (decoded ``consent_events`` row) against its tenant's chain so far."""
        chain = self._chains.setdefault(event["tenant_id"], _Chain())
        chain.events += 1
        if chain.problem is not None:
            return
        expected = chain.seq + 1
        if event["seq"] != expected:
            chain.problem = f"event {expected} is missing (found {event['seq']})"
        elif event["prev_hash"] != chain.hash:
            chain.problem = f"event {expected}: link to the previous event is broken"
        elif event["redacted_at"] is None and event_hash(event) != event["hash"]:
            chain.problem = f"event {expected}: content does not match its hash"
        else:
            chain.seq, chain.hash = expected, event["hash"]

    def finish(self, heads: Mapping[str, tuple[int, str]]) -> dict[str, ChainResult]:
        """Each tenant's result, checked against ``heads`` (tenant -> recorded (seq, hash))."""
        results: dict[str, ChainResult] = {}
        for tenant in sorted(set(heads) | set(self._chains)):
            chain = self._chains.get(tenant, _Chain())
            problem = chain.problem
            head = heads.get(tenant)
            if problem is None and head is None:
                problem = "events without a chain head"
            elif problem is None and head != (chain.seq, chain.hash):
                problem = "chain head does not match the last event"
            results[tenant] = ChainResult(chain.seq, chain.hash, chain.events, problem)
        return results
