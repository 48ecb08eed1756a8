"""The console's brand and sender forms, on SQLite and PostgreSQL: admins only (agents and
auditors get 403 and see no edit links), CSRF-checked, every bad field refused naming it
(nothing stored), 404 for another tenant's brand or sender, the gate and the opt-in page follow
a save, the brand's sign-up findings are shown (and served as JSON for the live lint), and each
edit page shows the change history in the user's name."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from consentry import Consentry
from tests.admin.conftest import SENDER, Account, csrf_of, signed_in

CTA = "Acme alerts: order updates, up to 4 msgs/month. Msg&data rates may apply. Reply STOP to cancel."
BODY = "Acme Coffee: your order shipped. Reply STOP to opt out, HELP for help."


def _form(page: str) -> dict[str, Any]:
    """The form's fields as a browser would send them (checked boxes only)."""
    data: dict[str, Any] = {"csrf_token": csrf_of(page)}
    for name, value in re.findall(
        r'<input type="text" id="[bs]-[a-z_]+" name="([a-z_]+)" value="([^"]*)"', page
    ):
        data[name] = value
    for name, select in re.findall(
        r'<select id="s-[a-z_]+" name="([a-z_]+)"[^>]*>(.*?)</select>', page, re.S
    ):
        chosen = re.search(r'<option value="([^"]+)" selected>', select)
        assert chosen, f"nothing selected in {name}"
        data[name] = chosen.group(1)
    if re.search(r'<input type="checkbox" id="s-verified" name="verified" checked>', page):
        data["verified"] = "on"
    programs = re.findall(r'name="program_ids" value="([^"]+)" checked>', page)
    if programs:
        data["program_ids"] = programs
    return data


def _brand_url(account: Account, ref: str = "coffee") -> str:
    return f"/admin/{account.tenant.slug}/brands/{ref}/edit"


def _sender_url(account: Account, ref: str) -> str:
    return f"/admin/{account.tenant.slug}/senders/{ref}/edit"


def test_admin_edits_the_brand_and_the_opt_in_page_follows(
    service: Consentry, base_url: str, account: Account
) -> None:
    with signed_in(base_url, account, "admin") as http:
        registry = http.get(f"/admin/{account.tenant.slug}/registry")
        assert f'href="{_brand_url(account)}" data-edit-brand="coffee"' in registry.text
        page = http.get(_brand_url(account))
        assert page.status_code == 200
        assert 'id="history"' in page.text and "No changes to this brand" in page.text
        assert '<script src="/admin/_static/program-edit.js" defer></script>' in page.text
        assert page.text.count("<script") == 1  # no inline script
        data = _form(page.text) | {"name": "Zeta Tea", "support_phone": "(206) 555-0123"}
        saved = http.post(_brand_url(account), data=data)
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"] == _brand_url(account) + "?saved=1"
        after = http.get(saved.headers["location"])
        assert 'id="saved"' in after.text and 'value="Zeta Tea"' in after.text
        history = after.text.split('id="history"', 1)[1]
        assert f"console:{account.emails['admin']}" in history
        assert re.search(r'data-field="name">.*?Acme Coffee</td><td>Zeta Tea</td>', history)
        assert re.search(
            r'data-field="support_phone">.*?\(not set\)</td><td>\+12065550123', history
        )
        assert 'data-field="support_contact"' not in history  # unchanged: not recorded
    brand = service.get_brand(account.tenant, "coffee")
    assert (brand.name, brand.support_phone, brand.support_contact) == (
        "Zeta Tea",
        "+12065550123",
        "help@acme.example",
    )
    page = httpx.get(f"{base_url}/join/{account.tenant.slug}/alerts")
    assert "Zeta Tea" in page.text and "Acme Coffee" not in page.text


BAD_BRAND_FORM = [
    ({"name": "  "}, "name"),
    ({"name": "n" * 201}, "name"),
    ({"support_contact": ""}, "support_contact"),
    ({"support_phone": "call us"}, "support_phone"),
    ({"terms_url": "not a link"}, "terms_url"),
    ({"privacy_url": "ftp://acme.example/privacy"}, "privacy_url"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_BRAND_FORM)
def test_a_bad_brand_field_is_named_and_nothing_is_stored(
    service: Consentry, base_url: str, account: Account, bad: dict[str, str], field: str
) -> None:
    before = service.get_brand(account.tenant, "coffee")
    with signed_in(base_url, account, "admin") as http:
        page = http.get(_brand_url(account))
        data = _form(page.text) | {"name": "Renamed Coffee"} | bad
        refused = http.post(_brand_url(account), data=data)
    assert refused.status_code == 422
    assert f'id="{field}-error"' in refused.text
    assert 'role="alert" id="form-error"' in refused.text
    assert service.get_brand(account.tenant, "coffee") == before
    assert service.list_registry_changes(account.tenant) == []


def test_the_brand_page_lints_each_programs_sign_up_text(base_url: str, account: Account) -> None:
    with signed_in(base_url, account, "admin") as http:
        page = http.get(_brand_url(account))
        assert re.search(
            r'id="lint-signup-alerts"[^>]*>\s*<p class="muted">No findings.', page.text
        )
        refused = http.post(
            _brand_url(account), data=_form(page.text) | {"terms_url": "not a link"}
        )
        box = refused.text.split('id="lint-signup-alerts"', 1)[1].split("</div>", 1)[0]
        assert 'data-check="CTA-TERMS-LINK"' in box  # shown on submit, without script
        url = f"/admin/{account.tenant.slug}/brands/coffee/lint"
        answer = http.post(url, data=_form(page.text) | {"terms_url": "not a link"})
        assert answer.status_code == 200
        findings = answer.json()["findings"]
        assert set(findings) == {"signup-alerts"}
        assert [f["id"] for f in findings["signup-alerts"]] == ["CTA-TERMS-LINK"]
        assert all(f["citation"] for f in findings["signup-alerts"])
        fine = http.post(url, data=_form(page.text)).json()["findings"]
        assert fine == {"signup-alerts": []}
        assert http.post(url, data=_form(page.text) | {"csrf_token": "forged"}).status_code == 403


def test_admin_edits_the_sender_and_the_gate_follows(
    service: Consentry, base_url: str, account: Account
) -> None:
    number = "+14255550180"
    service.record_consent(
        account.tenant, number, account.program.id, medium="web_form", disclosure_text=CTA
    )
    assert service.check_send(account.tenant, SENDER, number, "alerts", BODY).action.value == "send"
    sender = service.get_sender(account.tenant, SENDER)
    deals = service.create_program(account.tenant, account.brand.id, "Deals", slug="deals")
    with signed_in(base_url, account, "admin") as http:
        registry = http.get(f"/admin/{account.tenant.slug}/registry")
        assert f'href="{_sender_url(account, sender.id)}" data-edit-sender="{sender.id}"' in (
            registry.text
        )
        page = http.get(_sender_url(account, sender.id))
        data = _form(page.text)
        assert data["verified"] == "on" and data["program_ids"] == [account.program.id]
        del data["verified"]  # unticked
        data["program_ids"] = [account.program.id, deals.id]
        saved = http.post(_sender_url(account, sender.id), data=data)
        assert saved.status_code == 303, saved.text
        after = http.get(saved.headers["location"])
        assert 'id="saved"' in after.text
        history = after.text.split('id="history"', 1)[1]
        assert re.search(r'data-field="verified">.*?<td>on</td><td>off</td>', history)
        assert "Acme alerts, Deals" in history or "Deals, Acme alerts" in history  # named
    changed = service.get_sender(account.tenant, SENDER)
    assert changed.verified is False
    assert sorted(changed.program_ids) == sorted([account.program.id, deals.id])
    refused = service.check_send(account.tenant, SENDER, number, "alerts", BODY)
    assert "SENDER-UNREGISTERED" in {f.rule_id for f in refused.findings}


@pytest.mark.parametrize(
    ("bad", "field"),
    [({"kind": "short_code"}, "kind"), ({"kind": "pager"}, "kind"), ({}, "program_ids")],
)
def test_a_bad_sender_field_is_named_and_nothing_is_stored(
    service: Consentry,
    base_url: str,
    account: Account,
    other_account: Account,
    bad: dict[str, str],
    field: str,
) -> None:
    before = service.get_sender(account.tenant, SENDER)
    with signed_in(base_url, account, "admin") as http:
        page = http.get(_sender_url(account, before.id))
        data = _form(page.text) | {"program_ids": [other_account.program.id]} | bad
        if field != "program_ids":
            data["program_ids"] = []
        refused = http.post(_sender_url(account, before.id), data=data)
    assert refused.status_code == 422, refused.text
    assert f'id="{field}-error"' in refused.text
    assert service.get_sender(account.tenant, SENDER) == before
    assert service.list_registry_changes(account.tenant) == []


@pytest.mark.parametrize("role", ["agent", "auditor"])
def test_only_admins_edit_brands_and_senders(
    service: Consentry, base_url: str, account: Account, role: str
) -> None:
    brand = service.get_brand(account.tenant, "coffee")
    sender = service.get_sender(account.tenant, SENDER)
    with signed_in(base_url, account, role) as http:
        page = http.get(f"/admin/{account.tenant.slug}/registry")
        assert page.status_code == 200 and "/edit" not in page.text
        token = csrf_of(http.get(f"/admin/{account.tenant.slug}/copy").text)
        for url, data in (
            (_brand_url(account), {"name": "Taken over", "support_contact": "x@y.example"}),
            (_sender_url(account, sender.id), {"kind": "long_code"}),
        ):
            assert http.get(url).status_code == 403
            assert http.post(url, data={"csrf_token": token} | data).status_code == 403
        lint = http.post(
            f"/admin/{account.tenant.slug}/brands/coffee/lint", data={"csrf_token": token}
        )
        assert lint.status_code == 403
    assert service.get_brand(account.tenant, "coffee") == brand
    assert service.get_sender(account.tenant, SENDER) == sender


def test_another_tenants_brand_and_sender_and_a_missing_token(
    service: Consentry, base_url: str, account: Account, other_account: Account
) -> None:
    theirs_brand = other_account.brand
    theirs_sender = service.get_sender(other_account.tenant, SENDER)
    mine = service.get_sender(account.tenant, SENDER)
    with signed_in(base_url, account, "admin") as http:
        brand_data = _form(http.get(_brand_url(account)).text) | {"name": "Taken over"}
        sender_data = _form(http.get(_sender_url(account, mine.id)).text)
        del sender_data["verified"]
        for url, data in (
            (_brand_url(account, theirs_brand.id), brand_data),
            (_sender_url(account, theirs_sender.id), sender_data),
            (_sender_url(account, "snd_nosuchsender0000"), sender_data),
        ):
            assert http.get(url).status_code == 404
            assert http.post(url, data=data).status_code == 404
        for url, data in (
            (_brand_url(account), brand_data),
            (_sender_url(account, mine.id), sender_data),
        ):
            no_token = {k: v for k, v in data.items() if k != "csrf_token"}
            assert http.post(url, data=no_token).status_code == 403
            forged = http.post(url, data=data | {"csrf_token": "0" * 64})
            assert forged.status_code == 403
    assert service.get_brand(other_account.tenant, theirs_brand.id) == theirs_brand
    assert service.get_sender(other_account.tenant, theirs_sender.id) == theirs_sender
    assert service.get_brand(account.tenant, "coffee") == account.brand
    assert service.get_sender(account.tenant, SENDER) == mine
    assert service.list_registry_changes(account.tenant) == []
    assert service.list_registry_changes(other_account.tenant) == []


def test_the_program_page_shows_its_history(
    service: Consentry, base_url: str, account: Account
) -> None:
    with signed_in(base_url, account, "admin") as http:
        url = f"/admin/{account.tenant.slug}/programs/alerts/edit"
        page = http.get(url)
        assert "No changes to this program" in page.text
        data = {"csrf_token": csrf_of(page.text), "name": account.program.name}
        data |= {"category": "informational", "purpose": "notifications"}
        data |= {"opt_out_scope": "program", "frequency": "Up to 2 msgs/week", "one_way": "on"}
        assert http.post(url, data=data).status_code == 303
        history = http.get(url).text.split('id="history"', 1)[1]
    actor = f"console:{account.emails['admin']}"
    assert re.search(
        r'data-field="one_way"><td>one_way</td><td>off</td><td>on</td><td>' + re.escape(actor),
        history,
    )
    assert re.search(
        r'data-field="frequency">.*?\(not set\)</td><td>Up to 2 msgs/week</td>', history
    )
    assert 'data-field="name"' not in history
    rows = service.list_registry_changes(account.tenant, "program:alerts")
    assert {(r.field, r.actor) for r in rows} == {("one_way", actor), ("frequency", actor)}
