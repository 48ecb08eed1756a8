"""Whole-database backup and restore: ``export-all``, ``import-all``, ``verify-archive``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from consentry.archive import ArchiveReport, Manifest
from consentry.cli._common import (
    DatabaseOption,
    JsonOption,
    _fail,
    _print_json,
    _run,
    _service,
    app,
    err,
    out,
)

ArchiveArgument = Annotated[Path, typer.Argument(help="The archive file (.zip).")]
_R = TypeVar("_R")


class _RichProgress:
    """The archive functions' progress, drawn as one Rich bar a table."""

    def __init__(self, progress: Progress, verb: str) -> None:
        self._progress = progress
        self._verb = verb
        self._task: Any = None

    def start(self, table: str, rows: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, visible=False)
        self._task = self._progress.add_task(f"{self._verb} {table}", total=rows)

    def advance(self, rows: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, rows)


@contextmanager
def _bars() -> Iterator[Progress]:
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        yield progress


def _guarded(action: Callable[[], _R]) -> _R:
    """Run ``action``: a bad archive or target exits 2 (via ``_run``), so does a file error."""
    try:
        return _run(action)
    except OSError as error:
        _fail(f"archive: {error.strerror or error}: {error.filename or ''}".rstrip(": "))


def _summary(manifest: Manifest) -> dict[str, Any]:
    return {
        "format_version": manifest.format_version,
        "consentry_version": manifest.consentry_version,
        "created_at": manifest.created_at,
        "source_database": manifest.source_database,
        "schema_revision": manifest.schema_revision,
        "tables": {entry.name: entry.rows for entry in manifest.tables},
        "excluded": {entry.table: entry.reason for entry in manifest.excluded},
        "ledger": {
            tenant: {"seq": head.seq, "hash": head.hash, "verified": head.verified}
            for tenant, head in manifest.ledger.items()
        },
    }


def _print_tables(manifest: Manifest) -> None:
    table = Table("table", "rows", "sha256")
    for entry in manifest.tables:
        table.add_row(entry.name, str(entry.rows), entry.sha256[:16] + "...")
    out.print(table)
    for left_out in manifest.excluded:
        out.print(f"[dim]left out: {left_out.table} ({left_out.reason})[/]")


@app.command("export-all")
def export_all(
    file: ArchiveArgument, database: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """Back up the whole database (every tenant, every table) to one verifiable archive file,
    from one consistent snapshot. Example: consentry export-all backup.zip"""
    service = _service(database, migrate=False)
    with _bars() as bars:
        manifest = _guarded(
            lambda: service.export_all(file, progress=_RichProgress(bars, "export"))
        )
    broken = {t: h for t, h in manifest.ledger.items() if not h.verified}
    if as_json:
        _print_json({"file": str(file), **_summary(manifest)})
    else:
        _print_tables(manifest)
        rows = sum(entry.rows for entry in manifest.tables)
        out.print(
            f"wrote {file}: {rows} rows of {len(manifest.tables)} tables, "
            f"{len(manifest.ledger)} tenant ledgers"
        )
    for tenant, head in broken.items():
        err.print(
            f"[bold yellow]warning:[/] tenant {tenant}: the ledger chain does not verify "
            f"({head.problem}); this archive will not import until it is repaired"
        )
    if broken:
        raise typer.Exit(1)


@app.command("import-all")
def import_all(
    file: ArchiveArgument, database: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """Restore an archive into an EMPTY database (a new one is migrated first): everything is
    checked before anything is written, then loaded in one transaction; the chains are verified
    again in the database. Example: consentry import-all backup.zip --database postgresql://..."""
    service = _service(database, migrate=False)
    with _bars() as bars:
        report = _guarded(
            lambda: service.import_all(
                file, progress=_RichProgress(bars, "load"), verified=_RichProgress(bars, "check")
            )
        )
    _print_report(report, as_json, f"restored {file}")


@app.command("verify-archive")
def verify_archive(file: ArchiveArgument, as_json: JsonOption = False) -> None:
    """Check an archive without a database: the manifest, every member's SHA-256 and rows, and
    every tenant's ledger chain. Exit 2 if anything is wrong. Example: consentry verify-archive
    backup.zip"""
    from consentry.archive import verify_archive as verify

    with _bars() as bars:
        report = _guarded(lambda: verify(file, progress=_RichProgress(bars, "check")))
    _print_report(report, as_json, f"{file} is intact")


def _print_report(report: ArchiveReport, as_json: bool, headline: str) -> None:
    if as_json:
        _print_json({"ok": True, "rows": report.rows, **_summary(report.manifest)})
        return
    _print_tables(report.manifest)
    chains = report.chains.values()
    out.print(
        f"{headline}: {report.rows} rows; {len(report.chains)} tenant ledgers, "
        f"{sum(c.events for c in chains)} events, every chain verified "
        f"(written {report.manifest.created_at} from {report.manifest.source_database})"
    )
