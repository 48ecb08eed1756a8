"""The hash-chained ledger: every opt-out change is an event, and tampering is detected."""

from __future__ import annotations

import sqlalchemy as sa

from consentry import Consentry, ScopeKind, ScopeRef, Tenant
from consentry.store.tables import consent_events, optouts


def _seed(service: Consentry, tenant: Tenant) -> None:
    service.add_optouts(tenant, ["+14255550123", "+14255550124"], sender="+12065550100")
    service.remove_optouts(tenant, ["+14255550123"], sender="+12065550100")
    service.add_optouts(tenant, ["+14255550125"], scope=ScopeRef(ScopeKind.TENANT))
    service.receive_inbound(tenant, "+12065550100", "+14255550126", "STOP")


def test_chain_verifies_after_ordinary_use(service: Consentry, tenant: Tenant) -> None:
    _seed(service, tenant)
    report = service.verify_ledger(tenant)
    assert report.ok, report
    assert report.events == 5


def test_editing_an_event_in_sql_is_detected_at_that_event(
    service: Consentry, tenant: Tenant
) -> None:
    _seed(service, tenant)
    with service.engine.begin() as conn:
        conn.execute(
            sa.update(consent_events)
            .where(consent_events.c.tenant_id == tenant.id, consent_events.c.seq == 3)
            .values(recipient="+14255550199")
        )
    report = service.verify_ledger(tenant)
    assert not report.ok
    assert report.first_broken_seq == 3
    assert "hash" in (report.problem or "")


def test_deleting_an_event_is_detected(service: Consentry, tenant: Tenant) -> None:
    _seed(service, tenant)
    with service.engine.begin() as conn:
        conn.execute(
            sa.delete(consent_events).where(
                consent_events.c.tenant_id == tenant.id, consent_events.c.seq == 2
            )
        )
    report = service.verify_ledger(tenant)
    assert (report.ok, report.first_broken_seq) == (False, 2)


def test_current_state_equals_a_replay_of_the_ledger(service: Consentry, tenant: Tenant) -> None:
    _seed(service, tenant)
    with service.engine.connect() as conn:
        replay: set[tuple[str, str, str]] = set()
        for row in conn.execute(
            sa.select(consent_events)
            .where(consent_events.c.tenant_id == tenant.id)
            .order_by(consent_events.c.seq)
        ):
            key = (row.recipient, row.scope_kind, row.scope_id)
            if row.kind == "opt_out_added":
                replay.add(key)
            else:
                replay.discard(key)
        live = {
            (row.recipient, row.scope_kind, row.scope_id)
            for row in conn.execute(sa.select(optouts).where(optouts.c.tenant_id == tenant.id))
        }
    assert live == replay
    assert len(live) == 3


def test_one_tenants_chain_is_independent_of_anothers(service: Consentry, tenant: Tenant) -> None:
    other, _ = service.create_tenant("Other", slug=f"o-{tenant.slug}")
    _seed(service, tenant)
    service.add_optouts(other, ["+14255550123"], sender="+12065550100")
    assert service.verify_ledger(tenant).events == 5
    assert service.verify_ledger(other).events == 1
    assert service.verify_ledger(other).ok


def test_times_given_with_another_offset_still_verify(service: Consentry, tenant: Tenant) -> None:
    from datetime import datetime, timedelta, timezone

    at = datetime(2026, 1, 2, 11, 30, tzinfo=timezone(timedelta(hours=2)))
    service.receive_inbound(tenant, "+12065550100", "+14255550123", "STOP", received_at=at)
    report = service.verify_ledger(tenant)
    assert report.ok, report
