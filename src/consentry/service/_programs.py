"""Changing a program's settings after it was registered (issue #8: console editing).

Each field is checked the way :meth:`RegistryLayer.create_program` checks it (the same helpers
of ``_checks``, the same reply and consent rules); all changes are checked before any is stored,
written in one transaction with one row of the registry change history per changed setting, and
the tenant's gate epoch is bumped so that every send-gate cache reloads the program before its
next decision.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from consentry.domain import replies
from consentry.domain.consent import ConsentLevel, consent_rules, needs_double_opt_in
from consentry.domain.model import Program, Tenant
from consentry.domain.purposes import default_purpose, purpose_names
from consentry.errors import InvalidInput
from consentry.service._checks import (
    flag,
    found,
    one_of,
    optional_reply,
    optional_text,
    positive_int,
    required_text,
    scope_kind,
    use_case_id,
)
from consentry.service._registry import PROGRAM_CATEGORIES, RegistryLayer
from consentry.store import registry, registry_changes, sends
from consentry.store.tables import programs

# Settings that may change; the id, slug and brand of a program never do (links and consents
# name them).
TEXT_FIELDS = ("name", "help_reply", "opt_out_reply", "opt_in_reply", "description", "frequency")
CHOICE_FIELDS = ("category", "purpose", "opt_out_scope", "consent_level", "use_case")
FLAG_FIELDS = ("double_opt_in", "age_gated", "block_shorteners", "one_way")
NUMBER_FIELDS = ("pending_expiry_hours", "reconfirm_after_days", "reconfirm_idle_days")
EDITABLE = TEXT_FIELDS + CHOICE_FIELDS + FLAG_FIELDS + NUMBER_FIELDS


def _opt_out_reply(value: Any) -> str | None:
    if value is None:
        return None
    return replies.check_single_segment(
        required_text(value, "opt_out_reply", 480), field="opt_out_reply"
    )


_TEXT_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "name": lambda v: required_text(v, "name", 200),
    "help_reply": lambda v: optional_reply(v, "help_reply"),
    "opt_out_reply": _opt_out_reply,
    "opt_in_reply": lambda v: optional_reply(v, "opt_in_reply"),
    "description": lambda v: optional_text(v, "description", 1000),
    "frequency": lambda v: optional_text(v, "frequency", 200),
}


def changed_program(current: Program, changes: Mapping[str, Any]) -> Program:
    """``current`` with ``changes`` applied, every field checked (``InvalidInput`` names it).

    ``None`` clears an optional text (a reply falls back to the default one), and resets
    ``purpose``, ``consent_level`` and the reconfirmation numbers to the category's defaults.
    """
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInput(
            f"{unknown[0]} cannot be changed (changeable: {', '.join(EDITABLE)})", field=unknown[0]
        )
    new: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if name in changes:
            new[name] = _TEXT_CHECKS[name](changes[name])
    category = current.category
    if "category" in changes:
        category = new["category"] = one_of(changes["category"], PROGRAM_CATEGORIES, "category")
    if "purpose" in changes:
        purpose = changes["purpose"]
        new["purpose"] = (
            default_purpose(category)
            if purpose is None
            else one_of(purpose, list(purpose_names()), "purpose")
        )
    if "opt_out_scope" in changes:
        new["opt_out_scope"] = scope_kind(changes["opt_out_scope"], "opt_out_scope")
    rules = consent_rules()
    if "consent_level" in changes:
        level = changes["consent_level"]
        new["consent_level"] = (
            rules.category_levels.get(category, ConsentLevel.EXPRESS).value
            if level is None
            else one_of(level, [member.value for member in ConsentLevel], "consent_level")
        )
    if "use_case" in changes:
        new["use_case"] = use_case_id(changes["use_case"])
    for name in FLAG_FIELDS:
        if name in changes:
            new[name] = flag(changes[name], name)
    defaults = {
        "pending_expiry_hours": rules.pending_expiry_hours,
        "reconfirm_after_days": rules.first_message_within_days,
        "reconfirm_idle_days": rules.idle_days,
    }
    for name in NUMBER_FIELDS:
        if name in changes:
            new[name] = positive_int(changes[name], defaults[name], name)
    # A high-risk use case always needs double opt-in, whatever was asked.
    new["double_opt_in"] = needs_double_opt_in(
        new.get("use_case", current.use_case), new.get("double_opt_in", current.double_opt_in)
    )
    return replace(current, **new)


def stored_settings(program: Program) -> dict[str, Any]:
    """The editable settings of ``program`` as stored (and as the change history keeps them)."""
    return {
        name: (getattr(program, name).value if name == "opt_out_scope" else getattr(program, name))
        for name in EDITABLE
    }


class ProgramsLayer(RegistryLayer):
    """Change a registered program's settings."""

    def update_program(
        self, tenant: Tenant, program_ref: str, *, actor: str = "service", **changes: Any
    ) -> Program:
        """Change some settings of the program ``program_ref`` (id or slug) of ``tenant``.

        Every change is checked as :meth:`create_program` checks it, all before any is stored;
        the row is written in one transaction that also records each changed setting in the
        registry change history under ``actor`` (``console:<e-mail>``, ``api-key:<key id>``,
        ``cli``) and bumps the tenant's gate epoch, so the next send decision sees the new
        settings. Unknown ids (or another tenant's) raise ``NotFound``; a bad value
        ``InvalidInput`` naming its field.
        """
        with self.engine.begin() as conn:
            registry_changes.lock_entity(conn, tenant.id, "program", program_ref)
            current = found(
                registry.find_program(conn, tenant.id, program_ref), "program", program_ref
            )
            program = changed_program(current, changes)
            if program == current:
                return current
            after = stored_settings(program)
            conn.execute(
                sa.update(programs)
                .where(programs.c.tenant_id == tenant.id, programs.c.program_id == current.id)
                .values(after)
            )
            registry_changes.record(
                conn,
                tenant.id,
                "program",
                current.id,
                registry_changes.changed_fields(stored_settings(current), after),
                actor=actor,
                at=self.now(),
            )
            sends.bump_epoch(conn, tenant.id)
        return program
