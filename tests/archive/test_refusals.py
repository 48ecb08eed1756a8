"""A bad archive or a non-empty target is refused before anything is written, and a failure
while loading rolls everything back: the target stays as it was."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from consentry import Consentry
from consentry.archive import ArchiveError, TargetNotEmpty, verify_archive
from consentry.archive.restore import reset_sequences
from consentry.secrets_at_rest import KEY_ENV
from tests.archive.conftest import KINDS, Install, NewDatabase
from tests.archive.helpers import Change, edit_lines, rewrite, row_counts


@pytest.fixture(params=KINDS)
def source_archive(request: pytest.FixtureRequest, realistic_archives: dict[str, Path]) -> Path:
    """An archive of a realistic database of each kind."""
    if request.param not in realistic_archives:
        pytest.skip(f"no {request.param} database here")
    return realistic_archives[request.param]


def _flip_byte(member: str) -> Change:
    def change(name: str, data: bytes) -> bytes:
        if name != member:
            return data
        middle = len(data) // 2
        return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]

    return change


def _tamper_event(rows: list[dict[str, Any]]) -> None:
    # Not a purged event: those keep only their links, their content is no longer hashed.
    victim = next(r for r in rows if r["kind"] == "opt_out_added" and r["redacted_at"] is None)
    victim["recipient"] = "+14255559999"


def _duplicate_first(rows: list[dict[str, Any]]) -> None:
    rows.append(dict(rows[0]))


def _older_revision(name: str, data: bytes) -> bytes:
    if name != "manifest.json":
        return data
    manifest = json.loads(data)
    manifest["schema_revision"] = "0009"
    return json.dumps(manifest).encode()


# (case, change, recompute the manifest's checksums as a forger would, expected message)
CASES: list[tuple[str, Change, bool, str]] = [
    ("member bit flip", _flip_byte("tables/optouts.jsonl"), False, "corrupt"),
    ("manifest edited", _flip_byte("manifest.json"), False, "manifest.json is corrupt"),
    (
        "event edited, checksums forged",
        edit_lines("tables/consent_events.jsonl", _tamper_event),
        True,
        "does not verify",
    ),
    (
        "head edited, checksums forged",
        edit_lines("tables/ledger_heads.jsonl", lambda rows: rows[0].update(hash="0" * 64)),
        True,
        "does not verify",
    ),
    (
        "duplicate row, checksums forged",
        edit_lines("tables/tenants.jsonl", _duplicate_first),
        True,
        "cannot be loaded",
    ),
    (
        "unknown column, checksums forged",
        edit_lines("tables/brands.jsonl", lambda rows: rows[0].update(extra=1)),
        True,
        "columns",
    ),
    ("older schema revision", _older_revision, True, "schema revision"),
]


@pytest.mark.parametrize("target_kind", KINDS)
@pytest.mark.parametrize(("case", "change", "forge", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_damaged_archive_is_refused_and_nothing_is_written(
    source_archive: Path,
    install: Install,
    tmp_path: Path,
    target_kind: str,
    case: str,
    change: Change,
    forge: bool,
    message: str,
) -> None:
    damaged = tmp_path / "damaged.zip"
    rewrite(source_archive, damaged, change, fix_checksums=forge)
    target = install(target_kind)
    target.migrate()
    before = row_counts(target.database_url)

    with pytest.raises(ArchiveError, match=message):
        target.import_all(damaged)

    assert row_counts(target.database_url) == before
    assert sum(before.values()) == 0


def test_verify_archive_accepts_the_good_one_and_names_the_bad_member(
    source_archive: Path, tmp_path: Path
) -> None:
    report = verify_archive(source_archive)
    assert report.rows > 50
    assert all(chain.ok for chain in report.chains.values())
    damaged = tmp_path / "damaged.zip"
    rewrite(source_archive, damaged, _flip_byte("tables/inbound.jsonl"), fix_checksums=False)
    with pytest.raises(ArchiveError, match=r"tables/inbound\.jsonl"):
        verify_archive(damaged)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[: len(data) // 2], "not a readable archive"),
        (lambda data: b"PK\x03\x04" + b"\x00" * 64, "not a readable archive"),
        (lambda data: b"hello", "not a readable archive"),
    ],
    ids=["truncated", "garbage zip", "not a zip"],
)
def test_a_broken_file_is_refused_before_touching_a_new_database(
    source_archive: Path,
    install: Install,
    tmp_path: Path,
    damage: Callable[[bytes], bytes],
    message: str,
) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(damage(source_archive.read_bytes()))
    target = install("sqlite")
    with pytest.raises(ArchiveError, match=message):
        target.import_all(broken)
    assert row_counts(target.database_url) == {}  # not even migrated


@pytest.mark.parametrize("target_kind", KINDS)
def test_a_non_empty_target_is_refused(
    source_archive: Path, install: Install, target_kind: str
) -> None:
    target = install(target_kind)
    target.migrate()
    target.create_tenant("Existing", slug="existing")
    before = row_counts(target.database_url)
    with pytest.raises(TargetNotEmpty, match="not empty"):
        target.import_all(source_archive)
    assert row_counts(target.database_url) == before
    assert [t.slug for t in target.list_tenants()] == ["existing"]


@pytest.mark.parametrize("target_kind", KINDS)
def test_secrets_sealed_with_another_key_are_refused(
    source_archive: Path, install: Install, monkeypatch: pytest.MonkeyPatch, target_kind: str
) -> None:
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    target: Consentry = install(target_kind)
    target.migrate()
    with pytest.raises(ArchiveError, match=KEY_ENV):
        target.import_all(source_archive)
    assert sum(row_counts(target.database_url).values()) == 0


def test_sequences_continue_past_restored_ids(new_database: NewDatabase) -> None:
    """Serial and identity columns (none in today's schema; any later table may add one) take
    their next value past the explicitly inserted ids."""
    engine = sa.create_engine(
        new_database("postgresql").replace("postgresql://", "postgresql+psycopg://", 1)
    )
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE probe_serial (id serial PRIMARY KEY, v text)")
            conn.exec_driver_sql(
                "CREATE TABLE probe_identity (id bigint GENERATED BY DEFAULT AS IDENTITY "
                "PRIMARY KEY, v text)"
            )
            conn.exec_driver_sql("CREATE TABLE probe_empty (id serial PRIMARY KEY, v text)")
            conn.exec_driver_sql("INSERT INTO probe_serial (id, v) VALUES (41, 'a'), (7, 'b')")
            conn.exec_driver_sql("INSERT INTO probe_identity (id, v) VALUES (1000, 'a')")
            reset_sequences(conn, ["probe_serial", "probe_identity", "probe_empty"])
            fresh = [
                conn.exec_driver_sql(f"INSERT INTO {name} (v) VALUES ('new') RETURNING id").scalar()
                for name in ("probe_serial", "probe_identity", "probe_empty")
            ]
        assert fresh == [42, 1001, 1]
    finally:
        engine.dispose()
