"""The console in a real browser (Debian's chromium via Playwright), on SQLite and PostgreSQL:
an agent signs in on a phone-sized screen, looks a number up, opts it out with a note, sees it
in the history and in the dashboard's counts, and cannot reach another tenant's data. Screenshots
of the main pages are saved under pytest's temporary folder; their paths are printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consentry import Consentry
from tests.admin.conftest import (
    PASSWORD,
    PHONE,
    SENDER,
    Account,
    browser_sign_in,
    fits_phone,
    save_screenshot,
)

NUMBER = "+14255550190"
CTA = "Acme alerts: order updates. Msg&data rates may apply. Reply STOP to cancel."


def _metric(page: Any, metric: str) -> str:
    text: str = page.locator(f'tr[data-program="alerts"] td[data-metric="{metric}"]').inner_text()
    return text.strip()


def test_agent_looks_up_and_opts_out_in_a_browser(
    service: Consentry,
    base_url: str,
    account: Account,
    other_account: Account,
    browser: Any,
    shots: Path,
) -> None:
    slug = account.tenant.slug
    service.record_consent(
        account.tenant, NUMBER, account.program.id, medium="web_form", disclosure_text=CTA
    )
    theirs = service.receive_inbound(other_account.tenant, SENDER, NUMBER, "wrong number")
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(f"{base_url}/admin/{slug}/")  # not signed in: the log-in page
        assert page.locator("h1").inner_text().startswith("Sign in to")
        page.get_by_label("E-mail address").fill(account.emails["agent"])
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        assert page.locator("#login-error").inner_text() == "Wrong e-mail address or password."
        save_screenshot(page, shots, "login-error-phone")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        assert page.locator("h1").inner_text() == "Dashboard"
        assert (_metric(page, "opt_ins"), _metric(page, "opt_outs")) == ("1", "0")
        fits_phone(page)
        save_screenshot(page, shots, "dashboard-phone")

        page.get_by_role("link", name="Look up").click()
        page.get_by_label("Phone number").fill("(425) 555-0190")
        page.keyboard.press("Enter")  # the form works from the keyboard
        assert page.locator("#recipient-number").inner_text() == NUMBER
        assert "active" in page.locator("#consents").inner_text()
        fits_phone(page)

        note = "Customer called and asked to stop the order texts"
        page.get_by_label("Stop messages from").select_option(f"program:{account.program.id}")
        page.get_by_label("Note (required): what the customer asked").fill(note)
        page.get_by_role("button", name="Opt out").click()
        assert page.get_by_role("status").inner_text() == "Opt-out recorded."
        latest = page.locator("#timeline li").first
        assert latest.get_attribute("data-kind") in ("opt_out_added", "consent_revoked")
        timeline = page.locator("#timeline").inner_text()
        assert note in timeline and f"console:{account.emails['agent']}" in timeline
        assert "revoked" in page.locator("#consents").inner_text()
        fits_phone(page)
        save_screenshot(page, shots, "recipient-phone")

        page.get_by_role("link", name="Dashboard").click()
        assert (_metric(page, "opt_ins"), _metric(page, "opt_outs")) == ("1", "1")

        page.get_by_role("link", name="Opt-outs").click()
        assert NUMBER in page.locator("#optout-list").inner_text()
        fits_phone(page)
        save_screenshot(page, shots, "optouts-phone")

        # the other tenant's reply id under my tenant: not found; their console: their log-in
        response = page.goto(f"{base_url}/admin/{slug}/inbound/{theirs.inbound_id}")
        assert response is not None and response.status == 404
        assert "wrong number" not in page.content()
        page.goto(f"{base_url}/admin/{other_account.tenant.slug}/review")
        assert page.url.endswith(f"/admin/{other_account.tenant.slug}/login")
        assert theirs.inbound_id not in page.content()

        page.goto(f"{base_url}/admin/{slug}/")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    finally:
        context.close()


def test_dashboard_on_a_wide_screen(
    service: Consentry, base_url: str, account: Account, browser: Any, shots: Path
) -> None:
    service.record_consent(
        account.tenant, NUMBER, account.program.id, medium="web_form", disclosure_text=CTA
    )
    service.receive_inbound(account.tenant, SENDER, NUMBER, "STOP")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        browser_sign_in(page, base_url, account.tenant.slug, account.emails["auditor"])
        assert page.locator("svg.chart").count() == 4
        assert page.get_by_role("img", name="Inbound replies per day, by kind").is_visible()
        assert _metric(page, "opt_outs") == "1"
        assert page.locator("#optout-form").count() == 0  # auditors see no write forms
        save_screenshot(page, shots, "dashboard-wide")
        page.goto(f"{base_url}/admin/{account.tenant.slug}/recipients/{NUMBER}")
        assert page.locator("#optout-form").count() == 0
        save_screenshot(page, shots, "recipient-auditor-wide")
    finally:
        page.close()


def test_admin_imports_a_list_on_a_phone(
    service: Consentry, base_url: str, account: Account, browser: Any, shots: Path, tmp_path: Path
) -> None:
    listing = tmp_path / "optouts.csv"
    listing.write_text("phone\n+14255550401\n(425) 555-0402\n+14255550401\n", encoding="utf-8")
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    page = context.new_page()
    try:
        browser_sign_in(page, base_url, account.tenant.slug, account.emails["admin"])
        page.get_by_role("link", name="Opt-outs").click()
        page.get_by_role("link", name="Import a list").click()
        page.get_by_label("List file").set_input_files(str(listing))
        page.get_by_label("Stop messages from").select_option("tenant")
        page.get_by_label("Reason (required)").fill("paper forms from the shop")
        page.get_by_role("button", name="Preview").click()
        assert page.locator('[data-count="new"]').inner_text() == "2"
        assert page.locator('[data-count="duplicates"]').inner_text() == "1"
        assert service.count_optouts(account.tenant) == 0  # the preview changes nothing
        assert page.locator("#import-progress").get_attribute("value") == "1"
        fits_phone(page)
        save_screenshot(page, shots, "import-preview-phone")
        page.get_by_role("button", name="Import 2 new opt-outs").click()
        assert "Imported: 2 new opt-outs" in page.locator("#import-result").inner_text()
        assert service.count_optouts(account.tenant) == 2
        assert page.locator("#import-progress").get_attribute("value") == "3"
        assert page.locator("#import-progress-text").inner_text() == "imported"
        page.get_by_role("link", name="Review queue").click()
        fits_phone(page)
        page.get_by_role("link", name="Check copy").click()
        page.get_by_label("Text (plain text or HTML)").fill("Get deals! Text JOIN.")
        page.get_by_role("button", name="Check").click()
        assert page.locator("#findings li").count() > 0
        fits_phone(page)
        save_screenshot(page, shots, "copy-check-phone")
    finally:
        context.close()


def _sign_in(page: Any, base_url: str, account: Account, role: str) -> None:
    browser_sign_in(page, base_url, account.tenant.slug, account.emails[role])
    assert page.locator("h1").inner_text() == "Dashboard"


def test_admin_edits_a_program_with_live_findings(
    service: Consentry, base_url: str, account: Account, browser: Any, shots: Path
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    page = context.new_page()
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        _sign_in(page, base_url, account, "admin")
        page.get_by_role("link", name="Programs").click()
        page.locator('a[data-edit="alerts"]').click()
        assert page.locator("h1").inner_text() == f"Edit program {account.program.name}"
        page.get_by_label("Message frequency (e.g. Up to 4 msgs/month)").fill("Up to 2 msgs/week")
        reply = page.get_by_label("Opt-out (STOP) reply, one segment (empty: the default)")
        reply.press_sequentially("ok bye", delay=30)
        # the findings appear as one types, before anything is sent (the script asks the server)
        finding = page.locator('#lint-opt_out_reply li[data-check="TEMPLATE-OPT-OUT-CONFIRMED"]')
        finding.wait_for(state="visible", timeout=10_000)
        assert "block" in finding.inner_text()
        assert page.locator('#lint-opt_out_reply li[data-check="TEMPLATE-BRAND"]').count() == 1
        assert "saved" not in page.url
        assert service.get_program(account.tenant, "alerts").frequency is None  # not yet sent
        fits_phone(page)
        save_screenshot(page, shots, "program-edit-findings-phone")
        reply.fill("Acme Coffee: you are unsubscribed and will get no more messages.")
        page.locator('#lint-opt_out_reply li[data-check="TEMPLATE-OPT-OUT-CONFIRMED"]').wait_for(
            state="detached", timeout=10_000
        )
        page.get_by_role("button", name="Save settings").click()
        assert page.locator("#saved").inner_text().startswith("Settings saved.")
        stored = service.get_program(account.tenant, "alerts")
        assert stored.frequency == "Up to 2 msgs/week"
        assert (
            stored.opt_out_reply
            == "Acme Coffee: you are unsubscribed and will get no more messages."
        )
        assert blocked == []  # the console's own script ran under its CSP
    finally:
        context.close()


def test_decisions_log_in_a_browser(
    service: Consentry, base_url: str, account: Account, browser: Any, shots: Path
) -> None:
    from tests.admin.conftest import OPTED_OUT, refuse_some

    refuse_some(service, account)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        _sign_in(page, base_url, account, "auditor")
        assert page.locator("#rule-totals tr[data-rule]").count() >= 3
        assert page.get_by_role("img", name="Blocked and deferred messages per rule").is_visible()
        save_screenshot(page, shots, "dashboard-decisions-wide")
        page.get_by_role("link", name="Decisions", exact=True).click()
        assert page.locator("#decisions > li[data-decision]").count() == 3
        page.get_by_label("Rule").select_option("OPTOUT-ACTIVE")
        page.get_by_role("button", name="Filter").click()
        assert page.locator("#decisions > li[data-decision]").count() == 1
        assert OPTED_OUT in page.locator("#decisions").inner_text()
        assert "OPTOUT-ACTIVE" in page.locator("#decisions .findings").first.inner_text()
        save_screenshot(page, shots, "decisions-wide")
        page.locator("#decisions > li a").first.click()
        assert page.locator("#recipient-number").inner_text() == OPTED_OUT
        page.locator("#recipient-decisions").click()
        assert page.locator("#decisions > li[data-decision]").count() == 1
    finally:
        page.close()
