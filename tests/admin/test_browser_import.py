"""A 20,000-row opt-out import in a real browser (Debian's chromium via Playwright), on SQLite
and PostgreSQL: the admin uploads the list, sees the preview, confirms, and watches the progress
bar rise (the page's script polls the job under the console's strict CSP) to the total, then the
counts, which match the database. Screenshots go under pytest's temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from consentry import Consentry
from tests.admin.conftest import PASSWORD, Account
from tests.admin.test_import_jobs import ROWS, numbers


@pytest.fixture
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("admin-screenshots")


def _save(page: Any, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    print(f"screenshot: {path}")


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
        page.goto(f"{base_url}/admin/{account.tenant.slug}/login")
        page.get_by_label("E-mail address").fill(account.emails["admin"])
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
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
                _save(page, shots, "import-running-wide")
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
        _save(page, shots, "import-committed-wide")

        page.reload()  # the server-rendered page says the same
        assert page.locator('#import-result [data-result="added"]').inner_text() == f"{ROWS:,}"
        assert blocked == []  # the console's own script ran under its CSP
    finally:
        page.close()
