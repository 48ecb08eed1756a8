"""Consent: levels, the state a recipient's consent events fold into, and whether it suffices.

Pure: events and the current time are passed in. The rules' data (levels per message category,
use cases that always need double opt-in, default windows) lives in ``rules/consent.toml`` with a
citation on every entry.

A consent belongs to one brand *and* one program: it is keyed by program, carries the brand, and
is never looked up for another program or brand.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any


class ConsentLevel(StrEnum):
    """How strong a consent is; a stronger one satisfies a weaker requirement."""

    IMPLIED = "implied"
    EXPRESS = "express"
    EXPRESS_WRITTEN = "express_written"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {level: rank for rank, level in enumerate(ConsentLevel)}


class ConsentStatus(StrEnum):
    PENDING = "pending"  # double opt-in requested, not yet confirmed
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"  # a pending request that was never confirmed


class ConsentEventKind(StrEnum):
    """The consent events of the ledger (opt-out events sit beside them in the same chain)."""

    REQUESTED = "consent_requested"
    CONFIRMED = "consent_confirmed"
    GRANTED = "consent_granted"
    REVOKED = "consent_revoked"
    RESTORED = "consent_restored"
    RECONFIRMATION_REQUESTED = "reconfirmation_requested"
    RECONFIRMED = "consent_reconfirmed"
    EXPIRED = "consent_expired"


CONSENT_EVENT_KINDS = frozenset(kind.value for kind in ConsentEventKind)

MEDIUMS = (
    "web_form",
    "keyword",
    "paper",
    "verbal",
    "ivr",
    "point_of_sale",
    "conversation",
    "api",
    "import",
)


@dataclass(frozen=True, slots=True)
class ConsentFact:
    """One consent event as the fold needs it."""

    kind: ConsentEventKind
    recipient: str
    brand_id: str
    program_id: str
    occurred_at: datetime
    seq: int
    level: ConsentLevel | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A recipient's current consent to one program, derived from its events."""

    recipient: str
    brand_id: str
    program_id: str
    status: ConsentStatus
    level: ConsentLevel
    granted_at: datetime | None
    requested_at: datetime | None
    expires_at: datetime | None
    reconfirmation_requested_at: datetime | None
    revoked_at: datetime | None
    last_event_seq: int


def fold(state: ConsentState | None, fact: ConsentFact) -> ConsentState | None:
    """The state after ``fact``. Total and deterministic, so a rebuild equals the live state.

    A confirmation or reconfirmation that finds nothing to confirm changes nothing; a revocation
    of no consent records the revocation (so that no older consent can ever revive); a grant,
    restore or confirmation is the only way back to ``active``.
    """
    level = fact.level or (state.level if state else ConsentLevel.EXPRESS)
    if state is None:
        state = ConsentState(
            recipient=fact.recipient,
            brand_id=fact.brand_id,
            program_id=fact.program_id,
            status=ConsentStatus.REVOKED,
            level=level,
            granted_at=None,
            requested_at=None,
            expires_at=None,
            reconfirmation_requested_at=None,
            revoked_at=None,
            last_event_seq=0,
        )
        fresh = True
    else:
        fresh = False
    kind = fact.kind
    at = fact.occurred_at
    seq = fact.seq
    if kind in _ACTIVATING and state.revoked_at is not None and at < state.revoked_at:
        # Consent given before the latest revocation cannot undo it, whenever it is recorded.
        return replace(state, last_event_seq=seq)
    if kind is ConsentEventKind.REQUESTED:
        return replace(
            state,
            status=ConsentStatus.PENDING,
            level=level,
            requested_at=at,
            expires_at=fact.expires_at,
            last_event_seq=seq,
        )
    if kind in (ConsentEventKind.GRANTED, ConsentEventKind.RESTORED):
        return replace(
            state,
            status=ConsentStatus.ACTIVE,
            level=level,
            granted_at=at,
            expires_at=None,
            reconfirmation_requested_at=None,
            revoked_at=None,
            last_event_seq=seq,
        )
    if kind is ConsentEventKind.CONFIRMED:
        if state.status is not ConsentStatus.PENDING:
            return None if fresh else replace(state, last_event_seq=seq)
        return replace(
            state,
            status=ConsentStatus.ACTIVE,
            granted_at=at,
            expires_at=None,
            revoked_at=None,
            last_event_seq=seq,
        )
    if kind is ConsentEventKind.RECONFIRMATION_REQUESTED:
        if fresh:
            return None
        return replace(state, reconfirmation_requested_at=at, last_event_seq=seq)
    if kind is ConsentEventKind.RECONFIRMED:
        if state.status is not ConsentStatus.ACTIVE:
            return None if fresh else replace(state, last_event_seq=seq)
        return replace(state, granted_at=at, reconfirmation_requested_at=None, last_event_seq=seq)
    if kind is ConsentEventKind.EXPIRED:
        if state.status is not ConsentStatus.PENDING:
            return None if fresh else replace(state, last_event_seq=seq)
        return replace(state, status=ConsentStatus.EXPIRED, last_event_seq=seq)
    # REVOKED
    return replace(
        state, status=ConsentStatus.REVOKED, revoked_at=at, expires_at=None, last_event_seq=seq
    )


_ACTIVATING = frozenset(
    {
        ConsentEventKind.REQUESTED,
        ConsentEventKind.GRANTED,
        ConsentEventKind.RESTORED,
        ConsentEventKind.CONFIRMED,
        ConsentEventKind.RECONFIRMED,
    }
)


@dataclass(frozen=True, slots=True)
class ConsentPolicy:
    """What one program asks of consent (the program's settings, resolved against the rules)."""

    required_level: ConsentLevel
    double_opt_in: bool
    pending_expiry: timedelta
    first_message_within: timedelta
    idle_limit: timedelta


@dataclass(frozen=True, slots=True)
class ConsentProblem:
    """Why a consent does not allow a message: a rule id of the catalogue, and the reason."""

    rule_id: str
    message: str
    citation: str


def evaluate(
    state: ConsentState | None,
    policy: ConsentPolicy,
    category: str,
    now: datetime,
    *,
    last_sent_at: datetime | None = None,
    in_conversation: bool = False,
) -> list[ConsentProblem]:
    """Every reason the recipient's consent does not allow a ``category`` message ``now``.

    An empty list means consent allows it. Implied consent covers conversational replies only
    inside a conversation the recipient started, and transactional messages; informational
    messages need express consent (``rules/consent.toml``) and marketing express written.
    """
    rules = consent_rules()
    if state is None or state.status in (ConsentStatus.REVOKED, ConsentStatus.EXPIRED):
        why = "no consent" if state is None else f"consent is {state.status.value}"
        return [
            ConsentProblem(
                "CONSENT-MISSING",
                f"{why} from this recipient for this program",
                rules.citation("levels"),
            )
        ]
    if state.status is ConsentStatus.PENDING:
        if state.expires_at is not None and now >= state.expires_at:
            return [
                ConsentProblem(
                    "CONSENT-MISSING",
                    f"the double opt-in request expired at {state.expires_at.isoformat()} unconfirmed",
                    rules.citation("double_opt_in"),
                )
            ]
        return [
            ConsentProblem(
                "CONSENT-PENDING",
                "double opt-in requested but not yet confirmed",
                rules.citation("double_opt_in"),
            )
        ]
    problems: list[ConsentProblem] = []
    needed = required_level(policy, category)
    if state.level is ConsentLevel.IMPLIED and (
        category in rules.implied_never_covers
        or (category == "conversational" and not in_conversation)
    ):
        problems.append(
            ConsentProblem(
                "CONSENT-IMPLIED-SCOPE",
                f"implied consent does not reach a {category} message"
                + (
                    ""
                    if category != "conversational"
                    else " outside the conversation the recipient started"
                ),
                rules.citation("implied"),
            )
        )
    elif state.level.rank < needed.rank:
        problems.append(
            ConsentProblem(
                "CONSENT-LEVEL",
                f"consent is {state.level.value}; a {category} message of this program needs {needed.value}",
                rules.citation("category_levels"),
            )
        )
    if category == "marketing" and state.granted_at is not None:
        if last_sent_at is None and now - state.granted_at > policy.first_message_within:
            problems.append(
                ConsentProblem(
                    "CONSENT-STALE",
                    f"no message followed the consent of {state.granted_at.date().isoformat()} within "
                    f"{policy.first_message_within.days} days: reconfirm first",
                    rules.citation("reconfirmation"),
                )
            )
        elif (
            last_sent_at is not None
            and now - max(last_sent_at, state.granted_at) > policy.idle_limit
        ):
            problems.append(
                ConsentProblem(
                    "CONSENT-STALE",
                    f"no message for more than {policy.idle_limit.days} days: reconfirm first",
                    rules.citation("reconfirmation"),
                )
            )
    return problems


def required_level(policy: ConsentPolicy, category: str) -> ConsentLevel:
    """The stronger of the program's own level and what the message category needs."""
    by_category = consent_rules().category_levels.get(category, ConsentLevel.EXPRESS)
    own = policy.required_level
    return own if _RANK[own] >= _RANK[by_category] else by_category


def needs_double_opt_in(use_case: str | None, program_requires: bool) -> bool:
    """Whether consents to a program must be confirmed: by its own choice or its use case."""
    return program_requires or (
        use_case is not None and use_case in consent_rules().double_opt_in_use_cases
    )


@dataclass(frozen=True, slots=True)
class ConsentRules:
    """``rules/consent.toml``, parsed."""

    category_levels: dict[str, ConsentLevel]
    implied_never_covers: frozenset[str]
    double_opt_in_use_cases: frozenset[str]
    pending_expiry_hours: int
    first_message_within_days: int
    idle_days: int
    retention_default_years: int
    retention_minimum_years: int
    citations: dict[str, str]

    def citation(self, section: str) -> str:
        return self.citations[section]


@cache
def consent_rules() -> ConsentRules:
    """Load and check ``rules/consent.toml`` once."""
    text = resources.files("consentry.rules").joinpath("consent.toml").read_text(encoding="utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    citations = {
        name: str(section["citation"])
        for name, section in data.items()
        if isinstance(section, dict)
    }
    levels = data["category_levels"]
    return ConsentRules(
        category_levels={k: ConsentLevel(v) for k, v in levels.items() if k != "citation"},
        implied_never_covers=frozenset(data["implied"]["never_covers"]),
        double_opt_in_use_cases=frozenset(data["double_opt_in"]["always_for"]),
        pending_expiry_hours=int(data["double_opt_in"]["pending_expiry_hours"]),
        first_message_within_days=int(data["reconfirmation"]["first_message_within_days"]),
        idle_days=int(data["reconfirmation"]["idle_days"]),
        retention_default_years=int(data["retention"]["default_years"]),
        retention_minimum_years=int(data["retention"]["minimum_years"]),
        citations=citations,
    )
