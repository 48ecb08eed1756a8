"""Opt-out import in the console, on SQLite and PostgreSQL: the preview changes nothing and
counts what the import will do; confirming imports all rows or none, in the user's name."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import sqlalchemy as sa

from consentry import Consentry
from consentry.domain.model import ScopeKind
from consentry.service import ScopeRef
from consentry.store.tables import consent_events
from tests.admin.conftest import SENDER, Account, csrf_of, signed_in

LIST = "phone\n+14255550301\n(425) 555-0302\n425.555.0303\n+14255550301\n+14255550304\n"


def _count(html: str, name: str) -> int:
    found = re.search(rf'data-count="{name}">(\d+)<', html)
    assert found, name
    return int(found.group(1))


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def wait_for_job(http: httpx.Client, job_url: str) -> list[dict[str, Any]]:
    """Poll an import job's JSON status until it ends; every status seen, the last one final."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120  # a bound on waiting, not an assertion about speed
    while time.monotonic() < deadline:
        response = http.get(job_url)
        assert response.status_code == 200, response.text
        seen.append(response.json())
        if seen[-1]["state"] != "running":
            return seen
        time.sleep(0.05)
    raise AssertionError(f"the import did not end: {seen[-1]}")


def confirm_import(http: httpx.Client, slug: str, data: dict[str, str]) -> httpx.Response:
    """Post the confirmation, wait until its job ends, and return the job's progress page."""
    started = http.post(f"/admin/{slug}/optouts/import", data=data)
    assert started.status_code == 303, started.text[:500]
    page = started.headers["location"]
    assert re.fullmatch(rf"/admin/{slug}/optouts/import/imp_[\w-]+/progress", page), page
    wait_for_job(http, page.removesuffix("/progress"))
    return http.get(page)


def test_preview_then_import(service: Consentry, base_url: str, account: Account) -> None:
    slug = account.tenant.slug
    scope = f"brand:{account.brand.id}"
    service.add_optouts(account.tenant, ["+14255550304"], scope=None, sender=SENDER)
    service.add_optouts(
        account.tenant, ["+14255550303"], scope=ScopeRef(ScopeKind.BRAND, account.brand.id)
    )
    before = service.count_optouts(account.tenant)
    with signed_in(base_url, account, "admin") as http:
        form = http.get(f"/admin/{slug}/optouts/import")
        assert form.status_code == 200
        preview = http.post(
            f"/admin/{slug}/optouts/import/preview",
            data={"csrf_token": csrf_of(form.text), "scope": scope, "reason": "old CRM export"},
            files={"file": ("list.csv", LIST.encode(), "text/csv")},
        )
        assert preview.status_code == 200, preview.text[:500]
        counts = {
            k: _count(preview.text, k)
            for k in ("rows", "valid", "rejected", "duplicates", "already", "new")
        }
        # +0304 is opted out at a sender only: the brand scope is new for it
        assert counts == {
            "rows": 5,
            "valid": 5,
            "rejected": 0,
            "duplicates": 1,
            "already": 1,
            "new": 3,
        }
        assert service.count_optouts(account.tenant) == before  # the preview changed nothing
        done = confirm_import(
            http,
            slug,
            {
                "csrf_token": csrf_of(preview.text),
                "numbers": _hidden(preview.text, "numbers"),
                "scope": _hidden(preview.text, "scope"),
                "reason": _hidden(preview.text, "reason"),
            },
        )
        assert done.status_code == 200
        assert re.search(r'Imported: <span data-result="added">3</span> new opt-outs', done.text)
    assert service.count_optouts(account.tenant) == before + 3
    with service.engine.connect() as conn:
        actors = conn.execute(
            sa.select(consent_events.c.actor, consent_events.c.reason).where(
                consent_events.c.tenant_id == account.tenant.id,
                consent_events.c.kind == "opt_out_added",
                consent_events.c.scope_kind == "brand",
                consent_events.c.recipient != "+14255550303",
            )
        ).all()
    assert len(actors) == 3
    assert set(actors) == {(f"console:{account.emails['admin']}", "old CRM export")}


def test_a_rejected_row_blocks_the_import(
    service: Consentry, base_url: str, account: Account
) -> None:
    slug = account.tenant.slug
    with signed_in(base_url, account, "admin") as http:
        form = http.get(f"/admin/{slug}/optouts/import")
        preview = http.post(
            f"/admin/{slug}/optouts/import/preview",
            data={"csrf_token": csrf_of(form.text), "scope": "tenant", "reason": "list"},
            files={"file": ("list.txt", b"+14255550311\nnot a number\n", "text/plain")},
        )
    assert preview.status_code == 200
    assert _count(preview.text, "rejected") == 1
    assert "not a number" in preview.text and 'id="confirm-form"' not in preview.text
    assert service.count_optouts(account.tenant) == 0


def test_the_upload_is_checked(base_url: str, account: Account) -> None:
    slug = account.tenant.slug
    with signed_in(base_url, account, "admin") as http:
        token = csrf_of(http.get(f"/admin/{slug}/optouts/import").text)
        cases = [
            ({"scope": "tenant", "reason": ""}, b"+14255550321\n", "a reason is required"),
            ({"scope": "brand:nope", "reason": "x"}, b"+14255550321\n", "Choose where"),
            ({"scope": "tenant", "reason": "x"}, b"", "it is empty"),
            ({"scope": "tenant", "reason": "x"}, b"\xff\xfe\x00bad", "not UTF-8"),
            ({"scope": "tenant", "reason": "x", "format": "aws"}, b"not json", "JSON"),
        ]
        for data, payload, message in cases:
            response = http.post(
                f"/admin/{slug}/optouts/import/preview",
                data={"csrf_token": token, **data},
                files={"file": ("list.csv", payload, "text/csv")},
            )
            assert response.status_code == 422, data
            assert message in response.text, (message, data)


def test_only_admins_import(base_url: str, account: Account) -> None:
    slug = account.tenant.slug
    for role in ("agent", "auditor"):
        with signed_in(base_url, account, role) as http:
            assert http.get(f"/admin/{slug}/optouts/import").status_code == 403
            token = csrf_of(http.get(f"/admin/{slug}/").text)
            response = http.post(
                f"/admin/{slug}/optouts/import",
                data={
                    "csrf_token": token,
                    "numbers": "+14255550331",
                    "scope": "tenant",
                    "reason": "x",
                },
            )
            assert response.status_code == 403


def _progress(html: str) -> tuple[str, str]:
    found = re.search(
        r'<progress id="import-progress" max="3" value="(\d)" data-step="(\w+)">', html
    )
    assert found, "no import progress"
    return found.group(1), found.group(2)


def test_the_progress_element_follows_the_steps(base_url: str, account: Account) -> None:
    slug = account.tenant.slug
    with signed_in(base_url, account, "admin") as http:
        form = http.get(f"/admin/{slug}/optouts/import")
        assert _progress(form.text) == ("0", "upload")
        assert '<script src="/admin/_static/import-progress.js" defer></script>' in form.text
        token = csrf_of(form.text)
        preview = http.post(
            f"/admin/{slug}/optouts/import/preview",
            data={"csrf_token": token, "scope": "tenant", "reason": "shop forms"},
            files={"file": ("list.csv", LIST.encode(), "text/csv")},
        )
        assert _progress(preview.text) == ("1", "preview")
        assert 'data-busy-text="Importing 4 opt-outs in one transaction…"' in preview.text
        done = confirm_import(
            http,
            slug,
            {
                "csrf_token": token,
                "numbers": _hidden(preview.text, "numbers"),
                "scope": "tenant",
                "reason": "shop forms",
            },
        )
        assert done.status_code == 200
        assert _progress(done.text) == ("3", "done")
        script = http.get("/admin/_static/import-progress.js")
        assert script.status_code == 200 and "import-progress" in script.text
