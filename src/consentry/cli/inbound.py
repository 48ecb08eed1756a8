"""Replies: inbound, classify, the review queue, tenant settings and keywords."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from consentry.cli._common import (
    DatabaseOption,
    JsonOption,
    TenantOption,
    _fail,
    _print_json,
    _run,
    _service,
    _table_or_json,
    _tenant,
    app,
    out,
)
from consentry.domain.keywords import classify as classify_text

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
