"""The review queue: replies that may revoke consent, each due within ten business days.

A reply the classifier cannot call ("wrong number", "how do I unsubscribe?") is held for a
person to decide. The FCC's 2024 rule (47 CFR 64.1200(a)(10)) gives at most ten business days to
honour a revocation, so each such reply carries a due time; the queue lists them by due time,
and the overdue report lists those past it and still undecided. Deciding ``opt_out`` applies
the opt-out exactly where the keyword STOP would have; ``not_a_revocation`` closes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from consentry.domain import scopes
from consentry.domain.model import OptOutSource, Tenant
from consentry.errors import Conflict, InvalidInput
from consentry.service._checks import found, optional_text
from consentry.service._gate import GateLayer
from consentry.service._results import ScopeRef
from consentry.store import messages
from consentry.store.tables import inbound

DECISIONS = ("opt_out", "not_a_revocation")


CONFIRMATION_WITHIN = timedelta(minutes=5)


class ReviewLayer(GateLayer):
    """The review queue: replies that may revoke consent, each due within ten business days."""

    def review_queue(
        self, tenant: Tenant, *, overdue: bool = False, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Undecided replies that may be revocations, soonest due first (``overdue``: past due)."""
        query = sa.select(inbound).where(
            inbound.c.tenant_id == tenant.id,
            inbound.c.needs_review.is_(True),
            inbound.c.due_at.is_not(None),
            inbound.c.resolved_at.is_(None),
        )
        if overdue:
            query = query.where(inbound.c.due_at < self.now())
        query = query.order_by(inbound.c.due_at, inbound.c.inbound_id).limit(limit)
        with self._read() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def resolve_review(
        self, tenant: Tenant, inbound_id: str, decision: str, *, actor: str | None = None
    ) -> dict[str, Any]:
        """Decide a held reply: ``opt_out`` (apply it where STOP would land) or
        ``not_a_revocation``. Deciding twice is a :class:`Conflict`."""
        if decision not in DECISIONS:
            raise InvalidInput(
                f"decision must be one of {', '.join(DECISIONS)}; got {decision!r}",
                field="decision",
            )
        who = optional_text(actor, "actor", 200)
        with self._read() as conn:
            row = conn.execute(
                sa.select(inbound).where(
                    inbound.c.tenant_id == tenant.id, inbound.c.inbound_id == inbound_id
                )
            ).first()
        held = found(row, "inbound reply", inbound_id, "inbound_id")
        if held.due_at is None:
            raise Conflict("this reply was not held as a possible revocation", field="inbound_id")
        if held.resolved_at is not None:
            raise Conflict(
                f"already decided ({held.resolution}) at {held.resolved_at.isoformat()}",
                field="inbound_id",
            )
        if decision == "opt_out":
            with self._read() as conn:
                context, _known, _brand = self._sender_context(conn, tenant, held.sender_address)
            for scope in scopes.keyword_scopes(context, account_wide=False):
                self.add_optouts(
                    tenant,
                    [held.recipient],
                    sender=held.sender_address,
                    scope=ScopeRef(scope.kind, scope.id or None),
                    source=OptOutSource.CONSOLE,
                    actor=who,
                    reason=f"revocation in the reply {inbound_id}, decided on review",
                )
        now = self.now()
        with self.engine.begin() as conn:
            updated = conn.execute(
                sa.update(inbound)
                .where(
                    inbound.c.tenant_id == tenant.id,
                    inbound.c.inbound_id == inbound_id,
                    inbound.c.resolved_at.is_(None),
                )
                .values(resolved_at=now, resolution=decision, resolved_by=who, needs_review=False)
            ).rowcount
        if not updated:
            raise Conflict("decided meanwhile by someone else", field="inbound_id")
        return {
            "inbound_id": inbound_id,
            "resolution": decision,
            "resolved_at": now,
            "resolved_by": who,
            "on_time": now <= held.due_at,
        }

    def late_confirmations(
        self, tenant: Tenant, *, since: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Opt-out confirmations not handed to the provider within five minutes of the STOP.

        The FCC's 2024 rule allows one confirmation text after a revocation, sent promptly (it
        names five minutes); consentry queues it in the same transaction as the opt-out, and
        this report lists the ones delivered late, or still waiting past the limit.
        """
        now = self.now()
        with self._read() as conn:
            rows = messages.confirmations(conn, tenant.id, since or now - timedelta(days=30))
        late = []
        for row in rows:
            limit = row["received_at"] + CONFIRMATION_WITHIN
            handed = row["sent_at"]
            if (handed is not None and handed > limit) or (handed is None and now > limit):
                waited = (handed or now) - row["received_at"]
                late.append({**row, "delay_seconds": int(waited.total_seconds())})
        return late
