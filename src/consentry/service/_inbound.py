"""Inbound replies: classify, store, act (opt-out, opt-in, help, confirm) and queue one reply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from consentry import consenting
from consentry.domain import replies, scopes
from consentry.domain.consent import (
    ConsentEventKind,
    ConsentStatus,
    needs_double_opt_in,
)
from consentry.domain.deadlines import revocation_due
from consentry.domain.keywords import classify
from consentry.domain.model import (
    Brand,
    Classification,
    InboundResult,
    OptOutSource,
    Program,
    ReplyKind,
    Scope,
    ScopeKind,
    Tenant,
)
from consentry.domain.numbers import sender_lookup_key, to_e164
from consentry.domain.purposes import kept_purpose, purpose_rules, purpose_scope
from consentry.errors import InvalidInput
from consentry.identifiers import new_id
from consentry.service._keywords import KeywordsLayer
from consentry.store import consents as consent_store
from consentry.store import (
    ledger,
    messages,
    registry,
)
from consentry.store import optouts as optout_store

MAX_INBOUND_BODY = 5000
# Marks a keyword revocation whose confirmation asked which purposes to keep.
CLARIFICATION_ASKED = "scope clarification asked"


class InboundLayer(KeywordsLayer):
    """Inbound replies: classify, store, act (opt-out, opt-in, help, confirm) and queue one reply."""

    def receive_inbound(
        self,
        tenant: Tenant,
        sender: str,
        recipient: str,
        body: str,
        *,
        received_at: datetime | None = None,
        language: str | None = None,
        provider_message_id: str | None = None,
    ) -> InboundResult:
        """Handle one reply from ``recipient`` (the person) to ``sender`` (the business number).

        Classifies the text, stores it, acts on it and queues at most one reply, all in one
        transaction: opt-out -> opt-out in the program's configured scope and one confirmation
        (none for a repeated STOP); opt-in -> lift the keyword opt-outs in that scope and confirm;
        help -> the brand's help text (to anyone); ambiguous -> stored for review, nothing sent.

        The reviewed keyword lists classify first; a reply they read as ``other`` that is exactly
        one of the tenant's own keywords (``add_keyword``) takes that keyword's kind, and one
        they read as ``ambiguous`` does so only for a tenant opt-out keyword (stage
        ``tenant_keyword``).

        ``provider_message_id`` (a provider's id of the message, e.g. Twilio's MessageSid) makes
        a retried webhook harmless: the second delivery changes nothing and returns the first
        one's result with ``action="duplicate"``.
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
            head = ledger.lock_head(conn, tenant.id)  # also serialises retries of one message
            if provider_message_id is not None:
                seen = messages.find_inbound_by_provider_id(conn, tenant.id, provider_message_id)
                if seen is not None:
                    return _duplicate(conn, tenant, seen)
            # The reviewed lists first; the tenant's own keywords only where they may decide.
            verdict = self._with_tenant_keywords(conn, tenant, verdict, body, language)
            outcome = self._act(
                conn, tenant, head, context, brand, number, verdict, body, inbound_id, at, now
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
                    "provider_message_id": provider_message_id,
                    # A reply that may revoke consent must be decided within 10 business days.
                    "due_at": revocation_due(at) if outcome.action == "held_for_review" else None,
                },
            )
            outbox_id = None
            if outcome.reply is not None:
                outbox_id = messages.queue_reply(
                    conn,
                    tenant.id,
                    recipient=number,
                    sender_address=address,
                    body=outcome.reply,
                    purpose=outcome.purpose,
                    created_at=now,
                    inbound_id=inbound_id,
                    program_id=outcome.program_id,
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

    def _act(
        self,
        conn: sa.Connection,
        tenant: Tenant,
        head: ledger.ChainHead,
        context: scopes.SenderContext,
        brand: Brand | None,
        number: str,
        verdict: Classification,
        body: str,
        inbound_id: str,
        at: datetime,
        now: datetime,
    ) -> _Outcome:
        program = context.programs[0] if context.programs else None
        brand_name = brand.name if brand else tenant.name
        if verdict.kind is ReplyKind.OPT_OUT:
            # With the tenant's revoke_all setting, every revocation reaches the whole account.
            account_wide = verdict.account_wide or bool(
                self._settings(conn, tenant.id)["revoke_all"]
            )
            targets = scopes.keyword_scopes(context, account_wide=account_wide)
            # Someone who agreed to several programs of the brand: the revocation covers the
            # whole brand, and the one confirmation may ask which purposes to keep.
            keep_options = (
                None
                if account_wide or brand is None
                else self._clarification(conn, tenant, brand, number)
            )
            if keep_options is not None and brand is not None:
                targets = (Scope(ScopeKind.BRAND, brand.id),)
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
                    f"keyword {verdict.keyword}"
                    + (f"; {CLARIFICATION_ASKED}" if keep_options else ""),
                    inbound_id,
                )
            if not new:
                return _Outcome(
                    "opt_out_repeated",
                    targets,
                    notes=("already opted out; no second confirmation",),
                )
            if keep_options:
                # No single program: the clarification answers a brand-wide revocation and
                # offers the purposes of every program of the brand the person agreed to (some
                # perhaps not served by this sender).
                text = replies.opt_out_clarification(brand_name, keep_options)
                return _Outcome("opted_out_scope_asked", targets, text, "opt_out_confirmation")
            text = (program.opt_out_reply if program else None) or replies.opt_out_confirmation(
                brand_name
            )
            return _Outcome(
                "opted_out",
                targets,
                text,
                "opt_out_confirmation",
                program_id=_speaks_for(context, program.opt_out_reply if program else None),
            )
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
            pending = [
                p
                for p in context.programs
                if needs_double_opt_in(p.use_case, p.double_opt_in)
                and not (p.id in states and states[p.id].status is ConsentStatus.ACTIVE)
            ]
            if pending:
                text = replies.double_opt_in_request(
                    brand_name, pending[0].name, pending[0].frequency
                )
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
            if pending:
                # The request names the first program still waiting for double opt-in.
                return _Outcome(
                    "double_opt_in_requested",
                    tuple(lifted_scopes),
                    text,
                    "double_opt_in_request",
                    program_id=pending[0].id,
                )
            action = "opted_in" if lifted else "opt_in_confirmed"
            return _Outcome(
                action,
                tuple(lifted_scopes),
                text,
                "opt_in_confirmation",
                program_id=_speaks_for(context, program.opt_in_reply if program else None),
            )
        if verdict.kind is ReplyKind.HELP:
            text = (program.help_reply if program else None) or replies.help_reply(
                brand_name, brand.support_contact if brand else None
            )
            return _Outcome(
                "help_sent",
                (),
                text,
                "help",
                program_id=_speaks_for(context, program.help_reply if program else None),
            )
        if verdict.kind is ReplyKind.CONFIRM:
            return self._confirm(
                conn, tenant, head, context, brand_name, number, verdict, inbound_id, at, now
            )
        if verdict.kind is ReplyKind.AMBIGUOUS:
            return _Outcome("held_for_review", (), needs_review=True)
        if brand is not None and (kept := kept_purpose(body)) is not None:
            return self._narrow(conn, tenant, head, brand, number, kept, inbound_id, at)
        return _Outcome("none", ())

    def _clarification(
        self, conn: sa.Connection, tenant: Tenant, brand: Brand, number: str
    ) -> list[tuple[str, str]] | None:
        """The keep-options to offer when a revocation needs its scope clarified, else None.

        Only with the tenant setting on, and only for someone with active consent to two or more
        programs of the brand; the options are the purposes among them (none when they share
        one purpose: the revocation still covers the whole brand).
        """
        rules = purpose_rules()
        if not self._settings(conn, tenant.id)[rules.setting]:
            return None
        programs = registry.list_programs(conn, tenant.id, brand_id=brand.id)
        states = consent_store.states(conn, tenant.id, number, [p.id for p in programs])
        active = [
            p for p in programs if p.id in states and states[p.id].status is ConsentStatus.ACTIVE
        ]
        if len(active) < 2:
            return None
        purposes = dict.fromkeys(p.purpose for p in active)
        if len(purposes) < 2:
            return []
        return [
            (rules.purposes[name].label, rules.purposes[name].keep_keywords[0]) for name in purposes
        ]

    def _narrow(
        self,
        conn: sa.Connection,
        tenant: Tenant,
        head: ledger.ChainHead,
        brand: Brand,
        number: str,
        kept: str,
        inbound_id: str,
        at: datetime,
    ) -> _Outcome:
        """Answer to the clarification: keep one purpose, stop the brand's others."""
        brand_scope = Scope(ScopeKind.BRAND, brand.id)
        asked = [
            event
            for event in optout_store.history(conn, tenant.id, number)
            if event.scope == brand_scope
        ]
        latest = asked[-1] if asked else None
        if (
            latest is None
            or latest.action != "add"
            or CLARIFICATION_ASKED not in (latest.reason or "")
            or at - latest.occurred_at > purpose_rules().answer_within
        ):
            return _Outcome("none", ())
        programs = registry.list_programs(conn, tenant.id, brand_id=brand.id)
        stopped = [
            purpose_scope(brand.id, name)
            for name in dict.fromkeys(p.purpose for p in programs)
            if name != kept
        ]
        reason = f"scope clarification: keeps {kept}"
        # The answer is the person's own wish to keep these messages: restore the consents that
        # the brand-wide revocation took, for the kept purpose only.
        keeping = [p for p in programs if p.purpose == kept]
        states = consent_store.states(conn, tenant.id, number, [p.id for p in keeping])
        restored = [
            consenting.ConsentWrite(
                kind=ConsentEventKind.RESTORED,
                recipient=number,
                brand_id=brand.id,
                program_id=program.id,
                occurred_at=at,
                source="keyword",
                reason=reason,
                inbound_id=inbound_id,
            )
            for program in keeping
            if program.id in states
            and states[program.id].status is ConsentStatus.REVOKED
            and states[program.id].revoked_at == latest.occurred_at
        ]
        head, _ = consenting.append(conn, tenant.id, head, restored, self.now())
        for scope in stopped:
            head = self._append_optouts(
                conn,
                tenant,
                head,
                [number],
                scope,
                OptOutSource.KEYWORD,
                at,
                None,
                reason,
                inbound_id,
            )
        self._remove(
            conn,
            tenant,
            head,
            [(number, brand_scope)],
            OptOutSource.KEYWORD,
            at,
            None,
            reason,
            inbound_id,
        )
        return _Outcome(
            "revocation_narrowed",
            tuple(stopped),
            notes=(
                f"keeps {kept}; still opted out of {', '.join(map(str, stopped)) or 'nothing'}",
            ),
        )

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
        confirmed_scopes = {Scope(ScopeKind.PROGRAM, p.id) for p in confirmed}
        still = [
            o.scope
            for o in optout_store.current(conn, tenant.id, [number]).get(number, [])
            if o.scope in scopes.covering_sender(context) and o.scope not in confirmed_scopes
        ]
        if still:
            return _Outcome(
                "consent_confirmed",
                tuple(confirmed_scopes),
                notes=tuple(f"still opted out in {scope}: nothing sent" for scope in still),
            )
        first = confirmed[0]
        text = first.opt_in_reply or replies.opt_in_confirmation(
            brand_name, first.name, first.frequency, resubscribed=False
        )
        return _Outcome(
            "consent_confirmed",
            tuple(Scope(ScopeKind.PROGRAM, p.id) for p in confirmed),
            text,
            "opt_in_confirmation",
            program_id=first.id,  # the text confirms (and names) the first program confirmed
        )


@dataclass(frozen=True, slots=True)
class _Outcome:
    action: str
    scopes: tuple[Scope, ...]
    reply: str | None = None
    purpose: str = ""
    needs_review: bool = False
    notes: tuple[str, ...] = ()
    program_id: str | None = None  # the program the reply speaks for (None: no single one)


def _speaks_for(context: scopes.SenderContext, own_text: str | None) -> str | None:
    """The program a reply from ``context``'s sender speaks for, when its text was chosen from
    the sender's first program: that program when the text is the program's own (``own_text``)
    or the sender serves no other. Otherwise None: the brand's standard text answers for all
    the sender's programs alike, no single one of them (the gate then infers the program)."""
    if not context.programs:
        return None
    first = context.programs[0]
    return first.id if own_text or len(context.programs) == 1 else None


def _duplicate(conn: sa.Connection, tenant: Tenant, seen: dict[str, Any]) -> InboundResult:
    reply = messages.reply_to(conn, tenant.id, seen["inbound_id"])
    return InboundResult(
        inbound_id=seen["inbound_id"],
        sender_address=seen["sender_address"],
        recipient=seen["recipient"],
        classification=Classification(
            kind=ReplyKind(seen["kind"]),
            keyword=seen["keyword"],
            language=seen["language"],
            stage=seen["stage"],
        ),
        action="duplicate",
        reply=reply["body"] if reply else None,
        outbox_id=reply["outbox_id"] if reply else None,
        needs_review=bool(seen["needs_review"]),
        notes=(f"already received as {seen['inbound_id']}: nothing done again",),
    )
