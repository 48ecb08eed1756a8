"""``consentry users create | list | disable``, driven as an operator would."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from consentry import Consentry
from consentry.cli import app
from tests.admin.conftest import LIGHT_HASHER, PASSWORD

runner = CliRunner()


def _database(tmp_path: Path) -> tuple[str, Consentry]:
    url = f"sqlite:///{tmp_path / 'consentry.db'}"
    service = Consentry(url)
    service.migrate()
    service.create_tenant("Demo", slug="demo")
    return url, service


def test_create_reads_the_password_from_stdin_and_never_echoes_it(tmp_path: Path) -> None:
    url, service = _database(tmp_path)
    result = runner.invoke(
        app,
        [
            "users",
            "create",
            "--database",
            url,
            "--tenant",
            "demo",
            "--email",
            "Ana@Demo.example",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert "/admin/demo/login" in result.stderr
    tenant = service.get_tenant("demo")
    service.password_hasher = LIGHT_HASHER
    assert service.authenticate_user(tenant, "ana@demo.example", PASSWORD).role.value == "admin"


def test_create_prompts_twice_without_echo(tmp_path: Path) -> None:
    url, service = _database(tmp_path)
    result = runner.invoke(
        app,
        ["users", "create", "--database", url, "--email", "bo@demo.example", "--role", "agent"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert [u.email for u in service.list_users(service.get_tenant("demo"))] == ["bo@demo.example"]


def test_bad_input_exits_2_and_creates_nothing(tmp_path: Path) -> None:
    url, service = _database(tmp_path)
    for role, password in (("owner", PASSWORD), ("agent", "short")):
        result = runner.invoke(
            app,
            [
                "users",
                "create",
                "--database",
                url,
                "--email",
                "cy@demo.example",
                "--role",
                role,
                "--password-stdin",
            ],
            input=password + "\n",
        )
        assert result.exit_code == 2
        assert ("role" if role == "owner" else "password") in result.stderr
    assert service.list_users(service.get_tenant("demo")) == []


def test_list_and_disable(tmp_path: Path) -> None:
    url, service = _database(tmp_path)
    service.password_hasher = LIGHT_HASHER
    service.create_user(service.get_tenant("demo"), "di@demo.example", "auditor", PASSWORD)
    disabled = runner.invoke(app, ["users", "disable", "di@demo.example", "--database", url])
    assert disabled.exit_code == 0, disabled.stderr
    listed = runner.invoke(app, ["users", "list", "--database", url, "--json"])
    [row] = json.loads(listed.stdout)
    assert row["email"] == "di@demo.example" and row["disabled_at"] is not None
    missing = runner.invoke(app, ["users", "disable", "nobody@demo.example", "--database", url])
    assert missing.exit_code == 2 and "no user" in missing.stderr
