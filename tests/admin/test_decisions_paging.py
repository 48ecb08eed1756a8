"""Keyset pages of the decisions log, on SQLite and PostgreSQL: the console's "older" / "newer"
links and ``GET /v1/decisions?before=``. Walking the pages shows every entry exactly once, in the
log's order, with the filters kept, also when refusals are logged between page loads and when a
page ends inside a batch (one batch shares one time); bad cursors answer 422 naming the field;
the list body of the API stays as it was (the cursor travels in headers)."""

from __future__ import annotations

import base64
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consentry import Consentry
from consentry.service import SendRequest
from consentry.service._decisions import decision_cursor
from consentry.store import decisions as decision_store
from consentry.store.tables import decisions as decisions_table
from tests.admin.conftest import SENDER, Account, refuse_some, signed_in

BODY = "Acme Coffee: your order shipped. Reply STOP to opt out, HELP for help."
IDS = re.compile(r'data-decision="([^"]+)"')
LINK = re.compile(r'<a href="([^"]+)" rel="(?:next|prev)" id="(older|newer)-page">')


def refuse(service: Consentry, account: Account, count: int, first: int) -> None:
    """One batch of ``count`` messages to numbers without consent: ``count`` refusals that share
    one ``decided_at``."""
    requests = [
        SendRequest(SENDER, f"+1425555{first + i:04d}", account.program.id, BODY)
        for i in range(count)
    ]
    service.check_batch(account.tenant, requests)
    service.flush_decisions()


def _links(html: str) -> dict[str, str]:
    return {kind: href.replace("&amp;", "&") for href, kind in LINK.findall(html)}


def _walk_older(http: httpx.Client, url: str) -> tuple[list[list[str]], list[str]]:
    """Follow the "older" links from ``url``; the ids of each page and each page's URL."""
    pages: list[list[str]] = []
    urls: list[str] = []
    while url:
        page = http.get(url)
        assert page.status_code == 200, page.text[:300]
        pages.append(IDS.findall(page.text))
        urls.append(url)
        url = _links(page.text).get("older", "")
        assert len(pages) < 20
    return pages, urls


def test_console_pages_cover_every_entry_once_with_inserts_between_loads(
    service: Consentry, base_url: str, account: Account
) -> None:
    for batch in range(3):  # 3 x 90: page boundaries fall inside batches
        refuse(service, account, 90, 300 + batch * 100)
    expected = [d.id for d in service.list_decisions(account.tenant, limit=1000)]
    assert len(expected) == 270
    slug = account.tenant.slug
    with signed_in(base_url, account, "auditor") as http:
        first = http.get(f"/admin/{slug}/decisions")
        assert first.status_code == 200
        assert IDS.findall(first.text) == expected[:100]
        assert "newer" not in _links(first.text)
        refuse(service, account, 30, 700)  # logged after the first page was shown
        pages, urls = _walk_older(http, _links(first.text)["older"])
        seen = IDS.findall(first.text) + [i for page in pages for i in page]
        assert seen == expected  # every entry once, in order; the new ones not in older pages
        assert [len(p) for p in pages] == [100, 70]
        # back up with "newer": the page above the last one is the second page again
        last = http.get(urls[-1])
        newer = http.get(_links(last.text)["newer"])
        assert IDS.findall(newer.text) == expected[100:200]
        # the page above that is the first page as it was shown (keyed on its entries) ...
        above = http.get(_links(newer.text)["newer"])
        assert IDS.findall(above.text) == expected[:100]
        # ... and above it, fewer than a page: the newest page, the 30 new refusals on top
        top = http.get(_links(above.text)["newer"])
        now = [d.id for d in service.list_decisions(account.tenant, limit=1000)]
        assert now[30:] == expected
        assert IDS.findall(top.text) == now[:100]
        assert "newer" not in _links(top.text)
        assert 'id="decision-count"' in top.text and "(100 a page)" in top.text


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ({"action": "block"}, "action=block"),
        ({"rule": "CONSENT-MISSING"}, "rule=CONSENT-MISSING"),
        ({"rule": "CONSENT-MISSING", "action": "block"}, "rule=CONSENT-MISSING&action=block"),
    ],
)
def test_filters_are_kept_across_pages(
    service: Consentry,
    base_url: str,
    account: Account,
    query: dict[str, str],
    kept: str,
) -> None:
    refuse(service, account, 150, 300)
    refuse_some(service, account)  # one deferral and two more blocks (other rules)
    slug = account.tenant.slug
    wanted = service.list_decisions(
        account.tenant,
        rule_id=query.get("rule"),
        action=query.get("action"),
        limit=1000,
    )
    with signed_in(base_url, account, "agent") as http:
        first = http.get(f"/admin/{slug}/decisions", params=query)
        older = _links(first.text)["older"]
        assert kept in older
        pages, urls = _walk_older(http, older)
    assert all(kept in url for url in urls)
    assert IDS.findall(first.text) + [i for p in pages for i in p] == [d.id for d in wanted]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "x" * 200,
        base64.urlsafe_b64encode(b"2026-01-01T00:00:00|dec_x").decode(),  # no time zone
        base64.urlsafe_b64encode(b"dec_x|2026-01-01T00:00:00+00:00").decode(),
        base64.urlsafe_b64encode(b"2026-01-01T00:00:00+00:00|dec x").decode(),
        base64.urlsafe_b64encode(b"0001-01-01T00:00:00+05:00|dec_x").decode(),  # before year 1
        base64.urlsafe_b64encode("2026-01-01T00:00:00+00:00|dëc".encode()).decode(),
        "é",
    ],
)
def test_bad_cursors_are_refused_naming_the_field(
    service: Consentry, base_url: str, account: Account, cursor: str
) -> None:
    refuse(service, account, 3, 300)
    with httpx.Client(base_url=base_url, timeout=30) as api:
        api.headers["Authorization"] = f"Bearer {account.api_key}"
        response = api.get("/v1/decisions", params={"before": cursor})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == "before"
    with signed_in(base_url, account, "auditor") as http:
        for name in ("before", "after"):
            page = http.get(f"/admin/{account.tenant.slug}/decisions", params={name: cursor})
            assert page.status_code == 422
            assert 'id="page-error"' in page.text and not IDS.findall(page.text)


def test_api_pages_with_before_and_headers_through_a_batch(
    service: Consentry, base_url: str, account: Account, other_account: Account
) -> None:
    refuse(service, account, 30, 300)  # one batch: thirty entries with one decided_at
    refuse(service, other_account, 5, 300)
    expected = [d.id for d in service.list_decisions(account.tenant, limit=1000)]
    with httpx.Client(base_url=base_url, timeout=30) as api:
        api.headers["Authorization"] = f"Bearer {account.api_key}"
        seen: list[str] = []
        params: dict[str, Any] = {"limit": 7, "action": "block"}
        for _ in range(10):
            response = api.get("/v1/decisions", params=params)
            assert response.status_code == 200, response.text
            body = response.json()
            assert isinstance(body, list)  # the body is the same list as before paging
            seen += [d["id"] for d in body]
            cursor = response.headers.get("x-next-cursor")
            if cursor is None:
                assert "link" not in response.headers
                break
            link = response.links["next"]["url"]
            assert link.startswith("/v1/decisions?") and "action=block" in link
            assert f"before={cursor}" in link
            params = {**params, "before": cursor}
        assert seen == expected  # 7 + 7 + 7 + 7 + 2, every one once, in order
        whole = api.get("/v1/decisions", params={"limit": 30})
        assert "x-next-cursor" not in whole.headers  # exactly one page: nothing older


# --- the store's keyset query as a property ---------------------------------------------------

_T0 = datetime(2026, 3, 1, tzinfo=UTC)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.integers(min_value=0, max_value=5), min_size=0, max_size=40),
    st.integers(min_value=1, max_value=9),
)
def test_walking_pages_either_way_yields_the_log_in_order(
    service: Consentry, seconds: list[int], size: int
) -> None:
    tenant, _key = service.create_tenant("Paging", slug=f"p-{secrets.token_hex(5)}")
    rows = [
        {
            "tenant_id": tenant.id,
            "decision_id": f"dec_{secrets.token_hex(8)}",
            "decided_at": _T0 + timedelta(seconds=s, microseconds=7),  # many ties
            "send_at": _T0,
            "sender": SENDER,
            "recipient": "+14255550300",
            "program_id": "prg_x",
            "category": "informational",
            "action": "block",
            "defer_until": None,
            "findings": [],
        }
        for s in seconds
    ]
    with service.engine.begin() as conn:
        if rows:
            conn.execute(sa.insert(decisions_table), rows)
    order = [
        r["decision_id"]
        for r in sorted(rows, key=lambda r: (-r["decided_at"].timestamp(), r["decision_id"]))
    ]
    with service.engine.connect() as conn:
        assert [d.id for d in decision_store.listed(conn, tenant.id, limit=1000)] == order
    # older and older: every entry once, in the log's order
    page = service.decisions_page(tenant, limit=size)
    walked = [d.id for d in page.decisions]
    while page.older is not None:
        page = service.decisions_page(tenant, before=page.older, limit=size)
        assert page.decisions and page.newer is not None
        walked += [d.id for d in page.decisions]
    assert walked == order
    # and back with "newer" from the oldest page: every entry again, ending at the newest page
    back = [d.id for d in page.decisions]
    while page.newer is not None:
        page = service.decisions_page(tenant, after=page.newer, limit=size)
        back = [d.id for d in page.decisions if d.id not in back] + back
    assert back == order
    assert [d.id for d in page.decisions] == order[:size]


def test_a_cursor_names_an_entry_not_a_tenant(
    service: Consentry, account: Account, other_account: Account
) -> None:
    """A cursor is a place in the order only: used in another tenant it shows that tenant's
    own entries older than that place, never the first tenant's."""
    refuse(service, account, 5, 300)
    refuse(service, other_account, 5, 300)
    mine = service.decisions_page(account.tenant, limit=2)
    assert mine.older is not None
    theirs = service.decisions_page(other_account.tenant, before=mine.older, limit=100)
    own = {d.id for d in service.list_decisions(other_account.tenant)}
    assert {d.id for d in theirs.decisions} <= own
    assert decision_cursor(mine.decisions[-1]) == mine.older
