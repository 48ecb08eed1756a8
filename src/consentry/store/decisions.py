"""Reads and writes of the decisions log: the messages the send gate refused, and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from consentry.domain.policy import Decision, OutgoingMessage, Severity, decision_json
from consentry.identifiers import new_id
from consentry.store.days import daily_counts
from consentry.store.tables import decision_rules, decisions

_REFUSING = (Severity.BLOCK, Severity.DEFER)

Position = tuple[datetime, str]
"""A place in the decisions log: an entry's ``(decided_at, decision_id)``."""


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    """One refused message as the log keeps it (no body)."""

    id: str
    decided_at: datetime
    send_at: datetime
    sender: str
    recipient: str
    program_id: str
    category: str
    action: str
    defer_until: datetime | None
    findings: list[dict[str, Any]]

    @property
    def rule_ids(self) -> list[str]:
        """The rules that refused the message (block or defer findings), in order."""
        return [f["rule_id"] for f in self.findings if f["severity"] in _REFUSING]


def insert(
    conn: sa.Connection,
    tenant_id: str,
    refused: Sequence[tuple[OutgoingMessage, Decision]],
    decided_at: datetime,
) -> list[str]:
    """Log each refused message with its findings; return the new decision ids."""
    rows: list[dict[str, Any]] = []
    rule_rows: list[dict[str, Any]] = []
    for message, decision in refused:
        decision_id = new_id("dec")
        rows.append(
            {
                "tenant_id": tenant_id,
                "decision_id": decision_id,
                "decided_at": decided_at,
                "send_at": message.at,
                "sender": message.sender,
                "recipient": message.recipient,
                "program_id": message.program_id,
                "category": message.category,
                "action": decision.action.value,
                "defer_until": decision.defer_until,
                # Details may hold times and sets: the engine's JSON writer (orjson) takes them.
                "findings": decision_json(decision)["findings"],
            }
        )
        rule_rows.extend(
            {
                "tenant_id": tenant_id,
                "decision_id": decision_id,
                "rule_id": rule_id,
                "decided_at": decided_at,
            }
            for rule_id in dict.fromkeys(
                f.rule_id for f in decision.findings if f.severity in _REFUSING
            )
        )
    if rows:
        conn.execute(sa.insert(decisions), rows)
    if rule_rows:
        conn.execute(sa.insert(decision_rules), rule_rows)
    return [row["decision_id"] for row in rows]


def listed(
    conn: sa.Connection,
    tenant_id: str,
    *,
    rule_id: str | None = None,
    recipient: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    before: Position | None = None,
    after: Position | None = None,
    limit: int = 100,
) -> list[LoggedDecision]:
    """The latest refused messages, newest first, filtered by rule, recipient, action, time.

    The log's order is ``decided_at`` descending, then ``decision_id`` ascending (one batch shares
    one time): a total order, so keyset pages never skip or repeat an entry. ``before`` keeps the
    entries that come after that position in this order (older ones); ``after`` the entries that
    come before it (newer ones), of which the ``limit`` nearest to it are returned, newest first.
    """
    query = sa.select(decisions).where(decisions.c.tenant_id == tenant_id)
    if rule_id is not None:
        by_rule = sa.select(decision_rules.c.decision_id).where(
            decision_rules.c.tenant_id == tenant_id, decision_rules.c.rule_id == rule_id
        )
        query = query.where(decisions.c.decision_id.in_(by_rule))
    if recipient is not None:
        query = query.where(decisions.c.recipient == recipient)
    if action is not None:
        query = query.where(decisions.c.action == action)
    if since is not None:
        query = query.where(decisions.c.decided_at >= since)
    at, key = decisions.c.decided_at, decisions.c.decision_id
    if before is not None:
        query = query.where(sa.or_(at < before[0], sa.and_(at == before[0], key > before[1])))
    if after is not None:
        query = query.where(sa.or_(at > after[0], sa.and_(at == after[0], key < after[1])))
        nearest = conn.execute(query.order_by(at.asc(), key.desc()).limit(limit))
        return [_logged(row) for row in nearest][::-1]
    query = query.order_by(at.desc(), key).limit(limit)
    return [_logged(row) for row in conn.execute(query)]


def counts_per_rule_and_day(
    conn: sa.Connection, tenant_id: str, since: datetime
) -> dict[tuple[str, date], int]:
    """How many logged refusals each rule made on each (UTC) day since ``since``."""
    rows = daily_counts(
        conn,
        decision_rules.c.decided_at,
        decision_rules.c.rule_id,
        decision_rules.c.tenant_id == tenant_id,
        decision_rules.c.decided_at >= since,
    )
    return {(rule_id, day): count for day, rule_id, count in rows}


def _logged(row: Any) -> LoggedDecision:
    return LoggedDecision(
        id=row.decision_id,
        decided_at=row.decided_at,
        send_at=row.send_at,
        sender=row.sender,
        recipient=row.recipient,
        program_id=row.program_id,
        category=row.category,
        action=row.action,
        defer_until=row.defer_until,
        findings=list(row.findings),
    )
