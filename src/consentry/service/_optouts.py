"""The opt-out database: add, remove, check, import, export, history; the ledger writes behind them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from consentry import consenting
from consentry.domain import scopes
from consentry.domain.model import (
    Brand,
    OptOut,
    OptOutEvent,
    OptOutSource,
    Program,
    Scope,
    ScopeKind,
    Sender,
    Tenant,
)
from consentry.domain.numbers import sender_lookup_key, to_e164
from consentry.domain.purposes import purpose_names, purpose_scope
from consentry.errors import InvalidInput, InvalidNumber
from consentry.service._checks import (
    found,
)
from consentry.service._index import IndexLayer
from consentry.service._results import (
    ImportReport,
    RecipientHistory,
    RecipientStatus,
    RejectedRow,
    ScopeRef,
    _Target,
)
from consentry.store import (
    ledger,
    registry,
)
from consentry.store import optouts as optout_store

_GUARDED = (OptOutSource.API, OptOutSource.CLI, OptOutSource.CONSOLE)
IMPORT_CHUNK = 1000
"""An import writes its numbers this many at a time (one transaction) and reports progress."""


class OptOutsLayer(IndexLayer):
    """The opt-out database: add, remove, check, import, export, history; the ledger writes behind them."""

    def add_optouts(
        self,
        tenant: Tenant,
        recipients: Sequence[str],
        *,
        sender: str | None = None,
        scope: ScopeRef | None = None,
        source: OptOutSource = OptOutSource.API,
        actor: str | None = None,
        reason: str | None = None,
    ) -> list[RecipientStatus]:
        """Opt ``recipients`` out at ``sender`` (default) or in ``scope``.

        Invalid numbers get their own 400 status; the valid ones are still processed. Adding an
        opt-out that already exists changes nothing and records no event.
        """
        parsed = self._parse_recipients(tenant, recipients)
        now = self.now()
        with self.engine.begin() as conn:
            target = self._target(conn, tenant, sender, scope)
            head = ledger.lock_head(conn, tenant.id)
            state = optout_store.current(conn, tenant.id, _valid(parsed))
            new = _not_yet_in(state, dict.fromkeys(_valid(parsed)), target.scope)
            head = self._append_optouts(
                conn, tenant, head, new, target.scope, source, now, actor, reason
            )
            # Already opted out here, yet a consent it covers is live (given while the opt-out
            # stood): the opt-out asked again still revokes it.
            fresh = set(new)
            again = [number for number in dict.fromkeys(_valid(parsed)) if number not in fresh]
            revoked = consenting.revocations(
                conn, tenant.id, again, target.scope, now, source=source.value, reason=reason
            )
            consenting.append(conn, tenant.id, head, revoked, now)
        self._catch_up_index()  # this process sees its own change at once
        changed = set(new)
        return [
            status
            if status.to is None
            else RecipientStatus(
                input=status.input,
                to=status.to,
                status=200,
                opted_out=True,
                scopes=_covering(state.get(status.to, []), target.covering)
                + ((target.scope,) if status.to in changed else ()),
                changed=status.to in changed,
            )
            for status in parsed
        ]

    def remove_optouts(
        self,
        tenant: Tenant,
        recipients: Sequence[str],
        *,
        sender: str | None = None,
        scope: ScopeRef | None = None,
        source: OptOutSource = OptOutSource.API,
        actor: str | None = None,
        reason: str | None = None,
    ) -> list[RecipientStatus]:
        """Lift the opt-outs of ``recipients`` in exactly the given scope (default: ``sender``).

        The history is kept. ``opted_out`` in the result says whether an opt-out in a wider
        scope still blocks the recipient. With the tenant setting ``optout_removal_min_days``,
        a number whose opt-out was lifted by API or CLI less than that many days ago gets a 409
        status and keeps its opt-out.
        """
        parsed = self._parse_recipients(tenant, recipients)
        now = self.now()
        with self.engine.begin() as conn:
            target = self._target(conn, tenant, sender, scope)
            head = ledger.lock_head(conn, tenant.id)
            state = optout_store.current(conn, tenant.id, _valid(parsed))
            refused = self._too_soon(conn, tenant, _valid(parsed), source, now)
            parsed = [refused.get(status.to or "", status) for status in parsed]
            lifted = [
                number
                for number in dict.fromkeys(_valid(parsed))
                if number not in refused
                and any(optout.scope == target.scope for optout in state.get(number, []))
            ]
            self._remove(
                conn, tenant, head, [(n, target.scope) for n in lifted], source, now, actor, reason
            )
        self._catch_up_index()  # this process sees its own change at once
        changed = set(lifted)
        results = []
        for status in parsed:
            if status.to is None or status.status != 200:
                results.append(status)
                continue
            remaining = tuple(
                s for s in _covering(state.get(status.to, []), target.covering) if s != target.scope
            )
            results.append(
                RecipientStatus(
                    input=status.input,
                    to=status.to,
                    status=200,
                    opted_out=bool(remaining),
                    scopes=remaining,
                    changed=status.to in changed,
                )
            )
        return results

    def check_optouts(
        self,
        tenant: Tenant,
        recipients: Sequence[str],
        *,
        sender: str | None = None,
        scope: ScopeRef | None = None,
    ) -> list[RecipientStatus]:
        """Whether each recipient is opted out for ``sender`` (any covering scope) or ``scope``."""
        parsed = self._parse_recipients(tenant, recipients)
        with self._read() as conn:
            target = self._target(conn, tenant, sender, scope)
        index = self._suppression()  # in memory, caught up: no query per number
        results = []
        for status in parsed:
            if status.to is None:
                results.append(status)
                continue
            found = _ordered(index.scopes_of(tenant.id, status.to) & target.covering)
            results.append(
                RecipientStatus(
                    input=status.input,
                    to=status.to,
                    status=200,
                    opted_out=bool(found),
                    scopes=found,
                )
            )
        return results

    def import_optouts(
        self,
        tenant: Tenant,
        rows: Iterable[tuple[int, str]],
        *,
        sender: str | None = None,
        scope: ScopeRef | None = None,
        actor: str | None = None,
        reason: str | None = None,
        source: OptOutSource = OptOutSource.IMPORT,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportReport:
        """Import ``(line, number)`` rows as opt-outs, all or nothing.

        Every row is normalised first; if any is rejected, nothing is written and the report
        lists each rejected row with its line and reason. The distinct numbers are then written
        in one transaction, ``IMPORT_CHUNK`` at a time. ``progress(done, total)`` is called
        inside that transaction with the distinct numbers handled so far, from ``(0, total)`` to
        ``(total, total)``: the last call comes before the commit. If it raises, the transaction
        rolls back (nothing is imported) and the exception propagates.
        """
        numbers: list[str] = []
        rejected: list[RejectedRow] = []
        total = 0
        for line, raw in rows:
            total += 1
            try:
                numbers.append(to_e164(raw, tenant.default_region, field="number"))
            except InvalidNumber as error:
                rejected.append(RejectedRow(line=line, value=raw[:64], error=error.message))
        unique = list(dict.fromkeys(numbers))
        duplicates = len(numbers) - len(unique)
        if rejected:
            return ImportReport(total, 0, 0, duplicates, tuple(rejected))
        now = self.now()
        added = 0
        with self.engine.begin() as conn:
            target = self._target(conn, tenant, sender, scope)
            head = ledger.lock_head(conn, tenant.id)
            if progress is not None:
                progress(0, len(unique))
            for start in range(0, len(unique), IMPORT_CHUNK):
                chunk = unique[start : start + IMPORT_CHUNK]
                state = optout_store.current(conn, tenant.id, chunk)
                new = _not_yet_in(state, chunk, target.scope)
                head = self._append_optouts(
                    conn, tenant, head, new, target.scope, source, now, actor, reason
                )
                added += len(new)
                if progress is not None:
                    progress(start + len(chunk), len(unique))
        self._catch_up_index()  # this process sees its own change at once
        return ImportReport(total, added, len(unique) - added, duplicates)

    def export_optouts(self, tenant: Tenant) -> Iterator[OptOut]:
        """Every current opt-out of the tenant (a generator; reads in pages)."""
        with self._read() as conn:
            yield from optout_store.iterate(conn, tenant.id)

    def export_optout_history(self, tenant: Tenant) -> Iterator[OptOutEvent]:
        """Every opt-out event of the tenant, oldest first."""
        with self._read() as conn:
            yield from optout_store.iterate_history(conn, tenant.id)

    def optout_history(self, tenant: Tenant, number: str) -> RecipientHistory:
        """A number's current opt-outs and every opt-out event, oldest first."""
        recipient = to_e164(number, tenant.default_region, field="number")
        with self._read() as conn:
            return RecipientHistory(
                recipient=recipient,
                current=tuple(
                    optout_store.current(conn, tenant.id, [recipient]).get(recipient, [])
                ),
                events=tuple(optout_store.history(conn, tenant.id, recipient)),
            )

    def count_optouts(self, tenant: Tenant) -> int:
        with self._read() as conn:
            return optout_store.count(conn, tenant.id)

    def verify_ledger(self, tenant: Tenant) -> ledger.ChainReport:
        """Recompute the tenant's hash chain and report the first broken link, if any."""
        with self._read() as conn:
            return ledger.verify_chain(conn, tenant.id)

    def _append_optouts(
        self,
        conn: sa.Connection,
        tenant: Tenant,
        head: ledger.ChainHead,
        numbers: Sequence[str],
        scope: Scope,
        source: OptOutSource,
        occurred_at: datetime,
        actor: str | None,
        reason: str | None,
        inbound_id: str | None = None,
    ) -> ledger.ChainHead:
        events = _optout_events(
            optout_store.OPT_OUT_ADDED,
            [(number, scope) for number in numbers],
            source,
            occurred_at,
            actor,
            reason,
            inbound_id,
        )
        head, rows = ledger.append(conn, tenant.id, head, events, self.now())
        optout_store.insert(
            conn,
            tenant.id,
            [
                {
                    "recipient": row["recipient"],
                    "scope": scope,
                    "source": source.value,
                    "event_id": row["event_id"],
                    "created_at": occurred_at,
                }
                for row in rows
            ],
        )
        revoked = consenting.revocations(
            conn,
            tenant.id,
            numbers,
            scope,
            occurred_at,
            source=source.value,
            reason=reason,
            inbound_id=inbound_id,
        )
        head, _ = consenting.append(conn, tenant.id, head, revoked, self.now())
        return head

    def _remove(
        self,
        conn: sa.Connection,
        tenant: Tenant,
        head: ledger.ChainHead,
        pairs: Sequence[tuple[str, Scope]],
        source: OptOutSource,
        occurred_at: datetime,
        actor: str | None,
        reason: str | None,
        inbound_id: str | None = None,
    ) -> ledger.ChainHead:
        events = _optout_events(
            optout_store.OPT_OUT_REMOVED, pairs, source, occurred_at, actor, reason, inbound_id
        )
        head, _ = ledger.append(conn, tenant.id, head, events, self.now())
        optout_store.delete(conn, tenant.id, pairs, occurred_at)
        return head

    def _lift_for_fresh_consent(
        self,
        conn: sa.Connection,
        tenant: Tenant,
        head: ledger.ChainHead,
        number: str,
        programs: Sequence[Program],
        at: datetime,
        inbound_id: str | None,
        source: OptOutSource = OptOutSource.KEYWORD,
    ) -> ledger.ChainHead:
        """A fresh express opt-in to a program lifts that program's own opt-out (only that scope,
        and only an opt-out older than the opt-in: a later STOP is never undone by older consent)."""
        wanted = {Scope(ScopeKind.PROGRAM, p.id) for p in programs}
        current = optout_store.current(conn, tenant.id, [number]).get(number, [])
        lifted = [(number, o.scope) for o in current if o.scope in wanted and o.created_at <= at]
        return self._remove(
            conn, tenant, head, lifted, source, at, None, "fresh opt-in", inbound_id
        )

    def _too_soon(
        self,
        conn: sa.Connection,
        tenant: Tenant,
        numbers: Sequence[str],
        source: OptOutSource,
        now: datetime,
    ) -> dict[str, RecipientStatus]:
        """The recipients whose opt-out may not be lifted again yet (re-opt-in guard)."""
        days = self._settings(conn, tenant.id)["optout_removal_min_days"]
        if days is None or source not in _GUARDED or not numbers:
            return {}
        last = optout_store.last_removed(conn, tenant.id, numbers, [s.value for s in _GUARDED])
        refused: dict[str, RecipientStatus] = {}
        for number, at in last.items():
            if now - at < timedelta(days=days):
                again = (at + timedelta(days=days)).date().isoformat()
                refused[number] = RecipientStatus(
                    input=number,
                    to=number,
                    status=409,
                    opted_out=True,
                    error=f"an opt-out of {number} was lifted on {at.date().isoformat()}; this "
                    f"account allows one removal every {days} days (next: {again})",
                )
        return refused

    def _parse_recipients(self, tenant: Tenant, recipients: Sequence[str]) -> list[RecipientStatus]:
        if isinstance(recipients, str) or not recipients:
            raise InvalidInput("give at least one recipient", field="recipients")
        parsed = []
        for index, raw in enumerate(recipients):
            try:
                number = to_e164(raw, tenant.default_region, field=f"recipients[{index}].to")
            except InvalidNumber as error:
                parsed.append(
                    RecipientStatus(input=str(raw), to=None, status=400, error=error.message)
                )
            else:
                parsed.append(RecipientStatus(input=raw, to=number, status=200))
        return parsed

    def _target(
        self, conn: sa.Connection, tenant: Tenant, sender: str | None, scope: ScopeRef | None
    ) -> _Target:
        kind = scope.kind if scope is not None else ScopeKind.SENDER
        if kind is ScopeKind.TENANT:
            return _Target(scopes.TENANT_SCOPE, frozenset({scopes.TENANT_SCOPE}))
        if kind is ScopeKind.SENDER:
            ref = (scope.ref if scope is not None else None) or sender
            if not ref:
                raise InvalidInput('name the sender ("from") or give a scope', field="from")
            address = sender_lookup_key(ref, tenant.default_region)
            context, _, _ = self._sender_context(conn, tenant, address)
            return _Target(Scope(ScopeKind.SENDER, address), scopes.covering_sender(context))
        if not scope or not scope.ref:
            raise InvalidInput(f"a {kind.value} scope needs an id or slug", field="scope.id")
        if kind is ScopeKind.PROGRAM:
            program = found(
                registry.find_program(conn, tenant.id, scope.ref), "program", scope.ref, "scope.id"
            )
            return _Target(Scope(ScopeKind.PROGRAM, program.id), scopes.covering_program(program))
        if kind is ScopeKind.PURPOSE:
            brand_ref, _, purpose = scope.ref.rpartition(":")
            if not brand_ref or purpose not in purpose_names():
                raise InvalidInput(
                    f"a purpose scope is <brand id or slug>:<purpose>, the purpose one of "
                    f"{', '.join(purpose_names())}; got {scope.ref!r}",
                    field="scope.id",
                )
            brand = found(
                registry.find_brand(conn, tenant.id, brand_ref), "brand", brand_ref, "scope.id"
            )
            return _Target(
                purpose_scope(brand.id, purpose), scopes.covering_purpose(brand.id, purpose)
            )
        brand = found(
            registry.find_brand(conn, tenant.id, scope.ref), "brand", scope.ref, "scope.id"
        )
        return _Target(Scope(ScopeKind.BRAND, brand.id), scopes.covering_brand(brand.id))

    def _sender_context(
        self, conn: sa.Connection, tenant: Tenant, address: str
    ) -> tuple[scopes.SenderContext, Sender | None, Brand | None]:
        sender = registry.find_sender(conn, tenant.id, address)
        if sender is None:
            return scopes.SenderContext(address=address), None, None
        programs = registry.list_programs(conn, tenant.id, sender.program_ids)
        brand = registry.find_brand(conn, tenant.id, programs[0].brand_id) if programs else None
        return scopes.SenderContext(address=address, programs=tuple(programs)), sender, brand


def _optout_events(
    kind: str,
    pairs: Sequence[tuple[str, Scope]],
    source: OptOutSource,
    occurred_at: datetime,
    actor: str | None,
    reason: str | None,
    inbound_id: str | None,
) -> list[ledger.NewEvent]:
    return [
        ledger.NewEvent(
            kind=kind,
            recipient=number,
            scope=scope,
            source=source.value,
            occurred_at=occurred_at,
            actor=actor,
            reason=reason,
            inbound_id=inbound_id,
        )
        for number, scope in pairs
    ]


def _not_yet_in(
    state: Mapping[str, Sequence[OptOut]], numbers: Iterable[str], scope: Scope
) -> list[str]:
    """The numbers with no opt-out in exactly ``scope`` yet (the ones an add would change)."""
    return [n for n in numbers if all(optout.scope != scope for optout in state.get(n, []))]


def _valid(parsed: Sequence[RecipientStatus]) -> list[str]:
    return [status.to for status in parsed if status.to is not None]


def _covering(found: Sequence[OptOut], covering: frozenset[Scope]) -> tuple[Scope, ...]:
    return tuple(optout.scope for optout in found if optout.scope in covering)


def _ordered(found: frozenset[Scope]) -> tuple[Scope, ...]:
    """Scopes in the store's order (kind, then id), as ``_covering`` returns them."""
    return tuple(sorted(found, key=lambda scope: (scope.kind.value, scope.id)))
