"""The consent ledger: record, import, reconfirm, expire, rebuild, recipients, proof, purge."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

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
from consentry.domain.model import (
    OptOutSource,
    Program,
    Scope,
    ScopeKind,
    Sender,
    Tenant,
)
from consentry.domain.numbers import to_e164
from consentry.errors import Conflict, InvalidInput
from consentry.service._checks import (
    found,
)
from consentry.service._optouts import OptOutsLayer
from consentry.service._results import (
    ConsentImportReport,
    ConsentOutcome,
    RecipientView,
    RejectedRow,
)
from consentry.store import consents as consent_store
from consentry.store import (
    ledger,
    messages,
    registry,
    retention,
    sends,
)
from consentry.store import optouts as optout_store

MAX_DISCLOSURE = 10_000
MAX_EVIDENCE_BYTES = 16_384


class ConsentsLayer(OptOutsLayer):
    """The consent ledger: record, import, reconfirm, expire, rebuild, recipients, proof, purge."""

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
            target = found(registry.find_program(conn, tenant.id, program), "program", program)
            brand = found(
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
            newer = [
                o
                for o in optout_store.current(conn, tenant.id, [number]).get(number, [])
                if o.scope in scopes.covering_program(target) and o.created_at > at
            ]
            if (
                newer
                and written.state is not None
                and written.state.status is not ConsentStatus.REVOKED
            ):
                # The person opted out after giving this consent: the opt-out still stands.
                latest = max(newer, key=lambda o: o.created_at)
                head, [written] = consenting.append(
                    conn,
                    tenant.id,
                    head,
                    [
                        consenting.ConsentWrite(
                            kind=ConsentEventKind.REVOKED,
                            recipient=number,
                            brand_id=target.brand_id,
                            program_id=target.id,
                            occurred_at=latest.created_at,
                            source="system",
                            reason=f"opt-out in {latest.scope} is newer than this consent",
                        )
                    ],
                    now,
                )
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
                outbox_id = messages.queue_reply(
                    conn,
                    tenant.id,
                    recipient=number,
                    sender_address=sender.address,
                    body=reply,
                    purpose=purpose,
                    created_at=now,
                    program_id=target.id,
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
            target = found(registry.find_program(conn, tenant.id, program), "program", program)
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
            target = found(registry.find_program(conn, tenant.id, program), "program", program)
            brand = found(
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
                outbox_id = messages.queue_reply(
                    conn,
                    tenant.id,
                    recipient=number,
                    sender_address=sender.address,
                    body=reply,
                    purpose="reconfirmation_request",
                    created_at=now,
                    program_id=target.id,
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
            return self._recipient_view(conn, tenant, recipient)

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
            sends.bump_epoch(conn, tenant.id)
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
