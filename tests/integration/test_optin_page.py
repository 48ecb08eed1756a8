"""The hosted opt-in page: in a real browser (Debian's chromium via Playwright) and over HTTP.

A person fills the form on a phone-sized screen, confirms with YES by text, and the ledger holds
the consent with its evidence: the exact text shown, the page, the IP address and the browser.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from consentry import Consentry, Tenant
from consentry.api import create_app
from consentry.domain.cta import LintContext, lint, visible_text
from tests.conftest import serving
from tests.integration.helpers import create_registry, inbound

SENDER = "+12065550100"
PHONE = {"width": 390, "height": 844}


def _registry(client: httpx.Client, **program: Any) -> None:
    create_registry(
        client,
        sender=SENDER,
        category="marketing",
        frequency="Up to 4 msgs/month",
        **program,
    )


def _history(client: httpx.Client, number: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/recipients/{number}/history")
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def _consents(client: httpx.Client, number: str) -> dict[str, str]:
    response = client.get(f"/v1/recipients/{number}")
    assert response.status_code == 200, response.text
    return {c["program_id"]: c["status"] for c in response.json()["consents"]}


def test_sign_up_in_a_browser_then_confirm_by_text(
    client: httpx.Client, base_url: str, tenant: Tenant, browser: Any, tmp_path: Path
) -> None:
    _registry(client, double_opt_in=True)
    page = browser.new_page(
        viewport=PHONE, user_agent="Mozilla/5.0 (Linux; Android 14) consentry-e2e"
    )
    page.goto(f"{base_url}/join/{tenant.slug}/alerts")
    assert page.title() == "Acme alerts: text messages from Acme acme"

    # Every disclosure is on screen next to an unchecked box, with nothing wider than the phone.
    disclosure = page.locator("#disclosure")
    assert disclosure.is_visible()
    shown = disclosure.inner_text()
    for element in (
        "Acme acme",
        "Up to 4 msgs/month",
        "Message and data rates may apply",
        "Reply HELP",
        "Reply STOP to cancel",
        "not a condition of any purchase",
    ):
        assert element in shown
    assert not page.locator("#consent").is_checked()
    box = disclosure.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.get_by_role("link", name="Terms and conditions").is_visible()
    assert page.get_by_role("link", name="Privacy policy").is_visible()
    shot = page.screenshot(path=str(tmp_path / "join.png"), full_page=True)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 5_000

    # Without the box ticked: an error next to it, and nothing recorded.
    page.fill("#phone", "(425) 555-0191")
    page.click("button[type=submit]")
    assert "Tick the box" in page.locator("#consent-error").inner_text()
    assert page.input_value("#phone") == "(425) 555-0191"
    assert _history(client, "+14255550191") == []

    page.check("#consent")
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Check your phone"
    assert "Reply YES" in page.locator("#next-step").inner_text()

    [requested] = _history(client, "+14255550191")
    assert requested["kind"] == "consent_requested"
    assert requested["medium"] == "web_form" and requested["ip_address"] == "127.0.0.1"
    assert requested["user_agent"].endswith("consentry-e2e")
    assert requested["source_url"] == f"{base_url}/join/{tenant.slug}/alerts"
    assert requested["disclosure_hash"] == hashlib.sha256(shown.encode()).hexdigest()

    inbound(client, "+14255550191", SENDER, "YES")
    kinds = [event["kind"] for event in _history(client, "+14255550191")]
    assert kinds == ["consent_requested", "consent_confirmed"]
    assert list(_consents(client, "+14255550191").values()) == ["active"]


def test_the_pages_pass_the_linter(client: httpx.Client, base_url: str, tenant: Tenant) -> None:
    _registry(client, description="weekly coffee deals and new drinks")
    context = LintContext(
        brand="Acme acme",
        program="Acme alerts",
        category="marketing",
        support_contact="help@acme.example",
    )
    with httpx.Client(base_url=base_url) as web:
        join = web.get(f"/join/{tenant.slug}/alerts")
        terms = web.get(f"/join/{tenant.slug}/alerts/terms")
        privacy = web.get(f"/join/{tenant.slug}/alerts/privacy")
    assert join.status_code == terms.status_code == privacy.status_code == 200
    assert join.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in join.headers["content-security-policy"]
    for kind, page in (("cta", join), ("terms", terms), ("privacy", privacy)):
        report = lint(kind, page.text, context, html=True)
        assert report.findings == (), (kind, [f.id for f in report.findings])
        assert report.score == 100
    assert "weekly coffee deals" in visible_text(join.text)


def test_forged_or_invalid_submissions_record_nothing(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    _registry(client)
    url = f"/join/{tenant.slug}/alerts"
    with httpx.Client(base_url=base_url) as web:
        form = web.get(url)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        # No CSRF cookie (a form posted from another site): refused.
        forged = httpx.post(
            f"{base_url}{url}",
            data={"csrf_token": token.group(1), "phone": "4255550192", "consent": "yes"},
        )
        assert forged.status_code == 403
        # A wrong token with the cookie: refused.
        wrong = web.post(
            url, data={"csrf_token": "x" * 43, "phone": "4255550192", "consent": "yes"}
        )
        assert wrong.status_code == 403
        bad = web.post(url, data={"csrf_token": token.group(1), "phone": "555", "consent": "yes"})
        assert bad.status_code == 422 and "Enter a valid mobile number" in bad.text
        assert 'value="555"' in bad.text
        assert web.get(f"/join/{tenant.slug}/nope").status_code == 404
        assert web.get(f"/join/no-such-tenant-{tenant.slug}/alerts").status_code == 404
        assert web.get(f"/join/{tenant.id}/alerts").status_code == 404  # slugs only, never ids
    assert _history(client, "+14255550192") == []


def test_an_opted_out_number_comes_back_only_through_the_new_consent(
    client: httpx.Client, base_url: str, tenant: Tenant
) -> None:
    _registry(client)
    inbound(client, "+14255550193", SENDER, "STOP")
    url = f"/join/{tenant.slug}/alerts"
    with httpx.Client(base_url=base_url) as web:
        token = re.search(r'name="csrf_token" value="([^"]+)"', web.get(url).text)
        assert token is not None
        done = web.post(
            url, data={"csrf_token": token.group(1), "phone": "+14255550193", "consent": "yes"}
        )
    assert done.status_code == 200 and "You are subscribed" in done.text
    kinds = [event["kind"] for event in _history(client, "+14255550193")]
    # STOP before any consent; then the consent from the page, which lifts the program opt-out.
    assert kinds == ["opt_out_added", "consent_granted", "opt_out_removed"]
    check = client.post(
        "/v1/optouts:check", json={"from": SENDER, "recipients": [{"to": "+14255550193"}]}
    )
    assert check.json()["value"][0]["isOptedOut"] is False


def test_submissions_are_rate_limited_per_ip_and_per_number(
    service: Consentry, client: httpx.Client, tenant: Tenant
) -> None:
    _registry(client)
    app = create_app(service, optin_rate_limits=("3/minute", "1/hour"))
    with serving(app) as url, httpx.Client(base_url=url) as web:
        path = f"/join/{tenant.slug}/alerts"
        token = re.search(r'name="csrf_token" value="([^"]+)"', web.get(path).text)
        assert token is not None

        def submit(phone: str) -> int:
            form = {"csrf_token": token.group(1), "phone": phone, "consent": "yes"}
            return web.post(path, data=form).status_code

        assert submit("+14255550194") == 200
        assert submit("+14255550194") == 429  # the same number again within the hour
        assert submit("+14255550195") == 200
        assert submit("+14255550196") == 429  # fourth attempt from this address this minute
    assert len(_history(client, "+14255550196")) == 0


@pytest.mark.parametrize("kind", ["terms", "privacy"])
def test_hosted_documents_name_the_brand_and_program(
    client: httpx.Client, base_url: str, tenant: Tenant, kind: str
) -> None:
    _registry(client)
    page = httpx.get(f"{base_url}/join/{tenant.slug}/alerts/{kind}")
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "Acme acme" in text and "Acme alerts" in text
