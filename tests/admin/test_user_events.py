"""Console user events on SQLite and PostgreSQL: every change of a console user writes exactly
one ``console_user_events`` row (who, what, when, details; never a password) in the transaction
of the change, a refused change writes none, a successful sign-in sets ``last_login_at`` and is
an event while a failed one is neither, and the user's page shows the events of that user of
that tenant only, newest first."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from consentry import Consentry, Tenant
from consentry.cli import app as cli
from consentry.errors import AuthenticationError, Conflict, InvalidInput, NotFound
from consentry.service._user_admin import UserOverview
from consentry.store import console_user_events as store_events
from consentry.store.tables import admin_sessions, console_user_events
from tests.admin.conftest import (
    LIGHT_HASHER,
    PASSWORD,
    Account,
    MovableClock,
    csrf_of,
    log_in,
    signed_in,
)

NEW_PASSWORD = "a brand new passphrase 42"


def _rows(service: Consentry, tenant: Tenant) -> list[Any]:
    """Every event row of ``tenant``, straight from the table."""
    with service.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(console_user_events).where(console_user_events.c.tenant_id == tenant.id)
            )
        )


def _overview(service: Consentry, tenant: Tenant, email: str) -> UserOverview:
    return next(o for o in service.user_overview(tenant) if o.user.email == email)


def _id(service: Consentry, account: Account, role: str) -> str:
    return service.get_user(account.tenant, account.emails[role]).id


ADMIN_ACTOR = "console:{admin}"


def _create(service: Consentry, a: Account) -> str:
    user = service.create_user(
        a.tenant, "new@example.com", "auditor", PASSWORD, actor=f"console:{a.emails['admin']}"
    )
    return user.id


def _change_role(service: Consentry, a: Account) -> str:
    agent = _id(service, a, "agent")
    service.change_user_role(a.tenant, agent, "admin", actor=f"console:{a.emails['admin']}")
    return agent


def _disable(service: Consentry, a: Account) -> str:
    agent = _id(service, a, "agent")
    service.set_user_active(a.tenant, agent, False, actor=f"console:{a.emails['admin']}")
    return agent


def _enable(service: Consentry, a: Account) -> str:
    agent = _id(service, a, "agent")
    service.disable_user(a.tenant, agent)  # by the CLI: an event of its own
    service.set_user_active(a.tenant, agent, True, actor=f"console:{a.emails['admin']}")
    return agent


def _cli_disable(service: Consentry, a: Account) -> str:
    service.disable_user(a.tenant, a.emails["auditor"])
    return _id(service, a, "auditor")


def _reset(service: Consentry, a: Account) -> str:
    agent = _id(service, a, "agent")
    service.reset_password(a.tenant, agent, NEW_PASSWORD, actor=f"console:{a.emails['admin']}")
    return agent


def _change_own(service: Consentry, a: Account) -> str:
    session = service.log_in(a.tenant, a.emails["agent"], PASSWORD)
    service.change_own_password(a.tenant, session.token, PASSWORD, NEW_PASSWORD)
    return session.user.id


def _sign_in(service: Consentry, a: Account) -> str:
    return service.log_in(a.tenant, a.emails["agent"], PASSWORD, ip_address="203.0.113.9").user.id


# (what, change, the new events' kinds, the last event's actor, its details)
CHANGES: list[tuple[str, Callable[[Consentry, Account], str], list[str], str, dict[str, Any]]] = [
    ("create", _create, ["created"], ADMIN_ACTOR, {"role": "auditor"}),
    ("role", _change_role, ["role_changed"], ADMIN_ACTOR, {"old": "agent", "new": "admin"}),
    ("disable", _disable, ["disabled"], ADMIN_ACTOR, {}),
    ("enable", _enable, ["disabled", "enabled"], ADMIN_ACTOR, {}),
    ("cli disable", _cli_disable, ["disabled"], "cli", {}),
    ("reset", _reset, ["password_reset"], ADMIN_ACTOR, {}),
    ("own password", _change_own, ["signed_in", "password_changed"], "console:{agent}", {}),
    ("sign-in", _sign_in, ["signed_in"], "console:{agent}", {"ip_address": "203.0.113.9"}),
]


@pytest.mark.parametrize(
    ("change", "kinds", "actor", "details"),
    [pytest.param(*case[1:], id=case[0]) for case in CHANGES],
)
def test_every_change_writes_one_event_with_its_actor_and_details(
    service: Consentry,
    account: Account,
    caplog: pytest.LogCaptureFixture,
    change: Callable[[Consentry, Account], str],
    kinds: list[str],
    actor: str,
    details: dict[str, Any],
) -> None:
    before = {row.event_id for row in _rows(service, account.tenant)}
    with caplog.at_level(logging.INFO, logger="consentry.users"):
        user_id = change(service, account)
    new = [row for row in _rows(service, account.tenant) if row.event_id not in before]
    assert sorted(row.kind for row in new) == sorted(kinds)
    assert {row.user_id for row in new} == {user_id}
    last = next(row for row in new if row.kind == kinds[-1])
    assert last.actor == actor.format(admin=account.emails["admin"], agent=account.emails["agent"])
    assert last.details == details
    # the newest first, as the page shows them
    assert service.user_events(account.tenant, user_id)[0].kind == kinds[-1]
    # the log line is kept (sign-ins are logged apart from the changes)
    logged = [r.user_event for r in caplog.records if hasattr(r, "user_event")]
    assert [e["event"] for e in logged] == [
        f"console_user.{kind}" for kind in kinds if kind != "signed_in"
    ]
    for text in (PASSWORD, NEW_PASSWORD):
        assert text not in caplog.text
        assert all(text not in str(row.details) for row in new)


def _last_admin_demoted(service: Consentry, tenant: Tenant, admin: str) -> None:
    service.change_user_role(tenant, admin, "agent", actor="cli")


def _last_admin_disabled(service: Consentry, tenant: Tenant, admin: str) -> None:
    service.set_user_active(tenant, admin, False, actor="cli")


def _bad_role(service: Consentry, tenant: Tenant, admin: str) -> None:
    service.change_user_role(tenant, admin, "owner", actor="cli")


def _short_password(service: Consentry, tenant: Tenant, admin: str) -> None:
    service.reset_password(tenant, admin, "short", actor="cli")


def _taken_address(service: Consentry, tenant: Tenant, admin: str) -> None:
    service.create_user(tenant, admin, "agent", PASSWORD)


def _unknown_user(service: Consentry, tenant: Tenant, admin: str) -> None:
    service.set_user_active(tenant, "usr_nobody", False, actor="cli")


def _wrong_current_password(service: Consentry, tenant: Tenant, admin: str) -> None:
    session = service.log_in(tenant, admin, PASSWORD)
    service.change_own_password(tenant, session.token, "not the password", NEW_PASSWORD)


REFUSED: list[tuple[Callable[[Consentry, Tenant, str], None], type[Exception], int]] = [
    (_last_admin_demoted, Conflict, 0),
    (_last_admin_disabled, Conflict, 0),
    (_bad_role, InvalidInput, 0),
    (_short_password, InvalidInput, 0),
    (_taken_address, Conflict, 0),
    (_unknown_user, NotFound, 0),
    (_wrong_current_password, AuthenticationError, 1),  # the sign-in before it, only
]


@pytest.mark.parametrize(("refused", "error", "signed_in"), REFUSED)
def test_a_refused_change_writes_no_event(
    service: Consentry,
    refused: Callable[[Consentry, Tenant, str], None],
    error: type[Exception],
    signed_in: int,
) -> None:
    service.password_hasher = LIGHT_HASHER
    tenant = service.create_tenant("Events", slug=f"ev-{secrets.token_hex(5)}")[0]
    admin = service.create_user(tenant, "only@example.com", "admin", PASSWORD)
    with pytest.raises(error):
        refused(service, tenant, admin.email)
    assert [row.kind for row in _rows(service, tenant)] == ["created"] + ["signed_in"] * signed_in
    assert service.get_user(tenant, admin.id).role.value == "admin"
    assert service.get_user(tenant, admin.id).disabled_at is None


class _Broken(Exception):
    pass


def test_the_event_is_written_in_the_transaction_of_the_change(
    service: Consentry, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the event cannot be stored, the change is not stored either (and vice versa)."""
    tenant, agent = account.tenant, _id(service, account, "agent")
    session = service.log_in(tenant, account.emails["agent"], PASSWORD)
    before = _rows(service, tenant)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise _Broken

    monkeypatch.setattr(store_events, "record", broken)  # as the service calls it
    for attempt in (
        lambda: service.change_user_role(tenant, agent, "auditor", actor="cli"),
        lambda: service.set_user_active(tenant, agent, False, actor="cli"),
        lambda: service.disable_user(tenant, agent),
        lambda: service.reset_password(tenant, agent, NEW_PASSWORD, actor="cli"),
        lambda: service.create_user(tenant, "late@example.com", "agent", PASSWORD),
        lambda: service.log_in(tenant, account.emails["auditor"], PASSWORD),
    ):
        with pytest.raises(_Broken):
            attempt()
    monkeypatch.undo()
    user = service.get_user(tenant, agent)
    assert user.role.value == "agent" and user.disabled_at is None
    assert service.session_user(tenant, session.token) == user  # sessions not ended
    assert service.authenticate_user(tenant, account.emails["agent"], PASSWORD) == user
    assert [u.email for u in service.list_users(tenant)] == sorted(account.emails.values())
    assert _overview(service, tenant, account.emails["auditor"]).last_login_at is None
    with service.engine.connect() as conn:
        auditor = service.get_user(tenant, account.emails["auditor"]).id
        assert not conn.execute(
            sa.select(admin_sessions).where(
                admin_sessions.c.tenant_id == tenant.id, admin_sessions.c.user_id == auditor
            )
        ).all()
    assert len(_rows(service, tenant)) == len(before)


def test_a_sign_in_sets_last_login_at_and_a_failed_one_does_not(
    database_url: str, account: Account, clock: MovableClock
) -> None:
    timed = Consentry(database_url, clock=clock)
    timed.password_hasher = LIGHT_HASHER
    try:
        tenant, email = account.tenant, account.emails["agent"]
        assert _overview(timed, tenant, email).last_login_at is None
        for password in ("not the password", ""):
            with pytest.raises(AuthenticationError):
                timed.log_in(tenant, email, password)
        timed.set_user_active(tenant, email, False, actor="cli")
        with pytest.raises(AuthenticationError):  # disabled: refused, whatever the password
            timed.log_in(tenant, email, PASSWORD)
        timed.set_user_active(tenant, email, True, actor="cli")
        assert _overview(timed, tenant, email).last_login_at is None
        assert "signed_in" not in [e.kind for e in timed.user_events(tenant, email)]

        clock.advance(minutes=5)
        first = clock.at
        timed.log_in(tenant, email, PASSWORD, ip_address="198.51.100.7")
        assert _overview(timed, tenant, email).last_login_at == first
        clock.advance(hours=2)
        with pytest.raises(AuthenticationError):
            timed.log_in(tenant, email, "still not the password")
        assert _overview(timed, tenant, email).last_login_at == first
        timed.log_in(tenant, email, PASSWORD)
        assert _overview(timed, tenant, email).last_login_at == clock.at
        signed = [e for e in timed.user_events(tenant, email) if e.kind == "signed_in"]
        assert [e.at for e in signed] == [clock.at, first]
        assert [dict(e.details) for e in signed] == [{}, {"ip_address": "198.51.100.7"}]
        assert {e.actor for e in signed} == {f"console:{email}"}
        # another user's sign-ins are theirs
        assert _overview(timed, tenant, account.emails["auditor"]).last_login_at is None
    finally:
        timed.close()


EVENT_ROW = re.compile(
    r'<tr data-kind="([a-z_]+)"><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td><td>([^<]*)</td>'
)


def test_the_user_page_shows_their_events_newest_first(
    service: Consentry, base_url: str, account: Account, other_account: Account
) -> None:
    slug, admin = account.tenant.slug, account.emails["admin"]
    agent = _id(service, account, "agent")
    other_agent = _id(service, other_account, "agent")
    with signed_in(base_url, account, "admin") as http:
        token = csrf_of(http.get(f"/admin/{slug}/").text)
        for path, data in (
            ("role", {"role": "auditor"}),
            ("disable", {}),
            ("enable", {}),
            ("password", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
        ):
            done = http.post(
                f"/admin/{slug}/users/{agent}/{path}", data={**data, "csrf_token": token}
            )
            assert done.status_code == 303, done.text[:300]
        with httpx.Client(base_url=base_url) as theirs:
            assert log_in(theirs, slug, account.emails["agent"], NEW_PASSWORD).status_code == 303
        # the other tenant's agent is busy too
        service.change_user_role(other_account.tenant, other_agent, "admin", actor="cli")
        page = http.get(f"/admin/{slug}/users/{agent}")
        assert page.status_code == 200
        rows = EVENT_ROW.findall(page.text)
        assert [row[0] for row in rows] == [
            "signed_in",
            "password_reset",
            "enabled",
            "disabled",
            "role_changed",
            "created",
        ]
        assert [row[3] for row in rows] == [f"console:{account.emails['agent']}"] + [
            f"console:{admin}"
        ] * 4 + ["cli"]
        assert rows[4][2] == "role changed" and rows[4][4] == "agent → auditor"
        assert rows[0][4] == "from 127.0.0.1"
        assert rows[0][1] >= rows[-1][1]  # ISO-like times, newest first
        assert other_account.emails["agent"] not in page.text
        assert 'data-field="last-login">never<' not in page.text

        listing = http.get(f"/admin/{slug}/users").text
        row = re.search(
            rf'data-user="{re.escape(account.emails["agent"])}".*?data-field="last-login">([^<]+)<',
            listing,
            re.S,
        )
        assert row and row.group(1).endswith("UTC")
        never = re.search(
            rf'data-user="{re.escape(account.emails["auditor"])}".*?data-field="last-login">'
            r'<span class="muted">([^<]+)<',
            listing,
            re.S,
        )
        assert never and never.group(1) == "never"
        # another tenant's user: 404, and its events are never shown
        assert http.get(f"/admin/{slug}/users/{other_agent}").status_code == 404
    with pytest.raises(NotFound):
        service.user_events(account.tenant, other_agent)
    with service.engine.connect() as conn:
        assert store_events.list_events(conn, account.tenant.id, user_id=other_agent) == []


def test_agents_and_auditors_cannot_open_a_users_events(
    service: Consentry, base_url: str, account: Account
) -> None:
    admin = _id(service, account, "admin")
    for role in ("agent", "auditor"):
        with signed_in(base_url, account, role) as http:
            response = http.get(f"/admin/{account.tenant.slug}/users/{admin}")
            assert response.status_code == 403
            assert 'id="user-events"' not in response.text


def test_the_command_line_records_its_changes_as_cli(
    database_url: str, service: Consentry, account: Account
) -> None:
    tenant = account.tenant
    runner = CliRunner()
    created = runner.invoke(
        cli,
        [
            *("users", "create", "--database", database_url, "--tenant", tenant.slug),
            *("--email", "cli@example.com", "--role", "agent", "--password-stdin"),
        ],
        input=PASSWORD + "\n",
    )
    assert created.exit_code == 0, created.stderr
    disabled = runner.invoke(
        cli, ["users", "disable", "cli@example.com", "--database", database_url, "-t", tenant.slug]
    )
    assert disabled.exit_code == 0, disabled.stderr
    again = runner.invoke(
        cli, ["users", "disable", "cli@example.com", "--database", database_url, "-t", tenant.slug]
    )
    assert again.exit_code == 0, again.stderr  # already disabled: no second event
    events = service.user_events(tenant, "cli@example.com")
    assert [(e.kind, e.actor) for e in events] == [("disabled", "cli"), ("created", "cli")]


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["first", "second"]),
        st.sampled_from(["admin", "agent", "auditor", "disable", "enable"]),
    ),
    max_size=12,
)


@settings(max_examples=15, deadline=None)
@given(operations=OPERATIONS)
def test_the_events_replay_to_the_users_state(
    service: Consentry, operations: list[tuple[str, str]]
) -> None:
    """Whatever changes are tried (some refused), one event per change made, and replaying a
    user's events gives their role and state now."""
    service.password_hasher = LIGHT_HASHER
    tenant = service.create_tenant("Replay", slug=f"rp-{secrets.token_hex(5)}")[0]
    users = {
        name: service.create_user(tenant, f"{name}@example.com", "admin", PASSWORD).id
        for name in ("first", "second")
    }
    made = 0
    for name, operation in operations:
        before = service.get_user(tenant, users[name])
        try:
            if operation in ("disable", "enable"):
                after = service.set_user_active(
                    tenant, users[name], operation == "enable", actor="t"
                )
            else:
                after = service.change_user_role(tenant, users[name], operation, actor="t")
        except Conflict:
            continue
        made += after != before
    assert len(_rows(service, tenant)) == 2 + made
    for user_id in users.values():
        role, active = None, True
        for event in reversed(service.user_events(tenant, user_id)):
            if event.kind == "created":
                role = event.details["role"]
            elif event.kind == "role_changed":
                assert event.details["old"] == role
                role = event.details["new"]
            else:
                active = event.kind == "enabled"
        now = service.get_user(tenant, user_id)
        assert (role, active) == (now.role.value, now.disabled_at is None)


def test_a_user_from_before_the_events_table_has_an_empty_list(
    service: Consentry, base_url: str, account: Account
) -> None:
    """Users created before migration 0015 have no events and no last sign-in: the page says so."""
    auditor = _id(service, account, "auditor")
    with service.engine.begin() as conn:
        conn.execute(
            sa.delete(console_user_events).where(
                console_user_events.c.tenant_id == account.tenant.id,
                console_user_events.c.user_id == auditor,
            )
        )
    with signed_in(base_url, account, "admin") as http:
        page = http.get(f"/admin/{account.tenant.slug}/users/{auditor}")
    assert page.status_code == 200
    assert 'id="user-events">No events recorded for this user.<' in page.text
    assert 'data-field="last-login">never<' in page.text
