"""Changing a brand's or a sender's settings, on SQLite and PostgreSQL: the service and ``PATCH
/v1/brands/{ref}`` / ``/v1/senders/{ref}`` check every field as creation does (each bad field:
4xx naming it, nothing stored), ids, slugs and addresses never change, another tenant's brand,
sender or program is not found, and the next send decision and the opt-in page follow."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from consentry import Consentry
from consentry.errors import InvalidInput, NotFound
from tests.admin.conftest import SENDER, Account

CTA = "Acme alerts: order updates, up to 4 msgs/month. Msg&data rates may apply. Reply STOP to cancel."
TOLL_FREE = "+18885550100"

# (field, bad value): each refused, naming the field, by the service and by the API.
BRAND_BAD: list[tuple[str, Any]] = [
    ("name", ""),
    ("name", "   "),
    ("name", None),
    ("name", "n" * 201),
    ("name", 7),
    ("support_contact", ""),
    ("support_contact", "  "),
    ("support_contact", None),
    ("support_contact", "c" * 201),
    ("support_phone", "not a number"),
    ("support_phone", "+1206555"),
    ("terms_url", "not a link"),
    ("terms_url", "ftp://acme.example/terms"),
    ("terms_url", ""),
    ("privacy_url", "https://"),
    ("privacy_url", "https://acme.example/has space"),
    ("privacy_url", "acme.example/privacy"),
    ("slug", "renamed"),
    ("id", "brd_other"),
    ("created_at", "2020-01-01T00:00:00Z"),
]

SENDER_BAD: list[tuple[str, Any]] = [
    ("kind", "pager"),
    ("kind", "short_code"),  # +12065550100 is not a short code
    ("kind", "alphanumeric"),
    ("kind", "toll_free"),  # 206 is not a toll-free area code
    ("kind", None),
    ("verified", "yes"),
    ("verified", 1),
    ("verified", None),
    ("program_ids", "alerts"),  # a list, not one slug
    ("program_ids", [5]),
    ("program_ids", None),
    ("address", "+12065550101"),
    ("id", "snd_other"),
]


@pytest.fixture
def api(base_url: str, account: Account) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {account.api_key}"}, timeout=30
    ) as http:
        yield http


def _with_good(field: str, value: Any, good: dict[str, Any]) -> dict[str, Any]:
    """A good change of another field, plus the bad one: neither may be stored."""
    return {name: v for name, v in good.items() if name != field} | {field: value}


BRAND_GOOD = {"name": "Renamed Coffee", "support_phone": "+12065550123"}
SENDER_GOOD = {"verified": False, "program_ids": []}


@pytest.mark.parametrize(("field", "value"), BRAND_BAD)
def test_service_refuses_each_bad_brand_field(
    service: Consentry, account: Account, field: str, value: Any
) -> None:
    before = service.get_brand(account.tenant, "coffee")
    with pytest.raises(InvalidInput) as refused:
        service.update_brand(
            account.tenant, "coffee", _with_good(field, value, BRAND_GOOD), actor="cli"
        )
    assert refused.value.field == field
    assert service.get_brand(account.tenant, "coffee") == before
    assert service.list_registry_changes(account.tenant) == []


@pytest.mark.parametrize(("field", "value"), BRAND_BAD)
def test_api_answers_422_naming_each_bad_brand_field(
    api: httpx.Client, field: str, value: Any
) -> None:
    before = api.get("/v1/brands/coffee").json()
    response = api.patch("/v1/brands/coffee", json=_with_good(field, value, BRAND_GOOD))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert api.get("/v1/brands/coffee").json() == before


@pytest.mark.parametrize(("field", "value"), SENDER_BAD)
def test_service_refuses_each_bad_sender_field(
    service: Consentry, account: Account, field: str, value: Any
) -> None:
    before = service.get_sender(account.tenant, SENDER)
    with pytest.raises(InvalidInput) as refused:
        service.update_sender(
            account.tenant, SENDER, _with_good(field, value, SENDER_GOOD), actor="cli"
        )
    assert refused.value.field == field
    assert service.get_sender(account.tenant, SENDER) == before
    assert service.list_registry_changes(account.tenant) == []


@pytest.mark.parametrize(("field", "value"), SENDER_BAD)
def test_api_answers_422_naming_each_bad_sender_field(
    service: Consentry, api: httpx.Client, account: Account, field: str, value: Any
) -> None:
    sender = service.get_sender(account.tenant, SENDER)
    before = api.get(f"/v1/senders/{sender.id}").json()
    response = api.patch(f"/v1/senders/{sender.id}", json=_with_good(field, value, SENDER_GOOD))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"].split(".")[0] == field  # program_ids.0: its item
    assert api.get(f"/v1/senders/{sender.id}").json() == before


@pytest.mark.parametrize(
    "path",
    ["/v1/brands/coffee", f"/v1/senders/{SENDER.replace('+', '%2B')}", "/v1/programs/alerts"],
)
def test_an_empty_patch_is_refused(api: httpx.Client, path: str) -> None:
    before = api.get(path).json()
    response = api.patch(path, json={})
    assert response.status_code == 422, response.text
    assert "nothing to change" in response.json()["error"]["message"]
    assert api.get(path).json() == before


BRAND_CHANGES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"name": "  Acme Roasters "}, {"name": "Acme Roasters"}),
    ({"support_contact": "care@acme.example"}, {"support_contact": "care@acme.example"}),
    ({"support_phone": "(206) 555-0123"}, {"support_phone": "+12065550123"}),
    (
        {"terms_url": "https://acme.example/sms-terms", "privacy_url": "http://acme.example/p"},
        {"terms_url": "https://acme.example/sms-terms", "privacy_url": "http://acme.example/p"},
    ),
]


@pytest.mark.parametrize(("changes", "expected"), BRAND_CHANGES)
def test_api_changes_the_brand_as_given_and_nothing_else(
    api: httpx.Client, changes: dict[str, Any], expected: dict[str, Any]
) -> None:
    before = api.get("/v1/brands/coffee").json()
    response = api.patch("/v1/brands/coffee", json=changes)
    assert response.status_code == 200, response.text
    after = api.get("/v1/brands/coffee").json()
    assert after == response.json() == before | expected


def test_null_clears_the_brands_optional_settings(service: Consentry, account: Account) -> None:
    service.update_brand(
        account.tenant,
        "coffee",
        {"support_phone": "+12065550123", "terms_url": "https://acme.example/terms"},
        actor="cli",
    )
    cleared = service.update_brand(
        account.tenant, account.brand.id, {"support_phone": None, "terms_url": None}, actor="cli"
    )
    assert (cleared.support_phone, cleared.terms_url) == (None, None)
    assert service.get_brand(account.tenant, "coffee") == cleared


def test_api_changes_the_sender_by_id_or_address(
    service: Consentry, api: httpx.Client, account: Account
) -> None:
    deals = service.create_program(account.tenant, account.brand.id, "Deals", slug="deals")
    sender = service.get_sender(account.tenant, SENDER)
    response = api.patch(
        "/v1/senders/%2B1%20206%20555%200100",  # any form of the address
        json={"program_ids": ["deals", "alerts", deals.id], "verified": False},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == sender.id and body["address"] == SENDER
    assert sorted(body["program_ids"]) == sorted([deals.id, account.program.id])
    assert body["verified"] is False
    assert api.get(f"/v1/senders/{sender.id}").json() == body


def test_a_toll_free_number_may_change_kind_and_back(service: Consentry, account: Account) -> None:
    sender = service.create_sender(account.tenant, TOLL_FREE, "long_code", verified=True)
    changed = service.update_sender(account.tenant, sender.id, {"kind": "toll_free"}, actor="cli")
    assert changed.kind.value == "toll_free" and changed.address == TOLL_FREE
    assert service.get_sender(account.tenant, TOLL_FREE) == changed
    back = service.update_sender(account.tenant, TOLL_FREE, {"kind": "long_code"}, actor="cli")
    assert back.kind.value == "long_code"


def test_another_tenants_brand_or_sender_is_not_found(
    service: Consentry, api: httpx.Client, account: Account, other_account: Account
) -> None:
    theirs_brand = other_account.brand
    theirs_sender = service.get_sender(other_account.tenant, SENDER)
    for ref in (theirs_brand.id, "no-such-brand"):
        response = api.patch(f"/v1/brands/{ref}", json={"name": "Mine now"})
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
        with pytest.raises(NotFound):
            service.update_brand(account.tenant, ref, {"name": "Mine now"}, actor="cli")
    for ref in (theirs_sender.id, "+12065550199"):
        response = api.patch(f"/v1/senders/{ref.replace('+', '%2B')}", json={"verified": False})
        assert response.status_code == 404, response.text
        with pytest.raises(NotFound):
            service.update_sender(account.tenant, ref, {"verified": False}, actor="cli")
    assert service.get_brand(other_account.tenant, theirs_brand.id) == theirs_brand
    assert service.get_sender(other_account.tenant, theirs_sender.id) == theirs_sender
    assert service.list_registry_changes(other_account.tenant) == []
    anonymous = httpx.patch(f"{api.base_url}/v1/brands/coffee", json={"name": "x"})
    assert anonymous.status_code == 401


def test_a_sender_cannot_serve_another_tenants_program(
    service: Consentry, api: httpx.Client, account: Account, other_account: Account
) -> None:
    before = service.get_sender(account.tenant, SENDER)
    for ref in (other_account.program.id, "no-such-program"):
        response = api.patch(f"/v1/senders/{before.id}", json={"program_ids": ["alerts", ref]})
        assert response.status_code == 404, response.text
        assert response.json()["error"]["field"] == "program_ids"
        with pytest.raises(NotFound) as refused:
            service.update_sender(account.tenant, before.id, {"program_ids": [ref]}, actor="cli")
        assert refused.value.field == "program_ids"
    assert service.get_sender(account.tenant, SENDER) == before


def _consented(service: Consentry, account: Account, number: str) -> None:
    service.record_consent(
        account.tenant, number, account.program.id, medium="web_form", disclosure_text=CTA
    )


def _rules(service: Consentry, account: Account, number: str, body: str) -> tuple[str, set[str]]:
    decision = service.check_send(account.tenant, SENDER, number, "alerts", body)
    return decision.action.value, {f.rule_id for f in decision.findings}


def test_the_next_send_decision_follows_a_sender_edit(
    service: Consentry, api: httpx.Client, account: Account
) -> None:
    number = "+14255550170"
    body = "Acme Coffee: your order shipped. Reply STOP to opt out, HELP for help."
    _consented(service, account, number)
    assert _rules(service, account, number, body)[0] == "send"  # the gate now caches the sender
    sender = service.get_sender(account.tenant, SENDER)
    assert api.patch(f"/v1/senders/{sender.id}", json={"verified": False}).status_code == 200
    action, rules = _rules(service, account, number, body)
    assert action == "block" and "SENDER-UNREGISTERED" in rules
    patch = {"verified": True, "program_ids": []}
    assert api.patch(f"/v1/senders/{sender.id}", json=patch).status_code == 200
    action, rules = _rules(service, account, number, body)
    assert action == "block" and "SENDER-PROGRAM" in rules
    assert api.patch(f"/v1/senders/{sender.id}", json={"program_ids": ["alerts"]}).is_success
    assert _rules(service, account, number, body)[0] == "send"


def test_the_next_send_decision_and_the_opt_in_page_follow_a_brand_edit(
    service: Consentry, api: httpx.Client, base_url: str, account: Account
) -> None:
    number = "+14255550171"
    body = "Zeta Tea: your order shipped. Reply STOP to opt out, HELP for help."
    _consented(service, account, number)
    action, rules = _rules(service, account, number, body)
    assert action == "block" and "DISCLOSURE-FIRST-MESSAGE" in rules  # names no known brand
    page = httpx.get(f"{base_url}/join/{account.tenant.slug}/alerts")
    assert "Acme Coffee" in page.text and "Zeta Tea" not in page.text
    changes = {"name": "Zeta Tea", "support_contact": "care@zeta.example"}
    assert api.patch("/v1/brands/coffee", json=changes).status_code == 200
    action, rules = _rules(service, account, number, body)
    assert action == "send" and "DISCLOSURE-FIRST-MESSAGE" not in rules
    page = httpx.get(f"{base_url}/join/{account.tenant.slug}/alerts")
    assert "Zeta Tea" in page.text and "care@zeta.example" in page.text
    assert "Acme Coffee" not in page.text
    terms = httpx.get(f"{base_url}/join/{account.tenant.slug}/alerts/terms")
    assert terms.status_code == 200 and "care@zeta.example" in terms.text


def test_the_slug_and_address_never_change_through_any_door(
    service: Consentry, api: httpx.Client, account: Account
) -> None:
    for path, body in (
        ("/v1/brands/coffee", {"slug": "tea"}),
        (f"/v1/senders/{SENDER.replace('+', '%2B')}", {"address": "+12065550111"}),
        ("/v1/programs/alerts", {"brand_id": "coffee"}),
    ):
        response = api.patch(path, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == next(iter(body))
    assert service.get_brand(account.tenant, "coffee") == account.brand
    assert service.get_sender(account.tenant, SENDER).address == SENDER
