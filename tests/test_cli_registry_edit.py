"""``consentry brands|programs|senders update`` and ``consentry registry history``, driven as an
operator would, on SQLite and PostgreSQL: a good change alters the record and is kept in the
history as ``cli``; bad input exits 2 with the service's message naming the field and changes
nothing; ``--json`` prints what the API would answer."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from consentry import Consentry, Tenant
from consentry.cli import app
from consentry.cli.registry_edit import parse_value
from consentry.domain.model import Brand, Program, Sender

runner = CliRunner()
SENDER = "+12065550100"


@dataclass
class Registry:
    tenant: Tenant
    brand: Brand
    program: Program
    other: Program
    sender: Sender


@pytest.fixture
def registry(service: Consentry, tenant: Tenant) -> Registry:
    brand = service.create_brand(tenant, "Acme Coffee", "help@acme.example", slug="coffee")
    program = service.create_program(
        tenant, brand.id, "Acme alerts", slug="alerts", category="informational"
    )
    other = service.create_program(tenant, brand.id, "Deals", slug="deals", category="marketing")
    sender = service.create_sender(tenant, SENDER, "long_code", programs=[program.id])
    return Registry(tenant, brand, program, other, sender)


def cli(database: str, tenant: Tenant, *args: str) -> tuple[int, str, str]:
    """Run ``consentry WORD COMMAND ...`` on the test database and tenant."""
    result = runner.invoke(
        app, [*args[:2], "--database", database, "--tenant", tenant.slug, *args[2:]]
    )
    return result.exit_code, result.stdout, result.stderr


def records(service: Consentry, tenant: Tenant) -> tuple[Any, ...]:
    return (
        service.list_brands(tenant),
        service.list_programs(tenant),
        service.list_senders(tenant),
    )


LONG_REPLY = "Acme: you are unsubscribed and will get no more messages. " * 4

# (command words, the reference, the --set options, what the message names)
BAD_INPUT: list[tuple[str, str, list[str], str]] = [
    ("brands", "coffee", ["colour=red"], "colour"),
    ("brands", "coffee", ["slug=new-slug"], "slug"),
    ("brands", "coffee", ["name="], "name"),
    ("brands", "coffee", ["name=null"], "name"),
    ("brands", "coffee", ["terms_url=ftp://acme.example/terms"], "terms_url"),
    ("brands", "coffee", ["support_phone=12"], "support_phone"),
    ("brands", "coffee", ["name=Fine", "privacy_url=not a url"], "privacy_url"),
    ("brands", "coffee", ["name=One", "name=Two"], "name"),
    ("brands", "coffee", ["name"], "--set"),
    ("brands", "coffee", ["=value"], "--set"),
    ("brands", "coffee", [], "--set"),
    ("brands", "no-such-brand", ["name=X"], "brand"),
    ("programs", "alerts", ["one_way=maybe"], "one_way"),
    ("programs", "alerts", ["double_opt_in=1"], "double_opt_in"),
    ("programs", "alerts", ["pending_expiry_hours=0"], "pending_expiry_hours"),
    ("programs", "alerts", ["reconfirm_after_days=soon"], "reconfirm_after_days"),
    ("programs", "alerts", ["category=spam"], "category"),
    ("programs", "alerts", ["opt_out_scope=planet"], "opt_out_scope"),
    ("programs", "alerts", [f"opt_out_reply={LONG_REPLY}"], "opt_out_reply"),
    ("programs", "alerts", ["brand_id=brd_other"], "brand_id"),
    ("programs", "alerts", ["frequency=Weekly", "slug=renamed"], "slug"),
    ("programs", "alerts", ["actor=someone"], "actor"),
    ("programs", "alerts", ["tenant=other"], "tenant"),
    ("programs", "no-such-program", ["name=X"], "program"),
    ("senders", SENDER, ["verified=yes"], "verified"),
    ("senders", SENDER, ["program_ids=alerts"], "program_ids"),
    ("senders", SENDER, ['program_ids=["no-such-program"]'], "program_ids"),
    ("senders", SENDER, ["kind=toll_free"], "kind"),
    ("senders", SENDER, ["kind=carrier_pigeon"], "kind"),
    ("senders", SENDER, ["address=+12065550199"], "address"),
    ("senders", "+12065550177", ["verified=true"], "sender"),
]


@pytest.mark.parametrize(
    ("words", "ref", "settings", "field"),
    BAD_INPUT,
    ids=[f"{case[0]}-{'-'.join(case[2]) or 'none'}"[:60] for case in BAD_INPUT],
)
def test_bad_input_exits_2_names_the_field_and_changes_nothing(
    database_url: str,
    service: Consentry,
    registry: Registry,
    words: str,
    ref: str,
    settings: list[str],
    field: str,
) -> None:
    before = records(service, registry.tenant)
    options = [part for setting in settings for part in ("--set", setting)]
    code, stdout, stderr = cli(database_url, registry.tenant, words, "update", ref, *options)
    assert code == 2, stdout + stderr
    assert stderr.startswith("error: ") and field in stderr.splitlines()[0], stderr
    assert records(service, registry.tenant) == before
    assert service.list_registry_changes(registry.tenant) == []


def test_another_tenants_records_are_unknown(
    database_url: str, service: Consentry, registry: Registry
) -> None:
    other = service.create_tenant("Other", slug=f"o-{secrets.token_hex(5)}")[0]
    brand = service.create_brand(other, "Theirs", "help@theirs.example", slug="theirs")
    code, _, stderr = cli(
        database_url, registry.tenant, "brands", "update", brand.id, "--set", "name=Mine"
    )
    assert code == 2 and "brand" in stderr
    assert service.get_brand(other, brand.id).name == "Theirs"
    assert service.list_registry_changes(other) == []


def test_a_brand_change_is_stored_and_kept_in_the_history_as_cli(
    database_url: str, service: Consentry, registry: Registry
) -> None:
    tenant = registry.tenant
    code, stdout, stderr = cli(
        database_url,
        tenant,
        "brands",
        "update",
        "coffee",
        "--set",
        "name=2024",  # a text setting takes the text as typed
        "--set",
        "support_phone=(206) 555-0123",
        "--set",
        "terms_url=https://acme.example/sms-terms",
        "--json",
    )
    assert code == 0, stderr
    shown = json.loads(stdout)
    brand = service.get_brand(tenant, "coffee")
    assert brand.name == "2024" and brand.support_phone == "+12065550123"
    assert shown["name"] == "2024" and shown["support_phone"] == "+12065550123"
    assert shown["id"] == brand.id and shown["slug"] == "coffee" and "tenant_id" not in shown
    changes = service.list_registry_changes(tenant, "brand:coffee")
    assert {(c.field, c.old, c.new, c.actor) for c in changes} == {
        ("name", "Acme Coffee", "2024", "cli"),
        ("support_phone", None, "+12065550123", "cli"),
        ("terms_url", None, "https://acme.example/sms-terms", "cli"),
    }
    # null clears; the table output names the changed setting
    code, stdout, stderr = cli(
        database_url, tenant, "brands", "update", brand.id, "--set", "terms_url=null"
    )
    assert code == 0, stderr
    assert "terms_url" in stdout and "null" in stdout and "updated" in stderr
    assert service.get_brand(tenant, "coffee").terms_url is None
    # the same value again changes nothing and writes no history
    code, _, stderr = cli(database_url, tenant, "brands", "update", "coffee", "--set", "name=2024")
    assert code == 0 and "nothing changed" in stderr
    assert len(service.list_registry_changes(tenant, "brand:coffee")) == 4


def test_a_program_change_parses_json_values_and_the_gate_sees_it(
    database_url: str, service: Consentry, registry: Registry
) -> None:
    tenant = registry.tenant
    code, stdout, stderr = cli(
        database_url,
        tenant,
        "programs",
        "update",
        "alerts",
        "--set",
        "one_way=true",
        "--set",
        "pending_expiry_hours=24",
        "--set",
        "frequency=Up to 2 msgs/week",
        "--set",
        'help_reply="true"',  # JSON-quoted: the text
        "--json",
    )
    assert code == 0, stderr
    shown = json.loads(stdout)
    program = service.get_program(tenant, "alerts")
    assert program.one_way is True and program.pending_expiry_hours == 24
    assert program.frequency == "Up to 2 msgs/week" and program.help_reply == "true"
    assert shown["one_way"] is True and shown["pending_expiry_hours"] == 24
    assert shown["opt_out_scope"] == "program" and shown["brand_id"] == registry.brand.id
    changes = service.list_registry_changes(tenant, f"program:{program.id}")
    assert sorted(c.field for c in changes) == [
        "frequency",
        "help_reply",
        "one_way",
        "pending_expiry_hours",
    ]
    assert {c.actor for c in changes} == {"cli"}
    # the send gate reloads the program: without the one-way notice the message is blocked
    decision = service.check_send(
        tenant, SENDER, "+14255550123", program.id, "Acme Coffee: your order shipped."
    )
    assert "DISCLOSURE-ONE-WAY" in {finding.rule_id for finding in decision.findings}


def test_a_sender_change_takes_a_list_of_programs_by_slug(
    database_url: str, service: Consentry, registry: Registry
) -> None:
    tenant = registry.tenant
    code, stdout, stderr = cli(
        database_url,
        tenant,
        "senders",
        "update",
        SENDER,
        "--set",
        "verified=true",
        "--set",
        'program_ids=["deals", "alerts"]',
        "--json",
    )
    assert code == 0, stderr
    shown = json.loads(stdout)
    sender = service.get_sender(tenant, SENDER)
    assert sender.verified is True
    assert set(sender.program_ids) == {registry.program.id, registry.other.id}
    assert set(shown["program_ids"]) == set(sender.program_ids) and shown["address"] == SENDER
    changes = service.list_registry_changes(tenant, f"sender:{SENDER}")
    assert {(c.field, c.actor) for c in changes} == {("verified", "cli"), ("program_ids", "cli")}


def test_history_prints_a_table_or_json_newest_first(
    database_url: str, service: Consentry, registry: Registry
) -> None:
    tenant = registry.tenant
    service.update_brand(tenant, "coffee", {"name": "First"}, actor="console:ana@acme.example")
    assert cli(database_url, tenant, "brands", "update", "coffee", "--set", "name=Second")[0] == 0
    service.update_program(tenant, "alerts", actor="api-key:key_1", one_way=True)

    code, stdout, stderr = cli(
        database_url, tenant, "registry", "history", "--entity", "brand:coffee", "--json"
    )
    assert code == 0, stderr
    rows = json.loads(stdout)
    assert [(r["field"], r["old"], r["new"], r["actor"]) for r in rows] == [
        ("name", "First", "Second", "cli"),
        ("name", "Acme Coffee", "First", "console:ana@acme.example"),
    ]
    assert all(r["entity"] == "brand" and r["entity_id"] == registry.brand.id for r in rows)
    assert rows[0]["changed_at"] >= rows[1]["changed_at"]

    code, stdout, _ = cli(database_url, tenant, "registry", "history", "--json", "--limit", "1")
    assert [r["actor"] for r in json.loads(stdout)] == ["api-key:key_1"]

    code, stdout, _ = cli(database_url, tenant, "registry", "history")
    assert code == 0 and "one_way" in stdout and "cli" in stdout and '"Second"' in stdout

    for entity in ("thing", "brand:no-such-brand"):
        code, _, stderr = cli(database_url, tenant, "registry", "history", "--entity", entity)
        assert (
            code == 2 and stderr.startswith("error: ") and ("entity" in stderr or "brand" in stderr)
        )


def test_an_empty_history_says_so(database_url: str, registry: Registry) -> None:
    code, stdout, _ = cli(database_url, registry.tenant, "registry", "history")
    assert code == 0 and stdout.strip() == "(none)"
    code, stdout, _ = cli(database_url, registry.tenant, "registry", "history", "--json")
    assert code == 0 and json.loads(stdout) == []


# (typed, --set text, the value given to the service)
VALUES: list[tuple[bool, str, Any]] = [
    (True, "true", True),
    (True, "false", False),
    (True, "null", None),
    (True, "24", 24),
    (True, '["alerts", "deals"]', ["alerts", "deals"]),
    (True, "yes", "yes"),
    (True, "", ""),
    (False, "Acme Coffee", "Acme Coffee"),
    (False, "2024", "2024"),
    (False, "true", "true"),
    (False, "null", None),
    (False, '"null"', "null"),
    (False, "[1, 2]", "[1, 2]"),
    (False, "Up to 2 msgs/week", "Up to 2 msgs/week"),
]


@pytest.mark.parametrize(("typed", "text", "value"), VALUES)
def test_set_values_are_json_when_they_parse(typed: bool, text: str, value: Any) -> None:
    assert parse_value(text, typed) == value


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)


@given(JSON_VALUES)
def test_a_typed_setting_reads_any_json_value(value: Any) -> None:
    assert parse_value(json.dumps(value), typed=True) == value


@given(st.text())
def test_a_text_setting_keeps_the_text_unless_null_or_quoted(text: str) -> None:
    value = parse_value(text, typed=False)
    assert value == text or value is None or json.loads(text) == value
    if value is None:
        assert text.strip() == "null"
