"""Restoring an archive into an empty database: everything checked first, then one transaction.

Order of work: verify the whole archive (manifest, checksums, rows, chains) without touching the
database; in one transaction, refuse unless the database is migrated to the archive's schema
revision and holds no rows, insert every table parent-first in chunks, move PostgreSQL sequences
past the inserted ids, and verify each tenant's chain in the database against the manifest's
head. Any failure rolls the whole transaction back: the database stays empty.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.util import CommandError
from sqlalchemy.engine import Engine

from consentry.archive.codec import decoder_for
from consentry.archive.errors import ArchiveError, TargetNotEmpty
from consentry.archive.manifest import Manifest
from consentry.archive.progress import NoProgress, Progress
from consentry.archive.reader import ArchiveReader
from consentry.archive.schema import CHUNK, archived_tables, columns_of, schema_revision
from consentry.archive.verify import ArchiveReport, check_reader, decode_row
from consentry.store import ledger, tables
from consentry.store.migrate import current_revision, upgrade


def import_archive(
    engine: Engine,
    path: str | Path,
    *,
    progress: Progress | None = None,
    verified: Progress | None = None,
    check: Callable[[sa.Connection], None] | None = None,
) -> ArchiveReport:
    """Load the archive ``path`` into the empty, migrated database behind ``engine``.

    Raises :class:`ArchiveError` for a bad archive or a schema mismatch and
    :class:`TargetNotEmpty` for a database that holds rows; in both cases nothing is written.
    A database that was never migrated is first migrated to the archive's schema revision.
    ``verified`` reports the checking pass, ``progress`` the loading pass; ``check`` runs on
    the loaded rows inside the transaction (raise :class:`ArchiveError` there to refuse).
    """
    with ArchiveReader(path) as reader:
        report = check_reader(reader, verified or NoProgress())
        _migrate_new_database(engine, reader.manifest)
        with engine.begin() as conn:
            _check_target(conn, reader.manifest)
            _load(conn, reader, progress or NoProgress())
            reset_sequences(conn, list(tables.metadata.tables))
            _check_chains(conn, reader.manifest)
            if check is not None:
                check(conn)
    return report


def _migrate_new_database(engine: Engine, manifest: Manifest) -> None:
    """A database never migrated gets the archive's schema revision (a later upgrade runs the
    data migrations from there)."""
    if current_revision(engine) is not None or manifest.schema_revision is None:
        return
    try:
        upgrade(engine, manifest.schema_revision)
    except CommandError as error:
        raise ArchiveError(
            f"schema revision {manifest.schema_revision} of the archive is unknown to this "
            f"consentry ({error}): restore with the consentry version that wrote it"
        ) from None


def _check_target(conn: sa.Connection, manifest: Manifest) -> None:
    if conn.dialect.name == "postgresql":
        # One restore at a time, and no writer slipping in between the check and the load.
        conn.exec_driver_sql("LOCK TABLE tenants IN EXCLUSIVE MODE")
    revision = schema_revision(conn)
    if revision is None:
        raise ArchiveError("the target database is not migrated: run `consentry init` first")
    if revision != manifest.schema_revision:
        raise ArchiveError(
            f"the archive is at schema revision {manifest.schema_revision}, the target database "
            f"at {revision}: restore into a new, empty database (import-all migrates it to the "
            "archive's revision) or use the consentry version that wrote the archive"
        )
    for table in tables.metadata.sorted_tables:
        if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first():
            raise TargetNotEmpty(
                f"the target database is not empty (table {table.name} has rows): "
                "an archive restores only into an empty database"
            )


def _load(conn: sa.Connection, reader: ArchiveReader, report: Progress) -> None:
    manifest = reader.manifest
    for table in archived_tables():
        entry = manifest.table(table.name)
        if entry is None:
            continue
        report.start(table.name, entry.rows)
        decode = {name: decoder_for(column) for name, column in columns_of(table).items()}
        insert = sa.insert(table)
        batch: list[dict[str, Any]] = []
        for row in reader.rows(entry):
            batch.append(decode_row(decode, row, entry.member))
            if len(batch) == CHUNK:
                _insert(conn, insert, batch, entry.member)
                report.advance(len(batch))
                batch = []
        if batch:
            _insert(conn, insert, batch, entry.member)
            report.advance(len(batch))


def _insert(
    conn: sa.Connection, insert: sa.Insert, rows: list[dict[str, Any]], member: str
) -> None:
    try:
        conn.execute(insert, rows)
    except (sa.exc.IntegrityError, sa.exc.DataError) as error:
        raise ArchiveError(
            f"{member}: rows cannot be loaded ({error.orig.__class__.__name__}: {error.orig})"
        ) from None


def reset_sequences(conn: sa.Connection, names: list[str]) -> None:
    """Move the PostgreSQL sequence behind every serial or identity column of the tables
    ``names`` past the largest id there (rows inserted with explicit ids do not advance it)."""
    if conn.dialect.name != "postgresql":
        return  # SQLite derives the next rowid (and AUTOINCREMENT's counter) from the rows
    owned = conn.execute(
        sa.text(
            "SELECT c.table_name, c.column_name, "
            "pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) AS seq "
            "FROM information_schema.columns c "
            "WHERE c.table_schema = current_schema() AND c.table_name = ANY(:names)"
        ),
        {"names": names},
    ).all()
    preparer = conn.dialect.identifier_preparer
    for table_name, column_name, sequence in owned:
        if sequence is None:
            continue
        table, column = preparer.quote(table_name), preparer.quote(column_name)
        largest = f"COALESCE((SELECT max({column}) FROM {table}), 0) + 1"
        conn.execute(sa.text(f"SELECT setval(:seq, {largest}, false)"), {"seq": sequence})


def _check_chains(conn: sa.Connection, manifest: Manifest) -> None:
    stored = {row.tenant_id for row in conn.execute(sa.select(tables.ledger_heads.c.tenant_id))}
    if stored != set(manifest.ledger):
        raise ArchiveError("the restored ledger heads do not name the manifest's tenants")
    for tenant, expected in manifest.ledger.items():
        report = ledger.verify_chain(conn, tenant)
        if not report.ok:
            raise ArchiveError(
                f"tenant {tenant}: the restored chain does not verify at event "
                f"{report.first_broken_seq}: {report.problem}"
            )
        head = ledger.head(conn, tenant)
        if (head.seq, head.hash) != (expected.seq, expected.hash):
            raise ArchiveError(f"tenant {tenant}: the restored head differs from the manifest's")
