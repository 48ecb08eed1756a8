"""Reading a whole database back in portable form, and rewriting archives to damage them."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from consentry import Consentry
from consentry.archive.codec import encode_value
from consentry.archive.schema import archived_tables, columns_of

Change = Callable[[str, bytes], bytes]


def snapshot(service: Consentry) -> dict[str, list[str]]:
    """Every archived table's rows, encoded portably and sorted: equal across database kinds."""
    found: dict[str, list[str]] = {}
    with service.engine.connect() as conn:
        for table in archived_tables():
            columns = columns_of(table)
            found[table.name] = sorted(
                json.dumps(
                    {name: encode_value(col, row[name]) for name, col in columns.items()},
                    sort_keys=True,
                )
                for row in conn.execute(sa.select(table)).mappings()
            )
    return found


def row_counts(url: str) -> dict[str, int]:
    """Rows per table of the database at ``url`` (no tables at all: an empty dict)."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
            return {
                name: conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
                for name in names
                if name != "alembic_version"
            }
    finally:
        engine.dispose()


def rewrite(source: Path, target: Path, change: Change, *, fix_checksums: bool) -> None:
    """Copy an archive, passing each member through ``change``; with ``fix_checksums`` the
    manifest's sizes, counts and SHA-256 sums (and its own digest) are recomputed to match, as
    a careful forger would."""
    with zipfile.ZipFile(source) as archive:
        members = {name: change(name, archive.read(name)) for name in archive.namelist()}
    if fix_checksums:
        manifest = json.loads(members["manifest.json"])
        for entry in manifest["tables"]:
            data = members[entry["member"]]
            entry["sha256"] = hashlib.sha256(data).hexdigest()
            entry["bytes"] = len(data)
            entry["rows"] = data.count(b"\n")
        members["manifest.json"] = json.dumps(manifest, indent=2).encode()
        members["manifest.sha256"] = hashlib.sha256(members["manifest.json"]).hexdigest().encode()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def edit_lines(member: str, edit: Callable[[list[dict[str, Any]]], None]) -> Change:
    """A change that edits the decoded rows of one member."""

    def change(name: str, data: bytes) -> bytes:
        if name != member:
            return data
        rows = [json.loads(line) for line in data.splitlines()]
        edit(rows)
        return b"".join(json.dumps(row).encode() + b"\n" for row in rows)

    return change
