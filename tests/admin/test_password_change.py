"""Changing one's own password in the console, and ``consentry users set-password``, on SQLite
and PostgreSQL: the current password is required and a wrong one counts towards the lock-out;
the new one follows the rules and is typed twice; afterwards every other session ends and this
browser's session is rotated (a new token: the old cookie opens nothing)."""

from __future__ import annotations

import logging

import httpx
import pytest
from typer.testing import CliRunner

from consentry import Consentry
from consentry.cli import app as cli
from consentry.errors import AuthenticationError
from tests.admin.conftest import (
    PASSWORD,
    ROLES,
    Account,
    MovableClock,
    csrf_of,
    log_in,
    signed_in,
)

NEW_PASSWORD = "a brand new passphrase 42"
runner = CliRunner()


def _change(http: httpx.Client, slug: str, current: str, new: str, confirm: str) -> httpx.Response:
    form = http.get(f"/admin/{slug}/password")
    assert form.status_code == 200
    return http.post(
        f"/admin/{slug}/password",
        data={
            "csrf_token": csrf_of(form.text),
            "current_password": current,
            "new_password": new,
            "confirm_password": confirm,
        },
    )


@pytest.mark.parametrize("role", ROLES)
def test_change_own_password_ends_other_sessions_and_rotates_this_one(
    service: Consentry,
    base_url: str,
    account: Account,
    role: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    slug = account.tenant.slug
    with signed_in(base_url, account, role) as other, signed_in(base_url, account, role) as http:
        old_cookie = http.cookies["consentry_admin"]
        page = http.get(f"/admin/{slug}/password")
        assert f'href="/admin/{slug}/password" aria-current="page"' in page.text
        with caplog.at_level(logging.INFO):
            response = _change(http, slug, PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
        assert response.status_code == 303
        assert response.headers["location"] == f"/admin/{slug}/password?done=1"
        new_cookie = http.cookies["consentry_admin"]
        assert new_cookie != old_cookie
        done = http.get(response.headers["location"])
        assert done.status_code == 200 and 'id="done"' in done.text  # this browser stays in
        # the other session and the old cookie of this one: back to the log-in page
        assert other.get(f"/admin/{slug}/").headers["location"] == f"/admin/{slug}/login"
        stale = httpx.get(
            f"{base_url}/admin/{slug}/", headers={"Cookie": f"consentry_admin={old_cookie}"}
        )
        assert stale.status_code == 303 and stale.headers["location"] == f"/admin/{slug}/login"
    [event] = [r.user_event for r in caplog.records if hasattr(r, "user_event")]
    assert event["event"] == "console_user.password_changed"
    assert event["actor"] == f"console:{account.emails[role]}"
    assert NEW_PASSWORD not in caplog.text and PASSWORD not in caplog.text
    with httpx.Client(base_url=base_url) as fresh:
        assert log_in(fresh, slug, account.emails[role], PASSWORD).status_code == 401
        assert log_in(fresh, slug, account.emails[role], NEW_PASSWORD).status_code == 303


# (current, new, confirm, status, field with the error)
BAD_CHANGES = [
    ("not the password", NEW_PASSWORD, NEW_PASSWORD, 401, "current_password"),
    ("", NEW_PASSWORD, NEW_PASSWORD, 401, "current_password"),
    (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", 422, "confirm_password"),
    (PASSWORD, "too short", "too short", 422, "new_password"),
    (PASSWORD, "", "", 422, "new_password"),
    (PASSWORD, PASSWORD, PASSWORD, 422, "new_password"),  # the same as before
]


@pytest.mark.parametrize(("current", "new", "confirm", "status", "field"), BAD_CHANGES)
def test_bad_changes_are_named_and_change_nothing(
    service: Consentry,
    base_url: str,
    account: Account,
    current: str,
    new: str,
    confirm: str,
    status: int,
    field: str,
) -> None:
    slug = account.tenant.slug
    with (
        signed_in(base_url, account, "agent") as other,
        signed_in(base_url, account, "agent") as http,
    ):
        cookie = http.cookies["consentry_admin"]
        response = _change(http, slug, current, new, confirm)
        assert response.status_code == status
        assert f'id="{field}-error"' in response.text and 'id="form-error"' in response.text
        assert http.cookies["consentry_admin"] == cookie
        assert http.get(f"/admin/{slug}/").status_code == 200  # both sessions go on
        assert other.get(f"/admin/{slug}/").status_code == 200
    service.authenticate_user(account.tenant, account.emails["agent"], PASSWORD)


def test_posts_without_the_csrf_token_change_nothing(
    service: Consentry, base_url: str, account: Account
) -> None:
    with signed_in(base_url, account, "auditor") as http:
        for token in (None, "forged"):
            data = {
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
            }
            if token is not None:
                data["csrf_token"] = token
            response = http.post(f"/admin/{account.tenant.slug}/password", data=data)
            assert response.status_code == 403
    service.authenticate_user(account.tenant, account.emails["auditor"], PASSWORD)


def test_signed_out_goes_to_log_in(base_url: str, account: Account) -> None:
    with httpx.Client(base_url=base_url) as http:
        response = http.get(f"/admin/{account.tenant.slug}/password")
    assert response.headers["location"] == f"/admin/{account.tenant.slug}/login"


def test_wrong_current_passwords_count_towards_the_lock_out(
    timed: tuple[Consentry, str], clock: MovableClock, account: Account
) -> None:
    _service, url = timed
    slug = account.tenant.slug
    email = account.emails["admin"]
    with httpx.Client(base_url=url, timeout=30) as http:
        assert log_in(http, slug, email).status_code == 303
        for _ in range(4):
            assert _change(http, slug, "guess " * 3, NEW_PASSWORD, NEW_PASSWORD).status_code == 401
        with httpx.Client(base_url=url, timeout=30) as login:
            # a fifth failure, at the log-in form: the address is locked, even for the right one
            assert log_in(login, slug, email, "not the password").status_code == 401
            assert log_in(login, slug, email).status_code == 429
        locked = _change(http, slug, PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
        assert locked.status_code == 429 and "too many failed log-ins" in locked.text.lower()
        assert http.get(f"/admin/{slug}/").status_code == 200  # the session itself goes on
        clock.advance(minutes=16)
        assert _change(http, slug, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).status_code == 303


# --- consentry users set-password --------------------------------------------------------------


def test_cli_sets_a_password_from_stdin_and_ends_sessions(
    service: Consentry, database_url: str, account: Account
) -> None:
    session = service.log_in(account.tenant, account.emails["agent"], PASSWORD)
    result = runner.invoke(
        cli,
        [
            "users",
            "set-password",
            account.emails["agent"].upper(),
            "--password-stdin",
            "--database",
            database_url,
            "--tenant",
            account.tenant.slug,
        ],
        input=NEW_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.stderr
    assert NEW_PASSWORD not in result.stdout + result.stderr
    assert "sessions are ended" in result.stderr
    assert service.session_user(account.tenant, session.token) is None
    with pytest.raises(AuthenticationError):
        service.authenticate_user(account.tenant, account.emails["agent"], PASSWORD)
    service.authenticate_user(account.tenant, account.emails["agent"], NEW_PASSWORD)


def test_cli_prompts_twice_without_echo(
    service: Consentry, database_url: str, account: Account
) -> None:
    result = runner.invoke(
        cli,
        [
            "users",
            "set-password",
            account.emails["auditor"],
            "--database",
            database_url,
            "-t",
            account.tenant.slug,
        ],
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.stderr
    assert NEW_PASSWORD not in result.stdout + result.stderr
    service.authenticate_user(account.tenant, account.emails["auditor"], NEW_PASSWORD)


@pytest.mark.parametrize(
    ("who", "stdin", "message"),
    [
        ("agent", "short\n", "password: password must be at least 12 characters"),
        ("agent", "", "nothing on standard input"),
        ("agent", "x" * 1025 + "\n", "at most 1024"),
        ("nobody@nowhere.example", NEW_PASSWORD + "\n", "no user"),
    ],
)
def test_cli_bad_input_exits_2_and_changes_nothing(
    service: Consentry, database_url: str, account: Account, who: str, stdin: str, message: str
) -> None:
    user = account.emails.get(who, who)
    result = runner.invoke(
        cli,
        [
            "users",
            "set-password",
            user,
            "--password-stdin",
            "--database",
            database_url,
            "-t",
            account.tenant.slug,
        ],
        input=stdin,
    )
    assert result.exit_code == 2
    assert message in result.stderr
    service.authenticate_user(account.tenant, account.emails["agent"], PASSWORD)
