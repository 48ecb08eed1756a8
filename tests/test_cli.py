"""The command line, driven as a user would (exit codes, output, files)."""

from __future__ import annotations

import csv
import io
import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentry import Consentry, Tenant
from consentry.cli import app

runner = CliRunner()


def run(*args: str, database: str, tenant: Tenant | None = None) -> tuple[int, str, str]:
    options = ["--database", database] + (["--tenant", tenant.slug] if tenant else [])
    # Options go after the (sub)command words; find where the words end.
    words = [a for a in args if not a.startswith("-")][:2]
    split = (
        2
        if len(words) == 2
        and words[0]
        in {"tenants", "brands", "programs", "senders", "optouts", "audit", "settings", "keywords"}
        else 1
    )
    result = runner.invoke(app, [*args[:split], *options, *args[split:]])
    return result.exit_code, result.stdout, result.stderr


def test_init_demo_creates_the_demo_tenant_once_and_prints_its_key(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'var' / 'consentry.db'}"
    first = subprocess.run(
        [sys.executable, "-m", "consentry.cli", "init", "--demo", "--database", database],
        capture_output=True,
        text=True,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    key = next(line for line in first.stdout.splitlines() if line.startswith("csk."))
    service = Consentry(database)
    assert service.authenticate(key).slug == "demo"
    assert [s.address for s in service.list_senders(service.get_tenant("demo"))] == ["+12065550100"]
    second = subprocess.run(
        [sys.executable, "-m", "consentry.cli", "init", "--demo", "--database", database],
        capture_output=True,
        text=True,
        check=False,
    )
    assert second.returncode == 0
    assert "csk." not in second.stdout
    assert len(service.list_tenants()) == 1


def test_tenants_create_prints_a_working_key(database_url: str, service: Consentry) -> None:
    slug = f"cli-co-{secrets.token_hex(4)}"
    code, stdout, _ = run("tenants", "create", "CLI Co", "--slug", slug, database=database_url)
    assert code == 0
    assert service.authenticate(stdout.strip()).name == "CLI Co"


def test_optouts_add_check_history_export(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    code, _, _ = run(
        "optouts",
        "add",
        "--from",
        "+12065550100",
        "(425) 555-0123",
        "--reason",
        "phone call",
        database=database_url,
        tenant=tenant,
    )
    assert code == 0
    code, stdout, _ = run(
        "optouts",
        "check",
        "--from",
        "2065550100",
        "4255550123",
        "--json",
        database=database_url,
        tenant=tenant,
    )
    assert code == 0
    [entry] = json.loads(stdout)
    assert (entry["to"], entry["opted_out"]) == ("+14255550123", True)

    code, stdout, _ = run(
        "optouts", "history", "+14255550123", "--json", database=database_url, tenant=tenant
    )
    history = json.loads(stdout)
    assert [(e["action"], e["source"], e["reason"]) for e in history["events"]] == [
        ("add", "cli", "phone call")
    ]

    target = tmp_path / "out.csv"
    code, _, _ = run("optouts", "export", "-o", str(target), database=database_url, tenant=tenant)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [(r["recipient"], r["scope"]) for r in rows] == [("+14255550123", "sender:+12065550100")]


def test_import_all_or_nothing(database_url: str, tenant: Tenant, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("phone\n+14255550150\nnope\n")
    code, _, stderr = run(
        "optouts", "import", str(bad), "--scope", "tenant", database=database_url, tenant=tenant
    )
    assert code == 2
    assert "line 3" in stderr and "nothing imported" in stderr
    code, stdout, _ = run(
        "optouts",
        "check",
        "--scope",
        "tenant",
        "+14255550150",
        "--json",
        database=database_url,
        tenant=tenant,
    )
    assert json.loads(stdout)[0]["opted_out"] is False

    good = tmp_path / "good.txt"
    good.write_text("\n".join(f"+1425555{i:04d}" for i in range(200, 260)) + "\n")
    code, stdout, _ = run(
        "optouts",
        "import",
        str(good),
        "--scope",
        "tenant",
        "--json",
        database=database_url,
        tenant=tenant,
    )
    assert code == 0
    assert json.loads(stdout)["added"] == 60


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("optouts", "add", "--from", "+12065550100", "banana"), "not a phone number"),
        (("optouts", "add", "+14255550123"), "from"),
        (("optouts", "add", "--scope", "galaxy", "+14255550123"), "--scope"),
        (("optouts", "add", "--scope", "program", "+14255550123"), "needs an id"),
        (("optouts", "add", "--scope", "program:nope", "+14255550123"), "no program 'nope'"),
        (("optouts", "import", "/does/not/exist.csv", "--scope", "tenant"), "does not exist"),
        (("brands", "create", "--name", "", "--support-contact", "x"), "name"),
        (("senders", "create", "1234", "--kind", "short_code"), "short code"),
        (("inbound", "STOP", "--from", "nope", "--to", "+12065550100"), "from"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_changes_nothing(
    database_url: str, tenant: Tenant, service: Consentry, args: tuple[str, ...], message: str
) -> None:
    code, _, stderr = run(*args, database=database_url, tenant=tenant)
    assert code == 2, stderr
    assert message in stderr
    assert service.count_optouts(tenant) == 0
    assert service.list_brands(tenant) == []
    assert service.list_inbound(tenant) == []


def test_inbound_stop_and_audit_verify(database_url: str, tenant: Tenant) -> None:
    code, stdout, _ = run(
        "inbound",
        "STOP",
        "--from",
        "+14255550123",
        "--to",
        "+12065550100",
        "--json",
        database=database_url,
        tenant=tenant,
    )
    assert code == 0
    result = json.loads(stdout)
    assert (result["kind"], result["action"]) == ("opt_out", "opted_out")
    assert result["reply"]
    code, stdout, _ = run("audit", "verify", "--json", database=database_url, tenant=tenant)
    assert code == 0
    assert json.loads(stdout) == {
        "ok": True,
        "events": 1,
        "first_broken_seq": None,
        "problem": None,
    }


@pytest.mark.parametrize(
    ("text", "kind", "keyword"),
    [
        ("Stop", "opt_out", "STOP"),
        ("START", "opt_in", "START"),
        ("help", "help", "HELP"),
        ("see you at the bus stop", None, None),
    ],
)
def test_classify_prints_one_json_object(text: str, kind: str | None, keyword: str | None) -> None:
    result = runner.invoke(app, ["classify", text, "--json"])
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert set(payload) == {"kind", "keyword", "language"}
    if kind is None:
        assert payload["kind"] != "opt_out"
    else:
        assert (payload["kind"], payload["keyword"]) == (kind, keyword)


@pytest.mark.parametrize("list_format", ["twilio", "aws", "azure"])
def test_optouts_export_in_a_providers_format(
    database_url: str, service: Consentry, tenant: Tenant, tmp_path: Path, list_format: str
) -> None:
    brand = service.create_brand(tenant, "Acme", "help@acme.example")
    service.create_program(tenant, brand.id, "Alerts", slug="alerts")
    service.create_sender(tenant, "+12065550100", "long_code", programs=["alerts"])
    service.add_optouts(tenant, ["+14255550180", "+14255550181"], sender="+12065550100")
    target = tmp_path / f"list.{list_format}"
    code, _out, err = run(
        "optouts",
        "export",
        "--format",
        list_format,
        "-o",
        str(target),
        database=database_url,
        tenant=tenant,
    )
    assert code == 0, err
    text = target.read_text()
    assert "+14255550180" in text and "+14255550181" in text
    if list_format == "aws":
        assert {n["OptedOutNumber"] for n in json.loads(text)["OptedOutNumbers"]} == {
            "+14255550180",
            "+14255550181",
        }
    code, _out, err = run(
        "optouts", "export", "--format", "fax", database=database_url, tenant=tenant
    )
    assert code == 2 and "--format" in err


def test_settings_and_keywords_from_the_command_line(database_url: str, tenant: Tenant) -> None:
    code, out, err = run(
        "settings", "set", "optout_removal_min_days", "30", database=database_url, tenant=tenant
    )
    assert code == 0, err
    code, out, _ = run("settings", "show", "--json", database=database_url, tenant=tenant)
    assert {row["name"]: row["value"] for row in json.loads(out)}["optout_removal_min_days"] == "30"
    code, _out, err = run(
        "settings", "set", "revoke_all", "maybe", database=database_url, tenant=tenant
    )
    assert code == 2 and "revoke_all" in err
    code, out, err = run(
        "keywords", "add", "ya no quiero", "--kind", "opt_out", database=database_url, tenant=tenant
    )
    assert code == 0 and "YA NO QUIERO" in out, err
    code, _out, err = run(
        "keywords", "add", "STOP", "--kind", "opt_in", database=database_url, tenant=tenant
    )
    assert code == 2 and "STOP" in err
    code, out, _ = run("keywords", "list", "--json", database=database_url, tenant=tenant)
    assert [row["keyword"] for row in json.loads(out)] == ["YA NO QUIERO"]
    code, _out, _err = run(
        "keywords", "remove", "Ya no quiero", database=database_url, tenant=tenant
    )
    assert code == 0
    code, _out, err = run(
        "keywords", "remove", "Ya no quiero", database=database_url, tenant=tenant
    )
    assert code == 2 and "keyword" in err
