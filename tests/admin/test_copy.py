"""The console's copy checker, on SQLite and PostgreSQL: the linter's findings for pasted text,
and a program's hosted sign-up text as the starting point."""

from __future__ import annotations

import html
import re

from consentry.domain.cta import LintContext, lint
from tests.admin.conftest import Account, csrf_of, signed_in


def _checks(page: str) -> set[str]:
    return set(re.findall(r'<li data-check="([^"]+)"', page))


def test_findings_are_the_linters(base_url: str, account: Account) -> None:
    slug = account.tenant.slug
    text = "Get great deals from us! Text JOIN now."
    with signed_in(base_url, account, "auditor") as http:  # read-only roles may check copy
        token = csrf_of(http.get(f"/admin/{slug}/copy").text)
        page = http.post(
            f"/admin/{slug}/copy",
            data={"csrf_token": token, "kind": "cta", "program": account.program.id, "text": text},
        )
    assert page.status_code == 200
    expected = lint(
        "cta",
        text,
        LintContext(
            brand=account.brand.name,
            program=account.program.name,
            category=account.program.category,
            support_contact=account.brand.support_contact,
        ),
    )
    assert expected.findings  # the text lacks the STOP and HELP instructions, at least
    assert _checks(page.text) == {f.id for f in expected.findings}
    assert f"score {expected.score}/100" in page.text


def test_a_programs_hosted_sign_up_text_is_the_starting_point(
    base_url: str, account: Account
) -> None:
    slug = account.tenant.slug
    with signed_in(base_url, account, "agent") as http:
        form = http.get(f"/admin/{slug}/copy", params={"program": account.program.slug})
        found = re.search(r'<textarea id="copy-text"[^>]*>(.*?)</textarea>', form.text, re.S)
        assert found and "STOP" in found.group(1)
        page = http.post(
            f"/admin/{slug}/copy",
            data={
                "csrf_token": csrf_of(form.text),
                "kind": "cta",
                "program": account.program.id,
                "text": html.unescape(found.group(1)),
            },
        )
    assert page.status_code == 200
    assert "blocking" not in page.text  # what the hosted page shows passes the blocking checks


def test_checking_needs_the_csrf_token_and_some_text(base_url: str, account: Account) -> None:
    slug = account.tenant.slug
    with signed_in(base_url, account, "admin") as http:
        token = csrf_of(http.get(f"/admin/{slug}/copy").text)
        assert http.post(f"/admin/{slug}/copy", data={"text": "Reply STOP"}).status_code == 403
        empty = http.post(f"/admin/{slug}/copy", data={"csrf_token": token, "text": " "})
        assert empty.status_code == 422 and "Paste the text" in empty.text
