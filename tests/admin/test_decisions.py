"""The decisions log page, on SQLite and PostgreSQL: every role reads it; it lists the tenant's
refused messages newest first with each finding's severity, message and citation; the rule,
action and recipient filters narrow it like the service does; another tenant's never show."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from markupsafe import escape

from consentry import Consentry
from tests.admin.conftest import (
    NIGHT_OWL,
    NO_CONSENT,
    OPTED_OUT,
    ROLES,
    Account,
    refuse_some,
    signed_in,
)

IDS = re.compile(r'data-decision="([^"]+)"')


def _ids(html: str) -> list[str]:
    return IDS.findall(html)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_the_log_newest_first(
    service: Consentry, base_url: str, account: Account, other_account: Account, role: str
) -> None:
    refuse_some(service, account)
    refuse_some(service, other_account)
    expected = [d.id for d in service.list_decisions(account.tenant)]
    assert len(expected) == 3
    theirs = {d.id for d in service.list_decisions(other_account.tenant)}
    with signed_in(base_url, account, role) as http:
        page = http.get(f"/admin/{account.tenant.slug}/decisions")
    assert page.status_code == 200
    assert _ids(page.text) == expected
    assert not theirs & set(_ids(page.text))
    assert f'href="/admin/{account.tenant.slug}/decisions" aria-current="page"' in page.text
    # each finding with its severity, message and citation (as the gate logged it)
    logged = service.list_decisions(account.tenant, rule_id="CONSENT-MISSING")[0].findings
    [citation] = [f["citation"] for f in logged if f["rule_id"] == "CONSENT-MISSING"]
    block = re.search(
        r'<li data-rule="CONSENT-MISSING" data-severity="block">(.*?)</li>', page.text, re.S
    )
    assert block, "no CONSENT-MISSING finding"
    assert "no consent from this recipient for this program" in block.group(1)
    assert str(escape(citation)) in block.group(1)
    assert 'data-rule="TIME-QUIET-HOURS" data-severity="defer"' in page.text
    assert "<script" not in page.text


FILTERS = [
    ({"rule": "OPTOUT-ACTIVE"}, {OPTED_OUT}),
    ({"rule": "CONSENT-MISSING"}, {NO_CONSENT, OPTED_OUT}),
    ({"rule": "TIME-QUIET-HOURS"}, {NIGHT_OWL}),
    ({"rule": "FREQ-CAP"}, set()),
    ({"action": "defer"}, {NIGHT_OWL}),
    ({"action": "block"}, {NO_CONSENT, OPTED_OUT}),
    ({"recipient": "(425) 555-0111"}, {NO_CONSENT}),
    ({"recipient": NIGHT_OWL, "action": "block"}, set()),
    ({"rule": "CONSENT-MISSING", "recipient": OPTED_OUT, "action": "block"}, {OPTED_OUT}),
]


@pytest.mark.parametrize(("query", "numbers"), FILTERS)
def test_filters_narrow_the_log(
    service: Consentry,
    base_url: str,
    account: Account,
    other_account: Account,
    query: dict[str, str],
    numbers: set[str],
) -> None:
    refuse_some(service, account)
    refuse_some(service, other_account)
    mine = {d.id: d.recipient for d in service.list_decisions(account.tenant)}
    with signed_in(base_url, account, "auditor") as http:
        page = http.get(f"/admin/{account.tenant.slug}/decisions", params=query)
    assert page.status_code == 200
    shown = _ids(page.text)
    assert {mine[i] for i in shown} == numbers
    assert len(shown) == len(numbers)
    if "rule" in query:
        assert f'<option value="{query["rule"]}" selected>' in page.text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"rule": "NO-SUCH-RULE"}, "rule"),
        ({"action": "allow"}, "action"),
        ({"recipient": "12"}, "recipient"),
    ],
)
def test_bad_filters_say_which(
    service: Consentry, base_url: str, account: Account, query: dict[str, str], field: str
) -> None:
    refuse_some(service, account)
    with signed_in(base_url, account, "agent") as http:
        page = http.get(f"/admin/{account.tenant.slug}/decisions", params=query)
    assert page.status_code == 422
    assert f'id="filter-{field}-error"' in page.text
    assert not _ids(page.text)


def test_the_recipient_page_links_to_its_refused_messages(
    service: Consentry, base_url: str, account: Account
) -> None:
    refuse_some(service, account)
    with signed_in(base_url, account, "agent") as http:
        page = http.get(f"/admin/{account.tenant.slug}/recipients/{quote(OPTED_OUT)}")
        assert page.status_code == 200
        link = re.search(r'<a href="([^"]+)" id="recipient-decisions">', page.text)
        assert link, "no link to the decisions log"
        log = http.get(link.group(1).replace("&amp;", "&"))
    assert log.status_code == 200
    [only] = service.list_decisions(account.tenant, recipient=OPTED_OUT)
    assert _ids(log.text) == [only.id]
    assert f'value="{OPTED_OUT}"' in log.text


def test_signed_out_goes_to_log_in(base_url: str, account: Account) -> None:
    import httpx

    with httpx.Client(base_url=base_url) as http:
        response = http.get(f"/admin/{account.tenant.slug}/decisions")
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/{account.tenant.slug}/login"
