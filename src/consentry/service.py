"""The application service: the one API that the CLI, the HTTP API and the web pages call.

``Consentry`` owns the database engine and the clock. Every write runs in one transaction and is
committed before the method returns, so whatever a caller acknowledges is stored. Every method
that reads or writes tenant data takes the :class:`~consentry.domain.model.Tenant` it acts for and
never reads another tenant's rows.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consentry import consenting, proof
from consentry.domain import replies, scopes
from consentry.domain.consent import (
    MEDIUMS,
    ConsentEventKind,
    ConsentLevel,
    ConsentState,
    ConsentStatus,
    consent_rules,
    needs_double_opt_in,
)
from consentry.domain.keywords import classify
from consentry.domain.model import (
    Brand,
    Classification,
    InboundResult,
    OptOut,
    OptOutEvent,
    OptOutSource,
    Program,
    ReplyKind,
    Scope,
    ScopeKind,
    Sender,
    SenderKind,
    Tenant,
)
from consentry.domain.numbers import normalize_region, normalize_sender, sender_lookup_key, to_e164
from consentry.errors import AuthenticationError, Conflict, InvalidInput, InvalidNumber, NotFound
from consentry.identifiers import is_slug, new_id, slugify
from consentry.store import consents as consent_store
from consentry.store import (
    create_store_engine,
    default_database_url,
    ledger,
    messages,
    registry,
    retention,
    upgrade,
)
from consentry.store import optouts as optout_store
from consentry.store.engine import READ_ONLY

Clock = Callable[[], datetime]
_T = TypeVar("_T")
_E = TypeVar("_E", ScopeKind, SenderKind)

PROGRAM_CATEGORIES = ("marketing", "informational", "transactional", "conversational")
MAX_INBOUND_BODY = 5000
_KEY_PREFIX = "csk"


def utc_now() -> datetime:
    """The wall clock, in UTC (the default clock of :class:`Consentry`)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ScopeRef:
    """A scope as a caller names it: kind plus a program or brand id or slug (or sender address)."""

    kind: ScopeKind
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class RecipientStatus:
    """The outcome for one recipient of an opt-out add, remove or check.

    ``status`` is 200 or 400 (invalid number, with ``error``); ``opted_out`` is whether the
    recipient is opted out *after* the operation for the scope asked about; ``scopes`` lists the
    opt-outs that make it so; ``changed`` says whether this call added or removed an entry.
    """

    input: str
    to: str | None
    status: int
    opted_out: bool | None = None
    error: str | None = None
    scopes: tuple[Scope, ...] = ()
    changed: bool = False


@dataclass(frozen=True, slots=True)
class RejectedRow:
    line: int
    value: str
    error: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an opt-out import did: ``imported`` is False when any row was rejected."""

    rows: int
    added: int
    already_opted_out: int
    duplicates: int
    rejected: tuple[RejectedRow, ...] = field(default_factory=tuple)

    @property
    def imported(self) -> bool:
        return not self.rejected


@dataclass(frozen=True, slots=True)
class ConsentOutcome:
    """What recording a consent did: the event, the state now, and the message queued (if any)."""

    event_id: str
    state: ConsentState | None
    reply: str | None = None
    outbox_id: str | None = None
    still_opted_out: tuple[Scope, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConsentImportReport:
    """What a consent import did: ``imported`` is False when any row was rejected."""

    rows: int
    events: int
    rejected: tuple[RejectedRow, ...] = ()

    @property
    def imported(self) -> bool:
        return not self.rejected


@dataclass(frozen=True, slots=True)
class RecipientView:
    """A recipient's current consent per program and current opt-outs."""

    recipient: str
    consents: tuple[ConsentState, ...]
    optouts: tuple[OptOut, ...]


@dataclass(frozen=True, slots=True)
class RecipientHistory:
    """One number's current opt-outs and its opt-out history."""

    recipient: str
    current: tuple[OptOut, ...]
    events: tuple[OptOutEvent, ...]


@dataclass(frozen=True, slots=True)
class _Target:
    scope: Scope
    covering: frozenset[Scope]


class Consentry:
    """The consentry service over one database.

    >>> app = Consentry("sqlite:///var/consentry.db")   # doctest: +SKIP
    >>> app.migrate()                                   # doctest: +SKIP
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        engine: Engine | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.database_url = database_url or default_database_url()
        self.engine = engine or create_store_engine(self.database_url)
        self._clock = clock

    def migrate(self) -> None:
        """Apply every pending migration."""
        upgrade(self.engine)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return now

    def _read(self) -> sa.Connection:
        return self.engine.connect().execution_options(**{READ_ONLY: True})

    # -- tenants and API keys ------------------------------------------------------------------

    def create_tenant(
        self, name: str, *, slug: str | None = None, default_region: str = "US"
    ) -> tuple[Tenant, str]:
        """Create a tenant and its first API key; the key is returned once and stored hashed."""
        name = _required_text(name, "name", 200)
        slug = _slug(slug if slug is not None else slugify(name), "slug")
        tenant = Tenant(
            id=new_id("tnt"),
            slug=slug,
            name=name,
            default_region=normalize_region(default_region),
            created_at=self.now(),
        )
        with self.engine.begin() as conn:
            if registry.find_tenant(conn, slug) is not None:
                raise Conflict(f"a tenant with slug {slug!r} already exists", field="slug")
            registry.insert_tenant(conn, tenant)
            ledger.create_head(conn, tenant.id)
            api_key = self._insert_key(conn, tenant.id, "initial")
        return tenant, api_key

    def issue_api_key(self, tenant: Tenant, label: str | None = None) -> str:
        """Issue another API key for ``tenant`` (for rotation); returned once, stored hashed."""
        with self.engine.begin() as conn:
            return self._insert_key(conn, tenant.id, label)

    def revoke_api_key(self, tenant: Tenant, key_id: str) -> None:
        """Revoke one of the tenant's keys by its id (the second part of the key)."""
        with self.engine.begin() as conn:
            if not registry.revoke_api_key(conn, tenant.id, key_id, self.now()):
                raise NotFound(f"no active API key {key_id!r}", field="key_id")

    def _insert_key(self, conn: sa.Connection, tenant_id: str, label: str | None) -> str:
        key_id = new_id("key")
        secret = secrets.token_urlsafe(32)
        registry.insert_api_key(conn, tenant_id, key_id, _secret_hash(secret), label, self.now())
        return f"{_KEY_PREFIX}.{tenant_id}.{key_id}.{secret}"

    def authenticate(self, api_key: str) -> Tenant:
        """The tenant an API key belongs to, or :class:`AuthenticationError`."""
        parts = api_key.split(".") if isinstance(api_key, str) else []
        if len(parts) != 4 or parts[0] != _KEY_PREFIX:
            raise AuthenticationError("malformed API key")
        _, tenant_id, key_id, secret = parts
        with self._read() as conn:
            stored = registry.active_key_hash(conn, tenant_id, key_id)
            if stored is None or not hmac.compare_digest(stored, _secret_hash(secret)):
                raise AuthenticationError("unknown or revoked API key")
            tenant = registry.find_tenant(conn, tenant_id)
        if tenant is None or tenant.id != tenant_id:
            raise AuthenticationError("unknown or revoked API key")
        return tenant

    def get_tenant(self, ref: str) -> Tenant:
        """A tenant by id or slug (for the operator's CLI; the HTTP API authenticates instead)."""
        with self._read() as conn:
            tenant = registry.find_tenant(conn, ref)
        if tenant is None:
            raise NotFound(f"no tenant {ref!r}", field="tenant")
        return tenant

    def list_tenants(self) -> list[Tenant]:
        with self._read() as conn:
            return registry.list_tenants(conn)

    # -- registry ------------------------------------------------------------------------------

    def create_brand(
        self,
        tenant: Tenant,
        name: str,
        support_contact: str,
        *,
        support_phone: str | None = None,
        slug: str | None = None,
    ) -> Brand:
        """Register a brand: the identity shown in messages and the contact HELP gives out."""
        name = _required_text(name, "name", 200)
        brand = Brand(
            id=new_id("brd"),
            tenant_id=tenant.id,
            slug=_slug(slug if slug is not None else slugify(name), "slug"),
            name=name,
            support_contact=_required_text(support_contact, "support_contact", 200),
            support_phone=(
                to_e164(support_phone, tenant.default_region, field="support_phone")
                if support_phone
                else None
            ),
            created_at=self.now(),
        )
        with self.engine.begin() as conn:
            if registry.find_brand(conn, tenant.id, brand.slug) is not None:
                raise Conflict(f"a brand with slug {brand.slug!r} already exists", field="slug")
            registry.insert_brand(conn, brand)
        return brand

    def get_brand(self, tenant: Tenant, ref: str) -> Brand:
        with self._read() as conn:
            return _found(registry.find_brand(conn, tenant.id, ref), "brand", ref)

    def list_brands(self, tenant: Tenant) -> list[Brand]:
        with self._read() as conn:
            return registry.list_brands(conn, tenant.id)

    def create_program(
        self,
        tenant: Tenant,
        brand: str,
        name: str,
        *,
        slug: str | None = None,
        category: str = "informational",
        opt_out_scope: str = "program",
        help_reply: str | None = None,
        opt_out_reply: str | None = None,
        opt_in_reply: str | None = None,
        use_case: str | None = None,
        description: str | None = None,
        frequency: str | None = None,
        consent_level: str | None = None,
        double_opt_in: bool = False,
        pending_expiry_hours: int | None = None,
        reconfirm_after_days: int | None = None,
        reconfirm_idle_days: int | None = None,
    ) -> Program:
        """Register a messaging program of ``brand`` (id or slug) with its keyword replies and
        consent settings (level needed, double opt-in, reconfirmation windows).

        The consent level defaults to what the category needs (marketing: express written);
        a high-risk ``use_case`` (sweepstakes, lead generation, ...) always gets double opt-in.
        """
        name = _required_text(name, "name", 200)
        if category not in PROGRAM_CATEGORIES:
            raise InvalidInput(
                f"category must be one of {', '.join(PROGRAM_CATEGORIES)}; got {category!r}",
                field="category",
            )
        rules = consent_rules()
        level = consent_level or rules.category_levels.get(category, ConsentLevel.EXPRESS).value
        if level not in {member.value for member in ConsentLevel}:
            choices = ", ".join(member.value for member in ConsentLevel)
            raise InvalidInput(
                f"consent_level must be one of {choices}; got {level!r}", field="consent_level"
            )
        if use_case is not None and not is_slug(use_case.replace("_", "-")):
            raise InvalidInput(
                "use_case must be a short identifier such as lead_generation", field="use_case"
            )
        program = Program(
            id=new_id("prg"),
            tenant_id=tenant.id,
            brand_id="",
            slug=_slug(slug if slug is not None else slugify(name), "slug"),
            name=name,
            category=category,
            opt_out_scope=_scope_kind(opt_out_scope, "opt_out_scope"),
            help_reply=_optional_reply(help_reply, "help_reply"),
            opt_out_reply=(
                replies.check_single_segment(opt_out_reply, field="opt_out_reply")
                if opt_out_reply is not None
                else None
            ),
            opt_in_reply=_optional_reply(opt_in_reply, "opt_in_reply"),
            created_at=self.now(),
            use_case=use_case,
            description=_optional_text(description, "description", 1000),
            frequency=_optional_text(frequency, "frequency", 200),
            consent_level=level,
            double_opt_in=needs_double_opt_in(use_case, bool(double_opt_in)),
            pending_expiry_hours=_positive(
                pending_expiry_hours, rules.pending_expiry_hours, "pending_expiry_hours"
            ),
            reconfirm_after_days=_positive(
                reconfirm_after_days, rules.first_message_within_days, "reconfirm_after_days"
            ),
            reconfirm_idle_days=_positive(
                reconfirm_idle_days, rules.idle_days, "reconfirm_idle_days"
            ),
        )
        with self.engine.begin() as conn:
            owner = _found(registry.find_brand(conn, tenant.id, brand), "brand", brand, "brand_id")
            if registry.find_program(conn, tenant.id, program.slug) is not None:
                raise Conflict(f"a program with slug {program.slug!r} already exists", field="slug")
            program = _replace_brand(program, owner.id)
            registry.insert_program(conn, program)
        return program

    def get_program(self, tenant: Tenant, ref: str) -> Program:
        with self._read() as conn:
            return _found(registry.find_program(conn, tenant.id, ref), "program", ref)

    def list_programs(self, tenant: Tenant) -> list[Program]:
        with self._read() as conn:
            return registry.list_programs(conn, tenant.id)

    def create_sender(
        self,
        tenant: Tenant,
        address: str,
        kind: str,
        *,
        programs: Sequence[str] = (),
        verified: bool = False,
    ) -> Sender:
        """Register a sender (long code, toll-free, short code or alphanumeric ID) and its programs."""
        sender_kind = _enum(SenderKind, kind, "kind")
        normalized = normalize_sender(address, sender_kind, tenant.default_region)
        with self.engine.begin() as conn:
            program_ids: list[str] = []
            for ref in programs:
                program = _found(
                    registry.find_program(conn, tenant.id, ref), "program", ref, "program_ids"
                )
                if program.id not in program_ids:
                    program_ids.append(program.id)
            if registry.find_sender(conn, tenant.id, normalized) is not None:
                raise Conflict(f"sender {normalized} is already registered", field="address")
            sender = Sender(
                id=new_id("snd"),
                tenant_id=tenant.id,
                address=normalized,
                kind=sender_kind,
                verified=bool(verified),
                program_ids=tuple(program_ids),
                created_at=self.now(),
            )
            registry.insert_sender(conn, sender)
        return sender

    def get_sender(self, tenant: Tenant, ref: str) -> Sender:
        """A sender by id or by address (in any form that normalises to the stored one)."""
        with self._read() as conn:
            sender = registry.find_sender(conn, tenant.id, ref)
            if sender is None:
                try:
                    sender = registry.find_sender(
                        conn, tenant.id, sender_lookup_key(ref, tenant.default_region)
                    )
                except InvalidNumber:
                    sender = None
        return _found(sender, "sender", ref)

    def list_senders(self, tenant: Tenant) -> list[Sender]:
        with self._read() as conn:
            return registry.list_senders(conn, tenant.id)

    # -- opt-outs ------------------------------------------------------------------------------

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
            new: list[str] = []
            for number in dict.fromkeys(_valid(parsed)):
                if all(optout.scope != target.scope for optout in state.get(number, [])):
                    new.append(number)
            self._append_optouts(conn, tenant, head, new, target.scope, source, now, actor, reason)
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
        scope still blocks the recipient.
        """
        parsed = self._parse_recipients(tenant, recipients)
        now = self.now()
        with self.engine.begin() as conn:
            target = self._target(conn, tenant, sender, scope)
            head = ledger.lock_head(conn, tenant.id)
            state = optout_store.current(conn, tenant.id, _valid(parsed))
            lifted = [
                number
                for number in dict.fromkeys(_valid(parsed))
                if any(optout.scope == target.scope for optout in state.get(number, []))
            ]
            self._remove(
                conn, tenant, head, [(n, target.scope) for n in lifted], source, now, actor, reason
            )
        changed = set(lifted)
        results = []
        for status in parsed:
            if status.to is None:
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
            state = optout_store.current(conn, tenant.id, _valid(parsed))
        results = []
        for status in parsed:
            if status.to is None:
                results.append(status)
                continue
            found = _covering(state.get(status.to, []), target.covering)
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
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Import ``(line, number)`` rows as opt-outs, all or nothing.

        Every row is normalised first; if any is rejected, nothing is written and the report
        lists each rejected row with its line and reason. ``progress`` is called with the number
        of rows handled since the last call.
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
            if progress is not None and total % 1000 == 0:
                progress(1000)
        if progress is not None:
            progress(total % 1000)
        unique = list(dict.fromkeys(numbers))
        duplicates = len(numbers) - len(unique)
        if rejected:
            return ImportReport(total, 0, 0, duplicates, tuple(rejected))
        now = self.now()
        with self.engine.begin() as conn:
            target = self._target(conn, tenant, sender, scope)
            head = ledger.lock_head(conn, tenant.id)
            state = optout_store.current(conn, tenant.id, unique)
            new = [
                number
                for number in unique
                if all(optout.scope != target.scope for optout in state.get(number, []))
            ]
            self._append_optouts(conn, tenant, head, new, target.scope, source, now, actor, reason)
        return ImportReport(total, len(new), len(unique) - len(new), duplicates)

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

    # -- inbound replies -----------------------------------------------------------------------

    def receive_inbound(
        self,
        tenant: Tenant,
        sender: str,
        recipient: str,
        body: str,
        *,
        received_at: datetime | None = None,
        language: str | None = None,
    ) -> InboundResult:
        """Handle one reply from ``recipient`` (the person) to ``sender`` (the business number).

        Classifies the text, stores it, acts on it and queues at most one reply, all in one
        transaction: opt-out -> opt-out in the program's configured scope and one confirmation
        (none for a repeated STOP); opt-in -> lift the keyword opt-outs in that scope and confirm;
        help -> the brand's help text (to anyone); ambiguous -> stored for review, nothing sent.
        """
        number = to_e164(recipient, tenant.default_region, field="from")
        address = sender_lookup_key(sender, tenant.default_region, field="to")
        if not isinstance(body, str):
            raise InvalidInput("body must be text", field="body")
        if len(body) > MAX_INBOUND_BODY:
            raise InvalidInput(
                f"body is {len(body)} characters; at most {MAX_INBOUND_BODY}", field="body"
            )
        now = self.now()
        if received_at is not None and received_at.tzinfo is None:
            raise InvalidInput("received_at must include a time zone", field="received_at")
        at = received_at or now
        verdict = classify(body, language)
        inbound_id = new_id("inb")
        with self.engine.begin() as conn:
            context, known, brand = self._sender_context(conn, tenant, address)
            head = ledger.lock_head(conn, tenant.id)
            outcome = self._act(
                conn, tenant, head, context, brand, number, verdict, inbound_id, at, now
            )
            messages.insert_inbound(
                conn,
                {
                    "tenant_id": tenant.id,
                    "inbound_id": inbound_id,
                    "recipient": number,
                    "sender_address": address,
                    "sender_id": known.id if known else None,
                    "body": body,
                    "received_at": at,
                    "recorded_at": now,
                    "kind": verdict.kind.value,
                    "keyword": verdict.keyword,
                    "language": verdict.language,
                    "stage": verdict.stage,
                    "action": outcome.action,
                    "needs_review": outcome.needs_review,
                },
            )
            outbox_id = None
            if outcome.reply is not None:
                outbox_id = new_id("out")
                messages.insert_outbox(
                    conn,
                    {
                        "tenant_id": tenant.id,
                        "outbox_id": outbox_id,
                        "recipient": number,
                        "sender_address": address,
                        "body": outcome.reply,
                        "purpose": outcome.purpose,
                        "inbound_id": inbound_id,
                        "status": "queued",
                        "created_at": now,
                    },
                )
        return InboundResult(
            inbound_id=inbound_id,
            sender_address=address,
            recipient=number,
            classification=verdict,
            action=outcome.action,
            scopes=outcome.scopes,
            reply=outcome.reply,
            outbox_id=outbox_id,
            needs_review=outcome.needs_review,
            notes=outcome.notes,
        )

    def list_inbound(
        self, tenant: Tenant, *, needs_review: bool | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        with self._read() as conn:
            return messages.list_inbound(conn, tenant.id, needs_review=needs_review, limit=limit)

    def list_outbox(
        self, tenant: Tenant, *, recipient: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        number = to_e164(recipient, tenant.default_region, field="to") if recipient else None
        with self._read() as conn:
            return messages.list_outbox(conn, tenant.id, recipient=number, limit=limit)

    # -- consents ------------------------------------------------------------------------------

    def record_consent(
        self,
        tenant: Tenant,
        recipient: str,
        program: str,
        *,
        medium: str,
        disclosure_text: str | None,
        level: str | None = None,
        source_url: str | None = None,
        keyword: str | None = None,
        ip_address: str | None = None,
        user_agent: str | None = None,
        session_id: str | None = None,
        occurred_at: datetime | None = None,
        evidence: Mapping[str, Any] | None = None,
        actor: str | None = None,
        source: str = "api",
    ) -> ConsentOutcome:
        """Record that ``recipient`` agreed to ``program`` (id or slug), with its evidence.

        A program that needs double opt-in gets a pending consent and a confirmation request in
        the outbox; otherwise the consent is active at once and an opt-in confirmation is queued
        (not for implied consent). A fresh express consent lifts the program's own opt-out;
        wider opt-outs stay, and then nothing is queued.
        """
        number = to_e164(recipient, tenant.default_region, field="recipient")
        now = self.now()
        evidence_fields = _consent_evidence(
            medium=medium,
            level=level,
            disclosure_text=disclosure_text,
            source_url=source_url,
            keyword=keyword,
            ip_address=ip_address,
            user_agent=user_agent,
            session_id=session_id,
            occurred_at=occurred_at,
            evidence=evidence,
            now=now,
        )
        with self.engine.begin() as conn:
            target = _found(registry.find_program(conn, tenant.id, program), "program", program)
            brand = _found(
                registry.find_brand(conn, tenant.id, target.brand_id), "brand", target.brand_id
            )
            consent_level = ConsentLevel(evidence_fields.pop("level") or target.consent_level)
            at = evidence_fields.pop("occurred_at") or now
            if consent_level is not ConsentLevel.IMPLIED and not evidence_fields["disclosure_text"]:
                raise InvalidInput(
                    "disclosure_text is required: the exact text the person saw when agreeing",
                    field="disclosure_text",
                )
            head = ledger.lock_head(conn, tenant.id)
            state = consent_store.states(conn, tenant.id, number, [target.id]).get(target.id)
            double = needs_double_opt_in(target.use_case, target.double_opt_in)
            pending = double and (state is None or state.status is not ConsentStatus.ACTIVE)
            write = consenting.ConsentWrite(
                kind=ConsentEventKind.REQUESTED if pending else ConsentEventKind.GRANTED,
                recipient=number,
                brand_id=target.brand_id,
                program_id=target.id,
                occurred_at=at,
                source=source,
                level=consent_level,
                expires_at=at + timedelta(hours=target.pending_expiry_hours) if pending else None,
                actor=actor,
                source_timestamp=occurred_at,
                **evidence_fields,
            )
            head, [written] = consenting.append(conn, tenant.id, head, [write], now)
            if not pending and consent_level is not ConsentLevel.IMPLIED:
                head = self._lift_for_fresh_consent(
                    conn, tenant, head, number, [target], at, None, OptOutSource.API
                )
            sender = registry.first_sender_of(conn, tenant.id, target.id)
            blocking = self._blocking_optouts(conn, tenant, number, sender, target)
            reply: str | None = None
            purpose = ""
            if pending:
                reply = replies.double_opt_in_request(brand.name, target.name, target.frequency)
                purpose = "double_opt_in_request"
            elif consent_level is not ConsentLevel.IMPLIED:
                reply = target.opt_in_reply or replies.opt_in_confirmation(
                    brand.name, target.name, target.frequency, resubscribed=False
                )
                purpose = "opt_in_confirmation"
            notes: list[str] = []
            outbox_id = None
            if reply is not None and sender is None:
                notes.append("no sender serves this program: nothing queued")
            elif reply is not None and blocking:
                notes.append(
                    "still opted out in " + ", ".join(str(s) for s in blocking) + ": nothing queued"
                )
            elif reply is not None and sender is not None:
                outbox_id = new_id("out")
                messages.insert_outbox(
                    conn,
                    {
                        "tenant_id": tenant.id,
                        "outbox_id": outbox_id,
                        "recipient": number,
                        "sender_address": sender.address,
                        "body": reply,
                        "purpose": purpose,
                        "inbound_id": None,
                        "status": "queued",
                        "created_at": now,
                    },
                )
        return ConsentOutcome(
            event_id=written.event_id,
            state=written.state,
            reply=reply if outbox_id else None,
            outbox_id=outbox_id,
            still_opted_out=tuple(blocking),
            notes=tuple(notes),
        )

    def import_consents(
        self,
        tenant: Tenant,
        program: str,
        rows: Iterable[tuple[int, Mapping[str, str]]],
        *,
        source_name: str = "import",
        actor: str | None = None,
    ) -> ConsentImportReport:
        """Import existing consent records with their original times, all rows or none.

        Each event is flagged as imported in its evidence (file and line). A double opt-in
        program needs a ``confirmed_at`` per row (recorded as a request plus a confirmation).
        Nothing is sent to anybody.
        """
        now = self.now()
        with self._read() as conn:
            target = _found(registry.find_program(conn, tenant.id, program), "program", program)
        double = needs_double_opt_in(target.use_case, target.double_opt_in)
        writes: list[consenting.ConsentWrite] = []
        rejected: list[RejectedRow] = []
        total = 0
        for line, row in rows:
            total += 1
            try:
                writes.extend(
                    self._imported_consent(
                        tenant, target, row, line, source_name, double, actor, now
                    )
                )
            except InvalidInput as error:
                where = f"{error.field}: " if error.field else ""
                rejected.append(
                    RejectedRow(line, str(row.get("recipient", ""))[:64], where + error.message)
                )
        if rejected:
            return ConsentImportReport(total, 0, tuple(rejected))
        writes.sort(key=lambda write: write.occurred_at)
        with self.engine.begin() as conn:
            head = ledger.lock_head(conn, tenant.id)
            consenting.append(conn, tenant.id, head, writes, now)
        return ConsentImportReport(total, len(writes))

    def _imported_consent(
        self,
        tenant: Tenant,
        program: Program,
        row: Mapping[str, str],
        line: int,
        source_name: str,
        double: bool,
        actor: str | None,
        now: datetime,
    ) -> list[consenting.ConsentWrite]:
        number = to_e164(row.get("recipient", ""), tenant.default_region, field="recipient")
        occurred = _timestamp(row.get("occurred_at"), "occurred_at")
        if occurred is None:
            raise InvalidInput("occurred_at is required", field="occurred_at")
        fields = _consent_evidence(
            medium=row.get("medium", "import"),
            level=row.get("level"),
            disclosure_text=row.get("disclosure_text"),
            source_url=row.get("source_url"),
            keyword=row.get("keyword"),
            ip_address=row.get("ip_address"),
            user_agent=row.get("user_agent"),
            session_id=row.get("session_id"),
            occurred_at=occurred,
            evidence={"imported": True, "file": source_name, "line": line},
            now=now,
        )
        level = ConsentLevel(fields.pop("level") or program.consent_level)
        fields.pop("occurred_at")
        if level is not ConsentLevel.IMPLIED and not fields["disclosure_text"]:
            raise InvalidInput(
                "disclosure_text is required for express consent", field="disclosure_text"
            )
        confirmed = _timestamp(row.get("confirmed_at"), "confirmed_at")
        if double and confirmed is None:
            raise InvalidInput(
                "this program needs double opt-in: give confirmed_at", field="confirmed_at"
            )
        if confirmed is not None and (
            confirmed < occurred or confirmed > now + timedelta(minutes=5)
        ):
            raise InvalidInput(
                "confirmed_at must lie between occurred_at and now", field="confirmed_at"
            )
        common: dict[str, Any] = {
            "recipient": number,
            "brand_id": program.brand_id,
            "program_id": program.id,
            "source": "import",
            "level": level,
            "source_timestamp": occurred,
            "actor": actor,
        }
        if confirmed is None:
            return [
                consenting.ConsentWrite(
                    kind=ConsentEventKind.GRANTED, occurred_at=occurred, **common, **fields
                )
            ]
        return [
            consenting.ConsentWrite(
                kind=ConsentEventKind.REQUESTED, occurred_at=occurred, **common, **fields
            ),
            consenting.ConsentWrite(
                kind=ConsentEventKind.CONFIRMED,
                occurred_at=confirmed,
                recipient=number,
                brand_id=program.brand_id,
                program_id=program.id,
                source="import",
                source_timestamp=confirmed,
                actor=actor,
                evidence=fields["evidence"],
            ),
        ]

    def request_reconfirmation(
        self, tenant: Tenant, recipient: str, program: str
    ) -> ConsentOutcome:
        """Ask an active consent to be reconfirmed; a YES reply reconfirms it."""
        number = to_e164(recipient, tenant.default_region, field="recipient")
        now = self.now()
        with self.engine.begin() as conn:
            target = _found(registry.find_program(conn, tenant.id, program), "program", program)
            brand = _found(
                registry.find_brand(conn, tenant.id, target.brand_id), "brand", target.brand_id
            )
            head = ledger.lock_head(conn, tenant.id)
            state = consent_store.states(conn, tenant.id, number, [target.id]).get(target.id)
            if state is None or state.status is not ConsentStatus.ACTIVE:
                raise Conflict("only an active consent can be reconfirmed", field="recipient")
            write = consenting.ConsentWrite(
                kind=ConsentEventKind.RECONFIRMATION_REQUESTED,
                recipient=number,
                brand_id=target.brand_id,
                program_id=target.id,
                occurred_at=now,
                source="api",
            )
            head, [written] = consenting.append(conn, tenant.id, head, [write], now)
            sender = registry.first_sender_of(conn, tenant.id, target.id)
            blocking = self._blocking_optouts(conn, tenant, number, sender, target)
            outbox_id = None
            reply = replies.reconfirmation_request(brand.name, target.name)
            if sender is not None and not blocking:
                outbox_id = new_id("out")
                messages.insert_outbox(
                    conn,
                    {
                        "tenant_id": tenant.id,
                        "outbox_id": outbox_id,
                        "recipient": number,
                        "sender_address": sender.address,
                        "body": reply,
                        "purpose": "reconfirmation_request",
                        "inbound_id": None,
                        "status": "queued",
                        "created_at": now,
                    },
                )
        return ConsentOutcome(
            written.event_id, written.state, reply if outbox_id else None, outbox_id
        )

    def expire_pending_consents(self, tenant: Tenant) -> int:
        """Write an ``expired`` event for every double opt-in whose window has closed."""
        now = self.now()
        with self.engine.begin() as conn:
            head = ledger.lock_head(conn, tenant.id)
            due = consent_store.pending_expired(conn, tenant.id, now)
            writes = [
                consenting.ConsentWrite(
                    kind=ConsentEventKind.EXPIRED,
                    recipient=state.recipient,
                    brand_id=state.brand_id,
                    program_id=state.program_id,
                    occurred_at=state.expires_at or now,
                    source="system",
                    reason="double opt-in not confirmed in time",
                )
                for state in due
            ]
            consenting.append(conn, tenant.id, head, writes, now)
        return len(writes)

    def rebuild_consents(self, tenant: Tenant) -> int:
        """Recompute the tenant's consent state from the ledger alone; return the states written."""
        with self.engine.begin() as conn:
            ledger.lock_head(conn, tenant.id)
            return consent_store.rebuild(conn, tenant.id)

    def consent_states(self, tenant: Tenant) -> list[ConsentState]:
        """Every derived consent state of the tenant (for exports and the rebuild check)."""
        with self._read() as conn:
            return list(consent_store.iterate(conn, tenant.id))

    def recipient(self, tenant: Tenant, number: str) -> RecipientView:
        """A recipient's current consent per program and current opt-outs."""
        recipient = to_e164(number, tenant.default_region, field="number")
        with self._read() as conn:
            return RecipientView(
                recipient=recipient,
                consents=tuple(consent_store.states(conn, tenant.id, recipient).values()),
                optouts=tuple(
                    optout_store.current(conn, tenant.id, [recipient]).get(recipient, [])
                ),
            )

    def recipient_events(self, tenant: Tenant, number: str) -> tuple[str, list[dict[str, Any]]]:
        """Every ledger event of a recipient (consent and opt-out), oldest first, as stored."""
        recipient = to_e164(number, tenant.default_region, field="number")
        with self._read() as conn:
            return recipient, ledger.events_of(conn, tenant.id, recipient)

    def proof_bundle(self, tenant: Tenant, number: str) -> dict[str, Any]:
        """A self-contained proof of a recipient's consent history that a third party can check.

        It holds every event as stored (with its hash and the previous event's hash), the
        disclosure texts the events reference, the links of the tenant's chain between the
        recipient's first and last event (hashes only: other recipients' data stays out), the
        chain head, and the recipe to recompute each hash.
        """
        recipient = to_e164(number, tenant.default_region, field="number")
        with self._read() as conn:
            events = ledger.events_of(conn, tenant.id, recipient)
            texts = consent_store.disclosure_texts(
                conn, tenant.id, {e["disclosure_hash"] for e in events if e["disclosure_hash"]}
            )
            links = (
                ledger.links(conn, tenant.id, events[0]["seq"], events[-1]["seq"]) if events else []
            )
            head = ledger.head(conn, tenant.id)
            state = self._recipient_view(conn, tenant, recipient)
        return proof.bundle(tenant, recipient, events, texts, links, head, state, self.now())

    def purge(
        self, tenant: Tenant, *, older_than_years: int | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        """Purge the records of relationships that ended more than ``older_than_years`` ago.

        Refuses a retention under the minimum (4 years, the consent-record rule); never touches a
        recipient with an opt-out in force, a live consent, or any event younger than the cut-off.
        Ledger rows are redacted, not deleted, so the hash chain still verifies.
        """
        rules = consent_rules()
        years = rules.retention_default_years if older_than_years is None else older_than_years
        if (
            isinstance(years, bool)
            or not isinstance(years, int)
            or years < rules.retention_minimum_years
        ):
            raise InvalidInput(
                f"retention must be at least {rules.retention_minimum_years} years "
                f"({rules.citation('retention')})",
                field="older_than_years",
            )
        now = self.now()
        cutoff = (
            now.replace(year=now.year - years)
            if not (now.month == 2 and now.day == 29)
            else (now.replace(year=now.year - years, day=28))
        )
        with self.engine.begin() as conn:
            ledger.lock_head(conn, tenant.id)
            recipients = retention.purgeable(conn, tenant.id, cutoff)
            if dry_run:
                return {
                    "cutoff": cutoff.isoformat(),
                    "recipients": len(recipients),
                    "dry_run": True,
                }
            counts = retention.purge(conn, tenant.id, recipients, cutoff, now)
        return {"cutoff": cutoff.isoformat(), "dry_run": False, **counts}

    def _recipient_view(self, conn: sa.Connection, tenant: Tenant, recipient: str) -> RecipientView:
        return RecipientView(
            recipient=recipient,
            consents=tuple(consent_store.states(conn, tenant.id, recipient).values()),
            optouts=tuple(optout_store.current(conn, tenant.id, [recipient]).get(recipient, [])),
        )

    def _blocking_optouts(
        self,
        conn: sa.Connection,
        tenant: Tenant,
        number: str,
        sender: Sender | None,
        program: Program,
    ) -> list[Scope]:
        covering = set(scopes.covering_program(program))
        if sender is not None:
            covering.add(Scope(ScopeKind.SENDER, sender.address))
        current = optout_store.current(conn, tenant.id, [number]).get(number, [])
        return [o.scope for o in current if o.scope in covering]

    # -- internals -----------------------------------------------------------------------------

    def _act(
        self,
        conn: sa.Connection,
        tenant: Tenant,
        head: ledger.ChainHead,
        context: scopes.SenderContext,
        brand: Brand | None,
        number: str,
        verdict: Classification,
        inbound_id: str,
        at: datetime,
        now: datetime,
    ) -> _Outcome:
        program = context.programs[0] if context.programs else None
        brand_name = brand.name if brand else tenant.name
        if verdict.kind is ReplyKind.OPT_OUT:
            targets = scopes.keyword_scopes(context, account_wide=verdict.account_wide)
            existing = {
                o.scope for o in optout_store.current(conn, tenant.id, [number]).get(number, [])
            }
            new = [scope for scope in targets if scope not in existing]
            for scope in new:
                head = self._append_optouts(
                    conn,
                    tenant,
                    head,
                    [number],
                    scope,
                    OptOutSource.KEYWORD,
                    at,
                    None,
                    f"keyword {verdict.keyword}",
                    inbound_id,
                )
            if not new:
                return _Outcome(
                    "opt_out_repeated",
                    targets,
                    notes=("already opted out; no second confirmation",),
                )
            text = (program.opt_out_reply if program else None) or replies.opt_out_confirmation(
                brand_name
            )
            return _Outcome("opted_out", targets, text, "opt_out_confirmation")
        if verdict.kind is ReplyKind.OPT_IN:
            targets = scopes.keyword_scopes(context, account_wide=False)
            lift = (*targets, Scope(ScopeKind.SENDER, context.address))
            current = optout_store.current(conn, tenant.id, [number]).get(number, [])
            lifted = [
                (number, o.scope)
                for o in current
                if o.scope in lift and o.source is OptOutSource.KEYWORD
            ]
            head = self._remove(
                conn,
                tenant,
                head,
                lifted,
                OptOutSource.KEYWORD,
                at,
                None,
                f"keyword {verdict.keyword}",
                inbound_id,
            )
            lifted_scopes = {scope for _, scope in lifted}
            remaining = tuple(
                o.scope
                for o in current
                if o.scope in scopes.covering_sender(context) and o.scope not in lifted_scopes
            )
            if remaining:
                return _Outcome(
                    "opt_in_still_opted_out",
                    tuple(lifted_scopes),
                    needs_review=True,
                    notes=tuple(f"still opted out in {scope}" for scope in remaining),
                )
            text = (program.opt_in_reply if program else None) or replies.opt_in_confirmation(
                brand_name,
                program.name if len(context.programs) == 1 and program else None,
                program.frequency if len(context.programs) == 1 and program else None,
            )
            # START is a fresh opt-in: it restores (or grants) consent to the sender's programs.
            states = consent_store.states(conn, tenant.id, number, [p.id for p in context.programs])
            head, _ = consenting.append(
                conn,
                tenant.id,
                head,
                consenting.opt_in_writes(
                    states,
                    context.programs,
                    number,
                    at,
                    keyword=verdict.keyword,
                    disclosure_text=text,
                    inbound_id=inbound_id,
                ),
                now,
            )
            action = "opted_in" if lifted else "opt_in_confirmed"
            return _Outcome(action, tuple(lifted_scopes), text, "opt_in_confirmation")
        if verdict.kind is ReplyKind.HELP:
            text = (program.help_reply if program else None) or replies.help_reply(
                brand_name, brand.support_contact if brand else None
            )
            return _Outcome("help_sent", (), text, "help")
        if verdict.kind is ReplyKind.CONFIRM:
            return self._confirm(
                conn, tenant, head, context, brand_name, number, verdict, inbound_id, at, now
            )
        if verdict.kind is ReplyKind.AMBIGUOUS:
            return _Outcome("held_for_review", (), needs_review=True)
        return _Outcome("none", ())

    def _confirm(
        self,
        conn: sa.Connection,
        tenant: Tenant,
        head: ledger.ChainHead,
        context: scopes.SenderContext,
        brand_name: str,
        number: str,
        verdict: Classification,
        inbound_id: str,
        at: datetime,
        now: datetime,
    ) -> _Outcome:
        """YES to a pending double opt-in confirms it; YES to a reconfirmation request reconfirms."""
        programs = {p.id: p for p in context.programs}
        states = consent_store.states(conn, tenant.id, number, list(programs))
        writes = []
        confirmed: list[Program] = []
        for program_id, state in states.items():
            pending = state.status is ConsentStatus.PENDING and (
                state.expires_at is None or at < state.expires_at
            )
            reconfirming = (
                state.status is ConsentStatus.ACTIVE
                and state.reconfirmation_requested_at is not None
            )
            if not (pending or reconfirming):
                continue
            writes.append(
                consenting.ConsentWrite(
                    kind=ConsentEventKind.CONFIRMED if pending else ConsentEventKind.RECONFIRMED,
                    recipient=number,
                    brand_id=state.brand_id,
                    program_id=program_id,
                    occurred_at=at,
                    source="keyword",
                    medium="keyword",
                    keyword=verdict.keyword,
                    inbound_id=inbound_id,
                )
            )
            confirmed.append(programs[program_id])
        if not writes:
            return _Outcome("none", (), notes=("nothing pending to confirm",))
        head, _ = consenting.append(conn, tenant.id, head, writes, now)
        head = self._lift_for_fresh_consent(conn, tenant, head, number, confirmed, at, inbound_id)
        first = confirmed[0]
        text = first.opt_in_reply or replies.opt_in_confirmation(
            brand_name, first.name, first.frequency, resubscribed=False
        )
        return _Outcome(
            "consent_confirmed",
            tuple(Scope(ScopeKind.PROGRAM, p.id) for p in confirmed),
            text,
            "opt_in_confirmation",
        )

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
        """A fresh express opt-in to a program lifts that program's own opt-out (only that scope)."""
        wanted = {Scope(ScopeKind.PROGRAM, p.id) for p in programs}
        current = optout_store.current(conn, tenant.id, [number]).get(number, [])
        lifted = [(number, o.scope) for o in current if o.scope in wanted]
        return self._remove(
            conn, tenant, head, lifted, source, at, None, "fresh opt-in", inbound_id
        )

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
        optout_store.delete(conn, tenant.id, pairs)
        return head

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
            program = _found(
                registry.find_program(conn, tenant.id, scope.ref), "program", scope.ref, "scope.id"
            )
            return _Target(Scope(ScopeKind.PROGRAM, program.id), scopes.covering_program(program))
        brand = _found(
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


@dataclass(frozen=True, slots=True)
class _Outcome:
    action: str
    scopes: tuple[Scope, ...]
    reply: str | None = None
    purpose: str = ""
    needs_review: bool = False
    notes: tuple[str, ...] = ()


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


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _valid(parsed: Sequence[RecipientStatus]) -> list[str]:
    return [status.to for status in parsed if status.to is not None]


def _covering(found: Sequence[OptOut], covering: frozenset[Scope]) -> tuple[Scope, ...]:
    return tuple(optout.scope for optout in found if optout.scope in covering)


def _required_text(value: Any, field_name: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field_name} is required", field=field_name)
    text = value.strip()
    if len(text) > max_length:
        raise InvalidInput(f"{field_name} is longer than {max_length} characters", field=field_name)
    return text


def _optional_reply(value: str | None, field_name: str) -> str | None:
    if value is None:
        return None
    return _required_text(value, field_name, 480)


def _optional_text(value: str | None, field_name: str, max_length: int) -> str | None:
    return None if value is None else _required_text(value, field_name, max_length)


def _positive(value: int | None, default: int, field_name: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 36_500:
        raise InvalidInput(f"{field_name} must be a whole number from 1 to 36500", field=field_name)
    return value


def _slug(value: str, field_name: str) -> str:
    if not isinstance(value, str) or not is_slug(value):
        raise InvalidInput(
            f"{value!r} is not a valid slug (lower-case letters, digits and hyphens, at most 64)",
            field=field_name,
        )
    return value


def _scope_kind(value: str, field_name: str) -> ScopeKind:
    return _enum(ScopeKind, value, field_name)


def _enum(kind: type[_E], value: Any, field_name: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise InvalidInput(
            f"{field_name} must be one of {choices}; got {value!r}", field=field_name
        ) from None


def _found(value: _T | None, what: str, ref: str, field_name: str | None = None) -> _T:
    if value is None:
        raise NotFound(f"no {what} {ref!r} in this tenant", field=field_name or what)
    return value


def _replace_brand(program: Program, brand_id: str) -> Program:
    return replace(program, brand_id=brand_id)


MAX_DISCLOSURE = 10_000
MAX_EVIDENCE_BYTES = 16_384


def _consent_evidence(
    *,
    medium: str,
    level: str | None,
    disclosure_text: str | None,
    source_url: str | None,
    keyword: str | None,
    ip_address: str | None,
    user_agent: str | None,
    session_id: str | None,
    occurred_at: datetime | None,
    evidence: Mapping[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    """Validate a consent's evidence; every problem names its field."""
    if medium not in MEDIUMS:
        raise InvalidInput(
            f"medium must be one of {', '.join(MEDIUMS)}; got {medium!r}", field="medium"
        )
    if level is not None and level not in {member.value for member in ConsentLevel}:
        choices = ", ".join(member.value for member in ConsentLevel)
        raise InvalidInput(f"level must be one of {choices}; got {level!r}", field="level")
    text = disclosure_text.strip() if isinstance(disclosure_text, str) else None
    if text is not None and len(text) > MAX_DISCLOSURE:
        raise InvalidInput(
            f"disclosure_text is longer than {MAX_DISCLOSURE} characters", field="disclosure_text"
        )
    if source_url is not None and (
        len(source_url) > 2000 or not source_url.startswith(("http://", "https://"))
    ):
        raise InvalidInput(
            "source_url must be an http(s) URL of at most 2000 characters", field="source_url"
        )
    address = None
    if ip_address:
        try:
            address = str(ipaddress.ip_address(ip_address.strip()))
        except ValueError:
            raise InvalidInput(
                f"{ip_address!r} is not an IPv4 or IPv6 address", field="ip_address"
            ) from None
    for name, value, limit in (
        ("keyword", keyword, 200),
        ("user_agent", user_agent, 1000),
        ("session_id", session_id, 200),
    ):
        if value is not None and len(value) > limit:
            raise InvalidInput(f"{name} is longer than {limit} characters", field=name)
    if occurred_at is not None:
        if occurred_at.tzinfo is None:
            raise InvalidInput("occurred_at must include a time zone", field="occurred_at")
        if occurred_at > now + timedelta(minutes=5):
            raise InvalidInput("occurred_at is in the future", field="occurred_at")
    if evidence is not None:
        if not isinstance(evidence, Mapping):
            raise InvalidInput("evidence must be a JSON object", field="evidence")
        try:
            size = len(json.dumps(evidence, sort_keys=True).encode("utf-8"))
        except (TypeError, ValueError):
            raise InvalidInput("evidence must be plain JSON", field="evidence") from None
        if size > MAX_EVIDENCE_BYTES:
            raise InvalidInput(
                f"evidence is larger than {MAX_EVIDENCE_BYTES} bytes", field="evidence"
            )
    return {
        "medium": medium,
        "level": level,
        "disclosure_text": text or None,
        "source_url": source_url,
        "keyword": keyword,
        "ip_address": address,
        "user_agent": user_agent,
        "session_id": session_id,
        "occurred_at": occurred_at,
        "evidence": dict(evidence) if evidence is not None else None,
    }


def _timestamp(value: str | None, field_name: str) -> datetime | None:
    """An ISO 8601 timestamp with a zone (``Z`` allowed), or None for an empty value."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{value!r} is not an ISO 8601 timestamp", field=field_name) from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{value!r} has no time zone", field=field_name)
    return parsed
