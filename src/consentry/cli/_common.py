"""What every command module shares: the root Typer app, consoles, options and error handling."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from consentry.domain.model import ScopeKind, Tenant
from consentry.errors import ConsentryError
from consentry.service import (
    Consentry,
    RejectedRow,
    ScopeRef,
)

app = typer.Typer(
    help="consentry: self-hosted SMS compliance engine (opt-outs, STOP/START/HELP, consent).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

out = Console()
err = Console(stderr=True)

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        envvar="CONSENTRY_DATABASE_URL",
        help="Database URL (default: sqlite under ./var/).",
    ),
]
TenantOption = Annotated[
    str | None,
    typer.Option("--tenant", "-t", envvar="CONSENTRY_TENANT", help="Tenant id or slug."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
SenderOption = Annotated[
    str | None, typer.Option("--from", help="The sender address (default scope: this sender).")
]
ScopeOption = Annotated[
    str | None,
    typer.Option(
        "--scope", help="tenant | brand:<id-or-slug> | program:<id-or-slug> | sender:<address>"
    ),
]

_R = TypeVar("_R")


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _run(action: Callable[[], _R]) -> _R:
    try:
        return action()
    except ConsentryError as error:
        prefix = f"{error.field}: " if error.field else ""
        _fail(prefix + error.message)


def _service(database: str | None, *, migrate: bool = True) -> Consentry:
    service = Consentry(database)
    if migrate:
        service.migrate()
    return service


def _tenant(service: Consentry, ref: str | None) -> Tenant:
    if ref:
        return _run(lambda: service.get_tenant(ref))
    tenants = service.list_tenants()
    if len(tenants) == 1:
        return tenants[0]
    if not tenants:
        _fail("no tenant yet: run `consentry init --demo` or `consentry tenants create NAME`")
    _fail("tenant: several tenants exist; pass --tenant SLUG or set CONSENTRY_TENANT")


def _scope(text: str | None) -> ScopeRef | None:
    if text is None:
        return None
    kind_text, _, ref = text.partition(":")
    try:
        kind = ScopeKind(kind_text.strip().lower())
    except ValueError:
        _fail(f"--scope: {text!r} is not tenant, brand:<ref>, program:<ref> or sender:<address>")
    if kind is not ScopeKind.TENANT and not ref.strip():
        _fail(f"--scope: {kind.value} needs an id or slug, e.g. {kind.value}:my-{kind.value}")
    return ScopeRef(kind, ref.strip() or None)


def _print_json(value: Any) -> None:
    out.print_json(json.dumps(value, default=str), highlight=False)


def _table_or_json(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        _print_json(rows)
        return
    if not rows:
        out.print("(none)")
        return
    table = Table(*rows[0].keys())
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row.values()))
    out.print(table)


def _print_rejected(rows: int, rejected: Sequence[RejectedRow]) -> None:
    err.print(f"[bold red]nothing imported:[/] {len(rejected)} of {rows} rows rejected")
    for row in rejected[:50]:
        err.print(f"  line {row.line}: {row.value!r}: {row.error}", highlight=False)
