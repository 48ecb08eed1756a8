"""Per-purpose opt-outs and the scope-clarification reply, from inbound text to send decision.

A brand "Demo Coffee" runs a marketing program (coffee club offers) and a notifications program
(order updates), each on its own sender. The clock is passed in.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from consentry import Consentry, Tenant
from consentry.domain.model import Scope, ScopeKind
from consentry.domain.purposes import purpose_scope
from consentry.service import ScopeRef

OFFERS_SENDER = "+12065550100"
UPDATES_SENDER = "+12065550101"
PERSON = "+14255550177"
START = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # a Monday, 9:00 in Seattle


@dataclass
class Coffee:
    app: Consentry
    tenant: Tenant
    brand_id: str
    clock: list[datetime]

    def text(self, body: str, to: str = OFFERS_SENDER) -> str:
        return self.app.receive_inbound(self.tenant, to, PERSON, body).action

    def allowed(self, program: str) -> bool:
        sender = OFFERS_SENDER if program == "club" else UPDATES_SENDER
        body = (
            "Demo Coffee: 2 for 1 lattes today. Reply STOP to opt out."
            if program == "club"
            else "Demo Coffee: your order has shipped. Reply STOP to opt out."
        )
        return self.app.check_send(self.tenant, sender, PERSON, program, body).allowed

    def scopes(self) -> set[Scope]:
        [status] = self.app.check_optouts(self.tenant, [PERSON], scope=ScopeRef(ScopeKind.TENANT))
        view = self.app.recipient(self.tenant, PERSON)
        del status
        return {optout.scope for optout in view.optouts}


@pytest.fixture
def coffee(service: Consentry) -> Iterator[Coffee]:
    clock = [START]
    app = Consentry(service.database_url, clock=lambda: clock[0])
    try:
        tenant, _ = app.create_tenant("Coffee", slug=f"coffee-{secrets.token_hex(4)}")
        brand = app.create_brand(tenant, "Demo Coffee", "help@coffee.example")
        app.create_program(
            tenant, brand.id, "Coffee club", slug="club", category="marketing", frequency="4/month"
        )
        app.create_program(
            tenant, brand.id, "Order updates", slug="updates", category="transactional"
        )
        app.create_sender(tenant, OFFERS_SENDER, "long_code", programs=["club"], verified=True)
        app.create_sender(tenant, UPDATES_SENDER, "long_code", programs=["updates"], verified=True)
        for program in ("club", "updates"):
            app.record_consent(
                tenant, PERSON, program, medium="paper", disclosure_text="Signed the form."
            )
        yield Coffee(app, tenant, brand.id, clock)
    finally:
        app.close()


def test_programs_get_their_purpose_from_the_category(coffee: Coffee) -> None:
    purposes = {p.slug: p.purpose for p in coffee.app.list_programs(coffee.tenant)}
    assert purposes == {"club": "marketing", "updates": "notifications"}


def test_a_purpose_opt_out_stops_marketing_and_keeps_notifications(coffee: Coffee) -> None:
    assert coffee.allowed("club") and coffee.allowed("updates")
    coffee.app.add_optouts(
        coffee.tenant, [PERSON], scope=ScopeRef(ScopeKind.PURPOSE, "demo-coffee:marketing")
    )
    assert coffee.scopes() == {purpose_scope(coffee.brand_id, "marketing")}
    assert not coffee.allowed("club")
    assert coffee.allowed("updates")
    [status] = coffee.app.check_optouts(
        coffee.tenant, [PERSON], scope=ScopeRef(ScopeKind.PROGRAM, "club")
    )
    assert status.opted_out


@pytest.mark.parametrize(
    "ref",
    ["demo-coffee", "demo-coffee:", "demo-coffee:newsletters", ":marketing", "nobody:marketing"],
)
def test_a_bad_purpose_scope_is_refused_and_changes_nothing(coffee: Coffee, ref: str) -> None:
    from consentry.errors import ConsentryError

    with pytest.raises(ConsentryError) as raised:
        coffee.app.add_optouts(coffee.tenant, [PERSON], scope=ScopeRef(ScopeKind.PURPOSE, ref))
    assert raised.value.field == "scope.id"
    assert coffee.scopes() == set()


def test_without_the_setting_stop_stays_in_the_program(coffee: Coffee) -> None:
    assert coffee.text("STOP") == "opted_out"
    assert not coffee.allowed("club")
    assert coffee.allowed("updates")


def test_stop_asks_which_messages_to_keep_and_covers_everything_until_answered(
    coffee: Coffee,
) -> None:
    coffee.app.update_tenant_settings(coffee.tenant, {"clarify_revocation_scope": True})
    result = coffee.app.receive_inbound(coffee.tenant, OFFERS_SENDER, PERSON, "STOP")
    assert result.action == "opted_out_scope_asked"
    assert result.scopes == (Scope(ScopeKind.BRAND, coffee.brand_id),)
    assert result.reply is not None
    assert "reply ALERTS to keep account notifications" in result.reply
    assert "reply OFFERS to keep marketing messages" in result.reply
    assert len(result.reply) <= 160
    # The rule's default: until the person answers, nothing of the brand goes out.
    assert not coffee.allowed("club")
    assert not coffee.allowed("updates")
    # The confirmation is queued at once, and is the only one.
    outbox = coffee.app.list_outbox(coffee.tenant, recipient=PERSON)
    confirmations = [m for m in outbox if m["purpose"] == "opt_out_confirmation"]
    assert [m["body"] for m in confirmations] == [result.reply]
    assert confirmations[0]["created_at"] == START

    coffee.clock[0] = START + timedelta(minutes=3)
    narrowed = coffee.app.receive_inbound(coffee.tenant, OFFERS_SENDER, PERSON, "alerts")
    assert narrowed.action == "revocation_narrowed"
    assert narrowed.reply is None  # nothing more is sent after a revocation
    assert coffee.scopes() == {purpose_scope(coffee.brand_id, "marketing")}
    assert not coffee.allowed("club")
    assert coffee.allowed("updates")
    # The ledger keeps both steps, each tied to the reply that caused it, and still verifies.
    history = coffee.app.optout_history(coffee.tenant, PERSON)
    steps = [(e.action, str(e.scope), e.reason) for e in history.events]
    assert steps[-2:] == [
        ("add", f"purpose:{coffee.brand_id}:marketing", "scope clarification: keeps notifications"),
        ("remove", f"brand:{coffee.brand_id}", "scope clarification: keeps notifications"),
    ]
    assert coffee.app.verify_ledger(coffee.tenant).ok


@pytest.mark.parametrize(
    ("answer", "after", "action"),
    [
        ("OFFERS", timedelta(hours=1), "revocation_narrowed"),
        ("Keep alerts", timedelta(days=6), "revocation_narrowed"),
        ("ALERTS", timedelta(days=8), "none"),  # past the answer window: stays stopped
        ("yes please", timedelta(minutes=1), "none"),  # not a keep-keyword
    ],
)
def test_only_a_keep_keyword_inside_the_window_narrows(
    coffee: Coffee, answer: str, after: timedelta, action: str
) -> None:
    coffee.app.update_tenant_settings(coffee.tenant, {"clarify_revocation_scope": True})
    coffee.text("STOP")
    coffee.clock[0] = START + after
    assert coffee.text(answer) == action
    if action == "none":
        assert coffee.scopes() == {Scope(ScopeKind.BRAND, coffee.brand_id)}
        assert not coffee.allowed("club") and not coffee.allowed("updates")
    else:
        assert not coffee.allowed("club") or not coffee.allowed("updates")
        assert coffee.allowed("club") or coffee.allowed("updates")


def test_a_keep_keyword_without_a_question_does_nothing(coffee: Coffee) -> None:
    assert coffee.text("ALERTS") == "none"
    assert coffee.scopes() == set()
    coffee.text("STOP")  # without the setting: no question asked
    assert coffee.text("ALERTS") == "none"
    assert not coffee.allowed("club")


def test_one_consented_program_gets_the_plain_confirmation(service: Consentry) -> None:
    app = Consentry(service.database_url, clock=lambda: START)
    try:
        tenant, _ = app.create_tenant("Solo", slug=f"solo-{secrets.token_hex(4)}")
        brand = app.create_brand(tenant, "Solo Tea", "help@tea.example")
        app.create_program(tenant, brand.id, "Club", slug="club", category="marketing")
        app.create_program(tenant, brand.id, "Updates", slug="updates", category="transactional")
        app.create_sender(tenant, OFFERS_SENDER, "long_code", programs=["club"], verified=True)
        app.record_consent(tenant, PERSON, "club", medium="paper", disclosure_text="Form.")
        app.update_tenant_settings(tenant, {"clarify_revocation_scope": True})
        result = app.receive_inbound(tenant, OFFERS_SENDER, PERSON, "STOP")
        assert result.action == "opted_out"
        assert result.scopes == (Scope(ScopeKind.PROGRAM, app.get_program(tenant, "club").id),)
    finally:
        app.close()


def test_purpose_over_http(client: httpx.Client) -> None:
    brand = client.post(
        "/v1/brands", json={"name": "Web Coffee", "slug": "web-coffee", "support_contact": "x@y.z"}
    )
    assert brand.status_code == 201
    created = client.post(
        "/v1/programs",
        json={
            "brand_id": "web-coffee",
            "name": "Receipts",
            "category": "marketing",
            "purpose": "notifications",
        },
    )
    assert created.status_code == 201 and created.json()["purpose"] == "notifications"
    bad = client.post(
        "/v1/programs",
        json={"brand_id": "web-coffee", "name": "Other", "purpose": "newsletters"},
    )
    assert bad.status_code == 422 and "purpose" in bad.text
    settings = client.patch("/v1/tenant/settings", json={"clarify_revocation_scope": True})
    assert settings.status_code == 200 and settings.json()["clarify_revocation_scope"] is True
