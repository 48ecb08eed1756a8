"""``consentry check`` and ``consentry rules list``, driven as a user would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from consentry import Consentry, Tenant
from consentry.cli import app
from consentry.domain.catalogue import catalogue, catalogue_markdown

runner = CliRunner()
SENDER = "+12065550100"
NY = "+12125550123"
BODY = "Acme: your table is ready. Reply STOP to opt out."
ROOT = Path(__file__).resolve().parent.parent


def _afternoon() -> str:
    day = (datetime.now(ZoneInfo("America/New_York")) + timedelta(days=1)).date()
    at = datetime(day.year, day.month, day.day, 13, tzinfo=ZoneInfo("America/New_York"))
    return at.astimezone(UTC).isoformat()


@pytest.fixture
def program(service: Consentry, tenant: Tenant) -> str:
    brand = service.create_brand(tenant, "Acme", "help@acme.example")
    service.create_program(tenant, brand.id, "Alerts", slug="alerts")
    service.create_sender(tenant, SENDER, "long_code", programs=["alerts"], verified=True)
    service.record_consent(
        tenant, NY, "alerts", medium="web_form", disclosure_text="Acme alerts. Reply STOP."
    )
    return "alerts"


def check(
    database: str, tenant: Tenant, *args: str, stdin: str | None = None
) -> tuple[int, str, str]:
    result = runner.invoke(
        app, ["check", "--database", database, "--tenant", tenant.slug, *args], input=stdin
    )
    return result.exit_code, result.stdout, result.stderr


def test_one_message_from_options(database_url: str, tenant: Tenant, program: str) -> None:
    code, out, err = check(
        database_url,
        tenant,
        "--from",
        SENDER,
        "--to",
        NY,
        "--program",
        program,
        "--body",
        BODY,
        "--at",
        _afternoon(),
        "--json",
    )
    assert code == 0, err
    decision = json.loads(out)
    assert decision["line"] == 1 and decision["action"] == "send" and decision["allowed"]
    assert [f["rule_id"] for f in decision["findings"]] == ["ENCODING-SEGMENTS"]


def test_a_json_lines_file_gets_one_decision_a_line_and_exit_1_when_any_is_refused(
    database_url: str, tenant: Tenant, program: str, tmp_path: Path
) -> None:
    at = _afternoon()
    lines = [
        {"from": SENDER, "to": NY, "program": program, "body": BODY, "at": at},
        {"from": SENDER, "to": "+12125550199", "program": program, "body": BODY, "at": at},
    ]
    source = tmp_path / "messages.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    code, out, err = check(database_url, tenant, str(source), "--json")
    assert code == 1, err
    decisions = [json.loads(line) for line in out.splitlines()]
    assert [d["line"] for d in decisions] == [1, 2]
    assert [d["action"] for d in decisions] == ["send", "block"]
    assert "CONSENT-MISSING" in {f["rule_id"] for f in decisions[1]["findings"]}
    # The same from standard input, as a table.
    code, out, _ = check(database_url, tenant, "-", stdin=source.read_text())
    assert code == 1 and "CONSENT-MISSING" in out


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 2: not JSON"),
        ('{"from": "+12065550100", "to": "+12125550123", "program": "alerts"}', "line 2: body"),
        (
            '{"from": "x", "to": "+12125550123", "program": "alerts", "body": "b", "at": "soon"}',
            "line 2: at",
        ),
        ('{"from": "+12065550100", "to": "123", "program": "alerts", "body": "b"}', "line 2: to"),
        (
            '{"from": "+12065550100", "to": "+12125550123", "program": "nope", "body": "b"}',
            "line 2: program",
        ),
        (
            '{"from": "+12065550100", "to": "+12125550123", "program": "alerts", "body": "b", '
            '"colour": "red"}',
            "line 2: colour",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_line_and_field_and_records_nothing(
    service: Consentry,
    database_url: str,
    tenant: Tenant,
    program: str,
    tmp_path: Path,
    line: str,
    message: str,
) -> None:
    good = json.dumps(
        {"from": SENDER, "to": NY, "program": program, "body": BODY, "at": _afternoon()}
    )
    source = tmp_path / "messages.jsonl"
    source.write_text(good + "\n" + line + "\n")
    code, _out, err = check(database_url, tenant, str(source), "--record", "--json")
    assert code == 2
    assert message in err
    # Nothing was recorded: a message without opt-out wording is still a first message.
    bare = service.check_send(tenant, SENDER, NY, program, "Acme: table ready.")
    assert "DISCLOSURE-FIRST-MESSAGE" in {f.rule_id for f in bare.findings}


def test_record_makes_the_next_message_no_first_message(
    service: Consentry, database_url: str, tenant: Tenant, program: str
) -> None:
    code, out, err = check(
        database_url,
        tenant,
        "--from",
        SENDER,
        "--to",
        NY,
        "--program",
        program,
        "--body",
        BODY,
        "--record",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["send_id"].startswith("snt_")
    assert service.check_send(tenant, SENDER, NY, program, "Acme: table ready.").allowed


def test_rules_list_shows_every_rule_with_its_citation() -> None:
    result = runner.invoke(app, ["rules", "list", "--json"])
    assert result.exit_code == 0
    listed = {rule["id"]: rule for rule in json.loads(result.stdout)}
    assert set(listed) == set(catalogue().rules)
    assert all(rule["citation"] and rule["severity"] for rule in listed.values())


def test_the_docs_catalogue_page_is_up_to_date() -> None:
    result = runner.invoke(app, ["rules", "list", "--markdown"])
    assert result.exit_code == 0
    page = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert result.stdout == page == catalogue_markdown(), (
        "docs/rules.md is stale: run `consentry rules list --markdown > docs/rules.md`"
    )


def test_decisions_list_shows_what_was_refused_and_why(
    database_url: str, service: Consentry, tenant: Tenant, program: str
) -> None:
    stranger = "+12125550188"  # no consent
    code, _, err = check(
        database_url,
        tenant,
        "--from",
        SENDER,
        "--to",
        stranger,
        "--program",
        program,
        "--body",
        BODY,
        "--at",
        _afternoon(),
    )
    assert code == 1, err
    shown = runner.invoke(
        app,
        [
            "decisions",
            "list",
            "--rule",
            "CONSENT-MISSING",
            "--json",
            "--database",
            database_url,
            "--tenant",
            tenant.slug,
        ],
    )
    assert shown.exit_code == 0, shown.output
    [logged] = json.loads(shown.stdout)
    assert logged["recipient"] == stranger and "CONSENT-MISSING" in logged["rule_ids"]
    bad = runner.invoke(
        app,
        [
            "decisions",
            "list",
            "--rule",
            "NOPE",
            "--database",
            database_url,
            "--tenant",
            tenant.slug,
        ],
    )
    assert bad.exit_code == 2 and "rule_id" in bad.output
