"""Maintenance of the suppression index's opt-out change log: ``consentry optouts compact-log``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from consentry.cli._common import (
    DatabaseOption,
    JsonOption,
    _fail,
    _print_json,
    _run,
    _service,
    out,
)
from consentry.cli.optouts import optouts_app

MAX_KEEP_DAYS = 36_500  # a hundred years: anything longer keeps everything anyway


@optouts_app.command("compact-log")
def optouts_compact_log(
    keep_days: Annotated[
        int,
        typer.Option("--keep-days", help="Keep the changes of the last N days (default 7)."),
    ] = 7,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
) -> None:
    """Delete old rows of the opt-out change log (every tenant's; the newest row always stays).
    Processes whose index was behind them rebuild it from the opt-outs table: nothing is missed.
    Example: consentry optouts compact-log --keep-days 7"""
    if keep_days < 0:
        _fail(f"--keep-days: must be 0 or more (got {keep_days})")
    if keep_days > MAX_KEEP_DAYS:
        _fail(f"--keep-days: at most {MAX_KEEP_DAYS} (got {keep_days})")
    service = _service(database)
    try:
        deleted = _run(lambda: service.compact_optout_changes(keep=timedelta(days=keep_days)))
    finally:
        service.close()
    if as_json:
        _print_json({"deleted": deleted, "keep_days": keep_days})
    else:
        out.print(f"deleted {deleted} opt-out change-log rows older than {keep_days} days")
