"""Read models of the admin console: dashboard counts per day, opt-out search, one inbound reply.

Every count is one grouped SQL query over the store, per tenant, over a half-open period
``[since, until)``; days are UTC calendar days. What is counted:

- opt-ins: ledger events ``consent_granted``, ``consent_confirmed`` (double opt-in confirmed)
  and ``consent_restored`` (START after an opt-out), per program and day;
- opt-outs: ledger events ``consent_revoked``, per program and day (an opt-out in a program,
  brand or tenant scope revokes each consent it covers: one event per program);
- opt-out rate of a program: its opt-outs divided by its messages sent (``sends``) in the period;
- inbound volume: received replies per classification (``kind``) and day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from consentry.domain.consent import ConsentEventKind
from consentry.domain.model import OptOut, OptOutSource, Scope, ScopeKind, Tenant
from consentry.service._tenants import TenantsLayer
from consentry.store.days import daily_counts
from consentry.store.tables import consent_events, inbound, optouts, sends

OPT_IN_KINDS = (
    ConsentEventKind.GRANTED.value,
    ConsentEventKind.CONFIRMED.value,
    ConsentEventKind.RESTORED.value,
)
OPT_OUT_KINDS = (ConsentEventKind.REVOKED.value,)


@dataclass(frozen=True, slots=True)
class DailyCount:
    """``count`` events of one ``series`` (a program id, or an inbound kind) on ``day``."""

    day: date
    series: str
    count: int


@dataclass(frozen=True, slots=True)
class ProgramRate:
    """A program's opt-outs against its messages sent; ``rate`` is None without sends."""

    program_id: str
    opt_outs: int
    sent: int

    @property
    def rate(self) -> float | None:
        return self.opt_outs / self.sent if self.sent else None


class ConsoleLayer(TenantsLayer):
    """Read models of the admin console: dashboard counts, opt-out search, one inbound reply."""

    def consent_activity(
        self, tenant: Tenant, since: datetime, until: datetime
    ) -> tuple[list[DailyCount], list[DailyCount]]:
        """Opt-ins and opt-outs per program (``series``) and UTC day, oldest day first."""
        with self._read() as conn:
            return (
                self._ledger_daily(conn, tenant, OPT_IN_KINDS, since, until),
                self._ledger_daily(conn, tenant, OPT_OUT_KINDS, since, until),
            )

    def optout_rates(self, tenant: Tenant, since: datetime, until: datetime) -> list[ProgramRate]:
        """Each program's opt-outs and messages sent in the period (programs with either)."""
        with self._read() as conn:
            revoked: dict[str, int] = dict(
                conn.execute(
                    sa.select(consent_events.c.program_id, sa.func.count())
                    .where(
                        consent_events.c.tenant_id == tenant.id,
                        consent_events.c.kind.in_(OPT_OUT_KINDS),
                        consent_events.c.program_id.is_not(None),
                        consent_events.c.occurred_at >= since,
                        consent_events.c.occurred_at < until,
                    )
                    .group_by(consent_events.c.program_id)
                ).all()
            )
            sent: dict[str, int] = dict(
                conn.execute(
                    sa.select(sends.c.program_id, sa.func.count())
                    .where(
                        sends.c.tenant_id == tenant.id,
                        sends.c.sent_at >= since,
                        sends.c.sent_at < until,
                    )
                    .group_by(sends.c.program_id)
                ).all()
            )
        return [
            ProgramRate(program, int(revoked.get(program, 0)), int(sent.get(program, 0)))
            for program in sorted(set(revoked) | set(sent))
        ]

    def inbound_volume(self, tenant: Tenant, since: datetime, until: datetime) -> list[DailyCount]:
        """Received replies per classification (``series``: opt_out, help, ...) and UTC day."""
        with self._read() as conn:
            rows = daily_counts(
                conn,
                inbound.c.received_at,
                inbound.c.kind,
                inbound.c.tenant_id == tenant.id,
                inbound.c.received_at >= since,
                inbound.c.received_at < until,
            )
        return [DailyCount(*row) for row in rows]

    def search_optouts(self, tenant: Tenant, text: str = "", *, limit: int = 100) -> list[OptOut]:
        """Current opt-outs whose number contains the digits of ``text`` (all when empty),
        newest first."""
        digits = "".join(ch for ch in text if ch.isdigit())[:16]
        query = sa.select(optouts).where(optouts.c.tenant_id == tenant.id)
        if digits:
            query = query.where(optouts.c.recipient.contains(digits, autoescape=True))
        query = query.order_by(optouts.c.created_at.desc(), optouts.c.recipient).limit(limit)
        with self._read() as conn:
            return [
                OptOut(
                    recipient=row.recipient,
                    scope=Scope(ScopeKind(row.scope_kind), row.scope_id),
                    source=OptOutSource(row.source),
                    created_at=row.created_at,
                    event_id=row.event_id,
                )
                for row in conn.execute(query)
            ]

    def get_inbound(self, tenant: Tenant, inbound_id: str) -> dict[str, Any] | None:
        """One received reply of ``tenant`` as stored, or None."""
        with self._read() as conn:
            row = (
                conn.execute(
                    sa.select(inbound).where(
                        inbound.c.tenant_id == tenant.id, inbound.c.inbound_id == inbound_id
                    )
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    def _ledger_daily(
        self,
        conn: sa.Connection,
        tenant: Tenant,
        kinds: tuple[str, ...],
        since: datetime,
        until: datetime,
    ) -> list[DailyCount]:
        rows = daily_counts(
            conn,
            consent_events.c.occurred_at,
            consent_events.c.program_id,
            consent_events.c.tenant_id == tenant.id,
            consent_events.c.kind.in_(kinds),
            consent_events.c.program_id.is_not(None),
            consent_events.c.occurred_at >= since,
            consent_events.c.occurred_at < until,
        )
        return [DailyCount(*row) for row in rows]
