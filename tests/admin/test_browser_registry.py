"""Brand and sender editing in a real browser (Debian's chromium via Playwright), on SQLite and
PostgreSQL: an admin on a phone-sized screen opens a brand from the registry, sees the sign-up
text's findings follow the terms address as it is typed, saves, and finds the change in the
history; then unticks a sender's verification and the send gate blocks it. Screenshots are saved
under pytest's temporary folder; their paths are printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consentry import Consentry
from tests.admin.conftest import (
    PHONE,
    SENDER,
    Account,
    browser_sign_in,
    fits_phone,
    save_screenshot,
)

NUMBER = "+14255550191"
CTA = "Acme alerts: order updates. Msg&data rates may apply. Reply STOP to cancel."
BODY = "Acme Coffee: your order shipped. Reply STOP to opt out, HELP for help."


def test_admin_edits_a_brand_and_a_sender_on_a_phone(
    service: Consentry, base_url: str, account: Account, browser: Any, shots: Path
) -> None:
    service.record_consent(
        account.tenant, NUMBER, account.program.id, medium="web_form", disclosure_text=CTA
    )
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
        browser_sign_in(page, base_url, account.tenant.slug, account.emails["admin"])
        assert page.locator("h1").inner_text() == "Dashboard"
        page.get_by_role("link", name="Programs").click()
        page.locator('a[data-edit-brand="coffee"]').click()
        assert page.locator("h1").inner_text() == "Edit brand Acme Coffee"
        assert page.locator("#lint-signup-alerts").inner_text().strip() == "No findings."

        terms = page.get_by_label("Terms page, https:// (empty: the hosted one)")
        terms.press_sequentially("see the shop", delay=20)
        # the sign-up text's findings follow the typing (the script asks the server)
        finding = page.locator('#lint-signup-alerts li[data-check="CTA-TERMS-LINK"]')
        finding.wait_for(state="visible", timeout=10_000)
        assert "block" in finding.inner_text()
        assert service.get_brand(account.tenant, "coffee").terms_url is None  # nothing sent
        fits_phone(page)
        save_screenshot(page, shots, "brand-edit-findings-phone")

        terms.fill("https://acme.example/sms-terms")
        finding.wait_for(state="detached", timeout=10_000)
        page.get_by_label("Support contact (given out by HELP, e.g. an e-mail address)").fill(
            "care@acme.example"
        )
        page.get_by_role("button", name="Save brand").click()
        assert page.locator("#saved").inner_text().startswith("Brand saved.")
        rows = page.locator("#history tbody tr")
        assert rows.count() == 2
        history = page.locator("#history").inner_text()
        assert "https://acme.example/sms-terms" in history and "care@acme.example" in history
        assert f"console:{account.emails['admin']}" in history
        fits_phone(page)
        save_screenshot(page, shots, "brand-saved-phone")
        stored = service.get_brand(account.tenant, "coffee")
        assert (stored.terms_url, stored.support_contact) == (
            "https://acme.example/sms-terms",
            "care@acme.example",
        )

        page.get_by_role("link", name="all brands").click()
        sender = service.get_sender(account.tenant, SENDER)
        page.locator(f'a[data-edit-sender="{sender.id}"]').click()
        assert page.locator("h1").inner_text() == f"Edit sender {SENDER}"
        page.get_by_label(
            "Verified (registered with the carriers; unverified senders are blocked)"
        ).uncheck()
        page.get_by_role("button", name="Save sender").click()
        assert page.locator("#saved").inner_text().startswith("Sender saved.")
        verified = page.locator('#history tr[data-field="verified"] td').all_inner_texts()
        assert verified[:4] == ["verified", "on", "off", f"console:{account.emails['admin']}"]
        fits_phone(page)
        save_screenshot(page, shots, "sender-saved-phone")
        decision = service.check_send(account.tenant, SENDER, NUMBER, "alerts", BODY)
        assert "SENDER-UNREGISTERED" in {f.rule_id for f in decision.findings}
        assert blocked == []  # the console's own script ran under its CSP
    finally:
        context.close()
