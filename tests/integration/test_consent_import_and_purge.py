"""Importing consent records (all or nothing, flagged as imported) and purging old records."""

from __future__ import annotations

import io
import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from consentry import Consentry, ScopeKind, ScopeRef
from consentry.domain.consent_lists import read_consent_rows
from consentry.errors import InvalidInput
from consentry.store.tables import consent_events
from tests.integration.helpers import create_registry

DISCLOSURE = "Yes, text me Acme alerts. Msg&data rates may apply. Reply STOP to cancel."


def test_import_records_original_times_flagged_as_imported_and_sends_nothing(
    client: httpx.Client,
) -> None:
    create_registry(client, sender="+12065550100")
    csv_text = (
        "phone,occurred_at,disclosure_text,ip_address,medium\n"
        f'+14255550123,2024-03-01T10:00:00Z,"{DISCLOSURE}",203.0.113.7,web_form\n'
        f'"(425) 555-0124",2024-03-02T11:30:00+02:00,"{DISCLOSURE}",,paper\n'
    )
    response = client.post(
        "/v1/consents:import",
        params={"program": "alerts", "filename": "legacy.csv"},
        content=csv_text,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"imported": True, "rows": 2, "events": 2, "rejected": []}
    events = client.get("/v1/recipients/+14255550124/history").json()["events"]
    [event] = events
    assert event["kind"] == "consent_granted"
    assert event["medium"] == "paper"
    assert datetime.fromisoformat(event["occurred_at"]) == datetime(2024, 3, 2, 9, 30, tzinfo=UTC)
    assert event["evidence"] == {"imported": True, "file": "legacy.csv", "line": 3}
    assert client.get("/v1/outbox").json() == []
    assert client.get("/v1/audit/verify").json()["ok"] is True


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("banana,2024-03-01T10:00:00Z,x", "recipient"),
        ("+14255550123,,x", "occurred_at"),
        ("+14255550123,2024-03-01T10:00:00,x", "time zone"),
        ("+14255550123,yesterday,x", "ISO 8601"),
        ("+14255550123,2024-03-01T10:00:00Z,", "disclosure_text"),
    ],
)
def test_one_bad_row_rejects_the_whole_file(client: httpx.Client, row: str, problem: str) -> None:
    create_registry(client, sender="+12065550100")
    csv_text = f"phone,occurred_at,disclosure_text\n+14255550130,2024-03-01T10:00:00Z,ok\n{row}\n"
    response = client.post("/v1/consents:import", params={"program": "alerts"}, content=csv_text)
    assert response.status_code == 422
    [rejected] = response.json()["rejected"]
    assert rejected["line"] == 3
    assert problem in rejected["error"]
    assert client.get("/v1/recipients/+14255550130/history").json()["events"] == []


def test_a_double_opt_in_program_needs_the_confirmation_time(client: httpx.Client) -> None:
    create_registry(client, sender="+12065550100", use_case="sweepstakes")
    missing = "phone,occurred_at,disclosure_text\n+14255550123,2024-03-01T10:00:00Z,x\n"
    response = client.post("/v1/consents:import", params={"program": "alerts"}, content=missing)
    assert response.status_code == 422
    assert "confirmed_at" in response.json()["rejected"][0]["error"]
    given = (
        "phone,occurred_at,confirmed_at,disclosure_text\n"
        "+14255550123,2024-03-01T10:00:00Z,2024-03-01T10:05:00Z,x\n"
    )
    response = client.post("/v1/consents:import", params={"program": "alerts"}, content=given)
    assert response.status_code == 200, response.text
    [consent] = client.get("/v1/recipients/+14255550123").json()["consents"]
    assert consent["status"] == "active"


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("name,occurred_at\n", "phone column"),
        ("phone,when\n", "unknown column"),
        ("phone\n", "occurred_at"),
    ],
)
def test_unreadable_consent_files(header: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        list(read_consent_rows(io.StringIO(header + "x,y\n")))
    assert problem in caught.value.message


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_purge_refuses_under_four_years(service: Consentry, database_url: str) -> None:
    app = Consentry(database_url)
    tenant, _ = app.create_tenant("Purge", slug=f"pg-{secrets.token_hex(5)}")
    for years in (0, 3):
        with pytest.raises(InvalidInput) as caught:
            app.purge(tenant, older_than_years=years)
        assert caught.value.field == "older_than_years"


def test_purge_redacts_only_ended_old_relationships_and_the_chain_still_verifies(
    service: Consentry, database_url: str
) -> None:
    start = datetime(2019, 1, 10, tzinfo=UTC)
    clock = Clock(start)
    app = Consentry(database_url, clock=clock)
    tenant, _ = app.create_tenant("Purge", slug=f"pg-{secrets.token_hex(5)}")
    brand = app.create_brand(tenant, "Acme", "help@acme.example")
    program = app.create_program(tenant, brand.id, "Alerts")
    app.create_sender(tenant, "+12065550100", "long_code", programs=[program.id])
    ended, opted_out, live, recent = "+14255550123", "+14255550124", "+14255550125", "+14255550126"
    for number in (ended, opted_out, live):
        app.record_consent(
            tenant, number, program.id, medium="web_form", disclosure_text=DISCLOSURE
        )
    app.receive_inbound(tenant, "+12065550100", ended, "STOP")
    app.remove_optouts(tenant, [ended], scope=ScopeRef(ScopeKind.PROGRAM, program.id))
    app.add_optouts(tenant, [opted_out], scope=ScopeRef(ScopeKind.TENANT))
    # A refused message to the ended relationship: the decisions log names the number too.
    assert not app.check_send(tenant, "+12065550100", ended, program.id, "Acme: hi").allowed
    app.flush_decisions()  # the log is written in the background
    clock.now = start + timedelta(days=365 * 6)
    app.record_consent(tenant, recent, program.id, medium="web_form", disclosure_text=DISCLOSURE)

    assert app.purge(tenant, dry_run=True)["recipients"] == 1
    result = app.purge(tenant)
    assert result["recipients"] == 1
    assert result["events"] == 4  # grant, STOP's opt-out and revocation, opt-out removal
    assert result["optout_changes"] == 2  # the STOP's add and the removal, number blanked
    assert result["decisions"] == 1
    assert app.list_decisions(tenant, recipient=ended) == []
    assert app.recipient_events(tenant, ended)[1] == []
    for number in (opted_out, live, recent):
        assert app.recipient_events(tenant, number)[1], number
    assert app.verify_ledger(tenant).ok
    with app.engine.connect() as conn:
        redacted = conn.execute(
            sa.select(sa.func.count())
            .select_from(consent_events)
            .where(
                consent_events.c.tenant_id == tenant.id, consent_events.c.redacted_at.is_not(None)
            )
        ).scalar_one()
    assert redacted == 4
    before = app.consent_states(tenant)
    app.rebuild_consents(tenant)
    assert app.consent_states(tenant) == before
    assert app.purge(tenant)["recipients"] == 0
