"""The ``consentry`` command line (Typer + Rich).

Every command that works on a tenant's data takes ``--tenant`` (id or slug; the environment
variable ``CONSENTRY_TENANT``; or, when the database holds exactly one tenant, that one). Bad
input exits with code 2 and a message naming the field; nothing is changed.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from consentry._version import __version__
from consentry.domain.catalogue import catalogue, catalogue_markdown
from consentry.domain.keywords import classify as classify_text
from consentry.domain.model import OptOutSource, ScopeKind, Tenant
from consentry.domain.optout_lists import read_numbers
from consentry.domain.policy import decision_json
from consentry.errors import ConsentryError
from consentry.service import (
    MAX_BATCH,
    BatchItem,
    Consentry,
    RecipientStatus,
    RejectedRow,
    ScopeRef,
    SendRequest,
)

app = typer.Typer(
    help="consentry: self-hosted SMS compliance engine (opt-outs, STOP/START/HELP, consent).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
tenants_app = typer.Typer(help="Tenants (accounts) and their API keys.", no_args_is_help=True)
brands_app = typer.Typer(help="Brands: the identity shown in messages.", no_args_is_help=True)
programs_app = typer.Typer(help="Messaging programs of a brand.", no_args_is_help=True)
senders_app = typer.Typer(help="Registered sender addresses.", no_args_is_help=True)
optouts_app = typer.Typer(help="The opt-out database.", no_args_is_help=True)
audit_app = typer.Typer(
    help="Verify the tamper-evident ledger; purge expired records.", no_args_is_help=True
)
consents_app = typer.Typer(
    help="The consent ledger: record, import, rebuild, expire.", no_args_is_help=True
)
app.add_typer(tenants_app, name="tenants")
app.add_typer(brands_app, name="brands")
app.add_typer(programs_app, name="programs")
app.add_typer(senders_app, name="senders")
app.add_typer(optouts_app, name="optouts")
app.add_typer(audit_app, name="audit")
app.add_typer(consents_app, name="consents")
rules_app = typer.Typer(help="The send gate's rule catalogue.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
review_app = typer.Typer(
    help="Replies held as possible revocations (due within 10 business days).",
    no_args_is_help=True,
)
app.add_typer(review_app, name="review")
settings_app = typer.Typer(
    help="Tenant settings (re-opt-in guard, revoke-all).", no_args_is_help=True
)
app.add_typer(settings_app, name="settings")
keywords_app = typer.Typer(help="The tenant's own reply keywords.", no_args_is_help=True)
app.add_typer(keywords_app, name="keywords")

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


def main() -> None:
    """Entry point of the ``consentry`` console script."""
    app()


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


# -- set-up ------------------------------------------------------------------------------------


@app.command()
def version() -> None:
    """Print the version. Example: consentry version"""
    out.print(__version__)


@app.command()
def init(
    database: DatabaseOption = None,
    demo: Annotated[
        bool, typer.Option(help="Create a demo tenant, brand, program and sender.")
    ] = False,
) -> None:
    """Apply migrations; with --demo, create a demo tenant once and print its API key.

    Example: consentry init --demo
    """
    service = _service(database)
    out.print(f"database ready: {service.database_url}")
    if not demo:
        return
    if any(tenant.slug == "demo" for tenant in service.list_tenants()):
        out.print(
            "demo tenant exists (its API key was printed when it was created; "
            "`consentry tenants key demo` issues a new one)"
        )
        return
    tenant, key = _run(lambda: service.create_tenant("Demo", slug="demo"))
    brand = service.create_brand(
        tenant, "Demo Coffee", "support@demo-coffee.example", slug="demo-coffee"
    )
    program = service.create_program(
        tenant,
        brand.id,
        "Coffee Club",
        slug="coffee-club",
        category="marketing",
        frequency="Up to 4 msgs/month",
    )
    sender = service.create_sender(
        tenant, "+12065550100", "long_code", programs=[program.id], verified=True
    )
    out.print(
        f"demo tenant [bold]{tenant.slug}[/] created: brand {brand.slug}, "
        f"program {program.slug}, sender {sender.address}",
        soft_wrap=True,
    )
    out.print("API key (shown once, store it now):")
    out.print(key, highlight=False, soft_wrap=True)


@app.command()
def serve(
    database: DatabaseOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (one core each).")
    ] = 1,
    deliver: Annotated[
        bool, typer.Option(help="Also deliver the outbox in this process (like `worker`).")
    ] = False,
) -> None:
    """Run the HTTP API (migrations are applied first). Example: consentry serve --port 8000"""
    import os

    import uvicorn

    from consentry.api import create_app

    service = _service(database)
    out.print(
        f"consentry {__version__} on http://{host}:{port} (database {service.database_url}, "
        f"{workers} worker{'s' if workers > 1 else ''})"
    )
    if deliver:
        import threading
        import time

        def deliver_forever() -> None:
            while True:
                try:
                    if not service.deliver_outbox().outcomes:
                        time.sleep(2)
                except Exception as error:  # keep delivering: a bad round must not stop it
                    err.print(f"delivery round failed: {error}")
                    time.sleep(5)

        threading.Thread(target=deliver_forever, name="outbox", daemon=True).start()
    if workers == 1:
        uvicorn.run(create_app(service), host=host, port=port, log_level="info")
        return
    if not deliver:
        service.close()
    os.environ["CONSENTRY_DATABASE_URL"] = service.database_url
    uvicorn.run(
        "consentry.api.app:create_app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
    )


# -- tenants -----------------------------------------------------------------------------------


@tenants_app.command("create")
def tenants_create(
    name: str,
    slug: Annotated[
        str | None, typer.Option(help="URL-safe short name (default: from NAME).")
    ] = None,
    region: Annotated[str, typer.Option(help="Default region for national-format numbers.")] = "US",
    database: DatabaseOption = None,
) -> None:
    """Create a tenant and print its API key once. Example: consentry tenants create "Acme" """
    service = _service(database)
    tenant, key = _run(lambda: service.create_tenant(name, slug=slug, default_region=region))
    err.print(f"tenant {tenant.slug} ({tenant.id}) created; API key (shown once):")
    out.print(key, highlight=False, soft_wrap=True)


@tenants_app.command("list")
def tenants_list(database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """List tenants. Example: consentry tenants list"""
    tenants = _service(database).list_tenants()
    if as_json:
        _print_json(
            [
                {"id": t.id, "slug": t.slug, "name": t.name, "default_region": t.default_region}
                for t in tenants
            ]
        )
        return
    table = Table("slug", "id", "name", "region")
    for t in tenants:
        table.add_row(t.slug, t.id, t.name, t.default_region)
    out.print(table)


@tenants_app.command("key")
def tenants_key(
    tenant: str,
    label: Annotated[str | None, typer.Option(help="What the key is for.")] = None,
    database: DatabaseOption = None,
) -> None:
    """Issue another API key for a tenant (rotation). Example: consentry tenants key demo"""
    service = _service(database)
    target = _tenant(service, tenant)
    out.print(service.issue_api_key(target, label), highlight=False, soft_wrap=True)


# -- registry ----------------------------------------------------------------------------------


@brands_app.command("create")
def brands_create(
    name: Annotated[str, typer.Option(help="Brand name shown in messages.")],
    support_contact: Annotated[str, typer.Option(help="E-mail, URL or phone for HELP replies.")],
    support_phone: Annotated[str | None, typer.Option()] = None,
    slug: Annotated[str | None, typer.Option()] = None,
    terms_url: Annotated[str | None, typer.Option(help="The brand's SMS terms page.")] = None,
    privacy_url: Annotated[str | None, typer.Option(help="The brand's privacy policy.")] = None,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Register a brand. Example: consentry brands create --name "Acme" --support-contact help@acme.example"""
    service = _service(database)
    target = _tenant(service, tenant)
    brand = _run(
        lambda: service.create_brand(
            target,
            name,
            support_contact,
            support_phone=support_phone,
            slug=slug,
            terms_url=terms_url,
            privacy_url=privacy_url,
        )
    )
    out.print(f"brand {brand.slug} ({brand.id}) created")


@brands_app.command("list")
def brands_list(
    tenant: TenantOption = None, database: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """List brands. Example: consentry brands list --tenant demo"""
    service = _service(database)
    brands = service.list_brands(_tenant(service, tenant))
    rows = [
        {"id": b.id, "slug": b.slug, "name": b.name, "support_contact": b.support_contact}
        for b in brands
    ]
    _table_or_json(rows, as_json)


@programs_app.command("create")
def programs_create(
    brand: Annotated[str, typer.Option(help="Brand id or slug.")],
    name: Annotated[str, typer.Option(help="Program name.")],
    slug: Annotated[str | None, typer.Option()] = None,
    category: Annotated[
        str, typer.Option(help="marketing | informational | transactional | conversational")
    ] = "informational",
    opt_out_scope: Annotated[
        str, typer.Option(help="Where STOP lands: program | brand | sender | tenant")
    ] = "program",
    help_reply: Annotated[str | None, typer.Option()] = None,
    opt_out_reply: Annotated[str | None, typer.Option()] = None,
    opt_in_reply: Annotated[str | None, typer.Option()] = None,
    frequency: Annotated[
        str | None, typer.Option(help="Disclosed frequency, e.g. 'Up to 4 msgs/month'.")
    ] = None,
    use_case: Annotated[str | None, typer.Option(help="e.g. lead_generation")] = None,
    double_opt_in: Annotated[bool, typer.Option(help="Consent must be confirmed (YES).")] = False,
    age_gated: Annotated[
        bool, typer.Option(help="May carry alcohol, firearms, tobacco, gambling content.")
    ] = False,
    block_shorteners: Annotated[
        bool, typer.Option(help="Public URL shorteners block instead of warn.")
    ] = False,
    one_way: Annotated[
        bool, typer.Option(help="Its senders cannot receive replies (messages must say so).")
    ] = False,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Register a program. Example: consentry programs create --brand acme --name "Order updates" """
    service = _service(database)
    target = _tenant(service, tenant)
    program = _run(
        lambda: service.create_program(
            target,
            brand,
            name,
            slug=slug,
            category=category,
            opt_out_scope=opt_out_scope,
            help_reply=help_reply,
            opt_out_reply=opt_out_reply,
            opt_in_reply=opt_in_reply,
            frequency=frequency,
            use_case=use_case,
            double_opt_in=double_opt_in,
            age_gated=age_gated,
            block_shorteners=block_shorteners,
            one_way=one_way,
        )
    )
    out.print(f"program {program.slug} ({program.id}) created")


@programs_app.command("list")
def programs_list(
    tenant: TenantOption = None, database: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """List programs. Example: consentry programs list"""
    service = _service(database)
    programs = service.list_programs(_tenant(service, tenant))
    rows = [
        {
            "id": p.id,
            "slug": p.slug,
            "name": p.name,
            "brand_id": p.brand_id,
            "category": p.category,
            "opt_out_scope": p.opt_out_scope.value,
        }
        for p in programs
    ]
    _table_or_json(rows, as_json)


@senders_app.command("create")
def senders_create(
    address: str,
    kind: Annotated[str, typer.Option(help="long_code | toll_free | short_code | alphanumeric")],
    program: Annotated[
        list[str] | None, typer.Option(help="Program id or slug (repeatable).")
    ] = None,
    verified: Annotated[
        bool, typer.Option(help="Registered and verified with the carrier.")
    ] = False,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Register a sender. Example: consentry senders create +12065550101 --kind long_code --program coffee-club"""
    service = _service(database)
    target = _tenant(service, tenant)
    sender = _run(
        lambda: service.create_sender(
            target, address, kind, programs=program or [], verified=verified
        )
    )
    out.print(f"sender {sender.address} ({sender.id}) created")


@senders_app.command("list")
def senders_list(
    tenant: TenantOption = None, database: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """List senders. Example: consentry senders list"""
    service = _service(database)
    senders = service.list_senders(_tenant(service, tenant))
    rows = [
        {
            "id": s.id,
            "address": s.address,
            "kind": s.kind.value,
            "verified": s.verified,
            "program_ids": ",".join(s.program_ids),
        }
        for s in senders
    ]
    _table_or_json(rows, as_json)


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


def _print_rejected(rows: int, rejected: Sequence[RejectedRow]) -> None:
    err.print(f"[bold red]nothing imported:[/] {len(rejected)} of {rows} rows rejected")
    for row in rejected[:50]:
        err.print(f"  line {row.line}: {row.value!r}: {row.error}", highlight=False)


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


# -- inbound -----------------------------------------------------------------------------------


@app.command()
def inbound(
    body: Annotated[str, typer.Argument(help="The text of the reply.")],
    sender_from: Annotated[str, typer.Option("--from", help="The person's number.")],
    to: Annotated[str, typer.Option("--to", help="The business number it was sent to.")],
    language: Annotated[str | None, typer.Option(help="Recipient's language, e.g. es.")] = None,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Handle one inbound reply. Example: consentry inbound --from +14255550123 --to +12065550100 STOP"""
    service = _service(database)
    target = _tenant(service, tenant)
    result = _run(lambda: service.receive_inbound(target, to, sender_from, body, language=language))
    payload = {
        "id": result.inbound_id,
        "from": result.recipient,
        "to": result.sender_address,
        "kind": result.classification.kind.value,
        "keyword": result.classification.keyword,
        "language": result.classification.language,
        "action": result.action,
        "scopes": [str(s) for s in result.scopes],
        "reply": result.reply,
        "needs_review": result.needs_review,
        "notes": list(result.notes),
    }
    if as_json:
        _print_json(payload)
        return
    out.print(
        f"{payload['kind']} ({payload['keyword'] or '-'}) -> {payload['action']}"
        + (f" in {', '.join(str(s) for s in result.scopes)}" if result.scopes else "")
    )
    if result.reply:
        out.print(f"reply queued: {result.reply}", highlight=False, soft_wrap=True)


@app.command()
def classify(
    text: Annotated[str, typer.Argument(help="The text of an inbound reply.")],
    language: Annotated[str | None, typer.Option(help="ISO 639-1 code, e.g. es.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Classify a reply as opt_out / opt_in / help / ambiguous / other. Example: consentry classify "Stop please" --json"""
    verdict = classify_text(text, language)
    payload = {"kind": verdict.kind.value, "keyword": verdict.keyword, "language": verdict.language}
    if as_json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    out.print(
        f"{payload['kind']} (keyword {payload['keyword']}, language {payload['language']}, "
        f"stage {verdict.stage})",
        highlight=False,
    )


# -- audit -------------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify(
    tenant: TenantOption = None, database: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """Recompute the ledger's hash chain; exit 1 on a broken link. Example: consentry audit verify"""
    service = _service(database)
    target = _tenant(service, tenant)
    report = service.verify_ledger(target)
    if as_json:
        _print_json(
            {
                "ok": report.ok,
                "events": report.events,
                "first_broken_seq": report.first_broken_seq,
                "problem": report.problem,
            }
        )
    elif report.ok:
        out.print(f"ledger of {target.slug}: {report.events} events, chain intact")
    else:
        err.print(
            f"[bold red]ledger of {target.slug} broken at event {report.first_broken_seq}:[/] {report.problem}"
        )
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("purge")
def audit_purge(
    older_than_years: Annotated[int, typer.Option(help="Retention in years (at least 4).")] = 5,
    yes: Annotated[bool, typer.Option("--yes", help="Really purge (default: only count).")] = False,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Purge records of relationships that ended long ago (dry run without --yes).

    Example: consentry audit purge --older-than-years 5 --yes
    """
    service = _service(database)
    target = _tenant(service, tenant)
    result = _run(lambda: service.purge(target, older_than_years=older_than_years, dry_run=not yes))
    if as_json:
        _print_json(result)
    elif result["dry_run"]:
        out.print(
            f"{result['recipients']} recipients have no record younger than {result['cutoff']} "
            "and nothing in force; run again with --yes to purge them"
        )
    else:
        out.print(
            f"purged {result['recipients']} recipients: {result['events']} ledger events redacted, "
            f"{result['consents']} consent states, {result['inbound']} inbound and "
            f"{result['outbox']} outbox messages deleted"
        )


# -- consents ----------------------------------------------------------------------------------


@consents_app.command("add")
def consents_add(
    recipient: Annotated[str, typer.Argument(help="The person's number.")],
    program: Annotated[str, typer.Option(help="Program id or slug.")],
    medium: Annotated[
        str,
        typer.Option(
            help="web_form | keyword | paper | verbal | ivr | point_of_sale | conversation | api | import"
        ),
    ],
    disclosure: Annotated[str | None, typer.Option(help="The exact text the person saw.")] = None,
    level: Annotated[str | None, typer.Option(help="implied | express | express_written")] = None,
    source_url: Annotated[str | None, typer.Option()] = None,
    ip_address: Annotated[str | None, typer.Option()] = None,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a consent with its evidence. Example: consentry consents add +14255550123 --program coffee-club --medium paper --disclosure "..." """
    service = _service(database)
    target = _tenant(service, tenant)
    outcome = _run(
        lambda: service.record_consent(
            target,
            recipient,
            program,
            medium=medium,
            disclosure_text=disclosure,
            level=level,
            source_url=source_url,
            ip_address=ip_address,
            actor="cli",
            source="cli",
        )
    )
    payload = {
        "event_id": outcome.event_id,
        "status": outcome.state.status.value if outcome.state else None,
        "reply": outcome.reply,
        "still_opted_out": [str(s) for s in outcome.still_opted_out],
        "notes": list(outcome.notes),
    }
    if as_json:
        _print_json(payload)
    else:
        out.print(
            f"consent {payload['status']} ({outcome.event_id})"
            + (f"; queued: {outcome.reply}" if outcome.reply else ""),
            soft_wrap=True,
            highlight=False,
        )
        for note in outcome.notes:
            err.print(f"note: {note}", highlight=False)


@consents_app.command("import")
def consents_import(
    file: Annotated[
        Path, typer.Argument(help="CSV: phone column, occurred_at, and evidence columns.")
    ],
    program: Annotated[str, typer.Option(help="Program id or slug the consents were given to.")],
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import existing consent records with their original times, all rows or none.

    Example: consentry consents import --program coffee-club consents.csv
    """
    from consentry.domain.consent_lists import read_consent_rows

    if not file.is_file():
        _fail(f"file: {file} does not exist or is not a file")
    service = _service(database)
    target = _tenant(service, tenant)
    with file.open(encoding="utf-8-sig", newline="") as handle:
        try:
            report = _run(
                lambda: service.import_consents(
                    target, program, read_consent_rows(handle), source_name=file.name, actor="cli"
                )
            )
        except UnicodeDecodeError as error:
            _fail(f"file: {file} is not UTF-8 text ({error.reason})")
    if as_json:
        _print_json(
            {
                "imported": report.imported,
                "rows": report.rows,
                "events": report.events,
                "rejected": [
                    {"line": r.line, "value": r.value, "error": r.error} for r in report.rejected
                ],
            }
        )
    elif report.imported:
        out.print(f"imported {report.rows} consent records ({report.events} ledger events)")
    else:
        _print_rejected(report.rows, report.rejected)
    if not report.imported:
        raise typer.Exit(2)


@consents_app.command("show")
def consents_show(
    number: str,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """A recipient's consent per program and opt-outs in force. Example: consentry consents show +14255550123"""
    service = _service(database)
    target = _tenant(service, tenant)
    view = _run(lambda: service.recipient(target, number))
    rows = [
        {
            "program_id": c.program_id,
            "brand_id": c.brand_id,
            "status": c.status.value,
            "level": c.level.value,
            "granted_at": c.granted_at.isoformat() if c.granted_at else None,
        }
        for c in view.consents
    ]
    if as_json:
        _print_json(
            {
                "recipient": view.recipient,
                "consents": rows,
                "opt_outs": [str(o.scope) for o in view.optouts],
            }
        )
        return
    out.print(
        f"{view.recipient}: opt-outs in force: {', '.join(str(o.scope) for o in view.optouts) or 'none'}"
    )
    _table_or_json(rows, False)


@consents_app.command("rebuild")
def consents_rebuild(tenant: TenantOption = None, database: DatabaseOption = None) -> None:
    """Recompute the consent state from the ledger alone. Example: consentry consents rebuild"""
    service = _service(database)
    target = _tenant(service, tenant)
    out.print(f"rebuilt {service.rebuild_consents(target)} consent states from the ledger")


@consents_app.command("expire")
def consents_expire(tenant: TenantOption = None, database: DatabaseOption = None) -> None:
    """Expire double opt-in requests left unconfirmed past their window. Example: consentry consents expire"""
    service = _service(database)
    target = _tenant(service, tenant)
    out.print(f"{service.expire_pending_consents(target)} pending consents expired")


@app.command()
def proof(
    number: str,
    html: Annotated[
        bool, typer.Option("--html", help="Human-readable HTML instead of JSON.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Print a recipient's proof bundle. Example: consentry proof +14255550123 --html -o proof.html"""
    from consentry import proof as proofs

    service = _service(database)
    target = _tenant(service, tenant)
    bundle = _run(lambda: service.proof_bundle(target, number))
    text = (
        proofs.render_html(bundle)
        if html
        else json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
    )
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(
            f"proof of {bundle['recipient']} ({len(bundle['events'])} events) written to {output}"
        )
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()


# -- send gate ---------------------------------------------------------------------------------

_MESSAGE_FIELDS = {"from", "to", "program", "body", "at", "category"}


@app.command()
def check(
    source: Annotated[
        str | None,
        typer.Argument(help="A JSON message, or a JSON-lines file of them ('-': standard input)."),
    ] = None,
    sender_from: Annotated[str | None, typer.Option("--from", help="Sender address.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Recipient number.")] = None,
    program: Annotated[str | None, typer.Option(help="Program id or slug.")] = None,
    body: Annotated[str | None, typer.Option(help="Message text.")] = None,
    at: Annotated[str | None, typer.Option(help="When it would leave (ISO 8601, zoned).")] = None,
    category: Annotated[str | None, typer.Option(help="marketing | informational | ...")] = None,
    record: Annotated[bool, typer.Option(help="Record allowed messages as sent.")] = False,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """Check messages before sending. Exit 0: all may go; 1: some blocked or deferred; 2: bad input.

    Example: consentry check --from +12065550100 --to +14255550123 --program coffee-club
    --body "Demo Coffee: 2-for-1 today. Reply STOP to opt out"
    """
    if source is not None:
        if any(v is not None for v in (sender_from, to, program, body, at, category)):
            _fail("give either a file or --from/--to/--program/--body, not both")
        messages = _read_messages(source)
    else:
        missing = [
            name
            for name, value in {
                "--from": sender_from,
                "--to": to,
                "--program": program,
                "--body": body,
            }.items()
            if value is None
        ]
        if missing:
            _fail(f"{', '.join(missing)}: required (or give a JSON-lines file)")
        one: dict[str, Any] = {"from": sender_from, "to": to, "program": program, "body": body}
        if at is not None:
            one["at"] = at
        if category is not None:
            one["category"] = category
        messages = [(1, one)]
    requests = [_send_request(line, message) for line, message in messages]
    service = _service(database)
    target = _tenant(service, tenant)
    items: list[BatchItem] = []
    for start in range(0, len(requests), MAX_BATCH):
        chunk = requests[start : start + MAX_BATCH]
        if record:
            # Everything must be valid before anything is recorded.
            _fail_on_errors(service.check_batch(target, chunk), messages, start)
        results = service.check_batch(target, chunk, record=record)
        _fail_on_errors(results, messages, start)
        items.extend(replace(item, index=item.index + start) for item in results)
    _print_decisions(items, messages, as_json)
    if any(item.decision is not None and not item.decision.allowed for item in items):
        raise typer.Exit(1)


def _read_messages(source: str) -> list[tuple[int, dict[str, Any]]]:
    if source == "-":
        lines = sys.stdin.read().splitlines()
    elif source.lstrip().startswith("{"):
        lines = [source]
    else:
        try:
            lines = Path(source).read_text(encoding="utf-8").splitlines()
        except OSError as error:
            _fail(f"{source}: cannot read ({error.strerror})")
    messages: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except json.JSONDecodeError as error:
            _fail(f"line {number}: not JSON ({error.msg})")
        if not isinstance(message, dict):
            _fail(f"line {number}: expected a JSON object with from, to, program, body")
        unknown = sorted(set(message) - _MESSAGE_FIELDS)
        if unknown:
            _fail(f"line {number}: {unknown[0]}: unknown field")
        messages.append((number, message))
    if not messages:
        _fail("no message given")
    return messages


def _send_request(line: int, message: dict[str, Any]) -> SendRequest:
    for name in ("from", "to", "program", "body"):
        if not isinstance(message.get(name), str) or not message[name].strip():
            _fail(f"line {line}: {name}: required (a non-empty string)")
    when = message.get("at")
    moment = None
    if when is not None:
        try:
            moment = datetime.fromisoformat(str(when).replace("Z", "+00:00"))
        except ValueError:
            _fail(f"line {line}: at: {when!r} is not an ISO 8601 time")
        if moment.tzinfo is None:
            _fail(f"line {line}: at: must include a time zone, e.g. 2026-11-23T15:00:00Z")
    return SendRequest(
        message["from"],
        message["to"],
        message["program"],
        message["body"],
        moment,
        message.get("category"),
    )


def _fail_on_errors(
    items: Sequence[BatchItem], messages: Sequence[tuple[int, dict[str, Any]]], start: int
) -> None:
    for item in items:
        if item.error is not None:
            line = messages[start + item.index][0]
            field = f"{item.error.field}: " if item.error.field else ""
            _fail(f"line {line}: {field}{item.error.message}")


def _print_decisions(
    items: Sequence[BatchItem], messages: Sequence[tuple[int, dict[str, Any]]], as_json: bool
) -> None:
    if as_json:
        for item in items:
            assert item.decision is not None
            payload = {"line": messages[item.index][0], **decision_json(item.decision)}
            if item.send_id is not None:
                payload["send_id"] = item.send_id
            sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
        return
    table = Table("line", "to", "action", "findings")
    for item in items:
        assert item.decision is not None
        decision = item.decision
        action = decision.action.value + (
            f" until {decision.defer_until.isoformat()}" if decision.defer_until else ""
        )
        findings = "\n".join(
            f"{f.rule_id} ({f.severity.value}): {f.message}"
            for f in decision.findings
            if f.severity.value != "info"
        )
        line, message = messages[item.index]
        table.add_row(str(line), str(message["to"]), action, findings or "-")
    out.print(table)


@rules_app.command("list")
def rules_list(
    as_json: JsonOption = False,
    markdown: Annotated[bool, typer.Option(help="Print the Markdown catalogue page.")] = False,
) -> None:
    """The rule catalogue: id, severity, what it checks, and its source."""
    rules = list(catalogue().rules.values())
    if markdown:
        sys.stdout.write(catalogue_markdown())
        return
    if as_json:
        _print_json([asdict(rule) for rule in rules])
        return
    table = Table("id", "severity", "checks", "source")
    for rule in rules:
        table.add_row(rule.id, rule.severity, rule.checks, rule.citation)
    out.print(table)


# -- lint --------------------------------------------------------------------------------------


@app.command("lint")
def lint_command(
    kind: Annotated[str, typer.Argument(help="cta | terms | privacy | template")],
    source: Annotated[str, typer.Argument(help="The file to check ('-': standard input).")],
    template: Annotated[
        str | None,
        typer.Option(
            help="For template: opt_in_confirmation | opt_out_confirmation | help_reply | "
            "first_message | reminder"
        ),
    ] = None,
    brand: Annotated[str | None, typer.Option(help="The brand name the text should carry.")] = None,
    program: Annotated[str | None, typer.Option(help="The program name.")] = None,
    category: Annotated[str, typer.Option(help="The program's category.")] = "marketing",
    support_contact: Annotated[str | None, typer.Option(help="E-mail, phone or URL.")] = None,
    html: Annotated[
        bool | None, typer.Option("--html/--text", help="Default: detected from the text.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check opt-in copy. Exit 0: compliant; 1: a blocking finding; 2: bad input.

    Example: consentry lint cta signup.html --brand "Demo Coffee" --json
    """
    from consentry.domain.cta import LintContext, lint, report_json

    if source == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            _fail(f"{source}: cannot read ({getattr(error, 'strerror', None) or error})")
    context = LintContext(
        brand=brand,
        program=program,
        category=category,
        support_contact=support_contact,
        template=template,
    )
    report = _run(lambda: lint(kind, text, context, html=html))
    if as_json:
        _print_json(report_json(report))
    else:
        table = Table("id", "severity", "message", "fix")
        for finding in report.findings:
            table.add_row(finding.id, finding.severity, finding.message, finding.fix)
        if report.findings:
            out.print(table)
        out.print(f"{report.kind}: score {report.score}/100, {len(report.findings)} finding(s)")
    if report.blocking:
        raise typer.Exit(1)


# -- delivery ----------------------------------------------------------------------------------


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Deliver what is due now, then stop.")] = False,
    interval: Annotated[
        float, typer.Option(min=0.1, max=3600, help="Seconds between rounds.")
    ] = 2.0,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Messages a round.")] = 100,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Deliver queued replies through each tenant's transport (log by default; Twilio when its
    account SID is configured). Example: consentry worker --once"""
    import time

    service = _service(database)
    target = _tenant(service, tenant) if tenant else None
    while True:
        report = service.deliver_outbox(tenant=target, limit=limit)
        if report.outcomes or report.unknown:
            out.print(
                f"sent {report.sent}, retrying {report.retried}, dead {report.dead}, "
                f"suppressed {report.suppressed}, unknown {report.unknown}"
            )
        if once:
            return
        if not report.outcomes:
            time.sleep(interval)


# -- review ------------------------------------------------------------------------------------


@review_app.command("list")
def review_list(
    overdue: Annotated[bool, typer.Option(help="Only those past their due time.")] = False,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """The review queue, soonest due first. Exit 1 when any reply is overdue (for alerting)."""
    service = _service(database)
    target = _tenant(service, tenant)
    rows = service.review_queue(target, overdue=overdue)
    now = service.now()
    shown = [
        {
            "id": row["inbound_id"],
            "from": row["recipient"],
            "to": row["sender_address"],
            "body": row["body"],
            "received_at": row["received_at"].isoformat(),
            "due_at": row["due_at"].isoformat(),
            "overdue": row["due_at"] < now,
        }
        for row in rows
    ]
    _table_or_json(shown, as_json)
    if any(row["overdue"] for row in shown):
        raise typer.Exit(1)


@review_app.command("resolve")
def review_resolve(
    inbound_id: Annotated[str, typer.Argument(help="The held reply's id (inb_...).")],
    decision: Annotated[str, typer.Option(help="opt_out | not_a_revocation")],
    actor: Annotated[str | None, typer.Option(help="Who decided.")] = None,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Decide a held reply. Example: consentry review resolve inb_... --decision opt_out"""
    service = _service(database)
    target = _tenant(service, tenant)
    result = _run(lambda: service.resolve_review(target, inbound_id, decision, actor=actor))
    late = "" if result["on_time"] else " (after its due time)"
    out.print(f"{inbound_id}: {result['resolution']}{late}")


# -- settings and keywords ---------------------------------------------------------------------


@settings_app.command("show")
def settings_show(
    tenant: TenantOption = None, database: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """The tenant's settings."""
    service = _service(database)
    values = service.tenant_settings(_tenant(service, tenant))
    _table_or_json([{"name": k, "value": json.dumps(v)} for k, v in values.items()], as_json)


@settings_app.command("set")
def settings_set(
    name: Annotated[str, typer.Argument(help="optout_removal_min_days | revoke_all")],
    value: Annotated[str, typer.Argument(help="A JSON value: 30, null, true, false.")],
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Change one setting. Example: consentry settings set optout_removal_min_days 30"""
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        _fail(f"{name}: {value!r} is not a JSON value (e.g. 30, null, true)")
    service = _service(database)
    target = _tenant(service, tenant)
    values = _run(lambda: service.update_tenant_settings(target, {name: parsed}))
    out.print(f"{name} = {json.dumps(values[name])}")


@keywords_app.command("add")
def keywords_add(
    keyword: Annotated[str, typer.Argument(help="The reply, e.g. 'YA NO QUIERO'.")],
    kind: Annotated[str, typer.Option(help="opt_out | opt_in | help")],
    language: Annotated[str | None, typer.Option(help="ISO 639-1, e.g. es.")] = None,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Add one of the tenant's own keywords (the reviewed lists always come first)."""
    service = _service(database)
    target = _tenant(service, tenant)
    entry = _run(lambda: service.add_keyword(target, keyword, kind, language=language))
    out.print(f"{entry['keyword']} -> {entry['kind']}")


@keywords_app.command("list")
def keywords_list(
    tenant: TenantOption = None, database: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """The tenant's own keywords."""
    service = _service(database)
    _table_or_json(service.list_keywords(_tenant(service, tenant)), as_json)


@keywords_app.command("remove")
def keywords_remove(
    keyword: Annotated[str, typer.Argument()],
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Remove one of the tenant's own keywords."""
    service = _service(database)
    target = _tenant(service, tenant)
    _run(lambda: service.remove_keyword(target, keyword))
    out.print(f"{keyword} removed")
