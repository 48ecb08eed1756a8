"""Consent, the pure part: how events fold into a state, and whether a state allows a message.

``evaluate`` is read as a table: a consent state, what the program asks, the message category
and the time, and the rule ids that must come back (none: consent allows the message). The
boundaries are pinned to the microsecond: a pending request expires *at* ``expires_at``; a
consent goes stale only *after* its window.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.domain.consent import (
    ConsentEventKind,
    ConsentFact,
    ConsentLevel,
    ConsentPolicy,
    ConsentState,
    ConsentStatus,
    consent_rules,
    evaluate,
    fold,
    needs_double_opt_in,
    required_level,
)
from consentry.service import PROGRAM_CATEGORIES

K = ConsentEventKind
S = ConsentStatus
IMPLIED, EXPRESS, WRITTEN = ConsentLevel.IMPLIED, ConsentLevel.EXPRESS, ConsentLevel.EXPRESS_WRITTEN

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
DAY = timedelta(days=1)

RULE_IDS = {
    "CONSENT-MISSING",
    "CONSENT-PENDING",
    "CONSENT-LEVEL",
    "CONSENT-IMPLIED-SCOPE",
    "CONSENT-STALE",
}
HIGH_RISK_USE_CASES = [
    "auto_warranty",
    "short_term_health_insurance",
    "debt_relief",
    "lead_generation",
    "sweepstakes",
    "work_from_home",
]


def policy(
    level: ConsentLevel = EXPRESS,
    *,
    first_message_within: timedelta = timedelta(days=30),
    idle_limit: timedelta = timedelta(days=365),
) -> ConsentPolicy:
    return ConsentPolicy(
        required_level=level,
        double_opt_in=False,
        pending_expiry=timedelta(hours=48),
        first_message_within=first_message_within,
        idle_limit=idle_limit,
    )


def state(
    status: ConsentStatus = S.ACTIVE,
    level: ConsentLevel = EXPRESS,
    *,
    granted_at: datetime | None = NOW - DAY,
    requested_at: datetime | None = None,
    expires_at: datetime | None = None,
    reconfirmation_requested_at: datetime | None = None,
    revoked_at: datetime | None = None,
    seq: int = 1,
) -> ConsentState:
    return ConsentState(
        recipient="+14255550123",
        brand_id="brd_a",
        program_id="prg_a",
        status=status,
        level=level,
        granted_at=granted_at,
        requested_at=requested_at,
        expires_at=expires_at,
        reconfirmation_requested_at=reconfirmation_requested_at,
        revoked_at=revoked_at,
        last_event_seq=seq,
    )


def fact(
    kind: ConsentEventKind,
    seq: int = 2,
    *,
    at: datetime = NOW,
    level: ConsentLevel | None = None,
    expires_at: datetime | None = None,
) -> ConsentFact:
    return ConsentFact(
        kind=kind,
        recipient="+14255550123",
        brand_id="brd_a",
        program_id="prg_a",
        occurred_at=at,
        seq=seq,
        level=level,
        expires_at=expires_at,
    )


# -- evaluate ------------------------------------------------------------------------------------

PENDING_UNTIL = NOW + timedelta(hours=1)

EVALUATE_CASES: list[Any] = [
    # (state, program level, category, now, last_sent_at, in_conversation, expected rule ids)
    pytest.param(None, EXPRESS, "informational", NOW, None, False, ["CONSENT-MISSING"], id="none"),
    pytest.param(
        None, IMPLIED, "conversational", NOW, None, True, ["CONSENT-MISSING"], id="none-convo"
    ),
    pytest.param(
        state(S.REVOKED, WRITTEN, revoked_at=NOW - DAY),
        EXPRESS,
        "informational",
        NOW,
        None,
        False,
        ["CONSENT-MISSING"],
        id="revoked",
    ),
    pytest.param(
        state(S.EXPIRED, granted_at=None, requested_at=NOW - 3 * DAY, expires_at=NOW - DAY),
        EXPRESS,
        "informational",
        NOW,
        None,
        False,
        ["CONSENT-MISSING"],
        id="expired-status",
    ),
    pytest.param(
        state(S.PENDING, granted_at=None, requested_at=NOW - DAY, expires_at=PENDING_UNTIL),
        EXPRESS,
        "informational",
        NOW,
        None,
        False,
        ["CONSENT-PENDING"],
        id="pending-within-window",
    ),
    pytest.param(
        state(S.PENDING, granted_at=None, requested_at=NOW - DAY, expires_at=None),
        EXPRESS,
        "informational",
        NOW,
        None,
        False,
        ["CONSENT-PENDING"],
        id="pending-without-expiry",
    ),
    pytest.param(
        state(S.PENDING, granted_at=None, expires_at=PENDING_UNTIL),
        EXPRESS,
        "informational",
        PENDING_UNTIL - US,
        None,
        False,
        ["CONSENT-PENDING"],
        id="pending-1us-before-expiry",
    ),
    pytest.param(
        state(S.PENDING, granted_at=None, expires_at=PENDING_UNTIL),
        EXPRESS,
        "informational",
        PENDING_UNTIL,
        None,
        False,
        ["CONSENT-MISSING"],
        id="pending-exactly-at-expiry",
    ),
    pytest.param(
        state(S.PENDING, granted_at=None, expires_at=NOW - DAY),
        EXPRESS,
        "informational",
        NOW,
        None,
        False,
        ["CONSENT-MISSING"],
        id="pending-long-expired",
    ),
    # implied consent: never marketing; conversational only inside the conversation
    pytest.param(
        state(level=IMPLIED),
        IMPLIED,
        "marketing",
        NOW,
        None,
        False,
        ["CONSENT-IMPLIED-SCOPE"],
        id="implied-marketing",
    ),
    pytest.param(
        state(level=IMPLIED),
        IMPLIED,
        "marketing",
        NOW,
        None,
        True,
        ["CONSENT-IMPLIED-SCOPE"],
        id="implied-marketing-even-in-conversation",
    ),
    pytest.param(
        state(level=IMPLIED),
        IMPLIED,
        "conversational",
        NOW,
        None,
        False,
        ["CONSENT-IMPLIED-SCOPE"],
        id="implied-conversational-outside",
    ),
    pytest.param(
        state(level=IMPLIED),
        IMPLIED,
        "conversational",
        NOW,
        None,
        True,
        [],
        id="implied-conversational-inside",
    ),
    pytest.param(
        state(level=IMPLIED),
        IMPLIED,
        "transactional",
        NOW,
        None,
        False,
        [],
        id="implied-transactional",
    ),
    pytest.param(
        state(level=IMPLIED),
        IMPLIED,
        "informational",
        NOW,
        None,
        False,
        ["CONSENT-LEVEL"],
        id="implied-informational-needs-express",
    ),
    pytest.param(
        state(level=IMPLIED),
        EXPRESS,
        "conversational",
        NOW,
        None,
        True,
        ["CONSENT-LEVEL"],
        id="implied-in-conversation-but-program-wants-express",
    ),
    pytest.param(
        state(level=EXPRESS),
        EXPRESS,
        "conversational",
        NOW,
        None,
        False,
        [],
        id="express-conversational-outside-conversation",
    ),
    # levels
    pytest.param(
        state(level=EXPRESS),
        EXPRESS,
        "marketing",
        NOW,
        None,
        False,
        ["CONSENT-LEVEL"],
        id="express-marketing",
    ),
    pytest.param(
        state(level=WRITTEN), EXPRESS, "marketing", NOW, None, False, [], id="written-marketing"
    ),
    pytest.param(
        state(level=EXPRESS),
        EXPRESS,
        "informational",
        NOW,
        None,
        False,
        [],
        id="express-informational",
    ),
    pytest.param(
        state(level=EXPRESS),
        WRITTEN,
        "informational",
        NOW,
        None,
        False,
        ["CONSENT-LEVEL"],
        id="program-wants-written-for-informational",
    ),
    pytest.param(
        state(level=WRITTEN),
        WRITTEN,
        "informational",
        NOW,
        None,
        False,
        [],
        id="written-for-program-that-wants-written",
    ),
    pytest.param(
        state(level=EXPRESS),
        WRITTEN,
        "transactional",
        NOW,
        None,
        False,
        ["CONSENT-LEVEL"],
        id="program-level-beats-weaker-category",
    ),
    pytest.param(
        state(level=IMPLIED),
        IMPLIED,
        "unknown-category",
        NOW,
        None,
        False,
        ["CONSENT-LEVEL"],
        id="unknown-category-needs-express",
    ),
    # stale: no first message within the window after the grant
    pytest.param(
        state(level=WRITTEN, granted_at=NOW - timedelta(days=30)),
        EXPRESS,
        "marketing",
        NOW,
        None,
        False,
        [],
        id="first-message-exactly-at-30-days",
    ),
    pytest.param(
        state(level=WRITTEN, granted_at=NOW - timedelta(days=30) - US),
        EXPRESS,
        "marketing",
        NOW,
        None,
        False,
        ["CONSENT-STALE"],
        id="first-message-1us-after-30-days",
    ),
    pytest.param(
        state(level=WRITTEN, granted_at=NOW - timedelta(days=90)),
        EXPRESS,
        "marketing",
        NOW,
        NOW - timedelta(days=80),
        False,
        [],
        id="a-message-followed-the-grant",
    ),
    pytest.param(
        state(level=EXPRESS, granted_at=NOW - timedelta(days=90)),
        EXPRESS,
        "informational",
        NOW,
        None,
        False,
        [],
        id="staleness-is-for-marketing-only",
    ),
    pytest.param(
        state(level=EXPRESS, granted_at=NOW - timedelta(days=90)),
        EXPRESS,
        "marketing",
        NOW,
        None,
        False,
        ["CONSENT-LEVEL", "CONSENT-STALE"],
        id="level-and-stale-together",
    ),
    # stale: idle beyond the limit since the last message (or a later reconfirmation)
    pytest.param(
        state(level=WRITTEN, granted_at=NOW - timedelta(days=800)),
        EXPRESS,
        "marketing",
        NOW,
        NOW - timedelta(days=365),
        False,
        [],
        id="idle-exactly-365-days",
    ),
    pytest.param(
        state(level=WRITTEN, granted_at=NOW - timedelta(days=800)),
        EXPRESS,
        "marketing",
        NOW,
        NOW - timedelta(days=365) - US,
        False,
        ["CONSENT-STALE"],
        id="idle-1us-beyond-365-days",
    ),
    pytest.param(
        state(level=WRITTEN, granted_at=NOW - timedelta(days=10)),
        EXPRESS,
        "marketing",
        NOW,
        NOW - timedelta(days=800),
        False,
        [],
        id="reconfirmed-after-the-last-message",
    ),
]


@pytest.mark.parametrize(
    ("consent", "level", "category", "now", "last_sent_at", "in_conversation", "expected"),
    EVALUATE_CASES,
)
def test_evaluate(
    consent: ConsentState | None,
    level: ConsentLevel,
    category: str,
    now: datetime,
    last_sent_at: datetime | None,
    in_conversation: bool,
    expected: list[str],
) -> None:
    problems = evaluate(
        consent,
        policy(level),
        category,
        now,
        last_sent_at=last_sent_at,
        in_conversation=in_conversation,
    )
    assert [problem.rule_id for problem in problems] == expected
    for problem in problems:
        assert problem.message
        assert problem.citation in consent_rules().citations.values()


@pytest.mark.parametrize(
    ("consent", "now", "section"),
    [
        (None, NOW, "levels"),
        (state(S.PENDING, expires_at=PENDING_UNTIL), NOW, "double_opt_in"),
        (state(S.PENDING, expires_at=PENDING_UNTIL), PENDING_UNTIL, "double_opt_in"),
    ],
)
def test_each_problem_cites_its_section(
    consent: ConsentState | None, now: datetime, section: str
) -> None:
    [problem] = evaluate(consent, policy(), "informational", now)
    assert problem.citation == consent_rules().citation(section)


def test_level_implied_scope_and_stale_cite_their_sections() -> None:
    rules = consent_rules()
    old = NOW - timedelta(days=31)
    [level] = evaluate(state(level=EXPRESS), policy(), "marketing", NOW)
    [scope, stale] = evaluate(state(level=IMPLIED, granted_at=old), policy(), "marketing", NOW)
    assert (level.citation, scope.citation, stale.citation) == (
        rules.citation("category_levels"),
        rules.citation("implied"),
        rules.citation("reconfirmation"),
    )


def test_the_staleness_windows_come_from_the_policy() -> None:
    granted = state(level=WRITTEN, granted_at=NOW - timedelta(days=8))
    short = policy(first_message_within=timedelta(days=7), idle_limit=timedelta(days=7))
    assert [p.rule_id for p in evaluate(granted, short, "marketing", NOW)] == ["CONSENT-STALE"]
    assert evaluate(granted, policy(), "marketing", NOW) == []
    idle = evaluate(
        granted, short, "marketing", NOW, last_sent_at=NOW - timedelta(days=7, seconds=1)
    )
    assert [p.rule_id for p in idle] == ["CONSENT-STALE"]
    assert "7 days" in idle[0].message


@pytest.mark.parametrize(
    ("program", "category", "expected"),
    [
        (IMPLIED, "marketing", WRITTEN),
        (IMPLIED, "informational", EXPRESS),
        (IMPLIED, "transactional", IMPLIED),
        (IMPLIED, "conversational", IMPLIED),
        (WRITTEN, "transactional", WRITTEN),
        (EXPRESS, "marketing", WRITTEN),
        (IMPLIED, "not-a-category", EXPRESS),
    ],
)
def test_required_level_is_the_stronger_of_program_and_category(
    program: ConsentLevel, category: str, expected: ConsentLevel
) -> None:
    assert required_level(policy(program), category) is expected


def test_levels_are_ordered_weakest_to_strongest() -> None:
    assert [level.rank for level in (IMPLIED, EXPRESS, WRITTEN)] == [0, 1, 2]


# -- fold ----------------------------------------------------------------------------------------

P, A, R, E = S.PENDING, S.ACTIVE, S.REVOKED, S.EXPIRED
PENDING_STATE = state(P, granted_at=None, requested_at=NOW - DAY, expires_at=NOW + DAY)
ACTIVE_STATE = state(A, granted_at=NOW - DAY)
REVOKED_STATE = state(R, granted_at=NOW - 2 * DAY, revoked_at=NOW - DAY)
EXPIRED_STATE = state(E, granted_at=None, requested_at=NOW - 3 * DAY, expires_at=NOW - DAY)
START_STATES: dict[str, ConsentState | None] = {
    "none": None,
    "pending": PENDING_STATE,
    "active": ACTIVE_STATE,
    "revoked": REVOKED_STATE,
    "expired": EXPIRED_STATE,
}
# The status after each kind of event, from each starting status (None: no state is created).
FOLD_TABLE: dict[ConsentEventKind, tuple[ConsentStatus | None, ...]] = {
    # starting from:           none, pending, active, revoked, expired
    K.REQUESTED: (P, P, P, P, P),
    K.CONFIRMED: (None, A, A, R, E),
    K.GRANTED: (A, A, A, A, A),
    K.REVOKED: (R, R, R, R, R),
    K.RESTORED: (A, A, A, A, A),
    K.RECONFIRMATION_REQUESTED: (None, P, A, R, E),
    K.RECONFIRMED: (None, P, A, R, E),
    K.EXPIRED: (None, E, A, R, E),
}
FOLD_CASES = [
    pytest.param(START_STATES[name], kind, after[index], id=f"{name}-{kind.value}")
    for kind, after in FOLD_TABLE.items()
    for index, name in enumerate(START_STATES)
]


@pytest.mark.parametrize(("before", "kind", "expected"), FOLD_CASES)
def test_fold_each_event_from_each_status(
    before: ConsentState | None, kind: ConsentEventKind, expected: ConsentStatus | None
) -> None:
    after = fold(before, fact(kind, seq=7, expires_at=NOW + DAY))
    if expected is None:
        assert after is None
        return
    assert after is not None
    assert after.status is expected
    assert after.last_event_seq == 7
    assert (after.recipient, after.brand_id, after.program_id) == (
        "+14255550123",
        "brd_a",
        "prg_a",
    )


@pytest.mark.parametrize(
    ("before", "kind"),
    [
        (ACTIVE_STATE, K.CONFIRMED),
        (ACTIVE_STATE, K.EXPIRED),
        (REVOKED_STATE, K.CONFIRMED),
        (REVOKED_STATE, K.RECONFIRMED),
        (REVOKED_STATE, K.EXPIRED),
        (EXPIRED_STATE, K.CONFIRMED),
        (PENDING_STATE, K.RECONFIRMED),
    ],
)
def test_an_event_with_nothing_to_act_on_changes_only_the_sequence(
    before: ConsentState, kind: ConsentEventKind
) -> None:
    assert fold(before, fact(kind, seq=9, level=WRITTEN)) == replace(before, last_event_seq=9)


def test_a_grant_sets_its_level_and_time_and_clears_the_rest() -> None:
    revoked = state(
        R,
        IMPLIED,
        granted_at=NOW - 9 * DAY,
        reconfirmation_requested_at=NOW - 5 * DAY,
        revoked_at=NOW - 2 * DAY,
    )
    for kind in (K.GRANTED, K.RESTORED):
        after = fold(revoked, fact(kind, at=NOW, level=WRITTEN))
        assert after == replace(
            revoked,
            status=A,
            level=WRITTEN,
            granted_at=NOW,
            reconfirmation_requested_at=None,
            revoked_at=None,
            last_event_seq=2,
        )


def test_a_fact_without_a_level_keeps_the_level_it_finds() -> None:
    after = fold(REVOKED_STATE, fact(K.RESTORED))
    assert after is not None and after.level is EXPRESS
    written = replace(REVOKED_STATE, level=WRITTEN)
    after = fold(written, fact(K.RESTORED))
    assert after is not None and after.level is WRITTEN
    first = fold(None, fact(K.GRANTED))
    assert first is not None and first.level is EXPRESS


def test_a_request_then_a_confirmation_activates_at_the_confirmation() -> None:
    requested = fold(None, fact(K.REQUESTED, 1, at=NOW, level=WRITTEN, expires_at=NOW + DAY))
    assert requested is not None
    assert (requested.status, requested.requested_at, requested.expires_at) == (
        P,
        NOW,
        NOW + DAY,
    )
    assert requested.granted_at is None
    confirmed = fold(requested, fact(K.CONFIRMED, 2, at=NOW + timedelta(hours=1)))
    assert confirmed is not None
    assert (confirmed.status, confirmed.level, confirmed.granted_at, confirmed.expires_at) == (
        A,
        WRITTEN,
        NOW + timedelta(hours=1),
        None,
    )


def test_reconfirmation_restarts_the_staleness_clock() -> None:
    active = ACTIVE_STATE
    asked = fold(active, fact(K.RECONFIRMATION_REQUESTED, 2, at=NOW))
    assert asked is not None and asked.reconfirmation_requested_at == NOW
    assert asked.granted_at == active.granted_at
    later = NOW + timedelta(hours=3)
    reconfirmed = fold(asked, fact(K.RECONFIRMED, 3, at=later))
    assert reconfirmed is not None
    assert (
        reconfirmed.status,
        reconfirmed.granted_at,
        reconfirmed.reconfirmation_requested_at,
    ) == (
        A,
        later,
        None,
    )


def test_a_revocation_of_nothing_is_recorded_as_revoked() -> None:
    revoked = fold(None, fact(K.REVOKED, 4, at=NOW))
    assert revoked is not None
    assert (revoked.status, revoked.revoked_at, revoked.granted_at, revoked.last_event_seq) == (
        R,
        NOW,
        None,
        4,
    )
    assert [p.rule_id for p in evaluate(revoked, policy(), "informational", NOW)] == [
        "CONSENT-MISSING"
    ]


def test_a_revocation_keeps_when_the_consent_was_granted() -> None:
    revoked = fold(ACTIVE_STATE, fact(K.REVOKED, at=NOW))
    assert revoked is not None
    assert (revoked.granted_at, revoked.revoked_at) == (NOW - DAY, NOW)


# -- double opt-in -------------------------------------------------------------------------------


@pytest.mark.parametrize("use_case", HIGH_RISK_USE_CASES)
def test_high_risk_use_cases_always_need_double_opt_in(use_case: str) -> None:
    assert needs_double_opt_in(use_case, program_requires=False)
    assert needs_double_opt_in(use_case, program_requires=True)


@pytest.mark.parametrize(
    ("use_case", "program_requires", "expected"),
    [
        (None, False, False),
        ("account_notifications", False, False),
        ("customer_care", False, False),
        ("Sweepstakes", False, False),  # identifiers are exact: the service checks their form
        (None, True, True),
        ("account_notifications", True, True),
    ],
)
def test_other_programs_need_double_opt_in_only_when_they_ask(
    use_case: str | None, program_requires: bool, expected: bool
) -> None:
    assert needs_double_opt_in(use_case, program_requires) is expected


def test_the_high_risk_list_is_the_documented_one() -> None:
    assert consent_rules().double_opt_in_use_cases == frozenset(HIGH_RISK_USE_CASES)


# -- the rule data -------------------------------------------------------------------------------

RULE_DATA: dict[str, Any] = tomllib.loads(
    resources.files("consentry.rules").joinpath("consent.toml").read_text("utf-8")
)
SECTIONS = [name for name, value in RULE_DATA.items() if isinstance(value, dict)]


def test_the_rule_data_has_the_expected_sections() -> None:
    assert set(SECTIONS) == {
        "levels",
        "category_levels",
        "implied",
        "double_opt_in",
        "reconfirmation",
        "retention",
        "revocation",
    }


@pytest.mark.parametrize("section", SECTIONS)
def test_every_section_of_the_rule_data_cites_its_source(section: str) -> None:
    citation = RULE_DATA[section].get("citation")
    assert isinstance(citation, str) and len(citation.strip()) > 20, section
    assert consent_rules().citation(section) == citation


def test_every_other_citation_field_is_filled_in() -> None:
    for section in SECTIONS:
        for key, value in RULE_DATA[section].items():
            if key.endswith("citation"):
                assert isinstance(value, str) and value.strip(), (section, key)


def test_the_rule_data_matches_the_code() -> None:
    rules = consent_rules()
    assert RULE_DATA["levels"]["order"] == [level.value for level in ConsentLevel]
    assert set(rules.category_levels) == set(PROGRAM_CATEGORIES)
    assert rules.category_levels["marketing"] is WRITTEN
    assert rules.implied_never_covers == {"marketing"}
    assert rules.pending_expiry_hours > 0
    assert 0 < rules.first_message_within_days < rules.idle_days
    assert rules.retention_default_years >= rules.retention_minimum_years >= 4


# -- properties ----------------------------------------------------------------------------------

times = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
levels = st.sampled_from(list(ConsentLevel))
kinds = st.sampled_from(list(ConsentEventKind))
fact_specs = st.lists(
    st.tuples(
        kinds,
        st.none() | levels,
        st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    ),
    max_size=25,
)
GETS_BACK_TO_ACTIVE = {K.GRANTED, K.RESTORED}


def facts_of(
    specs: list[tuple[ConsentEventKind, ConsentLevel | None, timedelta | None, timedelta]],
) -> list[ConsentFact]:
    facts, at = [], NOW
    for seq, (kind, level, expiry, gap) in enumerate(specs, start=1):
        at += gap
        facts.append(
            fact(
                kind,
                seq,
                at=at,
                level=level,
                expires_at=at + expiry if expiry is not None else None,
            )
        )
    return facts


def fold_all(start: ConsentState | None, facts: list[ConsentFact]) -> list[ConsentState | None]:
    """The state after each fact (the caller keeps the old state when fold returns None, as the
    store does)."""
    states, current = [], start
    for one in facts:
        current = fold(current, one) or current
        states.append(current)
    return states


@given(fact_specs)
def test_folding_is_deterministic_and_resumable(
    specs: list[tuple[ConsentEventKind, ConsentLevel | None, timedelta | None, timedelta]],
) -> None:
    facts = facts_of(specs)
    first = fold_all(None, facts)
    assert fold_all(None, facts) == first
    # Folding the tail from the state after the head gives the same end state: what the live
    # store does after each write, and what a rebuild does in one go.
    for cut in range(len(facts)):
        head = first[cut - 1] if cut else None
        assert fold_all(head, facts[cut:])[-1:] == first[-1:]


@given(fact_specs)
def test_only_a_grant_restore_or_confirmation_of_a_pending_request_makes_a_consent_active(
    specs: list[tuple[ConsentEventKind, ConsentLevel | None, timedelta | None, timedelta]],
) -> None:
    facts = facts_of(specs)
    states = fold_all(None, facts)
    before: list[ConsentState | None] = [None, *states][: len(states)]
    for one, previous, after in zip(facts, before, states, strict=True):
        was_active = previous is not None and previous.status is A
        if after is not None and after.status is A and not was_active:
            assert one.kind in GETS_BACK_TO_ACTIVE or (
                one.kind is K.CONFIRMED and previous is not None and previous.status is P
            ), (one, previous)
        if after is not None:
            assert after.last_event_seq == one.seq or after is previous
    # After the last revocation, the consent is active only if something legitimately revived it.
    revocations = [i for i, one in enumerate(facts) if one.kind is K.REVOKED]
    if revocations:
        last = revocations[-1]
        revived = any(
            facts[i].kind in GETS_BACK_TO_ACTIVE
            or (facts[i].kind is K.CONFIRMED and (s := before[i]) is not None and s.status is P)
            for i in range(last + 1, len(facts))
        )
        final = states[-1]
        assert final is not None
        if not revived:
            assert final.status is not A


non_active_states = st.builds(
    ConsentState,
    recipient=st.just("+14255550123"),
    brand_id=st.just("brd_a"),
    program_id=st.just("prg_a"),
    status=st.sampled_from([P, R, E]),
    level=levels,
    granted_at=st.none() | times,
    requested_at=st.none() | times,
    expires_at=st.none() | times,
    reconfirmation_requested_at=st.none() | times,
    revoked_at=st.none() | times,
    last_event_seq=st.integers(min_value=1, max_value=10**9),
)
policies = st.builds(
    ConsentPolicy,
    required_level=levels,
    double_opt_in=st.booleans(),
    pending_expiry=st.timedeltas(min_value=timedelta(hours=1), max_value=timedelta(days=30)),
    first_message_within=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    idle_limit=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)),
)
categories = st.sampled_from([*PROGRAM_CATEGORIES, "unknown"])


@given(
    st.none() | non_active_states,
    policies,
    categories,
    times,
    st.none() | times,
    st.booleans(),
)
def test_a_consent_that_is_not_active_never_allows_a_message(
    consent: ConsentState | None,
    rules: ConsentPolicy,
    category: str,
    now: datetime,
    last_sent_at: datetime | None,
    in_conversation: bool,
) -> None:
    problems = evaluate(
        consent, rules, category, now, last_sent_at=last_sent_at, in_conversation=in_conversation
    )
    assert len(problems) == 1
    assert problems[0].rule_id in {"CONSENT-MISSING", "CONSENT-PENDING"}
    assert problems[0].citation


@given(
    levels,
    st.none() | times,
    policies,
    categories,
    times,
    st.none() | times,
    st.booleans(),
)
def test_an_active_consent_only_ever_fails_on_level_scope_or_staleness(
    level: ConsentLevel,
    granted_at: datetime | None,
    rules: ConsentPolicy,
    category: str,
    now: datetime,
    last_sent_at: datetime | None,
    in_conversation: bool,
) -> None:
    active = state(A, level, granted_at=granted_at)
    problems = evaluate(
        active, rules, category, now, last_sent_at=last_sent_at, in_conversation=in_conversation
    )
    ids = [problem.rule_id for problem in problems]
    assert set(ids) <= RULE_IDS - {"CONSENT-MISSING", "CONSENT-PENDING"}
    assert len(ids) == len(set(ids))
    if category != "marketing":
        assert "CONSENT-STALE" not in ids
    # The strongest level never fails on level; implied never reaches marketing.
    if level is WRITTEN:
        assert "CONSENT-LEVEL" not in ids and "CONSENT-IMPLIED-SCOPE" not in ids
    if category == "marketing" and level is IMPLIED:
        assert "CONSENT-IMPLIED-SCOPE" in ids
