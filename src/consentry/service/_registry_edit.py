"""Changing a brand's or a sender's settings after registration, and the registry change history
(issue #8: console editing).

Each field is checked the way :meth:`RegistryLayer.create_brand` and ``create_sender`` check it
(the same ``_checks`` helpers); ids, slugs and a sender's address never change (the address is
the sender). All changes are checked before any is stored, written in one transaction with one
row of the change history per changed setting, and the tenant's gate epoch is bumped so that
every send-gate cache reloads the registry before its next decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from consentry.domain.model import Brand, Sender, Tenant
from consentry.errors import InvalidInput, InvalidNumber
from consentry.service._checks import (
    flag,
    found,
    optional_phone,
    program_ids_of,
    required_text,
    sender_address,
    sender_kind,
    web_url,
)
from consentry.service._programs import ProgramsLayer
from consentry.store import registry, registry_changes, sends
from consentry.store.registry_changes import ENTITY_KINDS, RegistryChange
from consentry.store.tables import brands, sender_programs, senders

# What may change; ids, slugs and a sender's address never do (consents, opt-outs and links
# name them).
BRAND_FIELDS = ("name", "support_contact", "support_phone", "terms_url", "privacy_url")
SENDER_FIELDS = ("kind", "verified", "program_ids")


def _editable(changes: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    if not isinstance(changes, Mapping):
        raise InvalidInput("the changes must be an object of field: value", field=None)
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"{unknown[0]} cannot be changed (changeable: {', '.join(allowed)})", field=unknown[0]
        )


def changed_brand(current: Brand, changes: Mapping[str, Any], region: str) -> Brand:
    """``current`` with ``changes`` applied, each checked as creation checks it (``InvalidInput``
    names the field). ``None`` clears the support phone and the terms and privacy
    URLs (the hosted pages are linked instead)."""
    _editable(changes, BRAND_FIELDS)
    new: dict[str, Any] = {}
    for name in ("name", "support_contact"):
        if name in changes:
            new[name] = required_text(changes[name], name, 200)
    if "support_phone" in changes:
        new["support_phone"] = optional_phone(changes["support_phone"], region, "support_phone")
    for name in ("terms_url", "privacy_url"):
        if name in changes:
            new[name] = web_url(changes[name], name)
    return replace(current, **new)


def _brand_settings(brand: Brand) -> dict[str, Any]:
    return {name: getattr(brand, name) for name in BRAND_FIELDS}


def _sender_settings(sender: Sender) -> dict[str, Any]:
    return {
        "kind": sender.kind.value,
        "verified": sender.verified,
        "program_ids": sorted(sender.program_ids),
    }


class RegistryEditLayer(ProgramsLayer):
    """Change a registered brand or sender; read the registry change history."""

    def update_brand(
        self, tenant: Tenant, ref: str, changes: Mapping[str, Any], *, actor: str
    ) -> Brand:
        """Change some settings of the brand ``ref`` (id or slug): ``name``, ``support_contact``,
        ``support_phone``, ``terms_url``, ``privacy_url``.

        All are checked (as :meth:`create_brand` checks them) before any is stored; the row and
        one change-history row per changed setting (under ``actor``) are written in one
        transaction that bumps the gate epoch. ``NotFound`` for an unknown brand (or another
        tenant's); ``InvalidInput`` naming the field for a bad value or one that cannot change.
        """
        with self.engine.begin() as conn:
            registry_changes.lock_entity(conn, tenant.id, "brand", ref)
            current = found(registry.find_brand(conn, tenant.id, ref), "brand", ref)
            brand = changed_brand(current, changes, tenant.default_region)
            diff = registry_changes.changed_fields(_brand_settings(current), _brand_settings(brand))
            if not diff:
                return current
            conn.execute(
                sa.update(brands)
                .where(brands.c.tenant_id == tenant.id, brands.c.brand_id == current.id)
                .values(_brand_settings(brand))
            )
            self._changed(conn, tenant, "brand", current.id, diff, actor)
        return brand

    def update_sender(
        self, tenant: Tenant, ref: str, changes: Mapping[str, Any], *, actor: str
    ) -> Sender:
        """Change some settings of the sender ``ref`` (id or address): ``verified``,
        ``program_ids`` (the programs it serves, ids or slugs of this tenant) and ``kind`` (only
        to a kind its address is valid for: a long code may become toll-free if it is one).

        The address never changes: it is the sender. Checked as :meth:`create_sender` checks,
        all before any is stored, in one transaction with the change history (under ``actor``)
        and the gate epoch bump. ``NotFound`` for an unknown sender (or another tenant's) and for
        an unknown program (``program_ids``); ``InvalidInput`` naming the field otherwise.
        """
        sender = self.get_sender(tenant, ref)  # by id or by any form of its address
        _editable(changes, SENDER_FIELDS)
        new: dict[str, Any] = {}
        if "kind" in changes:
            new["kind"] = sender_kind(changes["kind"])
            try:
                fits = sender_address(sender.address, new["kind"], tenant.default_region)
            except InvalidNumber:
                fits = ""
            if fits != sender.address:
                raise InvalidInput(
                    f"sender {sender.address} cannot be a {new['kind'].value} "
                    "(the address stays: register another sender instead)",
                    field="kind",
                )
        if "verified" in changes:
            new["verified"] = flag(changes["verified"], "verified")
        with self.engine.begin() as conn:
            registry_changes.lock_entity(conn, tenant.id, "sender", sender.id)
            current = found(registry.find_sender(conn, tenant.id, sender.id), "sender", ref)
            if "program_ids" in changes:
                new["program_ids"] = tuple(
                    sorted(program_ids_of(conn, tenant.id, changes["program_ids"]))
                )
            changed = replace(current, **new)
            diff = registry_changes.changed_fields(
                _sender_settings(current), _sender_settings(changed)
            )
            if not diff:
                return current
            conn.execute(
                sa.update(senders)
                .where(senders.c.tenant_id == tenant.id, senders.c.sender_id == current.id)
                .values(kind=changed.kind.value, verified=changed.verified)
            )
            if changed.program_ids != current.program_ids:
                self._assign(conn, tenant, changed)
            self._changed(conn, tenant, "sender", current.id, diff, actor)
        return changed

    def list_registry_changes(
        self, tenant: Tenant, entity: str | None = None, *, limit: int = 100
    ) -> list[RegistryChange]:
        """The tenant's registry change history, newest first; ``entity`` narrows it to a kind
        (``program``, ``brand``, ``sender``) or to one of them (``program:<id or slug>``,
        ``brand:<id or slug>``, ``sender:<id or address>``). Another tenant's: ``NotFound``."""
        kind: str | None = None
        entity_id: str | None = None
        if entity is not None:
            kind, _, ref = entity.partition(":")
            if kind not in ENTITY_KINDS:
                raise InvalidInput(
                    "entity must be program, brand or sender, optionally followed by "
                    f":<id or slug>; got {entity!r}",
                    field="entity",
                )
            if ref:
                entity_id = self._entity_id(tenant, kind, ref)
        with self._read() as conn:
            return registry_changes.list_changes(
                conn, tenant.id, entity_kind=kind, entity_id=entity_id, limit=limit
            )

    def _entity_id(self, tenant: Tenant, kind: str, ref: str) -> str:
        if kind == "program":
            return self.get_program(tenant, ref).id
        if kind == "brand":
            return self.get_brand(tenant, ref).id
        return self.get_sender(tenant, ref).id

    def _assign(self, conn: sa.Connection, tenant: Tenant, sender: Sender) -> None:
        conn.execute(
            sa.delete(sender_programs).where(
                sender_programs.c.tenant_id == tenant.id,
                sender_programs.c.sender_id == sender.id,
            )
        )
        if sender.program_ids:
            conn.execute(
                sa.insert(sender_programs),
                [
                    {"tenant_id": tenant.id, "sender_id": sender.id, "program_id": program_id}
                    for program_id in sender.program_ids
                ],
            )

    def _changed(
        self,
        conn: sa.Connection,
        tenant: Tenant,
        kind: str,
        entity_id: str,
        diff: list[tuple[str, Any, Any]],
        actor: str,
    ) -> None:
        registry_changes.record(conn, tenant.id, kind, entity_id, diff, actor=actor, at=self.now())
        sends.bump_epoch(conn, tenant.id)
