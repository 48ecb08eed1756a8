"""User management in a real browser (Debian's chromium via Playwright), on SQLite and
PostgreSQL: an admin adds a user on the users page; the new user signs in in a second browser
context on a phone-sized screen, changes their password, signs out; the old password is refused
and the new one lets them in. Screenshots are saved under pytest's temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consentry import Consentry
from tests.admin.conftest import (
    PASSWORD,
    PHONE,
    Account,
    browser_sign_in,
    fits_phone,
    save_screenshot,
)

FIRST = "first passphrase for bo"
SECOND = "second passphrase for bo"


def test_admin_adds_a_user_who_changes_their_password(
    service: Consentry, base_url: str, account: Account, browser: Any, shots: Path
) -> None:
    slug = account.tenant.slug
    email = f"bo@{slug}.example"
    admin_context = browser.new_context(viewport={"width": 1280, "height": 900})
    user_context = browser.new_context(viewport=PHONE, is_mobile=True)
    try:
        admin = admin_context.new_page()
        browser_sign_in(admin, base_url, slug, account.emails["admin"], PASSWORD)
        admin.get_by_role("link", name="Users", exact=True).click()
        assert admin.locator("h1").inner_text() == "Users"
        assert admin.locator("#user-list tbody tr").count() == 3
        admin.get_by_label("E-mail address (their log-in)").fill(email)
        admin.get_by_label("Role").select_option("agent")
        admin.get_by_label("Initial password (at least 12 characters)").fill(FIRST)
        admin.get_by_label("Initial password again").fill(FIRST)
        admin.get_by_role("button", name="Add user").click()
        assert admin.locator("#done").inner_text() == "User created. They can sign in now."
        assert admin.locator('[data-field="role"]').inner_text() == "agent"
        save_screenshot(admin, shots, "user-created-wide")

        # the new user, in another browser: signs in, changes the password, signs out
        page = user_context.new_page()
        browser_sign_in(page, base_url, slug, email, FIRST)
        assert page.locator("h1").inner_text() == "Dashboard"
        assert (
            page.get_by_role("link", name="Users", exact=True).count() == 0
        )  # agents manage no users
        page.get_by_role("link", name="Your password").click()
        page.get_by_label("Current password").fill(FIRST)
        page.get_by_label("New password (at least 12 characters)").fill(SECOND)
        page.get_by_label("New password again").fill(SECOND)
        page.get_by_role("button", name="Change password").click()
        assert page.locator("#done").inner_text().startswith("Password changed.")
        fits_phone(page)
        save_screenshot(page, shots, "password-changed-phone")
        page.get_by_role("button", name="Sign out").click()
        assert page.url.endswith(f"/admin/{slug}/login")

        browser_sign_in(page, base_url, slug, email, FIRST)  # the old password: refused
        assert page.locator("#login-error").inner_text() == "Wrong e-mail address or password."
        browser_sign_in(page, base_url, slug, email, SECOND)
        assert page.locator("h1").inner_text() == "Dashboard"

        # the admin sees the user signed in (one session), then disables them
        admin.get_by_role("link", name="Users", exact=True).click()
        row = admin.locator(f'#user-list tr[data-user="{email}"]')
        assert "1 session" in row.inner_text()
        row.get_by_role("link", name=email).click()
        admin.get_by_role("button", name=f"Disable {email}").click()
        assert "their sessions have ended" in admin.locator("#done").inner_text()
        page.reload()  # their next request: the log-in page
        assert page.url.endswith(f"/admin/{slug}/login")
    finally:
        user_context.close()
        admin_context.close()
    assert service.get_user(account.tenant, email).disabled_at is not None
