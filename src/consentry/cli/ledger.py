"""The consent ledger and its audit: verify, purge, consents, proof."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from consentry.cli._common import (
    DatabaseOption,
    JsonOption,
    TenantOption,
    _fail,
    _print_json,
    _print_rejected,
    _run,
    _service,
    _table_or_json,
    _tenant,
    app,
    err,
    out,
)

audit_app = typer.Typer(
    help="Verify the tamper-evident ledger; purge expired records.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")

consents_app = typer.Typer(
    help="The consent ledger: record, import, rebuild, expire.", no_args_is_help=True
)
app.add_typer(consents_app, name="consents")

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
