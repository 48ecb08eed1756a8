"""Console users in the service, on SQLite and PostgreSQL: creation rules, argon2id hashes,
tenant scoping; and the lock-out rule and the SVG charts as properties."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st

from consentry import Consentry, Tenant
from consentry.errors import AuthenticationError, Conflict, InvalidInput, NotFound
from consentry.service._users import (
    LOCKOUT_DURATION,
    LOCKOUT_FAILURES,
    LOCKOUT_WINDOW,
    UsersLayer,
    locked_until,
)
from consentry.store.tables import admin_users
from consentry.web.admin.charts import Series, bar_chart, hbar_chart
from tests.admin.conftest import LIGHT_HASHER, PASSWORD


def _tenant(service: Consentry) -> Tenant:
    service.password_hasher = LIGHT_HASHER
    return service.create_tenant("Users", slug=f"u-{secrets.token_hex(5)}")[0]


@pytest.mark.parametrize(
    ("email", "role", "password", "field"),
    [
        ("ana@example.com", "owner", PASSWORD, "role"),
        ("not-an-address", "agent", PASSWORD, "email"),
        ("", "agent", PASSWORD, "email"),
        ("ana@example.com", "agent", "short", "password"),
        ("ana@example.com", "agent", "x" * 1025, "password"),
    ],
)
def test_create_user_checks_each_field(
    service: Consentry, email: str, role: str, password: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        service.create_user(_tenant(service), email, role, password)
    assert error.value.field == field


def test_e_mail_is_unique_within_a_tenant_only(service: Consentry) -> None:
    first, second = _tenant(service), _tenant(service)
    service.create_user(first, "Ana@Example.com", "agent", PASSWORD)
    with pytest.raises(Conflict):
        service.create_user(first, "ana@example.com", "admin", PASSWORD)
    service.create_user(second, "ana@example.com", "auditor", PASSWORD)
    assert [u.role.value for u in service.list_users(first)] == ["agent"]
    assert [u.role.value for u in service.list_users(second)] == ["auditor"]
    with pytest.raises(AuthenticationError):  # one tenant's password never opens another's
        service.authenticate_user(second, "ana@example.com", "wrong but long enough")
    with pytest.raises(NotFound):
        service.get_user(first, service.list_users(second)[0].id)


def test_passwords_are_stored_as_argon2id(service: Consentry) -> None:
    tenant = _tenant(service)
    user = service.create_user(tenant, "ana@example.com", "admin", PASSWORD)
    with service.engine.connect() as conn:
        stored = conn.execute(
            sa.select(admin_users.c.password_hash).where(
                admin_users.c.tenant_id == tenant.id, admin_users.c.user_id == user.id
            )
        ).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert service.authenticate_user(tenant, " ANA@example.com ", PASSWORD).id == user.id
    with pytest.raises(AuthenticationError):  # the log-in is the e-mail address, not the id
        service.authenticate_user(tenant, user.id, PASSWORD)


def test_the_default_hasher_uses_argon2_cffi_defaults() -> None:
    hashed = UsersLayer.password_hasher.hash(PASSWORD)
    defaults = PasswordHasher()
    assert hashed.startswith("$argon2id$")
    assert f"m={defaults.memory_cost},t={defaults.time_cost},p={defaults.parallelism}" in hashed


def test_disabling_ends_sessions(service: Consentry) -> None:
    tenant = _tenant(service)
    service.create_user(tenant, "ana@example.com", "agent", PASSWORD)
    session = service.log_in(tenant, "ana@example.com", PASSWORD)
    assert service.session_user(tenant, session.token) is not None
    assert service.session_user(_tenant(service), session.token) is None  # other tenant
    assert service.disable_user(tenant, "ana@example.com").disabled_at is not None
    assert service.session_user(tenant, session.token) is None
    with pytest.raises(AuthenticationError):
        service.authenticate_user(tenant, "ana@example.com", PASSWORD)


_T0 = datetime(2026, 1, 1, tzinfo=UTC)
minutes = st.lists(st.integers(min_value=0, max_value=120), max_size=12)


@given(minutes)
def test_lock_out_rule_matches_its_statement(offsets: list[int]) -> None:
    failures = [_T0 + timedelta(minutes=m) for m in offsets]
    until = locked_until(failures)
    # the statement, checked by brute force: any five within fifteen minutes lock the address
    # for fifteen minutes from the last of them
    ends = [
        t + LOCKOUT_DURATION
        for t in failures
        if sum(1 for u in failures if t - LOCKOUT_WINDOW <= u <= t) >= LOCKOUT_FAILURES
    ]
    assert until == (max(ends) if ends else None)


@given(
    st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=40),
    st.integers(min_value=1, max_value=4),
    st.booleans(),
)
def test_bar_chart_draws_one_labelled_bar_per_positive_value(
    values: list[int], n_series: int, stacked: bool
) -> None:
    series = [Series(f"s{i}", tuple(float(v) for v in values)) for i in range(n_series)]
    svg = bar_chart("Counts", [f"d{i}" for i in range(len(values))], series, stacked=stacked)
    root = ET.fromstring(str(svg))
    assert root.get("role") == "img" and root.find("title") is not None
    bars = [r for r in root.iter("rect") if r.find("title") is not None]
    assert len(bars) == n_series * sum(1 for v in values if v > 0)
    for rect in bars:
        assert float(rect.get("y", "-1")) >= 0 and float(rect.get("height", "-1")) > 0


def test_charts_escape_names() -> None:
    svg = str(hbar_chart("<b>rate</b>", ["<script>x</script>"], [None]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "n/a" in svg
    ET.fromstring(svg)
