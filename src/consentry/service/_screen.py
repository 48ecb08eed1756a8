"""Bulk screening of a list against the tenant's opt-outs (and consent to a program)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO

import numpy as np
import sqlalchemy as sa
from pyroaring import AbstractBitMap64

from consentry.domain import scopes as scope_rules
from consentry.domain.consent import ConsentLevel, ConsentState, ConsentStatus, consent_rules
from consentry.domain.model import Program, Scope, ScopeKind, Tenant
from consentry.domain.numbers import sender_lookup_key
from consentry.errors import NotFound
from consentry.screening import ListFormat, ListSource, ScreenSummary, Suppression, open_list
from consentry.screening.pipeline import Progress, bitmap_of_sorted, screen_source
from consentry.screening.readers import Input
from consentry.service._review import ReviewLayer
from consentry.store import consents as consent_store
from consentry.store import registry

# Widest first: a number opted out in several covering scopes is reported under the widest.
_WIDEST_FIRST = ("tenant", "brand", "purpose", "program", "sender")
Output = str | IO[bytes] | None


class ScreenLayer(ReviewLayer):
    """Bulk screening: split a list into the rows that may be sent and the suppressed rows."""

    def screen(
        self,
        tenant: Tenant,
        source: Input | ListSource,
        column: str | None = None,
        *,
        program: str | None = None,
        sender: str | None = None,
        list_format: ListFormat | None = None,
        allowed: Output = None,
        suppressed: Output = None,
        progress: Progress | None = None,
    ) -> ScreenSummary:
        """Screen ``source`` (a path, the file's bytes, or a list opened with ``open_list``).

        A row is suppressed when its number is invalid (``invalid_number``), opted out in a scope
        that covers ``program`` and/or ``sender`` (``opted_out:<scope>``, widest scope named
        first), or, when ``program`` is given, has no consent allowing that program
        (``no_consent``). With neither ``program`` nor ``sender``, an opt-out in any scope
        suppresses the number. ``allowed`` and ``suppressed`` are where the two CSV outputs go
        (``None``: not written). Raises :class:`NotFound` for an unknown program and
        :class:`InvalidInput` for an unreadable file or a missing column.
        """
        if not isinstance(source, ListSource):
            source = open_list(source, column, list_format)
        try:
            suppression = self.screening_rules(tenant, program=program, sender=sender)
            return screen_source(
                source, suppression, allowed=allowed, suppressed=suppressed, progress=progress
            )
        finally:
            source.close()

    def screening_rules(
        self, tenant: Tenant, *, program: str | None = None, sender: str | None = None
    ) -> Suppression:
        """What suppresses a number of ``tenant`` for ``program`` / ``sender``, as bitmaps."""
        with self._read() as conn:
            chosen = None
            if program is not None:
                chosen = registry.find_program(conn, tenant.id, program)
                if chosen is None:
                    raise NotFound(f"no program {program!r} in this tenant", field="program")
            covering = self._covering(conn, tenant, chosen, sender)
            labels = _labels(conn, tenant.id)
            consented = _consented(conn, tenant.id, chosen) if chosen is not None else None
        index = self.suppression_index(tenant)
        if covering is None:
            covering = frozenset(index.scopes(tenant.id))
        bitmaps = index.bitmaps(tenant.id, _widest_first(covering))
        return Suppression(
            {f"opted_out:{labels(scope)}": bitmap for scope, bitmap in bitmaps.items() if bitmap},
            consented=consented,
            region=tenant.default_region,
        )

    def _covering(
        self, conn: sa.Connection, tenant: Tenant, program: Program | None, sender: str | None
    ) -> frozenset[Scope] | None:
        scopes: set[Scope] = set()
        if program is not None:
            scopes |= scope_rules.covering_program(program)
        if sender is not None:
            address = sender_lookup_key(sender, tenant.default_region, field="sender")
            if program is None:
                context, _, _ = self._sender_context(conn, tenant, address)
                scopes |= scope_rules.covering_sender(context)
            else:
                scopes.add(Scope(ScopeKind.SENDER, address))
        return frozenset(scopes) if scopes else None


def _widest_first(scopes: Iterable[Scope]) -> list[Scope]:
    def rank(scope: Scope) -> tuple[int, str]:
        kind = scope.kind.value
        return (_WIDEST_FIRST.index(kind) if kind in _WIDEST_FIRST else 3, scope.id)

    return sorted(scopes, key=rank)


def _labels(conn: sa.Connection, tenant_id: str) -> Callable[[Scope], str]:
    """Name scopes by slug (brand, program, a brand's purpose) or address (sender), not by id."""
    slugs = {p.id: p.slug for p in registry.list_programs(conn, tenant_id)}
    slugs.update({b.id: b.slug for b in registry.list_brands(conn, tenant_id)})

    def label(scope: Scope) -> str:
        if scope.kind is ScopeKind.TENANT:
            return "tenant"
        owner, colon, rest = scope.id.partition(":")  # a purpose: "<brand id>:<purpose>"
        return f"{scope.kind.value}:{slugs.get(owner, owner)}{colon}{rest}"

    return label


def _consented(conn: sa.Connection, tenant_id: str, program: Program) -> AbstractBitMap64:
    """The numbers whose consent allows ``program`` to send them a message of its category."""
    numbers = [
        int(state.recipient[1:])
        for state in consent_store.iterate(conn, tenant_id)
        if state.program_id == program.id and allows(state, program)
    ]
    return bitmap_of_sorted(np.sort(np.array(numbers, dtype=np.uint64)))


def allows(state: ConsentState, program: Program) -> bool:
    """Whether a consent state lets ``program`` send a list message of its own category.

    Active, at the level the program and its category need; implied consent never reaches a
    list send of a category it does not cover, nor a conversational one (no conversation).
    """
    if state.status is not ConsentStatus.ACTIVE:
        return False
    rules = consent_rules()
    category = program.category
    if state.level is ConsentLevel.IMPLIED and (
        category in rules.implied_never_covers or category == "conversational"
    ):
        return False
    own = ConsentLevel(program.consent_level)
    by_category = rules.category_levels.get(category, ConsentLevel.EXPRESS)
    return state.level.rank >= max(own.rank, by_category.rank)
