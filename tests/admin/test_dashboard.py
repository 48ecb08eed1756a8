"""Dashboard numbers against the database, on SQLite and PostgreSQL: the service's grouped
counts, and the numbers the page shows, equal counts the test makes itself over the tables."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from consentry import Consentry
from consentry.service import SendRequest
from consentry.store.tables import consent_events, decision_rules, decisions, inbound, sends
from tests.admin.conftest import (
    NO_CONSENT,
    SENDER,
    Account,
    MovableClock,
    refuse_some,
    signed_in,
)

CTA = "Acme alerts: order updates, up to 4 msgs/month. Msg&data rates may apply. Reply STOP to cancel."


def _scenario(service: Consentry, account: Account) -> None:
    tenant, program = account.tenant, account.program
    now = service.now()
    for number in ("+14255550101", "+14255550102", "+14255550103"):
        service.record_consent(tenant, number, program.id, medium="web_form", disclosure_text=CTA)
    service.record_consent(
        tenant,
        "+14255550104",
        program.id,
        medium="paper",
        disclosure_text=CTA,
        occurred_at=now - timedelta(days=40),  # outside the 30-day window, inside 90
    )
    service.receive_inbound(tenant, SENDER, "+14255550101", "STOP")
    service.receive_inbound(tenant, SENDER, "+14255550102", "help")
    service.receive_inbound(tenant, SENDER, "+14255550103", "wrong number")
    service.record_sent(
        tenant,
        [
            SendRequest(SENDER, n, program.id, "Acme: your order shipped. Reply STOP to opt out.")
            for n in ("+14255550102", "+14255550103", "+14255550102", "+14255550103")
        ],
    )


def _window(days: int, now: datetime) -> tuple[datetime, datetime]:
    first = now.astimezone(UTC).date() - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    return since, since + timedelta(days=days)


def _sql_counts(service: Consentry, account: Account, days: int) -> dict[str, object]:
    """The same numbers, counted plainly over the tables."""
    since, until = _window(days, service.now())
    tid = account.tenant.id

    def ledger(kinds: tuple[str, ...]) -> int:
        with service.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).where(
                        consent_events.c.tenant_id == tid,
                        consent_events.c.program_id == account.program.id,
                        consent_events.c.kind.in_(kinds),
                        consent_events.c.occurred_at >= since,
                        consent_events.c.occurred_at < until,
                    )
                ).scalar_one()
            )

    with service.engine.connect() as conn:
        sent = int(
            conn.execute(
                sa.select(sa.func.count()).where(
                    sends.c.tenant_id == tid, sends.c.sent_at >= since, sends.c.sent_at < until
                )
            ).scalar_one()
        )
        kinds: dict[str, int] = dict(
            conn.execute(
                sa.select(inbound.c.kind, sa.func.count())
                .where(
                    inbound.c.tenant_id == tid,
                    inbound.c.received_at >= since,
                    inbound.c.received_at < until,
                )
                .group_by(inbound.c.kind)
            ).all()
        )
    return {
        "opt_ins": ledger(("consent_granted", "consent_confirmed", "consent_restored")),
        "opt_outs": ledger(("consent_revoked",)),
        "sent": sent,
        "inbound": {k: int(v) for k, v in kinds.items()},
    }


def test_service_counts_equal_the_tables(service: Consentry, account: Account) -> None:
    _scenario(service, account)
    for days in (30, 90):
        since, until = _window(days, service.now())
        expected = _sql_counts(service, account, days)
        ins, outs = service.consent_activity(account.tenant, since, until)
        assert sum(c.count for c in ins) == expected["opt_ins"]
        assert sum(c.count for c in outs) == expected["opt_outs"]
        assert {c.series for c in ins + outs} == {account.program.id}
        assert all(isinstance(c.day, date) and since.date() <= c.day for c in ins + outs)
        [rate] = service.optout_rates(account.tenant, since, until)
        assert (rate.opt_outs, rate.sent) == (expected["opt_outs"], expected["sent"])
        volume: dict[str, int] = {}
        for one in service.inbound_volume(account.tenant, since, until):
            volume[one.series] = volume.get(one.series, 0) + one.count
        assert volume == expected["inbound"]
    # and the scenario's own numbers, so that a wrong query on both sides cannot pass
    assert _sql_counts(service, account, 30) == {
        "opt_ins": 3,
        "opt_outs": 1,
        "sent": 4,
        "inbound": {"opt_out": 1, "help": 1, "ambiguous": 1},
    }
    assert _sql_counts(service, account, 90)["opt_ins"] == 4


def _cell(html: str, program: str, metric: str) -> str:
    row = re.search(rf'<tr data-program="{program}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {program}"
    cell = re.search(rf'data-metric="{metric}">([^<]*)<', row.group(1))
    assert cell, f"no {metric} cell"
    return cell.group(1).strip()


def _kind_total(html: str, kind: str) -> int:
    found = re.search(rf'<tr data-kind="{kind}">.*?<td class="num">(\d+)</td>', html, re.S)
    assert found, f"no total for {kind}"
    return int(found.group(1))


def test_the_page_shows_the_database_numbers(
    service: Consentry, base_url: str, account: Account, other_account: Account
) -> None:
    _scenario(service, account)
    _scenario(service, other_account)  # another tenant's activity never counts here
    with signed_in(base_url, account, "auditor") as http:
        for days in (30, 90):
            page = http.get(f"/admin/{account.tenant.slug}/", params={"days": days})
            assert page.status_code == 200
            expected = _sql_counts(service, account, days)
            assert _cell(page.text, "alerts", "opt_ins") == str(expected["opt_ins"])
            assert _cell(page.text, "alerts", "opt_outs") == str(expected["opt_outs"])
            assert _cell(page.text, "alerts", "sent") == str(expected["sent"])
            inbound_counts = expected["inbound"]
            assert isinstance(inbound_counts, dict)
            for kind, n in inbound_counts.items():
                assert _kind_total(page.text, kind) == n
            assert _kind_total(page.text, "total") == sum(inbound_counts.values())
        assert _cell(page.text, "alerts", "rate") == "25.00%"
        # charts: SVG drawn on the server, labelled, no script and nothing fetched
        assert page.text.count('<svg class="chart" role="img"') == 4
        assert "<script" not in page.text and "http://" not in page.text.split("<main", 1)[1]
        assert "<title" in page.text.split("<svg", 1)[1]


def test_an_empty_account_shows_zeros_and_no_rate(base_url: str, account: Account) -> None:
    with signed_in(base_url, account, "admin") as http:
        page = http.get(f"/admin/{account.tenant.slug}/")
    assert _cell(page.text, "alerts", "opt_ins") == "0"
    assert _cell(page.text, "alerts", "rate") == "n/a"
    assert _kind_total(page.text, "total") == 0


def test_period_outside_the_choices_falls_back_to_thirty_days(
    base_url: str, account: Account
) -> None:
    with signed_in(base_url, account, "admin") as http:
        page = http.get(f"/admin/{account.tenant.slug}/", params={"days": 12})
        assert page.status_code == 200
        assert 'value="30" selected' in page.text
        assert http.get(f"/admin/{account.tenant.slug}/", params={"days": 0}).status_code == 422


def _sql_refusals(service: Consentry, account: Account, days: int) -> dict[str, int]:
    """Refused messages per rule over the window, counted plainly over the log's two tables."""
    since, until = _window(days, service.now())
    tid = account.tenant.id
    with service.engine.connect() as conn:
        rows = conn.execute(
            sa.select(decision_rules.c.rule_id, sa.func.count())
            .select_from(
                decision_rules.join(
                    decisions,
                    sa.and_(
                        decisions.c.tenant_id == decision_rules.c.tenant_id,
                        decisions.c.decision_id == decision_rules.c.decision_id,
                    ),
                )
            )
            .where(
                decisions.c.tenant_id == tid,
                decisions.c.action.in_(("block", "defer")),
                decisions.c.decided_at >= since,
                decisions.c.decided_at < until,
            )
            .group_by(decision_rules.c.rule_id)
        ).all()
    return {rule_id: int(n) for rule_id, n in rows}


def _rule_total(html: str, rule_id: str) -> int:
    found = re.search(rf'<tr data-rule="{rule_id}">.*?<td class="num">(\d+)</td>', html, re.S)
    assert found, f"no total for {rule_id}"
    return int(found.group(1))


def test_refusals_per_rule_equal_the_tables(
    timed: tuple[Consentry, str],
    clock: MovableClock,
    service: Consentry,
    account: Account,
    other_account: Account,
) -> None:
    app, url = timed
    clock.advance(days=-40)  # one refusal 40 days ago: in the 90-day window, not the 30-day one
    app.check_send(account.tenant, SENDER, NO_CONSENT, account.program.id, "Acme Coffee: hi")
    clock.advance(days=40)
    refuse_some(app, account)
    refuse_some(app, other_account)  # another tenant's refusals never count here
    expected30 = _sql_refusals(app, account, 30)
    expected90 = _sql_refusals(app, account, 90)
    assert expected30["OPTOUT-ACTIVE"] == 1 and expected30["TIME-QUIET-HOURS"] == 1
    assert expected90["CONSENT-MISSING"] == expected30["CONSENT-MISSING"] + 1
    with signed_in(url, account, "auditor") as http:
        for days, expected in ((30, expected30), (90, expected90)):
            page = http.get(f"/admin/{account.tenant.slug}/", params={"days": days})
            assert page.status_code == 200
            shown = set(re.findall(r'<tr data-rule="([A-Z0-9-]+)">', page.text))
            assert shown == set(expected)
            for rule_id, n in expected.items():
                assert _rule_total(page.text, rule_id) == n
            chart = page.text.split("Blocked and deferred messages per rule</title>", 1)[1]
            assert f"CONSENT-MISSING: {expected['CONSENT-MISSING']}" in chart.split("</svg>")[0]
            assert f'href="/admin/{account.tenant.slug}/decisions?rule=OPTOUT-ACTIVE"' in page.text


def test_no_refusals_says_so(base_url: str, account: Account) -> None:
    with signed_in(base_url, account, "agent") as http:
        page = http.get(f"/admin/{account.tenant.slug}/")
    assert "No message was refused in the period." in page.text
    assert not re.search(r'<tr data-rule="', page.text)
