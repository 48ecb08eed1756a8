"""The registry change history, on SQLite and PostgreSQL: every edit of a program, brand or
sender records one row per changed setting (old and new value, who, when) in the edit's own
transaction; unchanged settings, no-op and refused edits record nothing; ``GET
/v1/registry-changes`` lists them per entity and never another tenant's; replaying the history
over the registered brand gives the stored brand."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consentry import Consentry
from consentry.errors import InvalidInput
from tests.admin.conftest import SENDER, Account, make_account


@pytest.fixture
def api(base_url: str, account: Account) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {account.api_key}"}, timeout=30
    ) as http:
        yield http


def _key_id(account: Account) -> str:
    return account.api_key.split(".")[2]


def _rows(changes: list[dict[str, Any]]) -> set[tuple[str, str, Any, Any, str]]:
    return {
        (c["entity"], c["field"], _plain(c["old"]), _plain(c["new"]), c["actor"]) for c in changes
    }


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def test_a_program_edit_records_each_changed_field_with_the_api_key(
    api: httpx.Client, account: Account
) -> None:
    before = api.get("/v1/programs/alerts").json()
    patch = {"frequency": "Up to 2 msgs/week", "one_way": True, "name": before["name"]}
    assert api.patch("/v1/programs/alerts", json=patch).status_code == 200
    listed = api.get("/v1/registry-changes", params={"entity": "program:alerts"})
    assert listed.status_code == 200, listed.text
    actor = f"api-key:{_key_id(account)}"
    assert _rows(listed.json()) == {  # the unchanged name is not recorded
        ("program", "frequency", None, "Up to 2 msgs/week", actor),
        ("program", "one_way", False, True, actor),
    }
    assert {c["entity_id"] for c in listed.json()} == {account.program.id}
    assert account.api_key.split(".")[3] not in listed.text  # never the key's secret


def test_no_op_and_refused_edits_record_nothing(
    service: Consentry, api: httpx.Client, account: Account
) -> None:
    brand = service.get_brand(account.tenant, "coffee")
    service.update_brand(account.tenant, "coffee", {"name": brand.name}, actor="cli")
    service.update_program(account.tenant, "alerts", actor="cli", name=account.program.name)
    service.update_sender(account.tenant, SENDER, {"verified": True}, actor="cli")
    service.update_sender(account.tenant, SENDER, {"program_ids": ["alerts"]}, actor="cli")
    assert api.patch("/v1/brands/coffee", json={"name": " " + brand.name}).status_code == 200
    refused = api.patch("/v1/brands/coffee", json={"name": "New", "terms_url": "nope"})
    assert refused.status_code == 422
    with pytest.raises(InvalidInput):
        service.update_program(account.tenant, "alerts", actor="cli", name="New", category="x")
    assert service.list_registry_changes(account.tenant) == []
    assert api.get("/v1/registry-changes").json() == []


def test_brand_and_sender_edits_record_old_and_new_values(
    service: Consentry, account: Account
) -> None:
    deals = service.create_program(account.tenant, account.brand.id, "Deals", slug="deals")
    service.update_brand(
        account.tenant,
        "coffee",
        {"support_contact": "care@acme.example", "terms_url": "https://acme.example/t"},
        actor="cli",
    )
    sender = service.update_sender(
        account.tenant, SENDER, {"program_ids": ["deals", "alerts"], "verified": False}, actor="cli"
    )
    brand_rows = service.list_registry_changes(account.tenant, "brand:coffee")
    assert {(c.field, c.old, c.new, c.actor) for c in brand_rows} == {
        ("support_contact", "help@acme.example", "care@acme.example", "cli"),
        ("terms_url", None, "https://acme.example/t", "cli"),
    }
    sender_rows = service.list_registry_changes(account.tenant, f"sender:{SENDER}")
    assert {(c.field, _plain(c.old), _plain(c.new)) for c in sender_rows} == {
        ("verified", True, False),
        ("program_ids", (account.program.id,), tuple(sorted([account.program.id, deals.id]))),
    }
    assert {c.entity_id for c in sender_rows} == {sender.id}
    assert len(service.list_registry_changes(account.tenant)) == 4
    assert len(service.list_registry_changes(account.tenant, "brand")) == 2
    assert service.list_registry_changes(account.tenant, "program") == []


def test_the_history_is_newest_first(service: Consentry, account: Account) -> None:
    for name in ("First", "Second", "Third"):
        service.update_brand(account.tenant, "coffee", {"name": name}, actor="cli")
    rows = service.list_registry_changes(account.tenant, f"brand:{account.brand.id}")
    assert [(c.old, c.new) for c in rows] == [
        ("Second", "Third"),
        ("First", "Second"),
        ("Acme Coffee", "First"),
    ]
    assert rows[0].changed_at >= rows[1].changed_at >= rows[2].changed_at
    assert len(service.list_registry_changes(account.tenant, "brand", limit=2)) == 2


@pytest.mark.parametrize(
    ("entity", "status", "field"),
    [
        ("widget:coffee", 422, "entity"),
        ("brands", 422, "entity"),
        ("brand:no-such-brand", 404, "brand"),
        ("program:no-such-program", 404, "program"),
        ("sender:+12065550199", 404, "sender"),
    ],
)
def test_a_bad_or_unknown_entity_is_refused(
    api: httpx.Client, entity: str, status: int, field: str
) -> None:
    response = api.get("/v1/registry-changes", params={"entity": entity})
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field


def test_another_tenants_history_is_never_shown(
    service: Consentry, api: httpx.Client, account: Account, other_account: Account
) -> None:
    service.update_brand(other_account.tenant, "coffee", {"name": "Their secret"}, actor="cli")
    service.update_brand(account.tenant, "coffee", {"name": "Ours"}, actor="cli")
    mine = api.get("/v1/registry-changes").json()
    assert [c["new"] for c in mine] == ["Ours"]
    assert "Their secret" not in api.get("/v1/registry-changes?entity=brand").text
    theirs = api.get("/v1/registry-changes", params={"entity": f"brand:{other_account.brand.id}"})
    assert theirs.status_code == 404
    assert "Their secret" not in theirs.text


BRAND_NAMES = st.sampled_from(["Acme Coffee", "Acme Roasters", "Zeta Tea", "  Zeta Tea  "])
CONTACTS = st.sampled_from(["help@acme.example", "care@acme.example", ""])
EDITS = st.lists(
    st.fixed_dictionaries({}, optional={"name": BRAND_NAMES, "support_contact": CONTACTS}),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=EDITS)
def test_replaying_the_history_gives_the_stored_brand(
    service: Consentry, account: Account, edits: list[dict[str, str]]
) -> None:
    """Whatever the edits (some refused, some no-ops), the history's rows, applied oldest first
    to the brand as registered, give the brand as stored, and each row is a real change."""
    for edit in edits:
        try:
            service.update_brand(account.tenant, "coffee", edit, actor="cli")
        except InvalidInput as error:
            assert error.field == "support_contact"
    rows = service.list_registry_changes(account.tenant, "brand:coffee", limit=500)
    replayed = account.brand
    for row in reversed(rows):
        assert getattr(replayed, row.field) == row.old != row.new
        replayed = replace(replayed, **{row.field: row.new})
    assert replayed == service.get_brand(account.tenant, "coffee")


def test_numbers_and_cleared_texts_are_recorded_as_json(
    service: Consentry, api: httpx.Client, account: Account
) -> None:
    patch = {"reconfirm_idle_days": 90, "opt_in_reply": "Acme Coffee: welcome back!"}
    assert api.patch("/v1/programs/alerts", json=patch).status_code == 200
    cleared = {"reconfirm_idle_days": None, "opt_in_reply": None}
    assert api.patch("/v1/programs/alerts", json=cleared).status_code == 200
    listed = api.get("/v1/registry-changes", params={"entity": "program"}).json()
    actor = f"api-key:{_key_id(account)}"
    assert _rows(listed) == {
        ("program", "reconfirm_idle_days", 365, 90, actor),
        ("program", "opt_in_reply", None, "Acme Coffee: welcome back!", actor),
        ("program", "reconfirm_idle_days", 90, 365, actor),
        ("program", "opt_in_reply", "Acme Coffee: welcome back!", None, actor),
    }


def test_the_history_is_in_the_archive(tmp_path: Path) -> None:
    """``export-all`` / ``import-all`` carry the change history (every table of the schema)."""
    source = Consentry(f"sqlite:///{tmp_path / 'source.db'}")
    target = Consentry(f"sqlite:///{tmp_path / 'target.db'}")
    try:
        source.migrate()
        account = make_account(source)
        source.update_brand(account.tenant, "coffee", {"name": "Zeta Tea"}, actor="cli")
        source.update_program(account.tenant, "alerts", actor="cli", reconfirm_idle_days=30)
        source.export_all(tmp_path / "all.tar")
        target.import_all(tmp_path / "all.tar")
        assert target.list_registry_changes(account.tenant) == source.list_registry_changes(
            account.tenant
        )
        assert len(target.list_registry_changes(account.tenant)) == 2
    finally:
        source.close()
        target.close()


def test_concurrent_edits_take_turns_in_the_history(service: Consentry, account: Account) -> None:
    """Two writers renaming one brand at once: each row's old value is the previous row's new
    one (the edit holds the brand's row until it commits), so the history replays exactly."""

    def rename(prefix: str) -> None:
        for n in range(12):
            service.update_brand(account.tenant, "coffee", {"name": f"{prefix} {n}"}, actor=prefix)

    workers = [threading.Thread(target=rename, args=(prefix,)) for prefix in ("Ann", "Bo")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    rows = service.list_registry_changes(account.tenant, "brand:coffee", limit=500)
    assert len(rows) == 24
    replayed = account.brand.name
    for row in reversed(rows):
        assert row.old == replayed
        replayed = row.new
    assert replayed == service.get_brand(account.tenant, "coffee").name
