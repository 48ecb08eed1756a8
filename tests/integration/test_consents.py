"""The consent ledger end to end: record consent with its proof, double opt-in, revocation by
opt-out, rebuild, tamper detection and the proof bundle.

Through HTTP where the wall clock does not matter; through the service with a hand-set clock
where it does (expiry windows, reconfirmation).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consentry import (
    Conflict,
    ConsentLevel,
    ConsentOutcome,
    Consentry,
    ConsentState,
    ConsentStatus,
    Program,
    ScopeKind,
    ScopeRef,
    Tenant,
)
from consentry import proof as proofs
from consentry.store.tables import consent_events, disclosures
from consentry.store.tables import consents as consents_table
from tests.integration.helpers import Registry, create_registry, inbound, optouts

SENDER = "+12065550100"
OTHER_SENDER = "+12065550101"
ALICE = "+14255550123"
BOB = "+14255550124"
DISCLOSURE = (
    "By checking this box you agree to receive recurring automated alert texts from Acme at the "
    "number provided. Consent is not a condition of purchase. Msg frequency varies. "
    "Msg&data rates may apply. Reply HELP for help, STOP to cancel."
)
HIGH_RISK_USE_CASES = [
    "auto_warranty",
    "short_term_health_insurance",
    "debt_relief",
    "lead_generation",
    "sweepstakes",
    "work_from_home",
]
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


# -- helpers -------------------------------------------------------------------------------------


def consent(client: httpx.Client, number: str, program: str, **fields: Any) -> httpx.Response:
    body = {
        "recipient": number,
        "program": program,
        "medium": "web_form",
        "disclosure_text": DISCLOSURE,
        **fields,
    }
    return client.post("/v1/consents", json={k: v for k, v in body.items() if v is not None})


def recorded(client: httpx.Client, number: str, program: str, **fields: Any) -> dict[str, Any]:
    response = consent(client, number, program, **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def consents_of(client: httpx.Client, number: str) -> dict[str, dict[str, Any]]:
    """The recipient's consents by program id."""
    response = client.get(f"/v1/recipients/{number}")
    assert response.status_code == 200, response.text
    return {entry["program_id"]: entry for entry in response.json()["consents"]}


def status_of(client: httpx.Client, number: str, registry: Registry) -> str | None:
    entry = consents_of(client, number).get(registry.program["id"])
    return None if entry is None else str(entry["status"])


def opt_outs_of(client: httpx.Client, number: str) -> list[str]:
    opt_outs: list[str] = client.get(f"/v1/recipients/{number}").json()["opt_outs"]
    return opt_outs


def history(client: httpx.Client, number: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/recipients/{number}/history")
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def kinds(client: httpx.Client, number: str) -> list[str]:
    return [event["kind"] for event in history(client, number)]


def outbox(client: httpx.Client, number: str) -> list[dict[str, Any]]:
    """Queued messages to ``number``, oldest first."""
    response = client.get("/v1/outbox", params={"to": number})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return sorted(rows, key=lambda row: row["created_at"])


def purposes(client: httpx.Client, number: str) -> list[str]:
    return [row["purpose"] for row in outbox(client, number)]


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Clocked:
    app: Consentry
    clock: Clock
    tenant: Tenant

    def new_tenant(self) -> Tenant:
        tenant, _ = self.app.create_tenant("Clocked", slug=f"c-{secrets.token_hex(6)}")
        return tenant

    def program(
        self,
        *,
        tenant: Tenant | None = None,
        sender: str = SENDER,
        slug: str = "alerts",
        brand: str = "acme",
        **settings: Any,
    ) -> Program:
        """A brand (created if new), a program of it and a sender serving the program."""
        tenant = tenant or self.tenant
        existing = {b.slug: b for b in self.app.list_brands(tenant)}
        owner = existing.get(brand) or self.app.create_brand(
            tenant, f"Acme {brand}", "help@acme.example", slug=brand
        )
        program = self.app.create_program(tenant, owner.id, f"Acme {slug}", slug=slug, **settings)
        self.app.create_sender(tenant, sender, "long_code", programs=[program.id], verified=True)
        return program

    def consent(
        self, number: str, program: str, *, tenant: Tenant | None = None, **fields: Any
    ) -> ConsentOutcome:
        fields.setdefault("medium", "web_form")
        fields.setdefault("disclosure_text", DISCLOSURE)
        return self.app.record_consent(tenant or self.tenant, number, program, **fields)

    def state(self, number: str, program: Program) -> ConsentState | None:
        found = {c.program_id: c for c in self.app.recipient(self.tenant, number).consents}
        return found.get(program.id)

    def status(self, number: str, program: Program) -> ConsentStatus | None:
        found = self.state(number, program)
        return None if found is None else found.status

    def kinds(self, number: str) -> list[str]:
        _, events = self.app.recipient_events(self.tenant, number)
        return [event["kind"] for event in events]


@pytest.fixture
def clocked(service: Consentry, database_url: str) -> Iterator[Clocked]:
    """The service over the session's (already migrated) database with a hand-set clock."""
    clock = Clock()
    app = Consentry(database_url, clock=clock)
    tenant, _ = app.create_tenant("Clocked", slug=f"c-{secrets.token_hex(6)}")
    yield Clocked(app, clock, tenant)
    app.close()


# -- recording a consent -------------------------------------------------------------------------


def test_a_single_opt_in_consent_is_active_and_queues_the_opt_in_confirmation(
    client: httpx.Client,
) -> None:
    registry = create_registry(client, sender=SENDER, frequency="Up to 4 msgs/month")
    body = recorded(
        client,
        "(425) 555-0123",
        "alerts",
        source_url="https://acme.example/join",
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0",
        session_id="sess-42",
        evidence={"checkbox": "sms-consent", "form_version": 3},
    )
    state = body["consent"]
    assert (state["status"], state["level"]) == ("active", "express")
    assert (state["program_id"], state["brand_id"]) == (
        registry.program["id"],
        registry.brand["id"],
    )
    assert state["granted_at"] is not None and state["revoked_at"] is None
    assert body["still_opted_out"] == []

    reply = body["reply"]
    for element in (
        "Acme acme",
        "Up to 4 msgs/month",
        "Msg&data rates may apply",
        "HELP",
        "STOP",
    ):
        assert element in reply
    assert [
        (row["purpose"], row["body"], row["sender_address"], row["outbox_id"])
        for row in outbox(client, ALICE)
    ] == [("opt_in_confirmation", reply, SENDER, body["outbox_id"])]

    [event] = history(client, ALICE)
    assert event["event_id"] == body["event_id"]
    assert {
        key: event[key]
        for key in (
            "kind",
            "recipient",
            "program_id",
            "brand_id",
            "level",
            "medium",
            "source_url",
            "ip_address",
            "user_agent",
            "session_id",
            "disclosure_hash",
            "evidence",
        )
    } == {
        "kind": "consent_granted",
        "recipient": ALICE,
        "program_id": registry.program["id"],
        "brand_id": registry.brand["id"],
        "level": "express",
        "medium": "web_form",
        "source_url": "https://acme.example/join",
        "ip_address": "203.0.113.7",
        "user_agent": "Mozilla/5.0",
        "session_id": "sess-42",
        "disclosure_hash": hashlib.sha256(DISCLOSURE.encode()).hexdigest(),
        "evidence": {"checkbox": "sms-consent", "form_version": 3},
    }


@pytest.mark.parametrize(
    ("category", "level", "expected_level", "confirmation"),
    [
        ("marketing", None, "express_written", True),
        ("informational", None, "express", True),
        ("transactional", None, "implied", False),
        ("conversational", None, "implied", False),
        ("informational", "express_written", "express_written", True),
        ("marketing", "implied", "implied", False),
    ],
)
def test_the_level_defaults_to_the_programs_and_implied_consent_gets_no_confirmation(
    client: httpx.Client,
    category: str,
    level: str | None,
    expected_level: str,
    confirmation: bool,
) -> None:
    create_registry(client, sender=SENDER, category=category)
    body = recorded(client, ALICE, "alerts", level=level)
    assert (body["consent"]["status"], body["consent"]["level"]) == ("active", expected_level)
    assert purposes(client, ALICE) == (["opt_in_confirmation"] if confirmation else [])
    assert (body["outbox_id"] is not None) is confirmation


def test_implied_consent_needs_no_disclosure_text(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER, category="transactional")
    body = recorded(client, ALICE, "alerts", medium="conversation", disclosure_text=None)
    assert body["consent"]["level"] == "implied"
    assert history(client, ALICE)[0].get("disclosure_hash") is None


def test_a_program_may_be_named_by_id_and_occurred_at_is_kept(client: httpx.Client) -> None:
    registry = create_registry(client, sender=SENDER)
    at = datetime(2026, 1, 5, 9, 30, 15, 123456, tzinfo=UTC)
    body = recorded(client, ALICE, registry.program["id"], occurred_at=at.isoformat())
    assert datetime.fromisoformat(body["consent"]["granted_at"]) == at
    [event] = history(client, ALICE)
    assert datetime.fromisoformat(event["occurred_at"]) == at
    assert datetime.fromisoformat(event["source_timestamp"]) == at


def test_no_sender_for_the_program_means_nothing_queued_but_the_consent_counts(
    client: httpx.Client,
) -> None:
    brand = client.post(
        "/v1/brands", json={"name": "Acme", "slug": "acme", "support_contact": "help@acme.example"}
    )
    assert brand.status_code == 201
    program = client.post(
        "/v1/programs", json={"brand_id": "acme", "slug": "alerts", "name": "Alerts"}
    )
    assert program.status_code == 201
    body = recorded(client, ALICE, "alerts")
    assert body["consent"]["status"] == "active"
    assert (body["outbox_id"], body["reply"]) == (None, None)
    assert any("no sender" in note for note in body["notes"])
    assert outbox(client, ALICE) == []


# -- double opt-in -------------------------------------------------------------------------------

DOUBLE_OPT_IN_PROGRAMS = [
    pytest.param({"double_opt_in": True}, id="double_opt_in"),
    *(pytest.param({"use_case": use_case}, id=use_case) for use_case in HIGH_RISK_USE_CASES),
]


@pytest.mark.parametrize("settings_", DOUBLE_OPT_IN_PROGRAMS)
def test_double_opt_in_waits_for_yes_from_that_number(
    client: httpx.Client, settings_: dict[str, Any]
) -> None:
    registry = create_registry(client, sender=SENDER, **settings_)
    assert registry.program["double_opt_in"] is True

    body = recorded(client, ALICE, "alerts")
    state = body["consent"]
    assert state["status"] == "pending"
    assert state["granted_at"] is None
    requested = datetime.fromisoformat(state["requested_at"])
    assert datetime.fromisoformat(state["expires_at"]) - requested == timedelta(hours=48)
    assert "Reply YES" in body["reply"]
    assert "STOP" in body["reply"]
    assert purposes(client, ALICE) == ["double_opt_in_request"]

    stranger = inbound(client, BOB, SENDER, "YES")
    assert stranger["action"] == "none"
    assert status_of(client, ALICE, registry) == "pending"
    assert consents_of(client, BOB) == {}
    assert outbox(client, BOB) == []

    confirmed = inbound(client, ALICE, SENDER, "YES")
    assert confirmed["classification"]["kind"] == "confirm"
    assert confirmed["action"] == "consent_confirmed"
    assert confirmed["scopes"] == [f"program:{registry.program['id']}"]
    entry = consents_of(client, ALICE)[registry.program["id"]]
    assert entry["status"] == "active"
    assert entry["granted_at"] is not None and entry["expires_at"] is None
    assert purposes(client, ALICE) == ["double_opt_in_request", "opt_in_confirmation"]
    assert kinds(client, ALICE) == ["consent_requested", "consent_confirmed"]
    [_, event] = history(client, ALICE)
    assert (event["source"], event["medium"], event["inbound_id"]) == (
        "keyword",
        "keyword",
        confirmed["id"],
    )


def test_yes_to_another_programs_sender_confirms_nothing(client: httpx.Client) -> None:
    sweeps = create_registry(client, sender=SENDER, use_case="sweepstakes")
    create_registry(client, sender=OTHER_SENDER, brand_slug="globex", program_slug="news")
    recorded(client, ALICE, "alerts")
    result = inbound(client, ALICE, OTHER_SENDER, "YES")
    assert result["action"] == "none"
    assert status_of(client, ALICE, sweeps) == "pending"


def test_a_second_yes_confirms_nothing_more(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER, double_opt_in=True)
    recorded(client, ALICE, "alerts")
    assert inbound(client, ALICE, SENDER, "yes")["action"] == "consent_confirmed"
    again = inbound(client, ALICE, SENDER, "Yes!")
    assert again["action"] == "none"
    assert again["reply"] is None
    assert kinds(client, ALICE) == ["consent_requested", "consent_confirmed"]


def test_consent_to_an_active_double_opt_in_program_needs_no_new_confirmation(
    client: httpx.Client,
) -> None:
    create_registry(client, sender=SENDER, double_opt_in=True)
    recorded(client, ALICE, "alerts")
    inbound(client, ALICE, SENDER, "YES")
    again = recorded(client, ALICE, "alerts", medium="paper")
    assert again["consent"]["status"] == "active"
    assert kinds(client, ALICE)[-1] == "consent_granted"


def test_start_to_a_double_opt_in_program_does_not_skip_the_confirmation(
    client: httpx.Client,
) -> None:
    sweeps = create_registry(client, sender=SENDER, use_case="sweepstakes")
    inbound(client, ALICE, SENDER, "START")
    assert status_of(client, ALICE, sweeps) != "active"


def test_a_pending_consent_expires_after_its_window(clocked: Clocked) -> None:
    program = clocked.program(double_opt_in=True, pending_expiry_hours=2)
    outcome = clocked.consent(ALICE, "alerts")
    assert outcome.state is not None and outcome.state.status is ConsentStatus.PENDING
    assert outcome.state.expires_at == T0 + timedelta(hours=2)

    clocked.clock.advance(timedelta(hours=2) - timedelta(microseconds=1))
    assert clocked.app.expire_pending_consents(clocked.tenant) == 0
    assert clocked.status(ALICE, program) is ConsentStatus.PENDING

    clocked.clock.advance(timedelta(microseconds=1))
    assert clocked.app.expire_pending_consents(clocked.tenant) == 1
    assert clocked.app.expire_pending_consents(clocked.tenant) == 0
    expired = clocked.state(ALICE, program)
    assert expired is not None and expired.status is ConsentStatus.EXPIRED
    _, events = clocked.app.recipient_events(clocked.tenant, ALICE)
    assert [(e["kind"], e["source"], e["occurred_at"]) for e in events] == [
        ("consent_requested", "api", T0),
        ("consent_expired", "system", T0 + timedelta(hours=2)),
    ]

    late = clocked.app.receive_inbound(clocked.tenant, SENDER, ALICE, "YES")
    assert late.action == "none"
    assert clocked.status(ALICE, program) is ConsentStatus.EXPIRED
    assert clocked.app.verify_ledger(clocked.tenant).ok


@pytest.mark.parametrize(
    ("after", "confirmed"),
    [
        (timedelta(hours=2) - timedelta(seconds=1), True),
        (timedelta(hours=2), False),
        (timedelta(days=3), False),
    ],
)
def test_yes_counts_only_inside_the_window_even_before_the_expiry_job_runs(
    clocked: Clocked, after: timedelta, confirmed: bool
) -> None:
    program = clocked.program(double_opt_in=True, pending_expiry_hours=2)
    clocked.consent(ALICE, "alerts")
    clocked.clock.advance(after)
    result = clocked.app.receive_inbound(clocked.tenant, SENDER, ALICE, "YES")
    assert (result.action == "consent_confirmed") is confirmed
    state = clocked.state(ALICE, program)
    assert state is not None
    assert state.status is (ConsentStatus.ACTIVE if confirmed else ConsentStatus.PENDING)
    if confirmed:
        assert state.granted_at == T0 + after


def test_a_new_request_restarts_the_window(clocked: Clocked) -> None:
    program = clocked.program(double_opt_in=True, pending_expiry_hours=2)
    clocked.consent(ALICE, "alerts")
    clocked.clock.advance(timedelta(hours=3))
    assert clocked.app.expire_pending_consents(clocked.tenant) == 1
    again = clocked.consent(ALICE, "alerts")
    assert again.state is not None and again.state.status is ConsentStatus.PENDING
    assert again.state.expires_at == T0 + timedelta(hours=5)
    clocked.clock.advance(timedelta(hours=1))
    assert clocked.app.receive_inbound(clocked.tenant, SENDER, ALICE, "Y").action == (
        "consent_confirmed"
    )
    assert clocked.status(ALICE, program) is ConsentStatus.ACTIVE
    assert clocked.kinds(ALICE) == [
        "consent_requested",
        "consent_expired",
        "consent_requested",
        "consent_confirmed",
    ]


def test_reconfirmation_is_asked_for_and_a_yes_renews_the_consent(clocked: Clocked) -> None:
    program = clocked.program(category="marketing")
    clocked.consent(ALICE, "alerts")
    clocked.clock.advance(timedelta(days=40))
    asked = clocked.app.request_reconfirmation(clocked.tenant, ALICE, "alerts")
    assert asked.reply is not None and "Reply YES" in asked.reply
    assert asked.state is not None
    assert asked.state.reconfirmation_requested_at == T0 + timedelta(days=40)
    assert asked.state.granted_at == T0

    clocked.clock.advance(timedelta(hours=5))
    result = clocked.app.receive_inbound(clocked.tenant, SENDER, ALICE, "YES")
    assert result.action == "consent_confirmed"
    renewed = clocked.state(ALICE, program)
    assert renewed is not None
    assert (renewed.status, renewed.level) == (ConsentStatus.ACTIVE, ConsentLevel.EXPRESS_WRITTEN)
    assert renewed.granted_at == T0 + timedelta(days=40, hours=5)
    assert renewed.reconfirmation_requested_at is None
    assert clocked.kinds(ALICE) == [
        "consent_granted",
        "reconfirmation_requested",
        "consent_reconfirmed",
    ]
    queued = sorted(row["purpose"] for row in clocked.app.list_outbox(clocked.tenant))
    assert queued == ["opt_in_confirmation", "opt_in_confirmation", "reconfirmation_request"]


@pytest.mark.parametrize("before", ["nothing", "revoked", "pending"])
def test_only_an_active_consent_can_be_asked_to_reconfirm(clocked: Clocked, before: str) -> None:
    clocked.program(double_opt_in=before == "pending")
    if before != "nothing":
        clocked.consent(ALICE, "alerts")
    if before == "revoked":
        clocked.app.receive_inbound(clocked.tenant, SENDER, ALICE, "STOP")
    events = clocked.kinds(ALICE)
    with pytest.raises(Conflict):
        clocked.app.request_reconfirmation(clocked.tenant, ALICE, "alerts")
    assert clocked.kinds(ALICE) == events


# -- consent per brand and program; revocation and restoration -----------------------------------


def test_consent_to_one_brand_is_not_consent_to_another(client: httpx.Client) -> None:
    acme = create_registry(client, sender=SENDER)
    globex = create_registry(client, sender=OTHER_SENDER, brand_slug="globex", program_slug="news")
    recorded(client, ALICE, "alerts")
    assert {pid: (c["brand_id"], c["status"]) for pid, c in consents_of(client, ALICE).items()} == {
        acme.program["id"]: (acme.brand["id"], "active")
    }
    assert status_of(client, ALICE, globex) is None

    # A STOP to the other brand's sender leaves this brand's consent alone, and the other way round.
    inbound(client, ALICE, OTHER_SENDER, "STOP")
    assert status_of(client, ALICE, acme) == "active"
    recorded(client, ALICE, "news")
    inbound(client, ALICE, SENDER, "STOP")
    assert (status_of(client, ALICE, acme), status_of(client, ALICE, globex)) == (
        "revoked",
        "active",
    )


def test_stop_revokes_the_consent_and_start_restores_it(client: httpx.Client) -> None:
    registry = create_registry(client, sender=SENDER, category="marketing")
    recorded(client, ALICE, "alerts")
    stop = inbound(client, ALICE, SENDER, "STOP")
    assert stop["action"] == "opted_out"
    revoked = consents_of(client, ALICE)[registry.program["id"]]
    assert revoked["status"] == "revoked"
    assert revoked["revoked_at"] is not None

    start = inbound(client, ALICE, SENDER, "START")
    assert start["action"] == "opted_in"
    restored = consents_of(client, ALICE)[registry.program["id"]]
    assert (restored["status"], restored["level"], restored["revoked_at"]) == (
        "active",
        "express_written",
        None,
    )
    assert opt_outs_of(client, ALICE) == []
    events = history(client, ALICE)
    assert [e["kind"] for e in events] == [
        "consent_granted",
        "opt_out_added",
        "consent_revoked",
        "opt_out_removed",
        "consent_restored",
    ]
    assert [e["inbound_id"] for e in events[1:]] == [stop["id"], stop["id"]] + [start["id"]] * 2
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)


def test_stop_before_any_consent_is_recorded_and_revokes_nothing(client: httpx.Client) -> None:
    registry = create_registry(client, sender=SENDER)
    inbound(client, ALICE, SENDER, "STOP")
    assert kinds(client, ALICE) == ["opt_out_added"]
    assert status_of(client, ALICE, registry) is None


def test_a_stop_revokes_a_pending_consent_too(client: httpx.Client) -> None:
    registry = create_registry(client, sender=SENDER, use_case="lead_generation")
    recorded(client, ALICE, "alerts")
    inbound(client, ALICE, SENDER, "STOP")
    assert status_of(client, ALICE, registry) == "revoked"
    assert inbound(client, ALICE, SENDER, "YES")["action"] == "none"
    assert status_of(client, ALICE, registry) == "revoked"


@pytest.fixture
def two_brands(client: httpx.Client) -> tuple[Registry, Registry]:
    """Acme's alerts (single opt-in, at SENDER) and Globex's news (double opt-in, at
    OTHER_SENDER); ALICE consents to both: active at Acme, pending at Globex."""
    acme = create_registry(client, sender=SENDER)
    globex = create_registry(
        client,
        sender=OTHER_SENDER,
        brand_slug="globex",
        program_slug="news",
        double_opt_in=True,
    )
    recorded(client, ALICE, "alerts")
    recorded(client, ALICE, "news")
    recorded(client, BOB, "alerts")
    return acme, globex


@pytest.mark.parametrize(
    ("scope", "sender", "revoked"),
    [
        ({"kind": "tenant"}, None, {"alerts", "news"}),
        ({"kind": "brand", "id": "acme"}, None, {"alerts"}),
        ({"kind": "brand", "id": "globex"}, None, {"news"}),
        ({"kind": "program", "id": "news"}, None, {"news"}),
        (None, SENDER, set()),  # a sender opt-out blocks that sender only; it revokes nothing
    ],
)
def test_an_api_opt_out_revokes_every_live_consent_it_covers(
    client: httpx.Client,
    two_brands: tuple[Registry, Registry],
    scope: dict[str, str] | None,
    sender: str | None,
    revoked: set[str],
) -> None:
    acme, globex = two_brands
    extra = {"scope": scope} if scope else {}
    [result] = optouts(client, "add", sender, ALICE, reason="customer asked by phone", **extra)
    assert result["httpStatusCode"] == 200
    statuses = {
        "alerts": status_of(client, ALICE, acme),
        "news": status_of(client, ALICE, globex),
    }
    assert statuses == {
        "alerts": "revoked" if "alerts" in revoked else "active",
        "news": "revoked" if "news" in revoked else "pending",
    }
    assert status_of(client, BOB, acme) == "active"
    revocations = [e for e in history(client, ALICE) if e["kind"] == "consent_revoked"]
    assert {e["program_id"] for e in revocations} == {
        {"alerts": acme, "news": globex}[name].program["id"] for name in revoked
    }
    assert all(e["source"] == "api" for e in revocations)
    assert all(e["reason"] == "customer asked by phone" for e in revocations)


def test_lifting_an_opt_out_does_not_revive_the_consent(
    client: httpx.Client, two_brands: tuple[Registry, Registry]
) -> None:
    acme, globex = two_brands
    optouts(client, "add", None, ALICE, scope={"kind": "tenant"})
    optouts(client, "remove", None, ALICE, scope={"kind": "tenant"})
    assert opt_outs_of(client, ALICE) == []
    assert (status_of(client, ALICE, acme), status_of(client, ALICE, globex)) == (
        "revoked",
        "revoked",
    )
    assert inbound(client, ALICE, OTHER_SENDER, "YES")["action"] == "none"
    # Only a fresh consent brings it back.
    assert recorded(client, ALICE, "alerts")["consent"]["status"] == "active"
    assert status_of(client, ALICE, globex) == "revoked"


@pytest.mark.parametrize(
    ("before", "remaining", "queued"),
    [
        ([], [], True),
        (["program"], [], True),
        (["brand"], ["brand"], False),
        (["tenant"], ["tenant"], False),
        (["program", "tenant"], ["tenant"], False),
        (["sender"], ["sender"], False),
    ],
)
def test_a_fresh_consent_lifts_its_programs_opt_out_and_nothing_wider(
    client: httpx.Client, before: list[str], remaining: list[str], queued: bool
) -> None:
    registry = create_registry(client, sender=SENDER)
    names = {
        "program": f"program:{registry.program['id']}",
        "brand": f"brand:{registry.brand['id']}",
        "tenant": "tenant",
        "sender": f"sender:{SENDER}",
    }
    how: dict[str, tuple[str | None, dict[str, Any]]] = {
        "program": (None, {"scope": {"kind": "program", "id": "alerts"}}),
        "brand": (None, {"scope": {"kind": "brand", "id": "acme"}}),
        "tenant": (None, {"scope": {"kind": "tenant"}}),
        "sender": (SENDER, {}),
    }
    for name in before:
        sender, extra = how[name]
        optouts(client, "add", sender, ALICE, **extra)
    body = recorded(client, ALICE, "alerts")
    assert body["consent"]["status"] == "active"
    assert sorted(opt_outs_of(client, ALICE)) == sorted(names[n] for n in remaining)
    assert sorted(body["still_opted_out"]) == sorted(names[n] for n in remaining)
    assert (body["outbox_id"] is not None) is queued
    assert purposes(client, ALICE) == (["opt_in_confirmation"] if queued else [])
    if not queued:
        assert body["reply"] is None
        assert any("still opted out" in note for note in body["notes"])
    lifted = [e for e in history(client, ALICE) if e["kind"] == "opt_out_removed"]
    assert [e["scope_kind"] for e in lifted] == (["program"] if "program" in before else [])


def test_implied_consent_does_not_lift_an_opt_out(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER, category="transactional")
    optouts(client, "add", None, ALICE, scope={"kind": "program", "id": "alerts"})
    body = recorded(client, ALICE, "alerts", level="implied", disclosure_text=None)
    assert body["consent"]["status"] == "active"
    assert len(opt_outs_of(client, ALICE)) == 1
    assert outbox(client, ALICE) == []


def test_a_consent_older_than_the_stop_does_not_revive_it(client: httpx.Client) -> None:
    registry = create_registry(client, sender=SENDER)
    recorded(client, ALICE, "alerts")
    inbound(client, ALICE, SENDER, "STOP")
    before = purposes(client, ALICE)
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    recorded(client, ALICE, "alerts", medium="paper", occurred_at=three_days_ago.isoformat())
    assert opt_outs_of(client, ALICE) == [f"program:{registry.program['id']}"]
    assert purposes(client, ALICE) == before
    assert status_of(client, ALICE, registry) == "revoked"


def test_yes_under_a_wider_opt_out_queues_nothing(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER, double_opt_in=True)
    optouts(client, "add", None, ALICE, scope={"kind": "tenant"}, reason="litigator list")
    body = recorded(client, ALICE, "alerts")
    assert body["still_opted_out"] == ["tenant"]
    assert body["outbox_id"] is None
    result = inbound(client, ALICE, SENDER, "YES")
    assert result["reply"] is None
    assert outbox(client, ALICE) == []


# -- bad input -----------------------------------------------------------------------------------

TOMORROW = (datetime.now(UTC) + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        pytest.param({"program": "no-such-program"}, 404, "program", id="unknown-program"),
        pytest.param({"medium": "carrier_pigeon"}, 422, "medium", id="bad-medium"),
        pytest.param({"level": "enthusiastic"}, 422, "level", id="bad-level"),
        pytest.param({"ip_address": "999.1.1.1"}, 422, "ip_address", id="bad-ipv4"),
        pytest.param({"ip_address": "not an address"}, 422, "ip_address", id="bad-ip"),
        pytest.param(
            {"occurred_at": "2026-01-01T09:00:00"}, 422, "occurred_at", id="occurred-at-no-zone"
        ),
        pytest.param({"occurred_at": TOMORROW}, 422, "occurred_at", id="occurred-at-future"),
        pytest.param({"occurred_at": "last tuesday"}, 422, "occurred_at", id="occurred-at-text"),
        pytest.param(
            {"disclosure_text": None, "level": "express"},
            422,
            "disclosure_text",
            id="express-without-disclosure",
        ),
        pytest.param(
            {"disclosure_text": None}, 422, "disclosure_text", id="default-level-no-disclosure"
        ),
        pytest.param({"disclosure_text": "   \n "}, 422, "disclosure_text", id="blank-disclosure"),
        pytest.param(
            {"disclosure_text": "x" * 10_001}, 422, "disclosure_text", id="long-disclosure"
        ),
        pytest.param({"source_url": "javascript:alert(1)"}, 422, "source_url", id="source-url-js"),
        pytest.param(
            {"source_url": "ftp://acme.example/form"}, 422, "source_url", id="source-url-ftp"
        ),
        pytest.param({"source_url": "acme.example/join"}, 422, "source_url", id="no-scheme"),
        pytest.param({"recipient": "garbage"}, 422, "recipient", id="bad-recipient"),
        pytest.param({"evidence": [1, 2]}, 422, "evidence", id="evidence-not-object"),
        pytest.param({"colour": "blue"}, 422, "colour", id="unknown-field"),
    ],
)
def test_bad_consent_input_names_the_field_and_writes_nothing(
    client: httpx.Client, fields: dict[str, Any], status: int, field: str
) -> None:
    create_registry(client, sender=SENDER)
    body = {
        "recipient": ALICE,
        "program": "alerts",
        "medium": "web_form",
        "disclosure_text": DISCLOSURE,
        **fields,
    }
    response = client.post("/v1/consents", json={k: v for k, v in body.items() if v is not None})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field
    assert error["message"]
    assert history(client, ALICE) == []
    assert consents_of(client, ALICE) == {}
    assert outbox(client, ALICE) == []
    assert client.get("/v1/audit/verify").json()["events"] == 0


def test_occurred_at_a_little_ahead_of_the_clock_is_tolerated(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER)
    soon = (datetime.now(UTC) + timedelta(minutes=3)).isoformat()
    assert consent(client, ALICE, "alerts", occurred_at=soon).status_code == 201


def test_another_tenants_program_is_unknown(
    client: httpx.Client, base_url: str, service: Consentry
) -> None:
    create_registry(client, sender=SENDER)
    _, key = service.create_tenant("Other", slug=f"o-{secrets.token_hex(6)}")
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as other:
        response = consent(other, ALICE, "alerts")
        assert response.status_code == 404
        assert response.json()["error"]["field"] == "program"
        assert consents_of(other, ALICE) == {}
    assert consents_of(client, ALICE) == {}


def test_recording_consent_needs_an_api_key(anonymous: httpx.Client) -> None:
    response = consent(anonymous, ALICE, "alerts")
    assert response.status_code == 401
    assert anonymous.get(f"/v1/recipients/{ALICE}/proof").status_code == 401


# -- the derived state is a replay of the ledger -------------------------------------------------


def test_rebuild_equals_the_live_state_after_a_mixed_sequence(clocked: Clocked) -> None:
    app, tenant = clocked.app, clocked.tenant
    clocked.program()
    clocked.program(sender=OTHER_SENDER, slug="sweeps", brand="globex", use_case="sweepstakes")
    numbers = [f"+1425555{n:04d}" for n in range(120, 128)]
    for number in numbers:
        clocked.consent(number, "alerts", ip_address="198.51.100.4")
        clocked.consent(number, "sweeps")
    advance = clocked.clock.advance
    app.receive_inbound(tenant, OTHER_SENDER, numbers[0], "YES")
    app.receive_inbound(tenant, OTHER_SENDER, numbers[1], "YES")
    app.receive_inbound(tenant, SENDER, numbers[1], "STOP")
    advance(timedelta(hours=1))
    app.receive_inbound(tenant, SENDER, numbers[1], "START")
    app.receive_inbound(tenant, SENDER, numbers[2], "STOPALL")
    app.add_optouts(tenant, [numbers[3]], scope=ScopeRef(ScopeKind.TENANT))
    app.remove_optouts(tenant, [numbers[3]], scope=ScopeRef(ScopeKind.TENANT))
    app.add_optouts(tenant, [numbers[4]], scope=ScopeRef(ScopeKind.BRAND, "globex"))
    clocked.consent(numbers[4], "alerts", level="express_written", medium="paper")
    app.request_reconfirmation(tenant, numbers[5], "alerts")
    advance(timedelta(days=3))
    # Sweepstakes: 0 and 1 confirmed, 2 (STOPALL), 3 (tenant) and 4 (brand) revoked; 5-7 expire.
    assert app.expire_pending_consents(tenant) == 3
    app.receive_inbound(tenant, SENDER, numbers[5], "YES")
    clocked.consent(numbers[6], "sweeps")
    app.receive_inbound(tenant, SENDER, numbers[7], "HELP")

    live = app.consent_states(tenant)
    assert {state.status for state in live} == set(ConsentStatus)
    assert app.rebuild_consents(tenant) == len(live) == 16
    assert app.consent_states(tenant) == live
    assert app.verify_ledger(tenant).ok


def test_rebuild_repairs_a_damaged_consents_table(
    client: httpx.Client, service: Consentry, tenant: Tenant
) -> None:
    registry = create_registry(client, sender=SENDER)
    recorded(client, ALICE, "alerts")
    recorded(client, BOB, "alerts")
    inbound(client, BOB, SENDER, "STOP")
    live = service.consent_states(tenant)
    with service.engine.begin() as conn:
        conn.execute(
            sa.update(consents_table)
            .where(consents_table.c.tenant_id == tenant.id, consents_table.c.recipient == BOB)
            .values(status="active")
        )
        conn.execute(
            sa.delete(consents_table).where(
                consents_table.c.tenant_id == tenant.id, consents_table.c.recipient == ALICE
            )
        )
    assert service.consent_states(tenant) != live
    assert service.rebuild_consents(tenant) == 2
    assert service.consent_states(tenant) == live
    assert status_of(client, BOB, registry) == "revoked"


# Operations of the property below: what a tenant and its recipients might do, in any order.
NUMBERS = [ALICE, BOB, "+14255550125"]
operations = st.one_of(
    st.tuples(
        st.just("consent"),
        st.sampled_from(NUMBERS),
        st.sampled_from(["alerts", "sweeps"]),
        st.sampled_from([None, "implied", "express_written"]),
    ),
    st.tuples(
        st.sampled_from(["add", "remove"]),
        st.sampled_from(NUMBERS),
        st.sampled_from(["sender", "program", "brand", "tenant"]),
    ),
    st.tuples(
        st.just("inbound"),
        st.sampled_from(NUMBERS),
        st.sampled_from([SENDER, OTHER_SENDER]),
        st.sampled_from(["STOP", "START", "YES", "HELP", "STOPALL", "see you soon"]),
    ),
    st.tuples(st.just("reconfirm"), st.sampled_from(NUMBERS)),
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=60)),
)
SCOPES = {
    "sender": ScopeRef(ScopeKind.SENDER, SENDER),
    "program": ScopeRef(ScopeKind.PROGRAM, "sweeps"),
    "brand": ScopeRef(ScopeKind.BRAND, "acme"),
    "tenant": ScopeRef(ScopeKind.TENANT),
}


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(operations, min_size=1, max_size=14))
def test_any_sequence_keeps_live_state_equal_to_a_rebuild_and_the_chain_whole(
    clocked: Clocked, steps: list[tuple[Any, ...]]
) -> None:
    app = clocked.app
    tenant = clocked.new_tenant()
    alerts = clocked.program(tenant=tenant)
    sweeps = clocked.program(
        tenant=tenant, sender=OTHER_SENDER, slug="sweeps", brand="globex", double_opt_in=True
    )
    programs = {"alerts": alerts, "sweeps": sweeps}
    covered = {
        "sender": set(),
        "program": {sweeps.id},
        "brand": {alerts.id},
        "tenant": {alerts.id, sweeps.id},
    }
    for step in steps:
        match step:
            case ("consent", number, program, level):
                clocked.consent(
                    number,
                    program,
                    tenant=tenant,
                    level=level,
                    disclosure_text=None if level == "implied" else DISCLOSURE,
                )
            case ("add", number, scope):
                app.add_optouts(tenant, [number], scope=SCOPES[scope])
                # An opt-out revokes every consent it covers at once.
                for state in app.recipient(tenant, number).consents:
                    if state.program_id in covered[scope]:
                        assert state.status is ConsentStatus.REVOKED, (step, state)
            case ("remove", number, scope):
                app.remove_optouts(tenant, [number], scope=SCOPES[scope])
            case ("inbound", number, sender, body):
                app.receive_inbound(tenant, sender, number, body)
            case ("reconfirm", number):
                with contextlib.suppress(Conflict):  # only an active consent can be asked
                    app.request_reconfirmation(tenant, number, "alerts")
            case ("wait", hours):
                clocked.clock.advance(timedelta(hours=hours))
                app.expire_pending_consents(tenant)
    live = app.consent_states(tenant)
    assert all(state.program_id in {p.id for p in programs.values()} for state in live)
    assert app.rebuild_consents(tenant) == len(live)
    assert app.consent_states(tenant) == live
    report = app.verify_ledger(tenant)
    assert report.ok, report


# -- tampering -----------------------------------------------------------------------------------


def consent_seq(client: httpx.Client, number: str) -> int:
    [event] = [e for e in history(client, number) if e["kind"] == "consent_granted"]
    seq: int = event["seq"]
    return seq


@pytest.fixture
def seeded(client: httpx.Client) -> Registry:
    """BOB's opt-out first, then ALICE's consent (so it is not the first link), then her STOP."""
    registry = create_registry(client, sender=SENDER)
    optouts(client, "add", SENDER, BOB)
    recorded(client, ALICE, "alerts", ip_address="203.0.113.7", user_agent="Mozilla/5.0")
    inbound(client, ALICE, SENDER, "STOP")
    return registry


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("disclosure_hash", hashlib.sha256(b"a milder text").hexdigest()),
        ("ip_address", "198.51.100.99"),
        ("occurred_at", datetime(2025, 1, 1, tzinfo=UTC)),
        ("level", "express_written"),
    ],
    ids=["disclosure_hash", "ip_address", "occurred_at", "level"],
)
def test_editing_a_consent_event_in_sql_is_reported_at_that_event(
    client: httpx.Client,
    service: Consentry,
    tenant: Tenant,
    seeded: Registry,
    column: str,
    value: Any,
) -> None:
    assert client.get("/v1/audit/verify").json() == {
        "ok": True,
        "events": 4,
        "first_broken_seq": None,
        "problem": None,
    }
    seq = consent_seq(client, ALICE)
    assert seq == 2
    with service.engine.begin() as conn:
        changed = conn.execute(
            sa.update(consent_events)
            .where(consent_events.c.tenant_id == tenant.id, consent_events.c.seq == seq)
            .values({column: value})
        )
        assert changed.rowcount == 1
    report = service.verify_ledger(tenant)
    assert (report.ok, report.first_broken_seq) == (False, seq)
    assert "hash" in (report.problem or "")
    audit = client.get("/v1/audit/verify").json()
    assert (audit["ok"], audit["first_broken_seq"], audit["problem"]) == (
        False,
        seq,
        report.problem,
    )


def test_a_tampered_event_also_fails_the_proof_bundle(
    client: httpx.Client, service: Consentry, tenant: Tenant, seeded: Registry
) -> None:
    seq = consent_seq(client, ALICE)
    with service.engine.begin() as conn:
        conn.execute(
            sa.update(consent_events)
            .where(consent_events.c.tenant_id == tenant.id, consent_events.c.seq == seq)
            .values(ip_address="198.51.100.99")
        )
    problems = proofs.check(service.proof_bundle(tenant, ALICE))
    assert problems and any(str(seq) in problem for problem in problems)


def test_an_edited_disclosure_text_fails_the_proof_even_though_the_chain_verifies(
    client: httpx.Client, service: Consentry, tenant: Tenant, seeded: Registry
) -> None:
    with service.engine.begin() as conn:
        conn.execute(
            sa.update(disclosures)
            .where(disclosures.c.tenant_id == tenant.id)
            .values(text="You agree to anything at all.")
        )
    assert service.verify_ledger(tenant).ok  # texts are stored by hash, outside the chain
    problems = proofs.check(service.proof_bundle(tenant, ALICE))
    assert any("disclosure text missing or altered" in problem for problem in problems)


# -- the proof bundle ----------------------------------------------------------------------------


def proof_of(client: httpx.Client, number: str) -> dict[str, Any]:
    response = client.get(f"/v1/recipients/{number}/proof")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    bundle: dict[str, Any] = response.json()
    return bundle


@pytest.fixture
def proven(client: httpx.Client) -> Registry:
    """ALICE: consent, STOP, START, with BOB's events interleaved (links not hers)."""
    registry = create_registry(client, sender=SENDER, double_opt_in=True)
    recorded(
        client,
        ALICE,
        "alerts",
        ip_address="2001:db8::7",
        user_agent="Mozilla/5.0 (Ünïcödé)",
        evidence={"form": "signup", "fields": ["phone", "email"], "ratio": 0.5},
    )
    recorded(client, BOB, "alerts", disclosure_text="Bob saw a different text.")
    inbound(client, ALICE, SENDER, "YES")
    inbound(client, BOB, SENDER, "STOP")
    inbound(client, ALICE, SENDER, "STOP")
    inbound(client, ALICE, SENDER, "START")  # a double opt-in program asks again...
    inbound(client, ALICE, SENDER, "YES")  # ...and the person confirms
    return registry


def test_the_proof_bundle_checks_out_over_http_and_after_a_json_round_trip(
    client: httpx.Client, service: Consentry, tenant: Tenant, proven: Registry
) -> None:
    bundle = proof_of(client, ALICE)
    assert proofs.check(bundle) == []
    assert proofs.check(json.loads(json.dumps(bundle))) == []
    direct = service.proof_bundle(tenant, ALICE)
    assert proofs.check(direct) == []
    assert proofs.check(json.loads(json.dumps(direct))) == []

    assert bundle["format"] == "consentry-proof/1"
    assert bundle["recipient"] == ALICE
    assert [e["kind"] for e in bundle["events"]] == [
        "consent_requested",
        "consent_confirmed",
        "opt_out_added",
        "consent_revoked",
        "opt_out_removed",
        "consent_requested",
        "consent_confirmed",
    ]
    assert bundle["disclosures"][hashlib.sha256(DISCLOSURE.encode()).hexdigest()] == DISCLOSURE
    first, last = bundle["events"][0]["seq"], bundle["events"][-1]["seq"]
    assert [link["seq"] for link in bundle["chain"]["links"]] == list(range(first, last + 1))
    assert bundle["chain"]["head"]["seq"] == last
    assert bundle["current"]["consents"] == [
        {
            "program_id": proven.program["id"],
            "brand_id": proven.brand["id"],
            "status": "active",
            "level": "express",
            "granted_at": bundle["current"]["consents"][0]["granted_at"],
            "revoked_at": None,
        }
    ]
    assert bundle["current"]["opt_outs"] == []
    # Other recipients' data stays out: only their links' hashes are there.
    text = json.dumps(bundle)
    assert BOB not in text
    assert "Bob saw a different text." not in text


def test_the_proof_of_a_recipient_without_events_is_empty_and_valid(
    client: httpx.Client,
) -> None:
    bundle = proof_of(client, ALICE)
    assert (bundle["events"], bundle["chain"]["links"], bundle["disclosures"]) == ([], [], {})
    assert proofs.check(bundle) == []


def _set_event(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(bundle: dict[str, Any]) -> None:
        bundle["events"][0][field] = value

    return change


def _set_disclosure(bundle: dict[str, Any]) -> None:
    digest = next(iter(bundle["disclosures"]))
    bundle["disclosures"][digest] = bundle["disclosures"][digest].replace("STOP", "STAHP")


def _set_canonical_ip(bundle: dict[str, Any]) -> None:
    event = bundle["events"][0]
    event["canonical"] = event["canonical"].replace("2001:db8::7", "198.51.100.1")


def _drop_middle_link(bundle: dict[str, Any]) -> None:
    del bundle["chain"]["links"][1]


def _drop_disclosure(bundle: dict[str, Any]) -> None:
    bundle["disclosures"].clear()


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(_set_disclosure, id="disclosure-text"),
        pytest.param(_drop_disclosure, id="disclosure-text-removed"),
        pytest.param(_set_event("kind", "consent_granted"), id="event-kind"),
        pytest.param(_set_event("recipient", BOB), id="event-recipient"),
        pytest.param(_set_event("disclosure_hash", "0" * 64), id="event-disclosure-hash"),
        pytest.param(_set_event("hash", "f" * 64), id="event-hash"),
        pytest.param(_set_canonical_ip, id="canonical-ip"),
        pytest.param(_drop_middle_link, id="missing-link"),
        pytest.param(_set_event("ip_address", "198.51.100.1"), id="event-ip-address"),
        pytest.param(
            _set_event("occurred_at", "2020-01-01T00:00:00+00:00"), id="event-occurred-at"
        ),
        pytest.param(_set_event("user_agent", "forged/1.0"), id="event-user-agent-added"),
    ],
)
def test_an_altered_bundle_fails_the_check(
    client: httpx.Client, proven: Registry, tamper: Callable[[dict[str, Any]], None]
) -> None:
    bundle = proof_of(client, ALICE)
    tamper(bundle)
    assert proofs.check(bundle) != []
    assert "chain links and hashes check out" not in proofs.render_html(bundle)


def test_the_html_proof_shows_the_recipient_and_the_escaped_disclosure(
    client: httpx.Client,
) -> None:
    create_registry(client, sender=SENDER)
    hostile = 'Join Acme <script>alert("x")</script> & save. Reply STOP to cancel.'
    recorded(
        client, ALICE, "alerts", disclosure_text=hostile, user_agent="<img src=x onerror=alert(1)>"
    )
    response = client.get(f"/v1/recipients/{ALICE}/proof", params={"format": "html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert ALICE in page
    assert "Join Acme &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; save." in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script" not in page
    assert "<img" not in page
    assert "chain links and hashes check out" in page


def test_an_unknown_proof_format_is_refused(client: httpx.Client) -> None:
    response = client.get(f"/v1/recipients/{ALICE}/proof", params={"format": "pdf"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "format"
