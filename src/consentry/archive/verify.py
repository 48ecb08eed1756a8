"""Checking an archive without a database: manifest, members, checksums, rows and chains."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consentry.archive.chains import ChainChecker, ChainResult
from consentry.archive.codec import decoder_for
from consentry.archive.errors import ArchiveError
from consentry.archive.manifest import Manifest
from consentry.archive.progress import NoProgress, Progress
from consentry.archive.reader import ArchiveReader
from consentry.archive.schema import columns_of
from consentry.store import tables
from consentry.store.tables import consent_events, ledger_heads


@dataclass(frozen=True, slots=True)
class ArchiveReport:
    """A verified archive: its manifest and each tenant's chain as recomputed from its rows."""

    manifest: Manifest
    chains: Mapping[str, ChainResult]

    @property
    def rows(self) -> int:
        return sum(entry.rows for entry in self.manifest.tables)


def verify_archive(path: str | Path, *, progress: Progress | None = None) -> ArchiveReport:
    """Read the whole archive and check it; raise :class:`ArchiveError` at the first problem.

    Checks the manifest's own checksum and shape, that the members are exactly the manifest's,
    each member's SHA-256, size and row count, that every table and column is one this consentry
    knows, and every tenant's ledger chain recomputed from the archived events, which must verify
    and end at the head the manifest records.
    """
    with ArchiveReader(path) as reader:
        return check_reader(reader, progress or NoProgress())


def check_reader(reader: ArchiveReader, report: Progress) -> ArchiveReport:
    """Verify an open archive (see :func:`verify_archive`)."""
    manifest = reader.manifest
    check_tables(manifest)
    chains = ChainChecker()
    heads: dict[str, tuple[int, str]] = {}
    for entry in manifest.tables:
        report.start(entry.name, entry.rows)
        table = tables.metadata.tables[entry.name]
        decode = {name: decoder_for(column) for name, column in columns_of(table).items()}
        done = 0
        for row in reader.rows(entry):
            if table is consent_events:
                chains.add(decode_row(decode, row, entry.member))
            elif table is ledger_heads:
                heads[row["tenant_id"]] = (row["seq"], row["hash"])
            done += 1
            if done % 1000 == 0:
                report.advance(1000)
        report.advance(done % 1000)
    results = chains.finish(heads)
    compare_heads(manifest, results)
    return ArchiveReport(manifest, results)


def check_tables(manifest: Manifest) -> None:
    """Every archived table and column must be in this consentry's schema, and every table of
    the schema must be archived or listed as excluded."""
    known = tables.metadata.tables
    for entry in manifest.tables:
        if entry.name not in known:
            raise ArchiveError(f"table {entry.name!r} is not in this consentry's schema")
        expected = tuple(columns_of(known[entry.name]))
        if entry.columns != expected:
            raise ArchiveError(
                f"table {entry.name!r} has columns {list(entry.columns)}; this schema has "
                f"{list(expected)} (restore with the consentry version that wrote the archive)"
            )
    covered = {entry.name for entry in manifest.tables} | {e.table for e in manifest.excluded}
    missing = sorted(set(known) - covered)
    if missing:
        raise ArchiveError(f"the archive lacks tables of this schema: {', '.join(missing)}")


def compare_heads(manifest: Manifest, results: Mapping[str, ChainResult]) -> None:
    """Every recomputed chain must verify and match the manifest's head, tenant for tenant."""
    if set(results) != set(manifest.ledger):
        raise ArchiveError("the manifest's ledger heads do not name the archived tenants")
    for tenant, result in results.items():
        if not result.ok:
            raise ArchiveError(
                f"tenant {tenant}: the ledger chain does not verify: {result.problem}"
            )
        head = manifest.ledger[tenant]
        if (head.seq, head.hash, head.events) != (result.seq, result.hash, result.events):
            raise ArchiveError(f"tenant {tenant}: the ledger head differs from the manifest's")


def decode_row(decode: Mapping[str, Any], row: Mapping[str, Any], member: str) -> dict[str, Any]:
    """A row's portable values turned back into stored values (ArchiveError if one is bad)."""
    try:
        return {name: decode[name](value) for name, value in row.items()}
    except (ValueError, TypeError) as error:
        raise ArchiveError(f"{member}: a value cannot be read back ({error})") from None
