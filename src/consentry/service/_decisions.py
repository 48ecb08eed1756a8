"""The decisions log: which messages the send gate refused, by which rule, with its citation."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from consentry.domain.catalogue import catalogue
from consentry.domain.model import Tenant
from consentry.domain.numbers import to_e164
from consentry.errors import InvalidInput
from consentry.service._gate import GateLayer
from consentry.store import decisions as decision_store
from consentry.store.decisions import LoggedDecision

MAX_DECISIONS = 1000
MAX_DAYS = 366


class DecisionsLayer(GateLayer):
    """Read the decisions log (the gate writes it as it refuses messages)."""

    def flush_decisions(self) -> None:
        """Wait until every refusal this process has made is stored in the decisions log."""
        self._refusals.flush()

    def list_decisions(
        self,
        tenant: Tenant,
        *,
        rule_id: str | None = None,
        recipient: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[LoggedDecision]:
        """Refused messages, newest first; filter by rule id, recipient, action (block, defer)."""
        if rule_id is not None and rule_id not in catalogue().rules:
            raise InvalidInput(f"no rule {rule_id!r} in the catalogue", field="rule_id")
        if action is not None and action not in ("block", "defer"):
            raise InvalidInput(f"action must be block or defer; got {action!r}", field="action")
        if since is not None and since.tzinfo is None:
            raise InvalidInput("since must include a time zone", field="since")
        if not 1 <= limit <= MAX_DECISIONS:
            raise InvalidInput(f"limit must be from 1 to {MAX_DECISIONS}", field="limit")
        number = to_e164(recipient, tenant.default_region, field="recipient") if recipient else None
        self.flush_decisions()
        with self._read() as conn:
            return decision_store.listed(
                conn,
                tenant.id,
                rule_id=rule_id,
                recipient=number,
                action=action,
                since=since,
                limit=limit,
            )

    def decision_counts(self, tenant: Tenant, *, days: int = 30) -> dict[tuple[str, date], int]:
        """Refusals per rule id and UTC day over the last ``days`` days (today included)."""
        if not 1 <= days <= MAX_DAYS:
            raise InvalidInput(f"days must be from 1 to {MAX_DAYS}", field="days")
        now = self.now()
        start = datetime.combine(
            now.date() - timedelta(days=days - 1), datetime.min.time(), tzinfo=now.tzinfo
        )
        self.flush_decisions()
        with self._read() as conn:
            return decision_store.counts_per_rule_and_day(conn, tenant.id, start)
