"""The registry change history as the console's edit pages show it: who changed which setting
of a program, brand or sender, when, and the old and new value in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consentry.web.admin.session import Console

SHOWN = 50


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One changed setting, ready for the page."""

    changed_at: str
    actor: str
    field: str
    old: str
    new: str


def shown(value: Any, names: dict[str, str]) -> str:
    """A stored value in words: unset is "(not set)", flags are on / off, program ids named."""
    if value is None or value == "":
        return "(not set)"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(names.get(str(item), str(item)) for item in value) or "(none)"
    return str(value)


def history_of(console: Console, kind: str, entity_id: str) -> list[HistoryRow]:
    """The latest changes of one program, brand or sender of the console's tenant."""
    service, tenant = console.service, console.tenant
    changes = service.list_registry_changes(tenant, f"{kind}:{entity_id}", limit=SHOWN)
    names = {p.id: p.name for p in service.list_programs(tenant)} if kind == "sender" else {}
    return [
        HistoryRow(
            changed_at=change.changed_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            actor=change.actor,
            field=change.field,
            old=shown(change.old, names),
            new=shown(change.new, names),
        )
        for change in changes
    ]
