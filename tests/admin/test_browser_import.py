"""A 20,000-row opt-out import in a real browser (Debian's chromium via Playwright), on SQLite
and PostgreSQL: the admin uploads the list, sees the preview, confirms, and watches the progress
bar rise (the page's script polls the job under the console's strict CSP) to the total, then the
counts, which match the database. Screenshots go under pytest's temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consentry import Consentry
from tests.admin.conftest import Account, browser_sign_in, save_screenshot
from tests.admin.test_import_jobs import ROWS, numbers


def test_admin_watches_a_large_import_progress(
    service: Consentry,
    base_url: str,
    account: Account,
    browser: Any,
    shots: Path,
    tmp_path: Path,
) -> None:
    listing = tmp_path / "optouts.csv"
    listing.write_text("phone\n" + "\n".join(numbers()) + "\n", encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        browser_sign_in(page, base_url, account.tenant.slug, account.emails["admin"])
        page.get_by_role("link", name="Opt-outs").click()
        page.get_by_role("link", name="Import a list").click()
        page.get_by_label("List file").set_input_files(str(listing))
        page.get_by_label("Stop messages from").select_option("tenant")
        page.get_by_label("Reason (required)").fill("the old CRM's do-not-text list")
        page.get_by_role("button", name="Preview").click()
        assert page.locator('[data-count="new"]').inner_text() == str(ROWS)
        page.get_by_role("button", name=f"Import {ROWS} new opt-outs").click()

        rows = page.locator("#import-rows")
        rows.wait_for(state="attached")
        assert rows.get_attribute("max") == str(ROWS)
        seen: list[int] = []
        for _ in range(1200):  # read the bar while the script moves it, until the import ends
            seen.append(int(rows.get_attribute("value") or "0"))
            if rows.get_attribute("data-state") != "running":
                seen.append(int(rows.get_attribute("value") or "0"))
                break
            if len(seen) == 2:
                save_screenshot(page, shots, "import-running-wide")
            page.wait_for_timeout(100)
        else:
            raise AssertionError(f"the import did not end: the bar read {seen[-5:]}")
        print(f"progress values read: {seen}")
        assert len(seen) >= 2
        assert seen == sorted(seen)  # the bar never goes back
        assert seen[-1] == ROWS == int(rows.get_attribute("max") or "0")
        assert rows.get_attribute("data-state") == "done"
        result = page.locator("#import-result").inner_text()
        assert result.startswith(f"Imported: {ROWS:,} new opt-outs (everything from this account)")
        assert page.locator('#import-result [data-result="added"]').inner_text() == f"{ROWS:,}"
        assert page.locator("#import-progress").get_attribute("value") == "3"
        assert page.locator("#import-progress-text").inner_text() == "imported"
        assert page.locator("#import-refresh").count() == 0
        assert service.count_optouts(account.tenant) == ROWS
        save_screenshot(page, shots, "import-committed-wide")

        page.reload()  # the server-rendered page says the same
        assert page.locator('#import-result [data-result="added"]').inner_text() == f"{ROWS:,}"
        assert blocked == []  # the console's own script ran under its CSP
    finally:
        page.close()
