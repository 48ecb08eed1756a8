"""Editing the registry from the shell: ``consentry brands|programs|senders update REF --set
field=value ...`` and ``consentry registry history``.

The changes go through the same service calls as ``PATCH /v1/brands|programs|senders/{ref}``
and the console's edit pages: every field is checked before any is stored, and each changed
setting is kept in the change history with the actor ``cli``. A value is read as JSON when it
is one (``true``, ``false``, ``null``, numbers, lists such as ``["alerts"]``, ``"quoted text"``),
else as the text typed; a text setting (a name, a reply, a URL, a choice such as ``category``)
takes the text as typed unless it is ``null`` or JSON-quoted, so ``--set name=2024`` names a
brand "2024". Bad input exits with code 2 and the service's message naming the field; nothing
is changed then.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from consentry.cli._common import (
    DatabaseOption,
    JsonOption,
    TenantOption,
    _fail,
    _print_json,
    _run,
    _service,
    _tenant,
    app,
    err,
    out,
)
from consentry.cli.registry import brands_app, programs_app, senders_app
from consentry.domain.model import Brand, Program, Sender
from consentry.service._programs import EDITABLE, FLAG_FIELDS, NUMBER_FIELDS
from consentry.store.registry_changes import MAX_LISTED

registry_app = typer.Typer(
    help="The registry's change history (brands, programs, senders).", no_args_is_help=True
)
app.add_typer(registry_app, name="registry")

ACTOR = "cli"
# Settings whose values are not text: their values are always read as JSON.
TYPED_FIELDS = {
    "brand": (),
    "program": FLAG_FIELDS + NUMBER_FIELDS,
    "sender": ("verified", "program_ids"),
}
# Names the program call takes itself: never settings.
_RESERVED = {"self", "tenant", "program_ref", "actor"}

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="FIELD=VALUE",
        help="A setting to change (repeatable). JSON values: true, false, null, numbers, "
        '["lists"]; text otherwise.',
    ),
]


def parse_value(text: str, typed: bool) -> Any:
    """A ``--set`` value: JSON when it parses (always for a typed setting; for a text setting
    only ``null`` and a JSON-quoted text), else the text as typed."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if typed or value is None or isinstance(value, str):
        return value
    return text


def parse_settings(pairs: list[str] | None, kind: str) -> dict[str, Any]:
    """``--set field=value`` options as the changes to make (exit 2 for a malformed one, a
    field given twice, or none at all)."""
    if not pairs:
        _fail('--set: give at least one setting to change, e.g. --set name="Acme Coffee"')
    changes: dict[str, Any] = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        name = name.strip()
        if not equals or not name:
            _fail(f"--set: {pair!r} is not field=value")
        if name in changes:
            _fail(f"{name}: given twice")
        changes[name] = parse_value(text, name in TYPED_FIELDS[kind])
    return changes


def record_json(record: Brand | Program | Sender) -> dict[str, Any]:
    """A brand, program or sender as JSON values (as the API answers it, without tenant_id)."""
    fields = asdict(record)
    fields.pop("tenant_id", None)
    return {name: _plain(value) for name, value in fields.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


def change_time(iso: str) -> str:
    """A change's time for the table: ``2026-11-24 09:30:05`` (UTC, to the second)."""
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S")


def _show(
    kind: str,
    label: str,
    before: Brand | Program | Sender,
    after: Brand | Program | Sender,
    changes: dict[str, Any],
    as_json: bool,
) -> None:
    if as_json:
        _print_json(record_json(after))
        return
    if before == after:
        err.print(f"{kind} {label} ({after.id}): nothing changed", highlight=False)
        return
    now = record_json(after)
    table = Table("setting", "now")
    for name in changes:
        table.add_row(Text(name), Text(json.dumps(now.get(name), ensure_ascii=False)))
    err.print(f"{kind} {label} ({after.id}) updated; recorded as {ACTOR}", highlight=False)
    out.print(table)


def _update(
    kind: str,
    changes: dict[str, Any],
    tenant: str | None,
    database: str | None,
    as_json: bool,
    read: Callable[[Any, Any], Brand | Program | Sender],
    write: Callable[[Any, Any, dict[str, Any]], Brand | Program | Sender],
) -> None:
    service = _service(database)
    target = _tenant(service, tenant)
    before = _run(lambda: read(service, target))
    after = _run(lambda: write(service, target, changes))
    label = after.address if isinstance(after, Sender) else after.slug
    _show(kind, label, before, after, changes, as_json)


@brands_app.command("update")
def brands_update(
    ref: Annotated[str, typer.Argument(help="Brand id or slug.")],
    settings: SetOption = None,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a brand: name, support_contact, support_phone, terms_url, privacy_url (null
    clears the last three). Example: consentry brands update coffee --set
    support_contact=care@acme.example"""
    _update(
        "brand",
        parse_settings(settings, "brand"),
        tenant,
        database,
        as_json,
        lambda service, target: service.get_brand(target, ref),
        lambda service, target, changes: service.update_brand(target, ref, changes, actor=ACTOR),
    )


@programs_app.command("update")
def programs_update(
    ref: Annotated[str, typer.Argument(help="Program id or slug.")],
    settings: SetOption = None,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a program's settings (name, frequency, replies, category, purpose, opt_out_scope,
    double_opt_in, one_way, ...; null clears a text or resets to the default). Example:
    consentry programs update alerts --set frequency="Up to 2 msgs/week" --set one_way=false"""
    changes = parse_settings(settings, "program")
    reserved = sorted(_RESERVED & set(changes))
    if reserved:  # the service's message for a setting that cannot change
        _fail(f"{reserved[0]}: {reserved[0]} cannot be changed (changeable: {', '.join(EDITABLE)})")
    _update(
        "program",
        changes,
        tenant,
        database,
        as_json,
        lambda service, target: service.get_program(target, ref),
        lambda service, target, changes: service.update_program(
            target, ref, actor=ACTOR, **changes
        ),
    )


@senders_app.command("update")
def senders_update(
    ref: Annotated[str, typer.Argument(help="Sender id or address.")],
    settings: SetOption = None,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a sender: verified, program_ids (the whole list, ids or slugs) or kind (the
    address never changes). Example: consentry senders update +12065550100 --set verified=true
    --set 'program_ids=["alerts"]'"""
    _update(
        "sender",
        parse_settings(settings, "sender"),
        tenant,
        database,
        as_json,
        lambda service, target: service.get_sender(target, ref),
        lambda service, target, changes: service.update_sender(target, ref, changes, actor=ACTOR),
    )


@registry_app.command("history")
def registry_history(
    entity: Annotated[
        str | None,
        typer.Option(
            "--entity",
            help="program, brand or sender, or one of them: brand:<id or slug>, "
            "program:<id or slug>, sender:<id or address>.",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=MAX_LISTED, help="At most this many changes.")
    ] = 100,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """The registry change history, newest first: who changed which setting, when, the old and
    the new value. Example: consentry registry history --entity brand:coffee"""
    service = _service(database)
    target = _tenant(service, tenant)
    changes = _run(lambda: service.list_registry_changes(target, entity, limit=limit))
    rows = [
        {
            "id": change.id,
            "entity": change.entity_kind,
            "entity_id": change.entity_id,
            "field": change.field,
            "old": change.old,
            "new": change.new,
            "actor": change.actor,
            "changed_at": change.changed_at.isoformat(),
        }
        for change in changes
    ]
    if as_json:
        _print_json(rows)
        return
    if not rows:
        out.print("(none)")
        return
    table = Table("changed (UTC)", "entity", "field", "old", "new", "actor")
    for row in rows:
        cells = (
            change_time(row["changed_at"]),
            f"{row['entity']}:{row['entity_id']}",
            row["field"],
            json.dumps(row["old"], ensure_ascii=False),
            json.dumps(row["new"], ensure_ascii=False),
            row["actor"],
        )
        table.add_row(*(Text(cell) for cell in cells))
    out.print(table)
