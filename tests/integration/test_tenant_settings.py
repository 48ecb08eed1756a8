"""Tenant settings over HTTP, and the re-opt-in guard they switch on (clock passed in)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from consentry import Consentry
from tests.integration.helpers import create_registry, optouts

SENDER = "+12065550100"


def test_settings_have_defaults_and_are_checked(client: httpx.Client) -> None:
    assert client.get("/v1/tenant/settings").json() == {
        "optout_removal_min_days": None,
        "revoke_all": False,
        "clarify_revocation_scope": False,
    }
    changed = client.patch("/v1/tenant/settings", json={"optout_removal_min_days": 30})
    assert changed.status_code == 200 and changed.json()["optout_removal_min_days"] == 30
    for body, field in (
        ({"optout_removal_min_days": 0}, "optout_removal_min_days"),
        ({"optout_removal_min_days": "30"}, "optout_removal_min_days"),
        ({"revoke_all": "yes"}, "revoke_all"),
        ({"colour": "red"}, "colour"),
        ({}, "settings"),
    ):
        response = client.patch("/v1/tenant/settings", json=body)
        assert response.status_code == 422, body
        assert response.json()["error"]["field"] == field
    # A bad entry next to a good one changes nothing.
    mixed = client.patch(
        "/v1/tenant/settings", json={"optout_removal_min_days": 7, "revoke_all": "x"}
    )
    assert mixed.status_code == 422
    assert client.get("/v1/tenant/settings").json()["optout_removal_min_days"] == 30


def test_an_opt_out_is_lifted_by_api_at_most_once_per_interval(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER)
    client.patch("/v1/tenant/settings", json={"optout_removal_min_days": 30})
    number = "+14255550160"
    program = {"scope": {"kind": "program", "id": "alerts"}}

    def text(body: str) -> None:
        response = client.post("/v1/inbound", json={"from": number, "to": SENDER, "body": body})
        assert response.status_code == 200, response.text

    text("STOP")
    [first] = optouts(client, "remove", None, number, **program)
    assert first["httpStatusCode"] == 200 and first["changed"] is True
    text("STOP")
    [again] = optouts(client, "remove", None, number, **program)
    assert again["httpStatusCode"] == 409 and again["isOptedOut"] is True
    assert "one removal every 30 days" in again["errorMessage"]
    [check] = optouts(client, "check", SENDER, number)
    assert check["isOptedOut"] is True
    # The person's own START is never limited.
    text("START")
    [after] = optouts(client, "check", SENDER, number)
    assert after["isOptedOut"] is False


@pytest.mark.parametrize(("days_later", "allowed"), [(29, False), (31, True)])
def test_the_interval_is_counted_from_the_last_removal(
    database_url: str, days_later: int, allowed: bool
) -> None:
    now = [datetime(2026, 3, 1, 12, 0, tzinfo=UTC)]
    app = Consentry(database_url, clock=lambda: now[0])
    try:
        tenant, _key = app.create_tenant("Guard", slug=f"guard-{secrets.token_hex(4)}")
        brand = app.create_brand(tenant, "Acme", "help@acme.example")
        app.create_program(tenant, brand.id, "Alerts", slug="alerts")
        app.create_sender(tenant, SENDER, "long_code", programs=["alerts"], verified=True)
        app.update_tenant_settings(tenant, {"optout_removal_min_days": 30})
        app.add_optouts(tenant, ["+14255550161"], sender=SENDER)
        app.remove_optouts(tenant, ["+14255550161"], sender=SENDER)
        app.add_optouts(tenant, ["+14255550161"], sender=SENDER)
        now[0] += timedelta(days=days_later)
        [status] = app.remove_optouts(tenant, ["+14255550161"], sender=SENDER)
        assert (status.status == 200 and status.changed) is allowed
        assert status.opted_out is not allowed
    finally:
        app.close()


@pytest.mark.parametrize(("revoke_all", "scope"), [(False, "program:"), (True, "tenant")])
def test_revoke_all_makes_a_stop_reach_the_whole_account(
    client: httpx.Client, revoke_all: bool, scope: str
) -> None:
    create_registry(client, sender=SENDER)
    client.patch("/v1/tenant/settings", json={"revoke_all": revoke_all})
    response = client.post(
        "/v1/inbound", json={"from": "+14255550162", "to": SENDER, "body": "STOP"}
    )
    assert response.status_code == 200
    [landed] = response.json()["scopes"]
    assert landed.startswith(scope)
