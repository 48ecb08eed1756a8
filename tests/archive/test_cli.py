"""``consentry export-all`` / ``verify-archive`` / ``import-all`` and ``tenants revoke-key``,
driven as an operator would: exit codes, messages, and what ends up in the databases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from consentry import AuthenticationError, Consentry
from consentry.cli import app
from consentry.store.migrate import upgrade
from tests.archive.conftest import Clock, Install, NewDatabase, build_realistic
from tests.archive.helpers import edit_lines, rewrite, row_counts, snapshot

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("first", "second"), [("sqlite", "postgresql"), ("postgresql", "sqlite")])
def test_export_verify_import_from_the_command_line(
    install: Install,
    new_database: NewDatabase,
    clock: Clock,
    tmp_path: Path,
    first: str,
    second: str,
) -> None:
    source = install(first)
    source.migrate()
    built = build_realistic(source, clock)
    path = tmp_path / "backup.zip"

    code, stdout, stderr = run("export-all", str(path), "--database", source.database_url)
    assert code == 0, stderr
    assert f"wrote {path}" in " ".join(stdout.split())

    code, stdout, stderr = run("verify-archive", str(path), "--json")
    assert code == 0, stderr
    verified = json.loads(stdout)
    assert verified["ok"] is True
    assert verified["tables"]["consent_events"] == len(snapshot(source)["consent_events"])
    assert set(verified["ledger"]) == {tenant.id for tenant in built.tenants}

    target = new_database(second)  # brand new: import-all migrates it
    code, stdout, stderr = run("import-all", str(path), "--database", target)
    assert code == 0, stderr
    assert "every chain verified" in " ".join(stdout.split())
    restored = Consentry(target, clock=clock)
    try:
        assert snapshot(restored) == snapshot(source)
        assert all(restored.verify_ledger(tenant).ok for tenant in built.tenants)
    finally:
        restored.close()

    code, _, stderr = run("import-all", str(path), "--database", target)
    assert code == 2
    assert "not empty" in stderr


def _drop_last(rows: list[dict[str, Any]]) -> None:
    del rows[-1]


@pytest.mark.parametrize("target_kind", ["sqlite", "postgresql"])
def test_a_corrupt_archive_exits_2_and_writes_nothing(
    install: Install, new_database: NewDatabase, clock: Clock, tmp_path: Path, target_kind: str
) -> None:
    source = install("sqlite")
    source.migrate()
    build_realistic(source, clock)
    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    source.export_all(good)
    rewrite(
        good,
        bad,
        edit_lines("tables/optouts.jsonl", _drop_last),
        fix_checksums=False,
    )

    code, _, stderr = run("verify-archive", str(bad))
    assert (code, "tables/optouts.jsonl is corrupt" in stderr) == (2, True), stderr
    target = new_database(target_kind)
    code, _, stderr = run("import-all", str(bad), "--database", target)
    assert code == 2
    assert "corrupt" in stderr
    assert sum(row_counts(target).values()) == 0
    code, _, stderr = run("verify-archive", str(tmp_path / "missing.zip"))
    assert (code, "no such file" in stderr) == (2, True)


def test_export_refuses_a_database_behind_the_schema(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'old.db'}"
    service = Consentry(database)
    upgrade(service.engine, "0009")
    code, _, stderr = run("export-all", str(tmp_path / "x.zip"), "--database", database)
    assert code == 2
    assert "migrate it first" in stderr
    assert not (tmp_path / "x.zip").exists()
    service.close()


def test_tenants_revoke_key_revokes_at_once(install: Install) -> None:
    service = install("sqlite")
    service.migrate()
    tenant, old = service.create_tenant("Keys", slug="keys")
    code, stdout, stderr = run("tenants", "key", "keys", "--database", service.database_url)
    assert code == 0, stderr
    new = stdout.strip()
    assert service.authenticate(new).id == service.authenticate(old).id == tenant.id

    key_id = old.split(".")[2]
    code, stdout, stderr = run(
        "tenants", "revoke-key", "keys", key_id, "--database", service.database_url
    )
    assert code == 0, stderr
    assert "revoked" in stdout
    with pytest.raises(AuthenticationError):
        service.authenticate(old)
    assert service.authenticate(new).id == tenant.id
    code, _, stderr = run(
        "tenants", "revoke-key", "keys", key_id, "--database", service.database_url
    )
    assert code == 2
    assert "no active API key" in stderr


def test_export_into_a_missing_directory_exits_2(install: Install, tmp_path: Path) -> None:
    service = install("sqlite")
    service.migrate()
    target = tmp_path / "no" / "such" / "backup.zip"
    code, _, stderr = run("export-all", str(target), "--database", service.database_url)
    assert code == 2
    assert "no directory" in stderr
    assert not target.parent.exists()
