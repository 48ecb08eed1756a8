"""Changing a program's settings, on SQLite and PostgreSQL: the service and ``PATCH
/v1/programs/{ref}`` check every field as creation does (each bad field: 422 naming it, and
nothing stored), another tenant's program is not found, and the next send decision follows."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consentry import Consentry
from consentry.domain.consent import consent_rules
from consentry.domain.model import ScopeKind
from consentry.errors import InvalidInput, NotFound
from tests.admin.conftest import SENDER, Account

CTA = "Acme alerts: order updates, up to 4 msgs/month. Msg&data rates may apply. Reply STOP to cancel."
BODY = "Acme Coffee: your order shipped. Reply STOP to opt out, HELP for help."

# (field, bad value): each must be refused, naming the field, by the service and by the API.
BAD = [
    ("name", ""),
    ("name", "   "),
    ("name", None),
    ("name", "n" * 201),
    ("category", "spam"),
    ("purpose", "gossip"),
    ("opt_out_scope", "galaxy"),
    ("consent_level", "telepathic"),
    ("use_case", "Not A Slug!"),
    ("help_reply", "h" * 481),
    ("opt_in_reply", " "),
    ("opt_out_reply", "You are unsubscribed. " * 10),  # longer than one segment
    ("opt_out_reply", "Stopped \U0001f642"),  # not GSM-7
    ("description", "d" * 1001),
    ("frequency", ""),
    ("double_opt_in", "yes"),
    ("age_gated", 1),
    ("block_shorteners", None),
    ("one_way", "true"),
    ("pending_expiry_hours", 0),
    ("reconfirm_after_days", 36_501),
    ("reconfirm_idle_days", "30"),
    ("slug", "renamed"),
    ("brand_id", "brd_other"),
    ("id", "prg_other"),
]


@pytest.fixture
def api(base_url: str, account: Account) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {account.api_key}"}, timeout=30
    ) as http:
        yield http


@pytest.mark.parametrize(("field", "value"), BAD)
def test_service_refuses_each_bad_field(
    service: Consentry, account: Account, field: str, value: Any
) -> None:
    before = service.get_program(account.tenant, account.program.id)
    with pytest.raises(InvalidInput) as refused:
        service.update_program(
            account.tenant, "alerts", **({"frequency": "weekly"} | {field: value})
        )
    assert refused.value.field == field
    assert service.get_program(account.tenant, account.program.id) == before


@pytest.mark.parametrize(("field", "value"), BAD)
def test_api_answers_422_naming_each_bad_field(
    service: Consentry, api: httpx.Client, account: Account, field: str, value: Any
) -> None:
    before = api.get("/v1/programs/alerts").json()
    response = api.patch("/v1/programs/alerts", json={"frequency": "weekly", field: value})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert api.get("/v1/programs/alerts").json() == before


GOOD: list[dict[str, Any]] = [
    {"name": "Acme order alerts"},
    {"frequency": "Up to 2 msgs/week", "description": "order and delivery updates"},
    {"help_reply": "Acme Coffee: help at help@acme.example. Reply STOP to opt out."},
    {"opt_out_reply": "Acme Coffee: you are unsubscribed and will get no more messages."},
    {"category": "marketing", "purpose": "marketing", "consent_level": "express_written"},
    {"opt_out_scope": "brand", "age_gated": True, "block_shorteners": True},
    {"reconfirm_idle_days": 90, "pending_expiry_hours": 24, "double_opt_in": True},
]


@pytest.mark.parametrize("changes", GOOD)
def test_api_changes_what_it_is_given_and_nothing_else(
    api: httpx.Client, changes: dict[str, Any]
) -> None:
    before = api.get("/v1/programs/alerts").json()
    response = api.patch("/v1/programs/alerts", json=changes)
    assert response.status_code == 200, response.text
    after = api.get("/v1/programs/alerts").json()
    assert after == response.json()
    assert after == before | changes


def test_null_clears_a_text_and_resets_a_default(service: Consentry, account: Account) -> None:
    service.update_program(
        account.tenant, "alerts", frequency="weekly", opt_in_reply="Acme: welcome!"
    )
    changed = service.update_program(
        account.tenant, "alerts", frequency=None, opt_in_reply=None, reconfirm_idle_days=None
    )
    assert (changed.frequency, changed.opt_in_reply) == (None, None)
    assert changed.reconfirm_idle_days == consent_rules().idle_days
    assert service.get_program(account.tenant, account.program.id) == changed


def test_a_high_risk_use_case_always_needs_double_opt_in(
    service: Consentry, account: Account
) -> None:
    risky = sorted(consent_rules().double_opt_in_use_cases)[0]
    changed = service.update_program(account.tenant, "alerts", use_case=risky, double_opt_in=False)
    assert changed.double_opt_in is True


def test_another_tenants_program_is_not_found(
    service: Consentry, api: httpx.Client, account: Account, other_account: Account
) -> None:
    theirs = other_account.program
    for ref in (theirs.id, "no-such-program"):
        response = api.patch(f"/v1/programs/{ref}", json={"name": "Mine now"})
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
        with pytest.raises(NotFound):
            service.update_program(account.tenant, ref, name="Mine now")
    assert service.get_program(other_account.tenant, theirs.id) == theirs
    anonymous = httpx.patch(f"{api.base_url}/v1/programs/alerts", json={"name": "x"})
    assert anonymous.status_code == 401


def test_the_next_send_decision_follows_the_change(
    service: Consentry, api: httpx.Client, account: Account
) -> None:
    number = "+14255550150"
    service.record_consent(
        account.tenant, number, account.program.id, medium="web_form", disclosure_text=CTA
    )
    first = service.check_send(account.tenant, SENDER, number, "alerts", BODY)
    assert first.action.value == "send"  # the gate's caches now hold the program
    assert api.patch("/v1/programs/alerts", json={"one_way": True}).status_code == 200
    refused = service.check_send(account.tenant, SENDER, number, "alerts", BODY)
    assert refused.action.value == "block"
    assert "DISCLOSURE-ONE-WAY" in {f.rule_id for f in refused.findings}
    [logged] = service.list_decisions(account.tenant, rule_id="DISCLOSURE-ONE-WAY")
    assert logged.recipient == number
    service.update_program(account.tenant, account.program.id, one_way=False)
    again = service.check_send(account.tenant, SENDER, number, "alerts", BODY)
    assert again.action.value == "send"


def test_an_empty_change_changes_nothing(service: Consentry, account: Account) -> None:
    before = service.get_program(account.tenant, "alerts")
    assert service.update_program(account.tenant, "alerts") == before


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=220),
    scope=st.sampled_from([kind.value for kind in ScopeKind] + ["", "Program"]),
)
def test_stored_or_refused_never_half(
    service: Consentry, account: Account, name: str, scope: str
) -> None:
    """Whatever the input, either both changes are stored (as checked) or neither is."""
    before = service.get_program(account.tenant, "alerts")
    try:
        changed = service.update_program(account.tenant, "alerts", name=name, opt_out_scope=scope)
    except InvalidInput as error:
        assert error.field in ("name", "opt_out_scope")
        assert service.get_program(account.tenant, "alerts") == before
    else:
        assert changed.name == name.strip() and 0 < len(changed.name) <= 200
        assert changed.opt_out_scope.value == scope
        assert service.get_program(account.tenant, "alerts") == changed
        assert (
            dataclasses.replace(changed, name=before.name, opt_out_scope=before.opt_out_scope)
            == before
        )
