"""Writing an archive: every table of one consistent snapshot, streamed into a zip file."""

from __future__ import annotations

import contextlib
import hashlib
import os
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consentry._version import __version__
from consentry.archive.chains import ChainChecker
from consentry.archive.codec import RowEncoder
from consentry.archive.manifest import (
    MANIFEST,
    MANIFEST_DIGEST,
    Excluded,
    LedgerHead,
    Manifest,
    TableEntry,
    member_name,
)
from consentry.archive.progress import NoProgress, Progress
from consentry.archive.schema import (
    CHUNK,
    archived_tables,
    columns_of,
    excluded_tables,
    head_revision,
    key_order,
    schema_revision,
)
from consentry.errors import InvalidInput
from consentry.store.engine import READ_ONLY
from consentry.store.tables import consent_events, ledger_heads


def export_archive(
    engine: Engine, path: str | Path, *, progress: Progress | None = None
) -> Manifest:
    """Write every table of the database behind ``engine`` to the archive ``path``.

    The rows come from one read transaction (REPEATABLE READ on PostgreSQL, a WAL snapshot on
    SQLite), so the archive is one consistent moment even while writers keep going. Rows are
    streamed in chunks; the file appears under ``path`` only once complete. Each tenant's chain
    is verified on the way and the result recorded in the manifest.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise InvalidInput(f"no directory {target.parent} to write the archive in", field="file")
    partial = target.with_name(target.name + ".partial")
    report = progress or NoProgress()
    try:
        with (
            _snapshot(engine) as conn,
            zipfile.ZipFile(
                partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6
            ) as archive,
        ):
            manifest = _write(conn, archive, engine.dialect.name, report)
            data = manifest.to_json()
            archive.writestr(MANIFEST, data)
            archive.writestr(MANIFEST_DIGEST, hashlib.sha256(data).hexdigest() + "\n")
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return manifest


@contextlib.contextmanager
def _snapshot(engine: Engine) -> Iterator[sa.Connection]:
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    with engine.connect().execution_options(**options) as conn, conn.begin():
        yield conn


def _write(
    conn: sa.Connection, archive: zipfile.ZipFile, database: str, report: Progress
) -> Manifest:
    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    revision = schema_revision(conn)
    expected = head_revision()
    if revision != expected:
        raise InvalidInput(
            f"the database is at schema revision {revision}, this consentry's schema is "
            f"{expected}: migrate it first (consentry init)",
            field="database",
        )
    chains = ChainChecker()
    heads: dict[str, tuple[int, str]] = {}
    entries = []
    for table in archived_tables():
        total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        report.start(table.name, int(total))
        columns = columns_of(table)
        encoder = RowEncoder(columns)
        member = member_name(table.name)
        digest = hashlib.sha256()
        size = rows = 0
        with archive.open(member, "w", force_zip64=True) as out:
            for chunk in _chunks(conn, table):
                if table is consent_events:
                    for row in chunk:
                        chains.add(row)
                elif table is ledger_heads:
                    heads.update((row["tenant_id"], (row["seq"], row["hash"])) for row in chunk)
                data = b"".join(encoder.line(row) for row in chunk)
                out.write(data)
                digest.update(data)
                size += len(data)
                rows += len(chunk)
                report.advance(len(chunk))
        entries.append(
            TableEntry(table.name, member, tuple(columns), rows, size, digest.hexdigest())
        )
    results = chains.finish(heads)
    return Manifest(
        consentry_version=__version__,
        created_at=created_at,
        source_database=database,
        schema_revision=revision,
        tables=tuple(entries),
        excluded=tuple(Excluded(name, why) for name, why in excluded_tables(conn).items()),
        ledger={
            tenant: LedgerHead(
                seq=heads.get(tenant, (result.seq, result.hash))[0],
                hash=heads.get(tenant, (result.seq, result.hash))[1],
                events=result.events,
                verified=result.ok,
                problem=result.problem,
            )
            for tenant, result in results.items()
        },
    )


def _chunks(conn: sa.Connection, table: sa.Table) -> Iterator[list[Any]]:
    query = sa.select(table).order_by(*key_order(table))
    result = conn.execution_options(yield_per=CHUNK).execute(query).mappings()
    for partition in result.partitions():
        yield list(partition)
