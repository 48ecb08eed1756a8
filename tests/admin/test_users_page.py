"""The console's users page over a real HTTP server, on SQLite and PostgreSQL: admins list, add,
re-role, disable, re-enable and reset users; agents and auditors get 403; bad input is named and
stores nothing; the last active admin stays; disabling and resetting end the user's sessions at
once; another tenant's users answer 404; each change is logged with who did what to whom."""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from consentry import Consentry
from consentry.errors import AuthenticationError, Conflict
from consentry.store.tables import admin_users
from tests.admin.conftest import PASSWORD, Account, csrf_of, log_in, signed_in

NEW_PASSWORD = "a brand new passphrase 42"
ROW = re.compile(r'<tr data-user="([^"]+)" data-role="([^"]+)" data-state="([^"]+)"([^>]*)>')


def _rows(html: str) -> dict[str, tuple[str, str, bool]]:
    """E-mail address -> (role, state, locked) as the users page shows them."""
    return {
        email: (role, state, "data-locked" in rest)
        for email, role, state, rest in ROW.findall(html)
    }


def _id(service: Consentry, account: Account, role: str) -> str:
    return service.get_user(account.tenant, account.emails[role]).id


def _token(http: httpx.Client, account: Account) -> str:
    return csrf_of(http.get(f"/admin/{account.tenant.slug}/").text)


def test_admin_sees_every_user_with_role_state_and_lock(
    service: Consentry, base_url: str, account: Account, other_account: Account
) -> None:
    service.set_user_active(account.tenant, account.emails["auditor"], False, actor="test")
    for _ in range(5):  # lock the agent's address out
        with pytest.raises(AuthenticationError):
            service.authenticate_user(account.tenant, account.emails["agent"], "wrong password!")
    with signed_in(base_url, account, "admin") as http:
        page = http.get(f"/admin/{account.tenant.slug}/users")
    assert page.status_code == 200
    assert _rows(page.text) == {
        account.emails["admin"]: ("admin", "active", False),
        account.emails["agent"]: ("agent", "active", True),
        account.emails["auditor"]: ("auditor", "disabled", False),
    }
    assert not set(other_account.emails.values()) & set(_rows(page.text))
    assert f'href="/admin/{account.tenant.slug}/users" aria-current="page"' in page.text
    assert "1 session, last seen" in page.text  # the admin's own
    assert "password_hash" not in page.text and "$argon2" not in page.text


def test_admin_adds_a_user_who_can_then_sign_in(
    service: Consentry, base_url: str, account: Account, caplog: pytest.LogCaptureFixture
) -> None:
    slug = account.tenant.slug
    email = f"new@{slug}.example"
    with signed_in(base_url, account, "admin") as http, caplog.at_level(logging.INFO):
        response = http.post(
            f"/admin/{slug}/users",
            data={
                "csrf_token": _token(http, account),
                "email": email.upper(),
                "role": "auditor",
                "password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
            },
        )
        assert response.status_code == 303
        created = service.get_user(account.tenant, email)
        assert response.headers["location"] == f"/admin/{slug}/users/{created.id}?done=created"
        shown = http.get(response.headers["location"])
        assert "User created." in shown.text and 'data-field="role">auditor<' in shown.text
    assert created.role.value == "auditor"
    [event] = [r.user_event for r in caplog.records if hasattr(r, "user_event")]
    assert event["event"] == "console_user.created"
    assert event["actor"] == f"console:{account.emails['admin']}" and event["user"] == email
    assert event["tenant"] == slug and event["role"] == "auditor" and event["at"]
    assert NEW_PASSWORD not in caplog.text
    with httpx.Client(base_url=base_url) as theirs:
        assert log_in(theirs, slug, email, NEW_PASSWORD).status_code == 303


# (form, status, field with the error): nothing is stored for any of them
BAD_NEW_USERS = [
    ({"email": "", "role": "agent"}, 422, "email"),
    ({"email": "not-an-address", "role": "agent"}, 422, "email"),
    ({"email": "x@y.example", "role": "owner"}, 422, "role"),
    ({"email": "x@y.example", "role": "agent", "password": "short"}, 422, "password"),
    (
        {"email": "x@y.example", "role": "agent", "confirm": "something else entirely"},
        422,
        "confirm",
    ),
    ({"email": "{agent}", "role": "agent"}, 409, "email"),  # the address is taken
]


@pytest.mark.parametrize(("form", "status", "field"), BAD_NEW_USERS)
def test_bad_new_users_are_refused_naming_the_field(
    service: Consentry,
    base_url: str,
    account: Account,
    form: dict[str, str],
    status: int,
    field: str,
) -> None:
    before = service.list_users(account.tenant)
    data = {"password": NEW_PASSWORD, **form}
    data.setdefault("confirm", data["password"])
    data["email"] = data["email"].replace("{agent}", account.emails["agent"].upper())
    with signed_in(base_url, account, "admin") as http:
        response = http.post(
            f"/admin/{account.tenant.slug}/users",
            data={**data, "csrf_token": _token(http, account)},
        )
    assert response.status_code == status, response.text[:300]
    assert f'id="new-{field}-error"' in response.text
    assert 'id="form-error"' in response.text
    assert service.list_users(account.tenant) == before


# every route of the page, for the roles that may not use it
ROUTES = [
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/users/{id}"),
    ("POST", "/users/{id}/role"),
    ("POST", "/users/{id}/disable"),
    ("POST", "/users/{id}/enable"),
    ("POST", "/users/{id}/password"),
]


@pytest.mark.parametrize("role", ["agent", "auditor"])
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_agents_and_auditors_are_refused(
    service: Consentry, base_url: str, account: Account, role: str, method: str, path: str
) -> None:
    target = _id(service, account, "admin")
    url = f"/admin/{account.tenant.slug}{path.replace('{id}', target)}"
    before = service.list_users(account.tenant)
    with signed_in(base_url, account, role) as http:
        nav = http.get(f"/admin/{account.tenant.slug}/")
        assert f"/admin/{account.tenant.slug}/users" not in nav.text  # no link either
        data = {
            "csrf_token": csrf_of(nav.text),
            "email": "sneaky@x.example",
            "role": "agent",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        }
        response = http.post(url, data=data) if method == "POST" else http.get(url)
    assert response.status_code == 403
    assert service.list_users(account.tenant) == before
    service.authenticate_user(account.tenant, account.emails["admin"], PASSWORD)  # unchanged


def test_posts_without_the_csrf_token_change_nothing(
    service: Consentry, base_url: str, account: Account
) -> None:
    agent = _id(service, account, "agent")
    slug = account.tenant.slug
    with signed_in(base_url, account, "admin") as http:
        for path, data in (
            ("/users", {"email": "x@y.example", "role": "agent", "password": NEW_PASSWORD}),
            (f"/users/{agent}/role", {"role": "admin"}),
            (f"/users/{agent}/disable", {}),
            (f"/users/{agent}/password", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
        ):
            for token in (None, "forged"):
                form = data if token is None else {**data, "csrf_token": token}
                assert http.post(f"/admin/{slug}{path}", data=form).status_code == 403
    user = service.get_user(account.tenant, agent)
    assert user.role.value == "agent" and user.disabled_at is None
    assert len(service.list_users(account.tenant)) == 3
    service.authenticate_user(account.tenant, account.emails["agent"], PASSWORD)


def test_change_role(service: Consentry, base_url: str, account: Account) -> None:
    agent = _id(service, account, "agent")
    slug = account.tenant.slug
    with signed_in(base_url, account, "agent") as theirs:
        with signed_in(base_url, account, "admin") as http:
            token = _token(http, account)
            response = http.post(
                f"/admin/{slug}/users/{agent}/role", data={"csrf_token": token, "role": "auditor"}
            )
            assert response.status_code == 303
            assert "Role changed." in http.get(response.headers["location"]).text
            bad = http.post(
                f"/admin/{slug}/users/{agent}/role", data={"csrf_token": token, "role": "root"}
            )
            assert bad.status_code == 422 and 'id="role-error"' in bad.text
        assert service.get_user(account.tenant, agent).role.value == "auditor"
        # the new role applies to their session from the next request: auditors cannot write
        refused = theirs.post(
            f"/admin/{slug}/optouts",
            data={
                "csrf_token": _token(theirs, account),
                "number": "+14255550160",
                "scope": "tenant",
                "note": "asked",
            },
        )
        assert refused.status_code == 403


def test_the_last_active_admin_stays_an_active_admin(
    service: Consentry, base_url: str, account: Account
) -> None:
    me = _id(service, account, "admin")
    slug = account.tenant.slug
    with signed_in(base_url, account, "admin") as http:
        token = _token(http, account)
        demote = http.post(
            f"/admin/{slug}/users/{me}/role", data={"csrf_token": token, "role": "agent"}
        )
        assert demote.status_code == 409
        assert "last active admin" in demote.text and 'id="role-error"' in demote.text
        disable = http.post(f"/admin/{slug}/users/{me}/disable", data={"csrf_token": token})
        assert disable.status_code == 409 and 'id="user-error"' in disable.text
        assert service.get_user(account.tenant, me).role.value == "admin"
        assert http.get(f"/admin/{slug}/users").status_code == 200  # still signed in, still admin
        # a disabled admin does not count: making the auditor admin then disabling them changes
        # nothing for the rule
        auditor = _id(service, account, "auditor")
        service.change_user_role(account.tenant, auditor, "admin", actor="test")
        service.set_user_active(account.tenant, auditor, False, actor="test")
        again = http.post(
            f"/admin/{slug}/users/{me}/role", data={"csrf_token": token, "role": "agent"}
        )
        assert again.status_code == 409
        # with another active admin, an admin may step down: back to the dashboard, no users page
        service.set_user_active(account.tenant, auditor, True, actor="test")
        stepped = http.post(
            f"/admin/{slug}/users/{me}/role", data={"csrf_token": token, "role": "agent"}
        )
        assert stepped.status_code == 303 and stepped.headers["location"] == f"/admin/{slug}/"
        assert http.get(f"/admin/{slug}/users").status_code == 403


def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    service: Consentry, account: Account
) -> None:
    """While another transaction has demoted the second admin (not yet committed), demoting the
    first one waits for it, then sees it and is refused: the tenant keeps one admin."""
    slug = account.tenant.slug
    second = service.create_user(account.tenant, f"second@{slug}.example", "admin", PASSWORD)
    first = _id(service, account, "admin")
    outcome: list[str] = []

    def demote_first() -> None:
        try:
            service.change_user_role(account.tenant, first, "auditor", actor="test")
            outcome.append("demoted")
        except Conflict:
            outcome.append("refused")

    worker = threading.Thread(target=demote_first)
    with service.engine.begin() as conn:  # the other admin's demotion, in flight
        conn.execute(
            sa.update(admin_users)
            .where(admin_users.c.tenant_id == account.tenant.id, admin_users.c.user_id == second.id)
            .values(role="auditor")
        )
        worker.start()
        time.sleep(0.5)  # let the worker reach its check (a lock makes it wait for this commit)
        assert outcome == []
    worker.join()
    assert outcome == ["refused"]
    admins = [u.id for u in service.list_users(account.tenant) if u.role.value == "admin"]
    assert admins == [first]


def test_disable_ends_sessions_at_once_and_enable_lets_them_back(
    service: Consentry, base_url: str, account: Account, caplog: pytest.LogCaptureFixture
) -> None:
    slug = account.tenant.slug
    agent = _id(service, account, "agent")
    with (
        signed_in(base_url, account, "agent") as theirs,
        signed_in(base_url, account, "admin") as http,
    ):
        assert theirs.get(f"/admin/{slug}/").status_code == 200
        token = _token(http, account)
        with caplog.at_level(logging.INFO):
            done = http.post(f"/admin/{slug}/users/{agent}/disable", data={"csrf_token": token})
        assert done.status_code == 303
        assert "their sessions have ended" in http.get(done.headers["location"]).text
        # the old cookie opens nothing: back to the log-in page
        old = theirs.get(f"/admin/{slug}/recipients")
        assert old.status_code == 303 and old.headers["location"] == f"/admin/{slug}/login"
        assert log_in(theirs, slug, account.emails["agent"]).status_code == 401
        assert (
            _rows(http.get(f"/admin/{slug}/users").text)[account.emails["agent"]][1] == "disabled"
        )
        again = http.post(f"/admin/{slug}/users/{agent}/enable", data={"csrf_token": token})
        assert again.status_code == 303
    [event] = [r.user_event for r in caplog.records if hasattr(r, "user_event")]
    assert event["event"] == "console_user.disabled" and event["user_id"] == agent
    assert event["actor"] == f"console:{account.emails['admin']}"
    with httpx.Client(base_url=base_url) as back:
        assert log_in(back, slug, account.emails["agent"]).status_code == 303


def test_an_admin_who_disables_themself_is_signed_out(
    service: Consentry, base_url: str, account: Account
) -> None:
    slug = account.tenant.slug
    service.change_user_role(account.tenant, account.emails["agent"], "admin", actor="test")
    me = _id(service, account, "admin")
    with signed_in(base_url, account, "admin") as http:
        response = http.post(
            f"/admin/{slug}/users/{me}/disable", data={"csrf_token": _token(http, account)}
        )
        assert (
            response.status_code == 303 and response.headers["location"] == f"/admin/{slug}/login"
        )
        assert http.get(f"/admin/{slug}/").status_code == 303
    assert service.get_user(account.tenant, me).disabled_at is not None


def test_reset_password_ends_sessions_and_lifts_the_lock_out(
    service: Consentry, base_url: str, account: Account
) -> None:
    slug = account.tenant.slug
    agent = _id(service, account, "agent")
    with (
        signed_in(base_url, account, "agent") as theirs,
        signed_in(base_url, account, "admin") as http,
    ):
        for _ in range(5):
            with pytest.raises(AuthenticationError):
                service.authenticate_user(
                    account.tenant, account.emails["agent"], "wrong password!"
                )
        assert _rows(http.get(f"/admin/{slug}/users").text)[account.emails["agent"]][2] is True
        response = http.post(
            f"/admin/{slug}/users/{agent}/password",
            data={
                "csrf_token": _token(http, account),
                "password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
            },
        )
        assert response.status_code == 303
        assert _rows(http.get(f"/admin/{slug}/users").text)[account.emails["agent"]][2] is False
        old = theirs.get(f"/admin/{slug}/")
        assert old.status_code == 303 and old.headers["location"] == f"/admin/{slug}/login"
    with httpx.Client(base_url=base_url) as again:
        assert log_in(again, slug, account.emails["agent"], PASSWORD).status_code == 401
        assert log_in(again, slug, account.emails["agent"], NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("who", "form", "field"),
    [
        ("agent", {"password": "short", "confirm": "short"}, "password"),
        ("agent", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "!"}, "confirm"),
        ("agent", {"password": "", "confirm": ""}, "password"),
        ("admin", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "form"),  # oneself
    ],
)
def test_bad_resets_change_nothing(
    service: Consentry, base_url: str, account: Account, who: str, form: dict[str, str], field: str
) -> None:
    slug = account.tenant.slug
    target = _id(service, account, who)
    with (
        signed_in(base_url, account, "agent") as theirs,
        signed_in(base_url, account, "admin") as http,
    ):
        response = http.post(
            f"/admin/{slug}/users/{target}/password",
            data={**form, "csrf_token": _token(http, account)},
        )
        assert response.status_code == 422
        assert f'id="{field}-error"' in response.text
        assert theirs.get(f"/admin/{slug}/").status_code == 200  # their session goes on
    service.authenticate_user(account.tenant, account.emails[who], PASSWORD)


def test_another_tenants_users_answer_404(
    service: Consentry, base_url: str, account: Account, other_account: Account
) -> None:
    slug = account.tenant.slug
    theirs = _id(service, other_account, "agent")
    with signed_in(base_url, account, "admin") as http:
        token = _token(http, account)
        assert http.get(f"/admin/{slug}/users/{theirs}").status_code == 404
        assert http.get(f"/admin/{slug}/users/{other_account.emails['agent']}").status_code == 404
        assert http.get(f"/admin/{slug}/users/{account.emails['agent']}").status_code == 404
        posts: list[tuple[str, dict[str, Any]]] = [
            ("role", {"role": "admin"}),
            ("disable", {}),
            ("enable", {}),
            ("password", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
        ]
        for action, data in posts:
            response = http.post(
                f"/admin/{slug}/users/{theirs}/{action}", data={**data, "csrf_token": token}
            )
            assert response.status_code == 404, action
    user = service.get_user(other_account.tenant, theirs)
    assert user.role.value == "agent" and user.disabled_at is None
    service.authenticate_user(other_account.tenant, other_account.emails["agent"], PASSWORD)
