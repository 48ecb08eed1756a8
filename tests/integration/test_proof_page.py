"""The proof page in a real browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.helpers import create_registry

HOSTILE = (
    'Join Acme alerts <script>window.pwned = true</script> <img src=x onerror="window.pwned=true">'
)


def test_the_proof_page_shows_the_history_and_runs_no_injected_script(
    client: httpx.Client, base_url: str, browser: Any
) -> None:
    create_registry(client, sender="+12065550100")
    response = client.post(
        "/v1/consents",
        json={
            "recipient": "+14255550123",
            "program": "alerts",
            "medium": "web_form",
            "disclosure_text": HOSTILE,
            "ip_address": "203.0.113.7",
        },
    )
    assert response.status_code == 201, response.text
    client.post("/v1/inbound", json={"from": "+14255550123", "to": "+12065550100", "body": "STOP"})

    page = browser.new_page()
    page.set_extra_http_headers({"Authorization": client.headers["Authorization"]})
    page.goto(f"{base_url}/v1/recipients/+14255550123/proof?format=html")
    assert page.title() == "Consent proof for +14255550123"
    assert page.evaluate("window.pwned === undefined")
    body = page.inner_text("body")
    assert "chain links and hashes check out" in body
    assert "<script>window.pwned = true</script>" in body  # shown as text, not run
    assert "203.0.113.7" in body
    rows = page.locator("tbody tr")
    assert rows.count() == 3  # consent granted, opt-out added, consent revoked
    assert [rows.nth(i).locator("td").nth(2).inner_text() for i in range(3)] == [
        "consent_granted",
        "opt_out_added",
        "consent_revoked",
    ]
    headers = page.locator("th[scope=col]")
    assert headers.count() == 7
    page.close()
