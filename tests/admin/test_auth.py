"""Console log-in over a real HTTP server, on SQLite and PostgreSQL: wrong passwords, lock-out,
session expiry, cookie flags, CSRF, roles enforced on every route, and tenant isolation."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from consentry import Consentry
from consentry.store.tables import admin_sessions, consent_events
from tests.admin.conftest import (
    PASSWORD,
    Account,
    MovableClock,
    csrf_of,
    log_in,
    signed_in,
)

GENERIC = "Wrong e-mail address or password."


def test_sign_in_with_the_right_password_and_out_again(
    http: httpx.Client, account: Account
) -> None:
    slug = account.tenant.slug
    assert http.get(f"/admin/{slug}/").headers["location"] == f"/admin/{slug}/login"
    response = log_in(http, slug, account.emails["agent"].upper())  # addresses ignore case
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/{slug}/"
    page = http.get(f"/admin/{slug}/")
    assert page.status_code == 200
    assert account.emails["agent"] in page.text and "(agent)" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    logout = http.post(f"/admin/{slug}/logout", data={"csrf_token": csrf_of(page.text)})
    assert logout.status_code == 303
    assert http.get(f"/admin/{slug}/").status_code == 303  # back to the log-in page


@pytest.mark.parametrize(
    ("who", "password"),
    [("agent", "wrong password!!"), ("nobody", PASSWORD), ("agent", ""), ("", "")],
)
def test_every_refusal_reads_the_same(
    http: httpx.Client, account: Account, who: str, password: str
) -> None:
    email = account.emails.get(who, f"{who}@nowhere.example" if who else "")
    response = log_in(http, account.tenant.slug, email, password)
    assert response.status_code == 401
    assert GENERIC in response.text
    assert "consentry_admin=" not in response.headers.get("set-cookie", "")


def test_session_cookie_flags(http: httpx.Client, account: Account) -> None:
    response = log_in(http, account.tenant.slug, account.emails["admin"])
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("consentry_admin=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in flags
    assert "samesite=strict" in flags
    assert f"path=/admin/{account.tenant.slug}" in flags
    assert "secure" not in flags  # plain http here


def test_session_cookie_is_secure_over_https(http: httpx.Client, account: Account) -> None:
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1, as behind a local TLS proxy
    form = http.get(f"/admin/{account.tenant.slug}/login")
    response = http.post(
        f"/admin/{account.tenant.slug}/login",
        data={
            "email": account.emails["admin"],
            "password": PASSWORD,
            "csrf_token": csrf_of(form.text),
        },
        headers={"X-Forwarded-Proto": "https"},
    )
    assert response.status_code == 303
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("consentry_admin=")
    )
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


def test_the_store_keeps_only_a_hash_of_the_session_token(
    service: Consentry, http: httpx.Client, account: Account
) -> None:
    log_in(http, account.tenant.slug, account.emails["admin"])
    token = http.cookies["consentry_admin"]
    with service.engine.connect() as conn:
        stored = (
            conn.execute(
                sa.select(admin_sessions.c.token_hash).where(
                    admin_sessions.c.tenant_id == account.tenant.id
                )
            )
            .scalars()
            .all()
        )
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64


def test_lock_out_after_five_failures_then_unlock(
    timed: tuple[Consentry, str], clock: MovableClock, account: Account
) -> None:
    _service, url = timed
    slug = account.tenant.slug
    with httpx.Client(base_url=url, timeout=30) as http:
        for _ in range(5):
            assert (
                log_in(http, slug, account.emails["admin"], "not the password").status_code == 401
            )
        locked = log_in(http, slug, account.emails["admin"])  # the right password, too late
        assert locked.status_code == 429
        assert "too many failed log-ins" in locked.text
        # an address without an account locks the same way: nothing tells them apart
        for _ in range(5):
            log_in(http, slug, "ghost@nowhere.example", "not the password")
        assert log_in(http, slug, "ghost@nowhere.example").status_code == 429
        clock.advance(minutes=14)
        assert log_in(http, slug, account.emails["admin"]).status_code == 429
        clock.advance(minutes=2)
        assert log_in(http, slug, account.emails["admin"]).status_code == 303


def test_failed_log_ins_are_limited_per_ip_address(
    timed: tuple[Consentry, str], account: Account
) -> None:
    _service, url = timed
    slug = account.tenant.slug
    with httpx.Client(base_url=url, timeout=30) as http:
        for i in range(30):  # one failure per address: no address is locked out
            assert (
                log_in(http, slug, f"guess{i}@nowhere.example", "password123456").status_code == 401
            )
        refused = log_in(http, slug, account.emails["admin"])
        assert refused.status_code == 429
        assert "Too many failed log-ins from here" in refused.text
        assert "consentry_admin=" not in refused.headers.get("set-cookie", "")


def test_failures_spread_out_do_not_lock(
    timed: tuple[Consentry, str], clock: MovableClock, account: Account
) -> None:
    _service, url = timed
    with httpx.Client(base_url=url, timeout=30) as http:
        for _ in range(8):
            log_in(http, account.tenant.slug, account.emails["agent"], "not the password")
            clock.advance(minutes=4)  # never five within fifteen minutes
        assert log_in(http, account.tenant.slug, account.emails["agent"]).status_code == 303


def test_sessions_expire_when_idle_and_after_twelve_hours(
    timed: tuple[Consentry, str], clock: MovableClock, account: Account
) -> None:
    _service, url = timed
    slug = account.tenant.slug
    with httpx.Client(base_url=url, timeout=30) as http:
        assert log_in(http, slug, account.emails["auditor"]).status_code == 303
        clock.advance(minutes=29)
        assert http.get(f"/admin/{slug}/").status_code == 200
        clock.advance(minutes=31)
        assert http.get(f"/admin/{slug}/").status_code == 303  # idle for 31 minutes
    with httpx.Client(base_url=url, timeout=30) as http:
        assert log_in(http, slug, account.emails["auditor"]).status_code == 303
        for _ in range(12 * 3):  # busy all day, every 20 minutes
            clock.advance(minutes=20)
            if http.get(f"/admin/{slug}/audit").status_code != 200:
                break
        assert clock.at  # the loop ended by the lifetime, not by idleness:
        assert http.get(f"/admin/{slug}/audit").status_code == 303


def test_a_disabled_user_is_signed_out_and_cannot_sign_in(
    service: Consentry, base_url: str, account: Account
) -> None:
    with signed_in(base_url, account, "agent") as http:
        assert http.get(f"/admin/{account.tenant.slug}/").status_code == 200
        service.disable_user(account.tenant, account.emails["agent"])
        assert http.get(f"/admin/{account.tenant.slug}/").status_code == 303
        assert log_in(http, account.tenant.slug, account.emails["agent"]).status_code == 401


def _optout_count(service: Consentry, account: Account) -> int:
    with service.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(
                    consent_events.c.tenant_id == account.tenant.id,
                    consent_events.c.kind == "opt_out_added",
                )
            ).scalar_one()
        )


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_posts_without_the_csrf_token_are_refused(
    service: Consentry, base_url: str, account: Account, token: str | None
) -> None:
    with signed_in(base_url, account, "admin") as http:
        data = {"number": "+14255550150", "scope": "tenant", "note": "asked on the phone"}
        if token is not None:
            data["csrf_token"] = token
        response = http.post(f"/admin/{account.tenant.slug}/optouts", data=data)
        assert response.status_code == 403
        assert _optout_count(service, account) == 0


def test_log_in_without_the_form_cookie_is_refused(http: httpx.Client, account: Account) -> None:
    response = http.post(
        f"/admin/{account.tenant.slug}/login",
        data={"email": account.emails["admin"], "password": PASSWORD, "csrf_token": "x"},
    )
    assert response.status_code == 403
    assert "consentry_admin=" not in response.headers.get("set-cookie", "")


# (role, method, path, expected status): every role may read; only what it may do succeeds.
ROLE_CASES = [
    ("auditor", "POST", "/optouts", 403),
    ("auditor", "POST", "/recipients/+14255550160/opt-out", 403),
    ("auditor", "POST", "/recipients/+14255550160/opt-in", 403),
    ("auditor", "GET", "/optouts.csv", 200),
    ("auditor", "GET", "/", 200),
    ("agent", "GET", "/optouts.csv", 403),
    ("agent", "POST", "/optouts", 303),
    ("agent", "POST", "/review/inb_doesnotexist", 403),
    ("admin", "POST", "/review/inb_doesnotexist", 404),
    ("admin", "POST", "/optouts", 303),
    ("admin", "GET", "/optouts.csv", 200),
]


@pytest.mark.parametrize(("role", "method", "path", "status"), ROLE_CASES)
def test_roles_are_enforced_on_the_server(
    service: Consentry,
    base_url: str,
    account: Account,
    role: str,
    method: str,
    path: str,
    status: int,
) -> None:
    slug = account.tenant.slug
    with signed_in(base_url, account, role) as http:
        token = csrf_of(http.get(f"/admin/{slug}/").text)
        data = {
            "csrf_token": token,
            "number": "+14255550160",
            "scope": "tenant",
            "program": account.program.id,
            "note": "the customer asked on the phone",
            "decision": "opt_out",
        }
        response = (
            http.post(f"/admin/{slug}{path}", data=data)
            if method == "POST"
            else http.get(f"/admin/{slug}{path}")
        )
        assert response.status_code == status, response.text[:300]
        if status == 403 and method == "POST":
            assert _optout_count(service, account) == 0


def test_another_tenants_data_is_out_of_reach(
    service: Consentry, base_url: str, account: Account, other_account: Account
) -> None:
    theirs = other_account.tenant
    reply = service.receive_inbound(theirs, "+12065550100", "+14255550170", "wrong number")
    service.add_optouts(theirs, ["+14255550171"], scope=None, sender="+12065550100")
    mine = account.tenant.slug
    with signed_in(base_url, account, "admin") as http:
        token = csrf_of(http.get(f"/admin/{mine}/").text)
        # their ids and numbers under my tenant's URL: 404, and nothing changes
        assert http.get(f"/admin/{mine}/inbound/{reply.inbound_id}").status_code == 404
        resolve = http.post(
            f"/admin/{mine}/review/{reply.inbound_id}",
            data={"csrf_token": token, "decision": "opt_out"},
        )
        assert resolve.status_code == 404
        for number in ("+14255550170", "+14255550171"):
            assert http.get(f"/admin/{mine}/recipients/{number}").status_code == 404
            assert http.get(f"/admin/{mine}/recipients/{number}/proof.json").status_code == 404
        assert "+14255550171" not in http.get(f"/admin/{mine}/optouts?q=555").text
        # their tenant's URL with my session (even sent on purpose): back to their log-in
        cookie = http.cookies["consentry_admin"]
        stolen = httpx.get(
            f"{base_url}/admin/{theirs.slug}/inbound/{reply.inbound_id}",
            headers={"Cookie": f"consentry_admin={cookie}"},
        )
        assert stolen.status_code == 303
        assert stolen.headers["location"] == f"/admin/{theirs.slug}/login"
    assert service.review_queue(theirs)[0]["inbound_id"] == reply.inbound_id  # still undecided


def test_unknown_tenant_is_not_found(http: httpx.Client) -> None:
    assert http.get("/admin/no-such-tenant-here/login").status_code == 404
    assert http.get("/admin/no-such-tenant-here/").status_code == 404
