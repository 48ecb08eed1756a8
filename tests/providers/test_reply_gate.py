"""consentry's own replies pass the full send gate before delivery (driven from the outside: the
HTTP API queues, ``deliver_outbox`` delivers), on SQLite and PostgreSQL. The opt-out
confirmation is always sent once; HELP is answered whatever the person's consent; everything
else that the gate blocks is suppressed with the deciding rule id; a deferral waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from consentry import Consentry, Tenant
from consentry.service import _reply_gate
from tests.integration.helpers import create_registry, inbound

SENDER = "+12065550100"


def _outbox(client: httpx.Client, number: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = client.get("/v1/outbox", params={"recipient": number}).json()
    return rows


def _consent(client: httpx.Client, number: str, program: str = "alerts") -> dict[str, Any]:
    response = client.post(
        "/v1/consents",
        json={
            "recipient": number,
            "program": program,
            "medium": "web_form",
            "disclosure_text": "Acme alerts by text. Msg&data rates may apply. Reply STOP to cancel.",
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_help_is_answered_without_consent_and_after_an_account_wide_opt_out(
    service: Consentry, client: httpx.Client, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    number = "+14255550170"
    inbound(client, number, SENDER, "HELP")
    client.post(
        "/v1/optouts:add",
        json={"recipients": [{"to": number}], "scope": {"kind": "tenant"}},
    )
    inbound(client, number, SENDER, "INFO")
    report = service.deliver_outbox(tenant=tenant)
    assert report.sent == 2 and report.suppressed == 0, report


def test_the_opt_out_confirmation_is_always_sent_once(
    service: Consentry, client: httpx.Client, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    inbound(client, "+14255550171", SENDER, "STOP")
    report = service.deliver_outbox(tenant=tenant)
    assert report.sent == 1, report
    [row] = _outbox(client, "+14255550171")
    assert row["status"] == "sent"


def test_a_confirmation_is_blocked_by_an_opt_out_recorded_since_with_its_rule_id(
    service: Consentry, client: httpx.Client, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    number = "+14255550172"
    _consent(client, number)
    client.post(
        "/v1/optouts:add", json={"recipients": [{"to": number}], "scope": {"kind": "tenant"}}
    )
    assert service.deliver_outbox(tenant=tenant).suppressed == 1
    [row] = _outbox(client, number)
    assert row["status"] == "suppressed"
    assert row["last_error"].startswith("OPTOUT-ACTIVE: ")


def test_a_double_opt_in_request_goes_out_while_the_consent_is_pending(
    service: Consentry, client: httpx.Client, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER, double_opt_in=True)
    number = "+14255550173"
    assert _consent(client, number)["consent"]["status"] == "pending"
    assert service.deliver_outbox(tenant=tenant).sent == 1
    [row] = _outbox(client, number)
    assert row["status"] == "sent" and "Reply YES" in row["body"]
    # The same gate still refuses a plain message to the pending recipient.
    check = client.post(
        "/v1/messages:check",
        json={"from": SENDER, "to": number, "program": "alerts", "body": "Acme: hi. STOP to end"},
    )
    assert "CONSENT-PENDING" in [f["rule_id"] for f in check.json()["findings"]]


def test_a_reply_with_prohibited_content_is_not_sent(
    service: Consentry, client: httpx.Client, tenant: Tenant
) -> None:
    create_registry(
        client,
        sender=SENDER,
        help_reply="Acme: cannabis deals all week, call 206-555-0100. Reply STOP to opt out.",
    )
    inbound(client, "+14255550174", SENDER, "HELP")
    assert service.deliver_outbox(tenant=tenant).suppressed == 1
    [row] = _outbox(client, "+14255550174")
    assert row["status"] == "suppressed"
    assert row["last_error"].startswith("CONTENT-PROHIBITED: ")


def test_a_reply_from_a_number_the_tenant_never_registered_is_not_sent(
    service: Consentry, client: httpx.Client, tenant: Tenant
) -> None:
    create_registry(client, sender=SENDER)
    inbound(client, "+14255550175", "+12065550199", "HELP")
    assert service.deliver_outbox(tenant=tenant).suppressed == 1
    [row] = _outbox(client, "+14255550175")
    assert row["last_error"].startswith("SENDER-UNREGISTERED: ")


def test_a_deferred_reply_waits_until_the_gate_allows_it(
    database_url: str,
    client: httpx.Client,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With reviewed data that put HELP answers in the marketing category, a HELP at 23:00 in
    Seattle waits for 8:00 there (no reply category of the shipped data can be deferred)."""
    data = _reply_gate._data()
    categories = {"in_reply": "marketing", "unprompted": "marketing"}
    monkeypatch.setattr(_reply_gate, "_data", lambda: {**data, "categories": categories})
    create_registry(client, sender=SENDER)
    number = "+14255550176"
    now = [datetime(2026, 11, 24, 7, 0, tzinfo=UTC)]  # 23:00 in Seattle (PST)
    clocked = Consentry(database_url, clock=lambda: now[0])
    try:
        clocked.receive_inbound(tenant, SENDER, number, "HELP")
        report = clocked.deliver_outbox(tenant=tenant)
        assert report.deferred == 1 and report.sent == 0, report
        [row] = _outbox(client, number)
        assert row["status"] == "queued" and row["attempts"] == 0
        assert row["last_error"].startswith("TIME-QUIET-HOURS: ")
        assert datetime.fromisoformat(row["next_attempt_at"]) == datetime(
            2026, 11, 24, 16, 0, tzinfo=UTC
        )
        now[0] += timedelta(hours=4)
        assert clocked.deliver_outbox(tenant=tenant).outcomes == {}  # still night there
        now[0] = datetime(2026, 11, 24, 16, 0, 1, tzinfo=UTC)
        assert clocked.deliver_outbox(tenant=tenant).sent == 1
    finally:
        clocked.close()
