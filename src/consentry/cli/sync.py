"""``consentry optouts sync``: compare the opt-out list at a provider with consentry's, then
pull (opt out here) and/or push (opt out there) the differences."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from consentry.cli._common import (
    DatabaseOption,
    JsonOption,
    TenantOption,
    _print_json,
    _run,
    _service,
    _tenant,
    out,
)
from consentry.cli.optouts import optouts_app
from consentry.service._sync import SyncReport


class Provider(StrEnum):
    aws = "aws"
    azure = "azure"
    twilio = "twilio"


def _print_report(report: SyncReport, title: str) -> None:
    out.print(
        f"[bold]{title}[/] {report.provider} ({report.list_name}): {report.compared} numbers "
        f"compared, {len(report.only_at_provider)} only at {report.provider}, "
        f"{len(report.only_here)} only here",
        highlight=False,
    )
    rows = [("only at " + report.provider, d) for d in report.only_at_provider] + [
        ("only here", d) for d in report.only_here
    ]
    if rows:
        table = Table("where", "sender", "recipient")
        for where, difference in rows[:200]:
            table.add_row(where, difference.sender or "(account)", difference.recipient)
        out.print(table)
        if len(rows) > 200:
            out.print(f"... and {len(rows) - 200} more (use --json for all)")


@optouts_app.command("sync")
def optouts_sync(
    provider: Annotated[
        Provider, typer.Option("--provider", help="aws | azure (twilio has no opt-out list API)")
    ],
    pull: Annotated[
        bool, typer.Option("--pull", help="Opt out here the numbers only at the provider.")
    ] = False,
    push: Annotated[
        bool, typer.Option("--push", help="Opt out at the provider the numbers only here.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report the differences; change nothing.")
    ] = False,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare the provider's opt-out list with consentry's; report the differences first, then
    apply --pull and/or --push (never removes an opt-out). Exit 2 for Twilio, which has no API
    for its opt-out list. Example: consentry optouts sync --provider aws --pull --dry-run"""
    service = _service(database)
    try:
        target = _tenant(service, tenant)
        found = _run(
            lambda: service.sync_optouts(target, provider.value, pull=pull, push=push, dry_run=True)
        )
        applied = None
        if not dry_run and (pull or push):
            applied = _run(
                lambda: service.sync_optouts(target, provider.value, pull=pull, push=push)
            )
        if as_json:
            _print_json({"differences": found.as_json(), "applied": applied and applied.as_json()})
            return
        _print_report(found, "differences")
        if applied is not None:
            out.print(
                f"[bold]applied:[/] {applied.pulled} opted out here, {applied.pushed} opted out "
                f"at {applied.provider}",
                highlight=False,
            )
        elif pull or push:
            out.print("dry run: nothing changed")
    finally:
        service.close()
