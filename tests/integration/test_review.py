"""The review queue under the FCC's ten-business-day rule, with the clock passed in."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from consentry import Conflict, Consentry, InvalidInput, NotFound, Tenant

SENDER = "+12065550100"
FRIDAY = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # before Thanksgiving


@pytest.fixture
def clocked(
    database_url: str, service: Consentry
) -> Iterator[tuple[Consentry, Tenant, list[datetime]]]:
    now = [FRIDAY]
    app = Consentry(database_url, clock=lambda: now[0])
    tenant, _key = app.create_tenant("Review co", slug=f"review-{secrets.token_hex(4)}")
    brand = app.create_brand(tenant, "Acme", "help@acme.example")
    app.create_program(tenant, brand.id, "Alerts", slug="alerts")
    app.create_sender(tenant, SENDER, "long_code", programs=["alerts"], verified=True)
    yield app, tenant, now
    app.close()


def test_a_reply_held_for_review_is_due_in_ten_business_days_and_reported_when_overdue(
    clocked: tuple[Consentry, Tenant, list[datetime]],
) -> None:
    app, tenant, now = clocked
    held = app.receive_inbound(tenant, SENDER, "+14255550150", "wrong number")
    assert held.action == "held_for_review"
    clear = app.receive_inbound(tenant, SENDER, "+14255550151", "STOP")
    [queued] = app.review_queue(tenant)
    assert queued["inbound_id"] == held.inbound_id
    assert queued["due_at"] == datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
    assert clear.inbound_id not in {row["inbound_id"] for row in app.review_queue(tenant)}
    now[0] = datetime(2026, 12, 7, 15, 59, tzinfo=UTC)
    assert app.review_queue(tenant, overdue=True) == []
    now[0] = datetime(2026, 12, 7, 16, 1, tzinfo=UTC)
    assert [row["inbound_id"] for row in app.review_queue(tenant, overdue=True)] == [
        held.inbound_id
    ]


def test_the_queue_is_ordered_by_due_time(
    clocked: tuple[Consentry, Tenant, list[datetime]],
) -> None:
    app, tenant, now = clocked
    first = app.receive_inbound(tenant, SENDER, "+14255550152", "wrong number")
    now[0] += timedelta(days=3)
    second = app.receive_inbound(tenant, SENDER, "+14255550153", "how do I unsubscribe?")
    ids = [row["inbound_id"] for row in app.review_queue(tenant)]
    assert ids.index(first.inbound_id) < ids.index(second.inbound_id)


def test_deciding_opt_out_applies_it_where_stop_would_and_closes_it(
    clocked: tuple[Consentry, Tenant, list[datetime]],
) -> None:
    app, tenant, now = clocked
    held = app.receive_inbound(tenant, SENDER, "+14255550154", "wrong number")
    now[0] += timedelta(days=2)
    result = app.resolve_review(tenant, held.inbound_id, "opt_out", actor="agent@acme.example")
    assert result["on_time"] is True and result["resolution"] == "opt_out"
    [status] = app.check_optouts(tenant, ["+14255550154"], sender=SENDER)
    assert status.opted_out
    assert {str(scope).split(":")[0] for scope in status.scopes} == {"program"}
    assert app.review_queue(tenant) == []
    with pytest.raises(Conflict):
        app.resolve_review(tenant, held.inbound_id, "not_a_revocation")


def test_not_a_revocation_changes_no_opt_out_and_bad_input_is_refused(
    clocked: tuple[Consentry, Tenant, list[datetime]],
) -> None:
    app, tenant, _now = clocked
    held = app.receive_inbound(tenant, SENDER, "+14255550155", "wrong number")
    with pytest.raises(InvalidInput):
        app.resolve_review(tenant, held.inbound_id, "maybe")
    with pytest.raises(NotFound):
        app.resolve_review(tenant, "inb_nope", "opt_out")
    app.resolve_review(tenant, held.inbound_id, "not_a_revocation")
    [status] = app.check_optouts(tenant, ["+14255550155"], sender=SENDER)
    assert not status.opted_out
    help_reply = app.receive_inbound(tenant, SENDER, "+14255550156", "HELP")
    with pytest.raises(Conflict):  # never held as a possible revocation
        app.resolve_review(tenant, help_reply.inbound_id, "opt_out")


def test_confirmations_later_than_five_minutes_are_reported(
    clocked: tuple[Consentry, Tenant, list[datetime]],
) -> None:
    app, tenant, now = clocked
    start = now[0]
    prompt = app.receive_inbound(tenant, SENDER, "+14255550170", "STOP")
    slow = app.receive_inbound(tenant, SENDER, "+14255550171", "STOP")
    waiting = app.receive_inbound(tenant, SENDER, "+14255550172", "STOP")
    assert prompt.outbox_id and slow.outbox_id and waiting.outbox_id
    now[0] = start + timedelta(minutes=2)
    app.mark_outbox_sent(tenant, prompt.outbox_id, "sent_twiml")
    assert app.late_confirmations(tenant) == []
    now[0] = start + timedelta(minutes=7)
    app.mark_outbox_sent(tenant, slow.outbox_id, "sent_twiml")
    late = {row["recipient"]: row["delay_seconds"] for row in app.late_confirmations(tenant)}
    assert late == {"+14255550171": 420, "+14255550172": 420}
