"""The decisions log: which messages the send gate refused, by which rule, with its citation."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from consentry.domain.catalogue import catalogue
from consentry.domain.model import Tenant
from consentry.domain.numbers import to_e164
from consentry.errors import InvalidInput
from consentry.service._gate import GateLayer
from consentry.store import decisions as decision_store
from consentry.store.decisions import LoggedDecision, Position

MAX_DECISIONS = 1000
MAX_DAYS = 366
MAX_CURSOR = 200
_DECISION_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")


@dataclass(frozen=True, slots=True)
class DecisionPage:
    """One page of the decisions log, newest first, and the cursors of the pages beside it."""

    decisions: list[LoggedDecision]
    older: str | None  # ``before=`` this for the next older page (None: this is the oldest)
    newer: str | None  # ``after=`` this for the next newer page (None: this is the newest)


def decision_cursor(decision: LoggedDecision) -> str:
    """An opaque cursor naming ``decision``'s place in the log (for ``before`` / ``after``)."""
    text = f"{decision.decided_at.astimezone(UTC).isoformat()}|{decision.id}"
    return base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii").rstrip("=")


def _position(cursor: str, field: str) -> Position:
    """The place in the log a cursor names (:class:`InvalidInput` naming ``field`` if it is not
    a cursor of :func:`decision_cursor`)."""
    problem = InvalidInput(f"{field} must be a cursor from a previous page", field=field)
    if not cursor or len(cursor) > MAX_CURSOR:
        raise problem
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        at_text, key = text.split("|")
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None or not _DECISION_ID.fullmatch(key):
            raise problem
        return at.astimezone(UTC), key
    except (ValueError, OverflowError):  # binascii.Error and UnicodeDecodeError included
        raise problem from None


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
        before: str | None = None,
        limit: int = 100,
    ) -> list[LoggedDecision]:
        """Refused messages, newest first; filter by rule id, recipient, action (block, defer);
        ``before`` (a cursor of :func:`decision_cursor`) keeps those older than that entry."""
        return self.decisions_page(
            tenant,
            rule_id=rule_id,
            recipient=recipient,
            action=action,
            since=since,
            before=before,
            limit=limit,
        ).decisions

    def decisions_page(
        self,
        tenant: Tenant,
        *,
        rule_id: str | None = None,
        recipient: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        before: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> DecisionPage:
        """One page of the log (filtered as :meth:`list_decisions`), newest first.

        Without a cursor, the newest ``limit`` entries; with ``before``, the ``limit`` entries
        just older than that cursor's; with ``after``, the ``limit`` entries just newer (or the
        newest page when fewer are left). Pages are keyed on the entries' place in the log, so
        entries logged meanwhile (newer ones) never shift an older page.
        """
        if rule_id is not None and rule_id not in catalogue().rules:
            raise InvalidInput(f"no rule {rule_id!r} in the catalogue", field="rule_id")
        if action is not None and action not in ("block", "defer"):
            raise InvalidInput(f"action must be block or defer; got {action!r}", field="action")
        if since is not None and since.tzinfo is None:
            raise InvalidInput("since must include a time zone", field="since")
        if not 1 <= limit <= MAX_DECISIONS:
            raise InvalidInput(f"limit must be from 1 to {MAX_DECISIONS}", field="limit")
        if before is not None and after is not None:
            raise InvalidInput("give before or after, not both", field="after")
        older_than = _position(before, "before") if before is not None else None
        newer_than = _position(after, "after") if after is not None else None
        number = to_e164(recipient, tenant.default_region, field="recipient") if recipient else None
        self.flush_decisions()
        with self._read() as conn:
            found = decision_store.listed(
                conn,
                tenant.id,
                rule_id=rule_id,
                recipient=number,
                action=action,
                since=since,
                before=older_than,
                after=newer_than,
                limit=limit + 1,  # one more: is there another page?
            )
        if newer_than is not None:
            if len(found) <= limit:  # the newest entries: the first page
                return self.decisions_page(
                    tenant,
                    rule_id=rule_id,
                    recipient=recipient,
                    action=action,
                    since=since,
                    limit=limit,
                )
            rows = found[1:]
            return DecisionPage(rows, decision_cursor(rows[-1]), decision_cursor(rows[0]))
        rows = found[:limit]
        older = decision_cursor(rows[-1]) if len(found) > limit else None
        if before is None:
            return DecisionPage(rows, older, None)
        return DecisionPage(rows, older, decision_cursor(rows[0]) if rows else before)

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
