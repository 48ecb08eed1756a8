"""The opt-out database: add, remove, check, import, export, history."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from consentry.cli._common import (
    DatabaseOption,
    JsonOption,
    ScopeOption,
    SenderOption,
    TenantOption,
    _fail,
    _print_json,
    _print_rejected,
    _run,
    _scope,
    _service,
    _table_or_json,
    _tenant,
    app,
    err,
    out,
)
from consentry.domain.model import OptOutSource
from consentry.domain.optout_lists import read_numbers
from consentry.service import (
    RecipientStatus,
)

optouts_app = typer.Typer(help="The opt-out database.", no_args_is_help=True)
app.add_typer(optouts_app, name="optouts")

# -- opt-outs ----------------------------------------------------------------------------------


def _print_statuses(statuses: list[RecipientStatus], as_json: bool) -> None:
    rows = [
        {
            "to": s.to or s.input,
            "status": s.status,
            "opted_out": s.opted_out,
            "scopes": [str(scope) for scope in s.scopes],
            "changed": s.changed,
            "error": s.error,
        }
        for s in statuses
    ]
    if as_json:
        _print_json(rows)
    else:
        table = Table("to", "status", "opted out", "scopes", "changed", "error")
        for s in statuses:
            table.add_row(
                s.to or s.input,
                str(s.status),
                str(s.opted_out),
                " ".join(str(scope) for scope in s.scopes),
                str(s.changed),
                s.error or "",
            )
        out.print(table)
    failed = [s for s in statuses if s.status != 200]
    for s in failed:
        err.print(f"[bold red]error:[/] {s.input!r}: {s.error}", highlight=False)
    if failed:
        raise typer.Exit(2)


def _change_optouts(
    action: str,
    numbers: list[str],
    sender: str | None,
    scope: str | None,
    reason: str | None,
    tenant: str | None,
    database: str | None,
    as_json: bool,
) -> None:
    service = _service(database)
    target = _tenant(service, tenant)
    change = service.add_optouts if action == "add" else service.remove_optouts
    statuses = _run(
        lambda: change(
            target,
            numbers,
            sender=sender,
            scope=_scope(scope),
            source=OptOutSource.CLI,
            actor="cli",
            reason=reason,
        )
    )
    _print_statuses(statuses, as_json)


@optouts_app.command("add")
def optouts_add(
    numbers: Annotated[list[str], typer.Argument(help="Phone numbers.")],
    sender: SenderOption = None,
    scope: ScopeOption = None,
    reason: Annotated[str | None, typer.Option()] = None,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Opt numbers out. Example: consentry optouts add --from +12065550100 "(425) 555-0123" """
    _change_optouts("add", numbers, sender, scope, reason, tenant, database, as_json)


@optouts_app.command("remove")
def optouts_remove(
    numbers: Annotated[list[str], typer.Argument(help="Phone numbers.")],
    sender: SenderOption = None,
    scope: ScopeOption = None,
    reason: Annotated[str | None, typer.Option()] = None,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lift opt-outs in one scope (history is kept). Example: consentry optouts remove --from +12065550100 +14255550123"""
    _change_optouts("remove", numbers, sender, scope, reason, tenant, database, as_json)


@optouts_app.command("check")
def optouts_check(
    numbers: Annotated[list[str], typer.Argument(help="Phone numbers.")],
    sender: SenderOption = None,
    scope: ScopeOption = None,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Is a number opted out for a sender? Example: consentry optouts check --from +12065550100 +14255550123"""
    service = _service(database)
    target = _tenant(service, tenant)
    statuses = _run(
        lambda: service.check_optouts(target, numbers, sender=sender, scope=_scope(scope))
    )
    _print_statuses(statuses, as_json)


@optouts_app.command("import")
def optouts_import(
    file: Annotated[Path, typer.Argument(help="One number a line, or CSV with a phone column.")],
    sender: SenderOption = None,
    scope: ScopeOption = None,
    reason: Annotated[str | None, typer.Option()] = None,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import an opt-out list, all rows or none. Example: consentry optouts import --scope tenant dnc.csv"""
    if not file.is_file():
        _fail(f"file: {file} does not exist or is not a file")
    service = _service(database)
    target = _tenant(service, tenant)
    scope_ref = _scope(scope)
    size = file.stat().st_size
    with (
        file.open(encoding="utf-8-sig", newline="") as handle,
        Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("reading", total=size)

        def rows() -> Iterator[tuple[int, str]]:
            yield from read_numbers(_tracked(handle, progress, task))

        try:
            report = _run(
                lambda: service.import_optouts(
                    target,
                    rows(),
                    sender=sender,
                    scope=scope_ref,
                    actor="cli",
                    reason=reason,
                )
            )
        except UnicodeDecodeError as error:
            _fail(f"file: {file} is not UTF-8 text ({error.reason})")
    summary = {
        "imported": report.imported,
        "rows": report.rows,
        "added": report.added,
        "already_opted_out": report.already_opted_out,
        "duplicates": report.duplicates,
        "rejected": [{"line": r.line, "value": r.value, "error": r.error} for r in report.rejected],
    }
    if as_json:
        _print_json(summary)
    elif report.imported:
        out.print(
            f"imported {report.rows} rows: {report.added} added, "
            f"{report.already_opted_out} already opted out, {report.duplicates} duplicates"
        )
    else:
        _print_rejected(report.rows, report.rejected)
    if not report.imported:
        raise typer.Exit(2)


def _tracked(handle: Any, progress: Progress, task: Any) -> Iterator[str]:
    for line in handle:
        progress.advance(task, len(line.encode("utf-8")))
        yield line


@optouts_app.command("export")
def optouts_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
    history: Annotated[bool, typer.Option(help="Export every add/remove event instead.")] = False,
    list_format: Annotated[
        str, typer.Option("--format", help="consentry (CSV) | twilio | aws | azure")
    ] = "consentry",
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Export opt-outs (or their history) as CSV, or in a provider's format.

    Example: consentry optouts export -o optouts.csv; consentry optouts export --format aws
    """
    from consentry.api.optouts import (
        CURRENT_COLUMNS,
        HISTORY_COLUMNS,
        current_csv_rows,
        history_csv_rows,
    )
    from consentry.domain import provider_lists

    try:
        chosen = provider_lists.ListFormat(list_format)
    except ValueError:
        _fail(f"--format: must be one of {', '.join(f.value for f in provider_lists.ListFormat)}")
    service = _service(database)
    target = _tenant(service, tenant)
    if chosen is not provider_lists.ListFormat.CONSENTRY:
        if history:
            _fail("--format: provider formats hold current opt-outs only, not --history")
        merged = provider_lists.merge(service.export_optouts(target))
        text = "".join(provider_lists.write(chosen, merged))
        if output:
            output.write_text(text, encoding="utf-8")
            err.print(f"{len(merged)} numbers written to {output}")
        else:
            sys.stdout.write(text)
        return
    header = HISTORY_COLUMNS if history else CURRENT_COLUMNS
    rows = history_csv_rows(service, target) if history else current_csv_rows(service, target)
    handle = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
    finally:
        if output:
            handle.close()
    if output:
        err.print(f"{count} rows written to {output}")


@optouts_app.command("history")
def optouts_history(
    number: str,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every opt-out change of one number. Example: consentry optouts history +14255550123"""
    service = _service(database)
    target = _tenant(service, tenant)
    record = _run(lambda: service.optout_history(target, number))
    events = [
        {
            "seq": e.seq,
            "action": e.action,
            "scope": str(e.scope),
            "source": e.source.value,
            "actor": e.actor,
            "reason": e.reason,
            "occurred_at": e.occurred_at.isoformat(),
        }
        for e in record.events
    ]
    if as_json:
        _print_json(
            {
                "recipient": record.recipient,
                "opted_out_scopes": [str(o.scope) for o in record.current],
                "events": events,
            }
        )
        return
    out.print(
        f"{record.recipient}: opted out in {', '.join(str(o.scope) for o in record.current) or 'no scope'}"
    )
    _table_or_json(events, False)
