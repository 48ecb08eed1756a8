"""The console's program settings form, on SQLite and PostgreSQL: admins only, CSRF-checked,
every bad field refused naming it (nothing stored), 404 for another tenant's program, the
linter's findings shown without script on submit and as JSON for the page's script, and the
console's Content-Security-Policy allowing only its own scripts (the opt-in page keeps none)."""

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
        r'<input type="text" id="p-[a-z_]+" name="([a-z_]+)" value="([^"]*)"', page
    ):
        data[name] = value
    for name, body in re.findall(
        r'<textarea id="p-[a-z_]+" name="([a-z_]+)"[^>]*>([^<]*)</textarea>', page
    ):
        data[name] = body
    for name, select in re.findall(
        r'<select id="p-[a-z_]+" name="([a-z_]+)"[^>]*>(.*?)</select>', page, re.S
    ):
        chosen = re.search(r'<option value="([^"]+)" selected>', select)
        assert chosen, f"nothing selected in {name}"
        data[name] = chosen.group(1)
    for name in re.findall(
        r'<input type="checkbox" id="p-[a-z_]+" name="([a-z_]+)" checked>', page
    ):
        data[name] = "on"
    return data


def _edit_url(account: Account, ref: str = "alerts") -> str:
    return f"/admin/{account.tenant.slug}/programs/{ref}/edit"


def test_admin_edits_the_settings_and_the_gate_follows(
    service: Consentry, base_url: str, account: Account
) -> None:
    number = "+14255550160"
    service.record_consent(
        account.tenant, number, account.program.id, medium="web_form", disclosure_text=CTA
    )
    assert service.check_send(account.tenant, SENDER, number, "alerts", BODY).action.value == "send"
    with signed_in(base_url, account, "admin") as http:
        registry = http.get(f"/admin/{account.tenant.slug}/registry")
        assert f'href="{_edit_url(account)}" data-edit="alerts"' in registry.text
        page = http.get(_edit_url(account))
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert (
            "'unsafe-inline'"
            not in page.headers["content-security-policy"].split("script-src")[1].split(";")[0]
        )
        assert '<script src="/admin/_static/program-edit.js" defer></script>' in page.text
        assert page.text.count("<script") == 1  # no inline script
        data = _form(page.text) | {"frequency": "Up to 2 msgs/week", "one_way": "on"}
        saved = http.post(_edit_url(account), data=data)
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"] == _edit_url(account) + "?saved=1"
        after = http.get(saved.headers["location"])
        assert 'id="saved"' in after.text and 'value="Up to 2 msgs/week"' in after.text
    program = service.get_program(account.tenant, "alerts")
    assert (program.frequency, program.one_way, program.name) == (
        "Up to 2 msgs/week",
        True,
        account.program.name,
    )
    refused = service.check_send(account.tenant, SENDER, number, "alerts", BODY)
    assert "DISCLOSURE-ONE-WAY" in {f.rule_id for f in refused.findings}


BAD_FORM = [
    ({"name": "  "}, "name"),
    ({"frequency": "f" * 201}, "frequency"),
    ({"opt_out_reply": "You are unsubscribed. " * 10}, "opt_out_reply"),
    ({"help_reply": "h" * 481}, "help_reply"),
    ({"category": "spam"}, "category"),
    ({"purpose": "gossip"}, "purpose"),
    ({"opt_out_scope": "galaxy"}, "opt_out_scope"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_FORM)
def test_a_bad_field_is_named_and_nothing_is_stored(
    service: Consentry, base_url: str, account: Account, bad: dict[str, str], field: str
) -> None:
    before = service.get_program(account.tenant, "alerts")
    with signed_in(base_url, account, "admin") as http:
        page = http.get(_edit_url(account))
        data = _form(page.text) | {"frequency": "weekly", "age_gated": "on"} | bad
        refused = http.post(_edit_url(account), data=data)
    assert refused.status_code == 422
    assert f'id="{field}-error"' in refused.text
    assert 'role="alert" id="form-error"' in refused.text
    assert service.get_program(account.tenant, "alerts") == before


def test_findings_are_shown_on_submit_without_script(
    service: Consentry, base_url: str, account: Account
) -> None:
    with signed_in(base_url, account, "admin") as http:
        page = http.get(_edit_url(account))
        assert re.search(
            r'id="lint-opt_out_reply"[^>]*>\s*<p class="muted">No findings.', page.text
        )
        data = _form(page.text) | {"opt_out_reply": "ok bye"}
        after = http.post(_edit_url(account), data=data, follow_redirects=True)
    assert after.status_code == 200
    box = after.text.split('id="lint-opt_out_reply"', 1)[1].split('<label for="p-opt_in_reply"', 1)[
        0
    ]
    assert 'data-check="TEMPLATE-OPT-OUT-CONFIRMED"' in box
    assert 'data-check="TEMPLATE-BRAND"' in box
    assert service.get_program(account.tenant, "alerts").opt_out_reply == "ok bye"


def test_the_lint_endpoint_answers_json_for_the_typed_texts(
    base_url: str, account: Account
) -> None:
    with signed_in(base_url, account, "admin") as http:
        page = http.get(_edit_url(account))
        data = _form(page.text) | {"help_reply": "call us", "frequency": ""}
        url = f"/admin/{account.tenant.slug}/programs/alerts/lint"
        answer = http.post(url, data=data)
        assert answer.status_code == 200
        findings = answer.json()["findings"]
        assert set(findings) == {"help_reply", "opt_out_reply", "opt_in_reply", "signup"}
        assert {"TEMPLATE-STOP", "TEMPLATE-SUPPORT-CONTACT"} <= {
            f["id"] for f in findings["help_reply"]
        }
        assert all(f["citation"] for f in findings["help_reply"])
        assert findings["opt_out_reply"] == []
        assert findings["signup"] == []  # the hosted sign-up text these settings make
        fixed = "Acme Coffee: help at help@acme.example or 206-555-0100. Reply STOP to opt out."
        better = http.post(url, data=data | {"help_reply": fixed}).json()["findings"]
        assert {f["severity"] for f in better["help_reply"]} <= {"info"}
        assert http.post(url, data=data | {"csrf_token": "forged"}).status_code == 403
        assert http.get("/admin/_static/nope.js").status_code == 404
        script = http.get("/admin/_static/program-edit.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "data-lint-url" in script.text


@pytest.mark.parametrize("role", ["agent", "auditor"])
def test_only_admins_edit(service: Consentry, base_url: str, account: Account, role: str) -> None:
    before = service.get_program(account.tenant, "alerts")
    with signed_in(base_url, account, role) as http:
        assert http.get(_edit_url(account)).status_code == 403
        page = http.get(f"/admin/{account.tenant.slug}/registry")
        assert "/edit" not in page.text
        token = csrf_of(http.get(f"/admin/{account.tenant.slug}/copy").text)
        posted = http.post(_edit_url(account), data={"csrf_token": token, "name": "Taken over"})
        assert posted.status_code == 403
        lint = http.post(
            f"/admin/{account.tenant.slug}/programs/alerts/lint", data={"csrf_token": token}
        )
        assert lint.status_code == 403
    assert service.get_program(account.tenant, "alerts") == before


def test_another_tenants_program_and_a_missing_token(
    service: Consentry, base_url: str, account: Account, other_account: Account
) -> None:
    theirs = other_account.program
    with signed_in(base_url, account, "admin") as http:
        page = http.get(_edit_url(account))
        data = _form(page.text) | {"name": "Taken over"}
        assert http.get(_edit_url(account, theirs.id)).status_code == 404
        assert http.post(_edit_url(account, theirs.id), data=data).status_code == 404
        no_token = {k: v for k, v in data.items() if k != "csrf_token"}
        assert http.post(_edit_url(account), data=no_token).status_code == 403
    assert service.get_program(other_account.tenant, theirs.id) == theirs
    assert service.get_program(account.tenant, "alerts").name == account.program.name


def test_the_opt_in_page_keeps_its_script_free_policy(base_url: str, account: Account) -> None:
    page = httpx.get(f"{base_url}/join/{account.tenant.slug}/alerts")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src" not in policy and policy.startswith("default-src 'none'")
