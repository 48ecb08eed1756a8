"""The send gate: may this message be sent now, and if not, which rule says so and why.

``check_send(message, state)`` is pure: the tenant's state (programs, brands, senders, opt-outs,
consents, send history) and the time of the message are passed in, nothing is read from a
database or a clock. It applies every rule of the catalogue (``rules/send_gate.toml``) and
returns a :class:`Decision` whose findings explain it, each with its rule id and citation:

- ``block`` findings: the message may not be sent (opt-out, consent, sender, content,
  first-message disclosure);
- ``defer`` findings: it may be sent at ``defer_until``, the first instant at which every timing
  rule allows it (quiet hours, state daily limits, the program's disclosed frequency);
- ``warn`` and ``info`` findings never stop a message.

Everything that depends only on the body and the program (content lexicons, encoding, brand and
opt-out wording) is worked out once per distinct body and program and reused, so a campaign of
one text to many recipients costs a few dictionary look-ups per recipient.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from consentry.domain import content, timing
from consentry.domain.catalogue import catalogue
from consentry.domain.consent import ConsentLevel, ConsentPolicy, ConsentState, evaluate
from consentry.domain.history import SendHistory, fingerprint
from consentry.domain.model import Brand, Program, Scope, ScopeKind, Sender
from consentry.domain.scopes import covering_program

CATEGORIES = ("marketing", "informational", "transactional", "conversational")
_ONE_SECOND = timedelta(seconds=1)
_BODY_MEMO = 1 << 14


class Severity(StrEnum):
    BLOCK = "block"
    DEFER = "defer"
    WARN = "warn"
    INFO = "info"


class Action(StrEnum):
    SEND = "send"
    BLOCK = "block"
    DEFER = "defer"


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule's verdict on a message: its id, how much it weighs, why, and its source."""

    rule_id: str
    severity: Severity
    message: str
    citation: str
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a message may be sent: ``send``, ``block``, or ``defer`` until ``defer_until``."""

    allowed: bool
    action: Action
    defer_until: datetime | None
    findings: tuple[Finding, ...]

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(finding.rule_id for finding in self.findings)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message about to be sent, with its names resolved.

    ``sender`` is the normalised sender address, ``recipient`` E.164, ``program_id`` an existing
    program's id, ``at`` the (timezone-aware) time it would leave, ``category`` one of
    :data:`CATEGORIES` (the program's own when the caller did not say).
    """

    sender: str
    recipient: str
    program_id: str
    body: str
    at: datetime
    category: str


@dataclass(slots=True)
class GateState:
    """Everything the gate reads about one tenant. The service keeps it in step with the store."""

    programs: Mapping[str, Program]
    brands: Mapping[str, Brand]
    senders: Mapping[str, Sender]  # by normalised address
    optouts: Mapping[str, Collection[Scope]]  # recipient -> scopes it is opted out of
    consents: Mapping[tuple[str, str], ConsentState]  # (recipient, program_id) -> state
    history: SendHistory
    # Memos of what depends only on the program, or on the body and program: filled on use,
    # thrown away with the state when the registry changes.
    profiles: dict[str, _Profile] = field(default_factory=dict)
    body_rules: dict[tuple[str, str, str], _BodyRules] = field(default_factory=dict)
    sender_rules: dict[tuple[str, str], Finding | None] = field(default_factory=dict)
    clocks: dict[tuple[timing.Locality, datetime, str], _Clock] = field(default_factory=dict)


def check_send(message: OutgoingMessage, state: GateState) -> Decision:
    """Decide whether ``message`` may be sent at ``message.at`` given ``state``."""
    program = state.programs[message.program_id]
    profile = state.profiles.get(program.id)
    if profile is None:
        profile = state.profiles[program.id] = _profile(program, state.brands[program.brand_id])
    at = message.at
    recipient = message.recipient
    category = message.category
    history = state.history
    limits = catalogue().limits
    findings: list[Finding] = []

    scopes = state.optouts.get(recipient)
    if scopes:
        sender_scope = Scope(ScopeKind.SENDER, message.sender)
        hit = [s for s in scopes if s in profile.covering or s == sender_scope]
        if hit:
            findings.append(_optout_finding(hit))

    last_sent = history.last_sent(program.id, recipient)
    last_inbound = history.last_inbound(recipient)
    in_conversation = (
        last_inbound is not None and timedelta(0) <= at - last_inbound <= limits.conversation_window
    )
    for problem in evaluate(
        state.consents.get((recipient, program.id)),
        profile.consent,
        category,
        at,
        last_sent_at=last_sent,
        in_conversation=in_conversation,
    ):
        findings.append(Finding(problem.rule_id, Severity.BLOCK, problem.message, problem.citation))

    sender_key = (message.sender, program.id)
    if sender_key in state.sender_rules:
        sender_finding = state.sender_rules[sender_key]
    else:
        sender_finding = state.sender_rules[sender_key] = _sender_rules(
            message.sender, program, state.senders.get(message.sender)
        )
    if sender_finding is not None:
        findings.append(sender_finding)

    key = (message.body, program.id, category)
    body_rules = state.body_rules.get(key)
    if body_rules is None:
        if len(state.body_rules) >= _BODY_MEMO:
            state.body_rules.clear()
        body_rules = state.body_rules[key] = _body_rules(
            message.body, program, profile.brand_names, category
        )
    findings.extend(body_rules.findings)
    snowshoe = _snowshoe(history, body_rules.fingerprint, message.sender, at)
    if snowshoe is not None:
        findings.append(snowshoe)
    findings.extend(_disclosure(message, body_rules, last_sent, history))

    defer_until = _timing(message, profile, state, findings)
    findings.append(body_rules.encoding)

    for finding in findings:
        if finding.severity is Severity.BLOCK:
            return Decision(False, Action.BLOCK, None, tuple(findings))
    if defer_until is not None:
        return Decision(False, Action.DEFER, defer_until, tuple(findings))
    return Decision(True, Action.SEND, None, tuple(findings))


def decision_json(decision: Decision) -> dict[str, Any]:
    """A decision as JSON (the shape of the module docstring)."""
    return {
        "allowed": decision.allowed,
        "action": decision.action.value,
        "defer_until": None if decision.defer_until is None else decision.defer_until.isoformat(),
        "findings": [
            {
                "rule_id": finding.rule_id,
                "severity": finding.severity.value,
                "message": finding.message,
                "citation": finding.citation,
                "details": finding.details,
            }
            for finding in decision.findings
        ],
    }


# --- per program -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Profile:
    covering: frozenset[Scope]
    consent: ConsentPolicy
    brand_names: tuple[str, ...]
    cap: timing.FrequencyCap | None


def _profile(program: Program, brand: Brand) -> _Profile:
    return _Profile(
        covering=covering_program(program),
        consent=ConsentPolicy(
            required_level=ConsentLevel(program.consent_level),
            double_opt_in=program.double_opt_in,
            pending_expiry=timedelta(hours=program.pending_expiry_hours),
            first_message_within=timedelta(days=program.reconfirm_after_days),
            idle_limit=timedelta(days=program.reconfirm_idle_days),
        ),
        brand_names=tuple(dict.fromkeys((brand.name, brand.slug.replace("-", " ")))),
        cap=timing.parse_frequency(program.frequency),
    )


# --- rules on the body -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _BodyRules:
    findings: tuple[Finding, ...]  # content rules
    encoding: Finding
    names_brand: bool
    opt_out_instructions: bool
    fingerprint: str


def _body_rules(
    body: str, program: Program, brand_names: tuple[str, ...], category: str
) -> _BodyRules:
    analysis = content.analyse(body)
    findings: list[Finding] = []
    for hit in analysis.hits:
        where = {"category": hit.category, "term": hit.term, "matched": hit.matched}
        span = {"start": hit.start, "end": hit.end}
        if hit.evasion is not None:
            findings.append(
                _rule(
                    "CONTENT-EVASION",
                    Severity.BLOCK,
                    f"{hit.matched!r} hides the {hit.category.replace('_', ' ')} term "
                    f"{hit.term!r} ({hit.evasion})",
                    **where,
                    **span,
                    technique=hit.evasion,
                )
            )
        elif hit.rule_id == "CONTENT-PROHIBITED":
            findings.append(
                Finding(
                    hit.rule_id,
                    Severity.BLOCK,
                    f"{hit.category.replace('_', ' ')} content is prohibited: {hit.matched!r}",
                    hit.citation,
                    {**where, **span},
                )
            )
        elif hit.rule_id == "CONTENT-AGE-GATED" and not program.age_gated:
            findings.append(
                Finding(
                    hit.rule_id,
                    Severity.BLOCK,
                    f"{hit.category.replace('_', ' ')} content ({hit.matched!r}) needs a program "
                    f"marked age-gated; {program.slug} is not",
                    hit.citation,
                    {**where, **span},
                )
            )
        elif hit.rule_id == "CONTENT-PROMO-IN-TRANSACTIONAL" and "transactional" in (
            category,
            program.category,
        ):
            findings.append(
                Finding(
                    hit.rule_id,
                    Severity.WARN,
                    f"promotional wording {hit.matched!r} in a transactional message",
                    hit.citation,
                    {**where, **span},
                )
            )
    if program.one_way:
        limits = catalogue().limits
        missing = [
            what
            for what, patterns in (
                ("that replies are not read (e.g. 'Do not reply')", limits.one_way_notices),
                (
                    "another way to opt out (a link, or a number to call)",
                    limits.one_way_alternatives,
                ),
            )
            if not any(pattern.search(body) for pattern in patterns)
        ]
        if missing:
            findings.append(
                _rule(
                    "DISCLOSURE-ONE-WAY",
                    Severity.BLOCK,
                    "this program's senders cannot receive replies: every message must state "
                    + " and ".join(missing),
                    missing=missing,
                )
            )
    for link in analysis.links:
        if link.shortener:
            severity = Severity.BLOCK if program.block_shorteners else Severity.WARN
            findings.append(
                _rule(
                    "CONTENT-SHORTENER",
                    severity,
                    f"{link.host} is a public URL shortener; use a link on your own domain"
                    + (" (this program blocks shorteners)" if program.block_shorteners else ""),
                    url=link.url,
                    host=link.host,
                )
            )
    enc = analysis.encoding
    details: dict[str, object] = {
        "encoding": enc.scheme,
        "characters": enc.characters,
        "segments": enc.segments,
    }
    if enc.forcing:
        details["ucs2_characters"] = list(enc.forcing)
    encoding = _rule(
        "ENCODING-SEGMENTS",
        Severity.INFO,
        f"{enc.scheme}, {enc.characters} characters, {enc.segments} segment"
        + ("s" if enc.segments != 1 else "")
        + (f"; UCS-2 because of {', '.join(map(repr, enc.forcing))}" if enc.forcing else ""),
        **details,
    )
    return _BodyRules(
        findings=tuple(findings),
        encoding=encoding,
        names_brand=content.names_brand(body, brand_names),
        opt_out_instructions=analysis.opt_out_instructions,
        fingerprint=fingerprint(body),
    )


# --- rules on the history --------------------------------------------------------------------


def _snowshoe(history: SendHistory, content_key: str, sender: str, at: datetime) -> Finding | None:
    limits = catalogue().limits
    senders = history.senders_of(content_key, at - limits.snowshoe_window)
    count = len(senders) + (sender not in senders)
    if count < limits.snowshoe_warn_senders:
        return None
    severity = Severity.BLOCK if count >= limits.snowshoe_block_senders else Severity.WARN
    minutes = int(limits.snowshoe_window.total_seconds() // 60)
    return _rule(
        "SENDER-SNOWSHOE",
        severity,
        f"the same content went out from {count} senders in the last {minutes} minutes "
        f"(warn at {limits.snowshoe_warn_senders}, block at {limits.snowshoe_block_senders})",
        senders=count,
        window_minutes=minutes,
    )


def _disclosure(
    message: OutgoingMessage, body: _BodyRules, last_sent: datetime | None, history: SendHistory
) -> list[Finding]:
    limits = catalogue().limits
    category = message.category
    findings: list[Finding] = []
    first = last_sent is None
    if first and category in limits.first_message_categories:
        missing = [
            what
            for what, present in (
                ("the brand name", body.names_brand),
                ("how to opt out (e.g. 'Reply STOP to opt out')", body.opt_out_instructions),
            )
            if not present
        ]
        if missing:
            findings.append(
                _rule(
                    "DISCLOSURE-FIRST-MESSAGE",
                    Severity.BLOCK,
                    "the first message of this program to the recipient must state "
                    + " and ".join(missing),
                    missing=missing,
                )
            )
            return findings
    if not body.names_brand and category in limits.brand_id_categories:
        findings.append(
            _rule(
                "DISCLOSURE-BRAND-ID",
                Severity.WARN,
                "the message does not name the brand it comes from",
            )
        )
    if not first and not body.opt_out_instructions and category in limits.reminder_categories:
        reminded = history.last_reminder(message.program_id, message.recipient)
        base = reminded if reminded is not None else last_sent
        assert base is not None
        due = base + limits.reminder_interval
        if message.at >= due:
            findings.append(
                _rule(
                    "DISCLOSURE-REMINDER-DUE",
                    Severity.INFO,
                    f"a reminder of how to opt out has been due since {due.date().isoformat()}: "
                    "add 'Reply STOP to opt out'",
                    due=due.isoformat(),
                    last_reminder=None if reminded is None else reminded.isoformat(),
                )
            )
    return findings


@dataclass(frozen=True, slots=True)
class _Clock:
    """What the time rules say about one locality at one instant, for one category."""

    quiet: Finding | None
    quiet_until: datetime | None
    limit: timing.StateLimit | None


def _clock(locality: timing.Locality, at: datetime, category: str) -> _Clock:
    quiet = timing.quiet_hours(locality, at, category)
    finding = None
    if quiet is not None:
        finding = Finding(
            quiet.rule_id,
            Severity.DEFER,
            quiet.message,
            quiet.citation,
            {**quiet.details, "defer_until": quiet.defer_until.isoformat()},
        )
    return _Clock(
        finding,
        None if quiet is None else quiet.defer_until,
        timing.state_limit(locality, category),
    )


def _timing(
    message: OutgoingMessage,
    profile: _Profile,
    state: GateState,
    findings: list[Finding],
) -> datetime | None:
    """Append the timing findings; return when the message may go, or None if it may now."""
    at = message.at
    category = message.category
    history = state.history
    locality = timing.locality(message.recipient)
    # A campaign sends at one instant to many numbers of few localities: one answer each.
    key = (locality, at, category)
    clock = state.clocks.get(key)
    if clock is None:
        if len(state.clocks) >= _BODY_MEMO:
            state.clocks.clear()
        clock = state.clocks[key] = _clock(locality, at, category)
    until: datetime | None = None
    if clock.quiet is not None:
        findings.append(clock.quiet)
        until = clock.quiet_until

    limit = clock.limit
    if limit is not None:
        sent = history.recipient_sends(message.recipient, at - limit.period)
        if len(sent) >= limit.messages:
            free_at = sent[-limit.messages] + limit.period + _ONE_SECOND
            findings.append(
                Finding(
                    "TIME-STATE-LIMIT",
                    Severity.DEFER,
                    f"{len(sent)} messages reached this recipient in the last "
                    f"{_hours(limit.period)} hours; {limit.jurisdiction} allows {limit.messages}",
                    limit.citation,
                    {
                        "jurisdiction": limit.jurisdiction,
                        "limit": limit.messages,
                        "sent": len(sent),
                        "defer_until": free_at.isoformat(),
                    },
                )
            )
            until = free_at if until is None else max(until, free_at)

    cap = profile.cap
    if cap is not None and category in catalogue().limits.capped_categories:
        sent = history.program_sends(message.program_id, message.recipient, at - cap.period)
        if len(sent) >= cap.messages:
            free_at = sent[-cap.messages] + cap.period + _ONE_SECOND
            findings.append(
                _rule(
                    "FREQ-CAP",
                    Severity.DEFER,
                    f"{len(sent)} messages of this program in the last {cap.period.days} days; "
                    f"its disclosed frequency is {cap.text!r}",
                    frequency=cap.text,
                    sent=len(sent),
                    defer_until=free_at.isoformat(),
                )
            )
            until = free_at if until is None else max(until, free_at)

    if until is None:
        return None
    # A later instant only lowers the window counts, but it may fall in quiet hours.
    return timing.next_allowed(locality, until, category)


# --- helpers ---------------------------------------------------------------------------------


def _rule(rule_id: str, severity: Severity, message: str, **details: object) -> Finding:
    return Finding(rule_id, severity, message, catalogue().citation(rule_id), details)


def _optout_finding(scopes: list[Scope]) -> Finding:
    names = sorted(str(scope) for scope in scopes)
    return _rule(
        "OPTOUT-ACTIVE",
        Severity.BLOCK,
        "the recipient opted out (" + ", ".join(names) + ")",
        scopes=names,
    )


def _sender_rules(address: str, program: Program, sender: Sender | None) -> Finding | None:
    if sender is None or not sender.verified:
        why = "is not registered for this account" if sender is None else "is not verified"
        return _rule(
            "SENDER-UNREGISTERED", Severity.BLOCK, f"sender {address} {why}", sender=address
        )
    if program.id not in sender.program_ids:
        return _rule(
            "SENDER-PROGRAM",
            Severity.BLOCK,
            f"sender {address} is not assigned to program {program.slug}",
            sender=address,
            program=program.slug,
        )
    return None


def _hours(period: timedelta) -> int:
    return int(period.total_seconds() // 3600)
