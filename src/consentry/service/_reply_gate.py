"""consentry's own replies pass the full send gate before delivery (the opt-out confirmation
excepted: it is always sent, once).

Each queued reply is checked like any message: from its sender, to its recipient, in its
program, in the category ``rules/reply_gate.toml`` gives it (``conversational`` in a reply,
``transactional`` otherwise), without the rules that file exempts the reply from (HELP is
answered whatever the person's consent). A ``block`` stops it (``suppressed``, the deciding rule
id first in ``last_error``); a ``defer`` holds it until the gate's ``defer_until``. A reply from a
sender that serves no program is checked against the sender rule only (registered and verified).

The program is the one the outbox row records (``program_id``: the program the reply was written
for, e.g. the program whose consent was recorded or confirmed, whose HELP text was chosen), as
long as the sender still serves it. Only without one (a reply that speaks for no single program,
a row queued before migration 0016, a program the sender no longer serves) is it inferred from
the sender: for a reply to an inbound message the sender's first program; otherwise the sender's
program whose consent for this recipient matches the reply, most recent first.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

import sqlalchemy as sa

from consentry.domain.consent import ConsentStatus
from consentry.domain.model import Program, Tenant
from consentry.domain.policy import Finding, Severity
from consentry.service._delivery import GateOutcome
from consentry.service._review import ReviewLayer
from consentry.store import consents as consent_store
from consentry.store import registry


@dataclass(frozen=True, slots=True)
class ReplyPolicy:
    """How one kind of reply is gated: its category and the rules it is exempt from."""

    in_reply: str
    unprompted: str
    exempt: frozenset[str]


@cache
def _data() -> dict[str, object]:
    text = resources.files("consentry.rules").joinpath("reply_gate.toml").read_text("utf-8")
    return tomllib.loads(text)


def reply_policy(purpose: str) -> ReplyPolicy:
    """The gate policy of a reply ``purpose`` (``help``, ``opt_in_confirmation``, ...)."""
    data = _data()
    categories = data["categories"]
    purposes = data["purposes"]
    assert isinstance(categories, dict) and isinstance(purposes, dict)
    entry = purposes.get(purpose, {})
    return ReplyPolicy(
        in_reply=str(categories["in_reply"]),
        unprompted=str(categories["unprompted"]),
        exempt=frozenset(entry.get("exempt", ())),
    )


class ReplyGateLayer(ReviewLayer):
    """consentry's own replies pass the full send gate before delivery."""

    def _gate_reply(self, tenant: Tenant, row: dict[str, object]) -> GateOutcome:
        """Whether the queued reply ``row`` may go now, checked in the program it speaks for."""
        purpose = str(row["purpose"])
        policy = reply_policy(purpose)
        recipient = str(row["recipient"])
        address = str(row["sender_address"])
        recorded = row.get("program_id")
        with self._read() as conn:
            sender = registry.find_sender(conn, tenant.id, address)
            programs = registry.list_programs(conn, tenant.id, sender.program_ids) if sender else []
            # The program the reply was queued for, while the sender still serves it. A recorded
            # program the sender no longer serves (the sender was edited since) is not used: the
            # reply falls back to the inference, as a row queued before 0016 does, rather than be
            # checked in a program its sender may no longer send for.
            program = next((p for p in programs if p.id == recorded), None)
            if program is None and programs:
                program = _inferred(conn, tenant.id, row, programs)
        if sender is None or not sender.verified:
            why = "is not registered for this account" if sender is None else "is not verified"
            return GateOutcome("suppress", f"SENDER-UNREGISTERED: sender {address} {why}")
        if program is None:
            return GateOutcome("send")
        category = policy.in_reply if row["inbound_id"] is not None else policy.unprompted
        decision = self.check_send(
            tenant, address, recipient, program.id, str(row["body"]), category=category
        )
        binding = [f for f in decision.findings if f.rule_id not in policy.exempt]
        blocks = [f for f in binding if f.severity is Severity.BLOCK]
        if blocks:
            return GateOutcome("suppress", _reason(blocks))
        defers = [f for f in binding if f.severity is Severity.DEFER]
        if defers:
            until = decision.defer_until or _latest(defers)
            if until is not None:
                return GateOutcome("defer", _reason(defers), until)
        return GateOutcome("send")


def _inferred(
    conn: sa.Connection, tenant_id: str, row: dict[str, object], programs: list[Program]
) -> Program:
    """The program a reply without a recorded one is checked in, inferred from its sender's
    ``programs``: for a reply to an inbound message the first (as its text was chosen);
    otherwise the one whose consent for the recipient matches the reply (pending for a double
    opt-in request, else active), most recent first; the first when none matches."""
    if row["inbound_id"] is not None:
        return programs[0]
    states = consent_store.states(conn, tenant_id, str(row["recipient"]), [p.id for p in programs])
    wanted = (
        ConsentStatus.PENDING if row["purpose"] == "double_opt_in_request" else ConsentStatus.ACTIVE
    )
    matching = [s for s in states.values() if s.status is wanted]
    if not matching:
        return programs[0]
    latest = max(matching, key=lambda s: s.last_event_seq)
    return next(p for p in programs if p.id == latest.program_id)


def _latest(findings: list[Finding]) -> datetime | None:
    """The latest ``defer_until`` the findings name (when an exempt block hid the decision's)."""
    times = [
        datetime.fromisoformat(str(f.details["defer_until"]))
        for f in findings
        if "defer_until" in f.details
    ]
    return max(times) if times else None


def _reason(findings: list[Finding]) -> str:
    """``RULE-ID: message`` of the deciding finding (and the other rule ids)."""
    first, *others = findings
    text = f"{first.rule_id}: {first.message}"
    if others:
        text += " (also " + ", ".join(f.rule_id for f in others) + ")"
    return text
