"""The dashboard: opt-ins and opt-outs per day per program, opt-out rate per program, inbound
volume by kind, and blocked or deferred send decisions per rule, over the last 7, 30 or 90 days
(UTC days), as SVG charts and tables."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from consentry.domain.catalogue import catalogue
from consentry.domain.model import ReplyKind
from consentry.service._console import DailyCount
from consentry.web.admin.charts import Series, bar_chart, hbar_chart
from consentry.web.admin.session import ConsoleRoute, SignedIn

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PERIODS = (7, 30, 90)


@dataclass(frozen=True, slots=True)
class ProgramRow:
    """One program's totals over the period (the table beside the charts)."""

    id: str
    slug: str
    name: str
    opt_ins: int
    opt_outs: int
    sent: int
    rate: float | None
    chart: Any


def period(days: int, now: datetime) -> tuple[list[date], datetime, datetime]:
    """The ``days`` UTC days ending today, and the half-open instant range they cover."""
    today = now.date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(), tzinfo=now.tzinfo)
    until = datetime.combine(today + timedelta(days=1), time(), tzinfo=now.tzinfo)
    return [first + timedelta(days=i) for i in range(days)], since, until


def _per_series(counts: list[DailyCount]) -> dict[str, dict[date, int]]:
    table: dict[str, dict[date, int]] = defaultdict(dict)
    for one in counts:
        table[one.series][one.day] = one.count
    return table


@dataclass(frozen=True, slots=True)
class RuleRow:
    """One rule's refusals over the period (the table beside the decisions chart)."""

    id: str
    severity: str
    refused: int


def refusals_per_rule(counts: dict[tuple[str, date], int]) -> list[RuleRow]:
    """Totals per rule, most first (ties by id); the catalogue gives each rule's severity."""
    totals: dict[str, int] = defaultdict(int)
    for (rule_id, _day), n in counts.items():
        totals[rule_id] += n
    rules = catalogue().rules
    return [
        RuleRow(rule_id, rules[rule_id].severity if rule_id in rules else "", n)
        for rule_id, n in sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    ]


@router.get("/admin/{tenant_slug}/", response_class=HTMLResponse)
def dashboard(console: SignedIn, days: Annotated[int, Query(ge=1, le=366)] = 30) -> Response:
    """Charts and tables of the tenant's consent and reply activity."""
    service, tenant = console.service, console.tenant
    if days not in PERIODS:
        days = 30
    day_list, since, until = period(days, service.now().astimezone(UTC))
    labels = [d.strftime("%m-%d") for d in day_list]
    opt_ins, opt_outs = service.consent_activity(tenant, since, until)
    ins, outs = _per_series(opt_ins), _per_series(opt_outs)
    rates = {rate.program_id: rate for rate in service.optout_rates(tenant, since, until)}
    programs = {program.id: program for program in service.list_programs(tenant)}
    rows: list[ProgramRow] = []
    for program_id in sorted(set(ins) | set(outs) | set(rates) | set(programs)):
        program = programs.get(program_id)
        name = program.name if program else program_id
        in_values = tuple(float(ins.get(program_id, {}).get(d, 0)) for d in day_list)
        out_values = tuple(float(outs.get(program_id, {}).get(d, 0)) for d in day_list)
        rate = rates.get(program_id)
        rows.append(
            ProgramRow(
                id=program_id,
                slug=program.slug if program else program_id,
                name=name,
                opt_ins=int(sum(in_values)),
                opt_outs=int(sum(out_values)),
                sent=rate.sent if rate else 0,
                rate=rate.rate if rate else None,
                chart=bar_chart(
                    f"Opt-ins and opt-outs per day: {name}",
                    labels,
                    [Series("opt-ins", in_values), Series("opt-outs", out_values)],
                ),
            )
        )
    rate_chart = hbar_chart(
        "Opt-out rate per program (opt-outs / messages sent)",
        [row.name for row in rows],
        [None if row.rate is None else round(row.rate * 100, 2) for row in rows],
        unit="%",
    )
    volume = _per_series(service.inbound_volume(tenant, since, until))
    kinds = [kind.value for kind in ReplyKind if kind.value in volume] + sorted(
        set(volume) - {kind.value for kind in ReplyKind}
    )
    inbound_chart = bar_chart(
        "Inbound replies per day, by kind",
        labels,
        [Series(kind, tuple(float(volume[kind].get(d, 0)) for d in day_list)) for kind in kinds],
        stacked=True,
    )
    rule_rows = refusals_per_rule(service.decision_counts(tenant, days=days))
    rules_chart = hbar_chart(
        "Blocked and deferred messages per rule",
        [row.id for row in rule_rows],
        [float(row.refused) for row in rule_rows],
    )
    return console.render(
        "admin/dashboard.html",
        {
            "days": days,
            "periods": PERIODS,
            "since": day_list[0],
            "until": day_list[-1],
            "programs": rows,
            "rate_chart": rate_chart,
            "inbound_chart": inbound_chart,
            "inbound_totals": [(kind, sum(volume[kind].values())) for kind in kinds],
            "inbound_total": sum(sum(v.values()) for v in volume.values()),
            "rule_rows": rule_rows,
            "rules_chart": rules_chart,
        },
    )
