"""``consentry screen``: split a list into the rows that may be sent and the suppressed rows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from consentry.cli._common import (
    DatabaseOption,
    JsonOption,
    TenantOption,
    _print_json,
    _run,
    _service,
    _tenant,
    app,
    err,
    out,
)
from consentry.screening import ListFormat, ScreenSummary, open_list


@app.command("screen")
def screen(
    source: Annotated[Path, typer.Argument(help="The list: CSV, plain list or Parquet.")],
    column: Annotated[
        str | None,
        typer.Option("--column", "-c", help="The column of phone numbers (CSV, Parquet)."),
    ] = None,
    program: Annotated[
        str | None,
        typer.Option("--program", help="Program (id or slug): its opt-outs, and consent to it."),
    ] = None,
    sender: Annotated[
        str | None, typer.Option("--sender", help="Sender address: its opt-out scopes too.")
    ] = None,
    allowed: Annotated[
        Path | None,
        typer.Option("--allowed", help="Where the rows that may be sent go (default: beside)."),
    ] = None,
    suppressed: Annotated[
        Path | None,
        typer.Option("--suppressed", help="Where the suppressed rows go, with their reason."),
    ] = None,
    list_format: Annotated[
        ListFormat | None,
        typer.Option("--format", help="csv | list | parquet (default: by the file name)."),
    ] = None,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Screen a list against the opt-outs (and, with --program, consent) of the tenant.

    Writes the rows that may be sent to --allowed (default INPUT.allowed.csv, or .txt for a plain
    list) and the others to --suppressed (default INPUT.suppressed.csv) with a reason column:
    invalid_number, opted_out:<scope> (the widest covering scope) or no_consent. Without
    --program or --sender, an opt-out in any scope suppresses a number.
    """
    opened = _run(lambda: open_list(source, column, list_format))
    stem = source.with_suffix("")
    allowed_suffix = ".allowed.txt" if opened.format is ListFormat.LIST else ".allowed.csv"
    allowed_path = allowed or stem.with_name(stem.name + allowed_suffix)
    suppressed_path = suppressed or stem.with_name(stem.name + ".suppressed.csv")
    service = _service(database)
    try:
        chosen = _tenant(service, tenant)
        columns: list[ProgressColumn] = [TextColumn("screening"), BarColumn()]
        if opened.unit == "bytes":
            columns += [DownloadColumn(), TransferSpeedColumn()]
        else:
            columns += [MofNCompleteColumn()]
        with Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as bar:
            task = bar.add_task("screen", total=opened.total)

            def advance(_rows: int, position: int) -> None:
                bar.update(task, completed=position)

            summary = _run(
                lambda: service.screen(
                    chosen,
                    opened,
                    program=program,
                    sender=sender,
                    allowed=str(allowed_path),
                    suppressed=str(suppressed_path),
                    progress=advance,
                )
            )
    finally:
        opened.close()
        service.close()
    if as_json:
        _print_json(
            summary.as_dict()
            | {"allowed_file": str(allowed_path), "suppressed_file": str(suppressed_path)}
        )
        return
    out.print(_summary_table(summary))
    out.print(f"allowed rows:    {allowed_path}", highlight=False)
    out.print(f"suppressed rows: {suppressed_path}", highlight=False)


def _summary_table(summary: ScreenSummary) -> Table:
    table = Table("", "rows", title=f"screened in {summary.seconds:.2f} s")
    table.add_row("read", f"{summary.rows:,}")
    table.add_row("[green]may be sent[/]", f"{summary.allowed:,}")
    table.add_row("[red]suppressed[/]", f"{summary.suppressed_total:,}")
    for reason, count in summary.suppressed.items():
        table.add_row(f"  {reason}", f"{count:,}")
    return table
