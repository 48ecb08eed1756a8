"""The send gate, from the outside: a tenant's state and a message in, a decision out.

Every case starts from one message that may be sent (a consented New York recipient, a verified
sender of the program, a first message that names the brand and says how to opt out, on a
Tuesday afternoon) and changes one thing. Each rule has its own table with allowed and refused
cases; the properties at the end hold whatever the inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consentry.domain import timing
from consentry.domain.catalogue import catalogue, catalogue_markdown
from consentry.domain.consent import ConsentLevel, ConsentState, ConsentStatus
from consentry.domain.history import SendHistory, SendRecord, fingerprint
from consentry.domain.model import Brand, Program, Scope, ScopeKind, Sender, SenderKind
from consentry.domain.policy import (
    Action,
    Decision,
    GateState,
    OutgoingMessage,
    Severity,
    check_send,
)

NOW = datetime(2026, 6, 16, 17, 0, tzinfo=UTC)  # Tuesday: 13:00 in New York, 10:00 in Seattle
DAY = timedelta(days=1)
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
NY = "+12125550123"
SEATTLE = "+12065550199"
SENDER = "+12065550100"
OTHER_SENDER = "+12065550101"
BODY = "Demo Coffee: 2-for-1 lattes today only. Reply STOP to opt out."

BRAND = Brand("brd_1", "t", "demo-coffee", "Demo Coffee", "help@demo.example", None, CREATED)
PROGRAM = Program(
    id="prg_1",
    tenant_id="t",
    brand_id="brd_1",
    slug="coffee-club",
    name="Coffee Club",
    category="marketing",
    opt_out_scope=ScopeKind.PROGRAM,
    help_reply=None,
    opt_out_reply=None,
    opt_in_reply=None,
    created_at=CREATED,
    frequency="Up to 4 msgs/month",
    consent_level="express_written",
)
ALERTS = replace(
    PROGRAM,
    id="prg_2",
    slug="alerts",
    name="Alerts",
    category="transactional",
    consent_level="implied",
    frequency=None,
)


def _sender(address: str = SENDER, **changes: object) -> Sender:
    sender = Sender(
        "snd_" + address[-3:], "t", address, SenderKind.LONG_CODE, True, ("prg_1",), CREATED
    )
    return replace(sender, **changes)  # type: ignore[arg-type]


def _consent(recipient: str = NY, program: Program = PROGRAM, **changes: object) -> ConsentState:
    state = ConsentState(
        recipient=recipient,
        brand_id=program.brand_id,
        program_id=program.id,
        status=ConsentStatus.ACTIVE,
        level=ConsentLevel.EXPRESS_WRITTEN,
        granted_at=NOW - DAY,
        requested_at=None,
        expires_at=None,
        reconfirmation_requested_at=None,
        revoked_at=None,
        last_event_seq=1,
    )
    return replace(state, **changes)  # type: ignore[arg-type]


@dataclass
class World:
    """A tenant's state, built by the cases below."""

    programs: dict[str, Program] = field(
        default_factory=lambda: {p.id: p for p in (PROGRAM, ALERTS)}
    )
    senders: dict[str, Sender] = field(default_factory=lambda: {SENDER: _sender()})
    optouts: dict[str, set[Scope]] = field(default_factory=dict)
    consents: dict[tuple[str, str], ConsentState] = field(
        default_factory=lambda: {
            (r, p.id): _consent(r, p) for r in (NY, SEATTLE) for p in (PROGRAM, ALERTS)
        }
    )
    sends: list[SendRecord] = field(default_factory=list)
    inbound: list[tuple[str, datetime]] = field(default_factory=list)

    def sent(self, at: datetime, body: str = BODY, **changes: object) -> World:
        record = SendRecord(
            program_id="prg_1",
            sender=SENDER,
            recipient=NY,
            category="marketing",
            sent_at=at,
            fingerprint=fingerprint(body),
            opt_out_instructions="STOP" in body,
        )
        self.sends.append(replace(record, **changes))  # type: ignore[arg-type]
        return self

    def state(self) -> GateState:
        history = SendHistory(timing.limited_categories())
        for send in self.sends:
            history.add(send)
        for recipient, at in self.inbound:
            history.add_inbound(recipient, at)
        return GateState(
            programs=self.programs,
            brands={BRAND.id: BRAND},
            senders=self.senders,
            optouts=self.optouts,
            consents=self.consents,
            history=history,
        )


def message(**changes: object) -> OutgoingMessage:
    base = OutgoingMessage(SENDER, NY, "prg_1", BODY, NOW, "marketing")
    return replace(base, **changes)  # type: ignore[arg-type]


def decide(world: World | None = None, **changes: object) -> Decision:
    return check_send(message(**changes), (world or World()).state())


def ids(decision: Decision, severity: Severity | None = None) -> set[str]:
    return {f.rule_id for f in decision.findings if severity is None or f.severity is severity}


Case = tuple[str, Callable[[], Decision], bool]


def test_the_baseline_message_may_be_sent() -> None:
    decision = decide()
    assert decision.allowed and decision.action is Action.SEND and decision.defer_until is None
    assert ids(decision) == {"ENCODING-SEGMENTS"}


# --- opt-out ---------------------------------------------------------------------------------


def _opted_out(*scopes: Scope, recipient: str = NY) -> World:
    world = World()
    world.optouts[recipient] = set(scopes)
    return world


OPTOUT_CASES: list[Case] = [
    ("tenant-wide opt-out", lambda: decide(_opted_out(Scope(ScopeKind.TENANT))), True),
    ("brand opt-out", lambda: decide(_opted_out(Scope(ScopeKind.BRAND, "brd_1"))), True),
    ("program opt-out", lambda: decide(_opted_out(Scope(ScopeKind.PROGRAM, "prg_1"))), True),
    ("this sender opted out", lambda: decide(_opted_out(Scope(ScopeKind.SENDER, SENDER))), True),
    (
        "another program's opt-out",
        lambda: decide(_opted_out(Scope(ScopeKind.PROGRAM, "prg_2"))),
        False,
    ),
    ("another brand's opt-out", lambda: decide(_opted_out(Scope(ScopeKind.BRAND, "brd_9"))), False),
    (
        "another sender's opt-out",
        lambda: decide(_opted_out(Scope(ScopeKind.SENDER, OTHER_SENDER))),
        False,
    ),
    (
        "someone else opted out",
        lambda: decide(_opted_out(Scope(ScopeKind.TENANT), recipient=SEATTLE)),
        False,
    ),
]


@pytest.mark.parametrize(("name", "run", "refused"), OPTOUT_CASES, ids=[c[0] for c in OPTOUT_CASES])
def test_optout_active(name: str, run: Callable[[], Decision], refused: bool) -> None:
    decision = run()
    assert ("OPTOUT-ACTIVE" in ids(decision, Severity.BLOCK)) is refused
    assert decision.allowed is not refused
    if refused:
        assert decision.action is Action.BLOCK


# --- consent ---------------------------------------------------------------------------------


def _consent_world(program: Program = PROGRAM, **changes: object) -> World:
    world = World()
    world.senders = {SENDER: _sender(program_ids=("prg_1", "prg_2"))}
    if changes.pop("none", False):
        del world.consents[(NY, program.id)]
    else:
        world.consents[(NY, program.id)] = _consent(program=program, **changes)
    return world


CONSENT_CASES: list[tuple[str, World, dict[str, object], str | None]] = [
    ("never consented", _consent_world(none=True), {}, "CONSENT-MISSING"),
    (
        "revoked",
        _consent_world(status=ConsentStatus.REVOKED, revoked_at=NOW - DAY),
        {},
        "CONSENT-MISSING",
    ),
    ("expired request", _consent_world(status=ConsentStatus.EXPIRED), {}, "CONSENT-MISSING"),
    (
        "double opt-in pending",
        _consent_world(status=ConsentStatus.PENDING, requested_at=NOW - DAY),
        {},
        "CONSENT-PENDING",
    ),
    ("express only, marketing", _consent_world(level=ConsentLevel.EXPRESS), {}, "CONSENT-LEVEL"),
    ("implied, marketing", _consent_world(level=ConsentLevel.IMPLIED), {}, "CONSENT-IMPLIED-SCOPE"),
    (
        "implied, conversational outside a conversation",
        _consent_world(level=ConsentLevel.IMPLIED),
        {"category": "conversational"},
        "CONSENT-IMPLIED-SCOPE",
    ),
    (
        "granted 60 days ago, never messaged",
        _consent_world(granted_at=NOW - 60 * DAY),
        {},
        "CONSENT-STALE",
    ),
    (
        "consent for another program only",
        _consent_world(none=True),
        {"program_id": "prg_1"},
        "CONSENT-MISSING",
    ),
    ("express written, marketing", _consent_world(), {}, None),
    (
        "express, informational, program asks for written",
        _consent_world(level=ConsentLevel.EXPRESS),
        {"category": "informational"},
        "CONSENT-LEVEL",
    ),
    (
        "express, informational, program asks for less",
        _consent_world(ALERTS, level=ConsentLevel.EXPRESS),
        {"category": "informational", "program_id": "prg_2"},
        None,
    ),
    (
        "implied, informational",
        _consent_world(ALERTS, level=ConsentLevel.IMPLIED),
        {"category": "informational", "program_id": "prg_2"},
        "CONSENT-LEVEL",
    ),
    (
        "implied, transactional",
        _consent_world(ALERTS, level=ConsentLevel.IMPLIED),
        {"category": "transactional", "program_id": "prg_2"},
        None,
    ),
    ("granted 20 days ago", _consent_world(granted_at=NOW - 20 * DAY), {}, None),
]


@pytest.mark.parametrize(
    ("name", "world", "changes", "rule"), CONSENT_CASES, ids=[c[0] for c in CONSENT_CASES]
)
def test_consent_rules(
    name: str, world: World, changes: dict[str, object], rule: str | None
) -> None:
    decision = decide(world, **changes)
    consent_ids = {i for i in ids(decision, Severity.BLOCK) if i.startswith("CONSENT-")}
    assert consent_ids == ({rule} if rule else set())
    assert decision.allowed is (rule is None)


def test_implied_consent_covers_a_reply_inside_the_conversation() -> None:
    world = _consent_world(level=ConsentLevel.IMPLIED)
    world.inbound.append((NY, NOW - timedelta(hours=2)))
    world.sent(NOW - 10 * DAY)  # not the first message
    assert "CONSENT-IMPLIED-SCOPE" not in ids(decide(world, category="conversational"))
    late = _consent_world(level=ConsentLevel.IMPLIED)
    late.inbound.append((NY, NOW - timedelta(hours=30)))
    assert "CONSENT-IMPLIED-SCOPE" in ids(decide(late, category="conversational"))


# --- sender ----------------------------------------------------------------------------------


def _senders(**changes: object) -> World:
    world = World()
    world.senders = {SENDER: _sender(**changes)}
    return world


SENDER_CASES: list[tuple[str, World, dict[str, object], str | None]] = [
    ("unknown sender", World(), {"sender": "+12065550177"}, "SENDER-UNREGISTERED"),
    ("unverified sender", _senders(verified=False), {}, "SENDER-UNREGISTERED"),
    ("alphanumeric not registered", World(), {"sender": "DEMOCOFFEE"}, "SENDER-UNREGISTERED"),
    ("sender of another program", _senders(program_ids=("prg_2",)), {}, "SENDER-PROGRAM"),
    ("sender of no program", _senders(program_ids=()), {}, "SENDER-PROGRAM"),
    ("verified sender of the program", World(), {}, None),
    ("sender serving two programs", _senders(program_ids=("prg_2", "prg_1")), {}, None),
    (
        "verified short code of the program",
        World(senders={"12345": _sender("12345")}),
        {"sender": "12345"},
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "world", "changes", "rule"), SENDER_CASES, ids=[c[0] for c in SENDER_CASES]
)
def test_sender_rules(
    name: str, world: World, changes: dict[str, object], rule: str | None
) -> None:
    decision = decide(world, **changes)
    assert {i for i in ids(decision) if i.startswith("SENDER-")} == ({rule} if rule else set())
    assert decision.allowed is (rule is None)


def _spread(count: int, minutes_ago: int = 10) -> World:
    world = World()
    for n in range(count):
        address = f"+1206555{1000 + n}"
        world.sent(
            NOW - timedelta(minutes=minutes_ago), sender=address, recipient=f"+1212555{2000 + n}"
        )
    return world


@pytest.mark.parametrize(
    ("name", "world", "severity"),
    [
        ("one other sender", _spread(1), None),
        ("three other senders", _spread(3), None),
        ("four others: five with this one", _spread(4), Severity.WARN),
        ("eight others", _spread(8), Severity.WARN),
        ("nine others: ten with this one", _spread(9), Severity.BLOCK),
        ("twenty others", _spread(20), Severity.BLOCK),
        ("twenty others, two hours ago", _spread(20, minutes_ago=120), None),
    ],
)
def test_snowshoe(name: str, world: World, severity: Severity | None) -> None:
    found = [f for f in decide(world).findings if f.rule_id == "SENDER-SNOWSHOE"]
    assert [f.severity for f in found] == ([severity] if severity else [])


def test_snowshoe_sees_through_changed_digits_and_links() -> None:
    world = World()
    for n in range(12):
        world.sent(
            NOW - timedelta(minutes=5),
            body=f"Demo Coffee: {n}0% off with code X{n}. https://ex.am/{n} Reply STOP to opt out.",
            sender=f"+1206555{1000 + n}",
        )
    decision = decide(
        world, body="Demo Coffee: 99% off with code Y7. https://ex.am/q Reply STOP to opt out."
    )
    assert "SENDER-SNOWSHOE" in ids(decision, Severity.BLOCK)


# --- content ---------------------------------------------------------------------------------

CONTENT_CASES: list[tuple[str, str, dict[str, object], str | None, Severity | None]] = [
    (
        "cannabis",
        "Demo Coffee: CBD lattes are here! Reply STOP to opt out.",
        {},
        "CONTENT-PROHIBITED",
        Severity.BLOCK,
    ),
    (
        "pills without prescription",
        "Demo Coffee: buy oxycodone, no prescription needed. Reply STOP to opt out.",
        {},
        "CONTENT-PROHIBITED",
        Severity.BLOCK,
    ),
    (
        "phishing",
        "Demo Coffee: your account has been suspended, verify your account now. Reply STOP to opt out.",
        {},
        "CONTENT-PROHIBITED",
        Severity.BLOCK,
    ),
    ("plain coffee", BODY, {}, None, None),
    (
        "begun is not gun",
        "Demo Coffee: the season has begun. Reply STOP to opt out.",
        {},
        None,
        None,
    ),
    (
        "vodka outside an age-gated program",
        "Demo Coffee: vodka tasting tonight. Reply STOP to opt out.",
        {},
        "CONTENT-AGE-GATED",
        Severity.BLOCK,
    ),
    (
        "casino outside an age-gated program",
        "Demo Coffee: casino night! Reply STOP to opt out.",
        {},
        "CONTENT-AGE-GATED",
        Severity.BLOCK,
    ),
    (
        "spaced-out c.b.d",
        "Demo Coffee: c.b.d lattes! Reply STOP to opt out.",
        {},
        "CONTENT-EVASION",
        Severity.BLOCK,
    ),
    (
        "l33t w33d",
        "Demo Coffee: w33d brownies! Reply STOP to opt out.",
        {},
        "CONTENT-EVASION",
        Severity.BLOCK,
    ),
    (
        "shortener",
        "Demo Coffee: menu at https://bit.ly/3xYz. Reply STOP to opt out.",
        {},
        "CONTENT-SHORTENER",
        Severity.WARN,
    ),
    (
        "own domain link",
        "Demo Coffee: menu at https://demo.example/menu. Reply STOP to opt out.",
        {},
        None,
        None,
    ),
    (
        "promotion in a transactional message",
        "Demo Coffee: order 123 shipped. Use code SAVE20 for 20% off! Reply STOP to opt out.",
        {"category": "transactional"},
        "CONTENT-PROMO-IN-TRANSACTIONAL",
        Severity.WARN,
    ),
    (
        "receipt in a transactional message",
        "Demo Coffee: order 123 shipped. Reply STOP to opt out.",
        {"category": "transactional"},
        None,
        None,
    ),
    (
        "THC gummies",
        "Demo Coffee: THC gummies in store. Reply STOP to opt out.",
        {},
        "CONTENT-PROHIBITED",
        Severity.BLOCK,
    ),
    (
        "cigarettes",
        "Demo Coffee: cigarettes 2 for 1. Reply STOP to opt out.",
        {},
        "CONTENT-AGE-GATED",
        Severity.BLOCK,
    ),
    (
        "handgun",
        "Demo Coffee: handgun raffle tonight. Reply STOP to opt out.",
        {},
        "CONTENT-AGE-GATED",
        Severity.BLOCK,
    ),
    (
        "wine pairing",
        "Demo Coffee: wine pairing Friday. Reply STOP to opt out.",
        {},
        "CONTENT-AGE-GATED",
        Severity.BLOCK,
    ),
    (
        "fullwidth CBD",
        "Demo Coffee: ＣＢＤ lattes! Reply STOP to opt out.",
        {},
        "CONTENT-EVASION",
        Severity.BLOCK,
    ),
    (
        "Cyrillic look-alike cbd",
        "Demo Coffee: сbd lattes! Reply STOP to opt out.",
        {},
        "CONTENT-EVASION",
        Severity.BLOCK,
    ),
    (
        "misspelt marijuana",
        "Demo Coffee: marijuanna brownies. Reply STOP to opt out.",
        {},
        "CONTENT-EVASION",
        Severity.BLOCK,
    ),
    (
        "tinyurl",
        "Demo Coffee: menu at tinyurl.com/abc12. Reply STOP to opt out.",
        {},
        "CONTENT-SHORTENER",
        Severity.WARN,
    ),
    (
        "t.co",
        "Demo Coffee: menu at https://t.co/xYz. Reply STOP to opt out.",
        {},
        "CONTENT-SHORTENER",
        Severity.WARN,
    ),
    (
        "is.gd",
        "Demo Coffee: menu at http://is.gd/abc. Reply STOP to opt out.",
        {},
        "CONTENT-SHORTENER",
        Severity.WARN,
    ),
    (
        "buy now in a transactional message",
        "Demo Coffee: receipt 42. Buy now, limited time offer! Reply STOP to opt out.",
        {"category": "transactional"},
        "CONTENT-PROMO-IN-TRANSACTIONAL",
        Severity.WARN,
    ),
    (
        "discount in a transactional message",
        "Demo Coffee: receipt 42. Get a discount on your next order. Reply STOP to opt out.",
        {"category": "transactional"},
        "CONTENT-PROMO-IN-TRANSACTIONAL",
        Severity.WARN,
    ),
    (
        "promotion in a marketing message is expected",
        "Demo Coffee: buy now, 20% off! Reply STOP to opt out.",
        {},
        None,
        None,
    ),
    (
        "sale wording in an OTP",
        "Demo Coffee: your code is 123456. Sale ends soon! Reply STOP to opt out.",
        {"category": "transactional"},
        "CONTENT-PROMO-IN-TRANSACTIONAL",
        Severity.WARN,
    ),
]


@pytest.mark.parametrize(
    ("name", "body", "changes", "rule", "severity"),
    CONTENT_CASES,
    ids=[c[0] for c in CONTENT_CASES],
)
def test_content_rules(
    name: str, body: str, changes: dict[str, object], rule: str | None, severity: Severity | None
) -> None:
    decision = decide(body=body, **changes)
    content = [f for f in decision.findings if f.rule_id.startswith("CONTENT-")]
    if rule is None:
        assert content == []
    else:
        assert rule in {f.rule_id for f in content}
        assert {f.severity for f in content if f.rule_id == rule} == {severity}
        assert decision.allowed is (severity is not Severity.BLOCK)


def test_age_gated_program_may_carry_age_gated_content_but_not_evasion() -> None:
    world = World()
    world.programs["prg_1"] = replace(PROGRAM, age_gated=True)
    assert decide(world, body="Demo Coffee: vodka tasting tonight. Reply STOP to opt out.").allowed
    hidden = decide(world, body="Demo Coffee: v0dk4 tasting tonight. Reply STOP to opt out.")
    assert "CONTENT-EVASION" in ids(hidden, Severity.BLOCK)


def test_a_program_may_make_shorteners_block() -> None:
    world = World()
    world.programs["prg_1"] = replace(PROGRAM, block_shorteners=True)
    decision = decide(
        world, body="Demo Coffee: menu at https://bit.ly/3xYz. Reply STOP to opt out."
    )
    assert "CONTENT-SHORTENER" in ids(decision, Severity.BLOCK) and not decision.allowed


# --- disclosure ------------------------------------------------------------------------------

DISCLOSURE_CASES: list[tuple[str, World, str, str | None]] = [
    (
        "first message without STOP",
        World(),
        "Demo Coffee: 2-for-1 lattes today.",
        "DISCLOSURE-FIRST-MESSAGE",
    ),
    (
        "first message without brand",
        World(),
        "2-for-1 lattes today. Reply STOP to opt out.",
        "DISCLOSURE-FIRST-MESSAGE",
    ),
    ("first message with neither", World(), "2-for-1 lattes today.", "DISCLOSURE-FIRST-MESSAGE"),
    ("first message with both", World(), BODY, None),
    ("first message, slug as brand", World(), "demo coffee: lattes. Reply STOP to opt out.", None),
    (
        "later message without brand",
        World().sent(NOW - DAY),
        "2-for-1 lattes today. Reply STOP to opt out.",
        "DISCLOSURE-BRAND-ID",
    ),
    (
        "later message, brand in capitals",
        World().sent(NOW - DAY),
        "DEMO COFFEE: 2-for-1 lattes today. Reply STOP to opt out.",
        None,
    ),
    (
        "later message naming another brand",
        World().sent(NOW - DAY),
        "Other Beans: 2-for-1 lattes today. Reply STOP to opt out.",
        "DISCLOSURE-BRAND-ID",
    ),
    (
        "later message without STOP, reminded yesterday",
        World().sent(NOW - DAY),
        "Demo Coffee: lattes today.",
        None,
    ),
    (
        "later message without STOP, last reminder 40 days ago",
        World().sent(NOW - 40 * DAY),
        "Demo Coffee: lattes today.",
        "DISCLOSURE-REMINDER-DUE",
    ),
    (
        "later message with STOP, last reminder 40 days ago",
        World().sent(NOW - 40 * DAY),
        BODY,
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "world", "body", "rule"), DISCLOSURE_CASES, ids=[c[0] for c in DISCLOSURE_CASES]
)
def test_disclosure_rules(name: str, world: World, body: str, rule: str | None) -> None:
    decision = decide(world, body=body)
    assert {i for i in ids(decision) if i.startswith("DISCLOSURE-")} == ({rule} if rule else set())
    assert decision.allowed is (rule != "DISCLOSURE-FIRST-MESSAGE")


def test_reminder_finding_names_its_due_date() -> None:
    decision = decide(World().sent(NOW - 40 * DAY), body="Demo Coffee: lattes today.")
    [reminder] = [f for f in decision.findings if f.rule_id == "DISCLOSURE-REMINDER-DUE"]
    assert reminder.severity is Severity.INFO
    assert reminder.details["due"] == (NOW - 10 * DAY).isoformat()


# --- timing ----------------------------------------------------------------------------------

MIAMI = "+13055550123"


def _local(zone: str, hour: int, minute: int = 0, day: int = 16) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(2026, 6, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _with(recipient: str) -> World:
    world = World()
    world.consents[(recipient, "prg_1")] = _consent(recipient)
    return world


TIMING_CASES: list[tuple[str, World, dict[str, object], str | None]] = [
    ("New York 03:00", World(), {"at": _local("America/New_York", 3)}, "TIME-QUIET-HOURS"),
    ("New York 21:30", World(), {"at": _local("America/New_York", 21, 30)}, "TIME-QUIET-HOURS"),
    ("New York 07:59", World(), {"at": _local("America/New_York", 7, 59)}, "TIME-QUIET-HOURS"),
    (
        "Miami 20:30",
        _with(MIAMI),
        {"at": _local("America/New_York", 20, 30), "recipient": MIAMI},
        "TIME-QUIET-HOURS",
    ),
    ("New York 20:30", World(), {"at": _local("America/New_York", 20, 30)}, None),
    ("New York 08:00", World(), {"at": _local("America/New_York", 8)}, None),
    (
        "New York 03:00, transactional",
        _consent_world(ALERTS),
        {"at": _local("America/New_York", 3), "category": "transactional", "program_id": "prg_2"},
        None,
    ),
    ("Miami 10:00", _with(MIAMI), {"at": _local("America/New_York", 10), "recipient": MIAMI}, None),
]


@pytest.mark.parametrize(
    ("name", "world", "changes", "rule"), TIMING_CASES, ids=[c[0] for c in TIMING_CASES]
)
def test_quiet_hours(name: str, world: World, changes: dict[str, object], rule: str | None) -> None:
    decision = decide(world, **changes)
    at = changes["at"]
    assert isinstance(at, datetime)
    assert {i for i in ids(decision) if i.startswith("TIME-")} == ({rule} if rule else set())
    if rule:
        assert decision.action is Action.DEFER and not decision.allowed
        assert decision.defer_until is not None and decision.defer_until > at
    else:
        assert decision.allowed


def _miami_sent(count: int, hours_ago: float) -> World:
    world = _with(MIAMI)
    for n in range(count):
        world.sent(
            NOW - timedelta(hours=hours_ago) + timedelta(minutes=n),
            recipient=MIAMI,
            program_id="prg_2" if n % 2 else "prg_1",
        )
    return world


@pytest.mark.parametrize(
    ("name", "world", "deferred"),
    [
        ("Florida, 3 in the last 24 h", _miami_sent(3, 5), True),
        ("Florida, 4 in the last 24 h", _miami_sent(4, 5), True),
        ("Florida, 3 sent 25 h ago", _miami_sent(3, 25), False),
        ("Florida, 2 in the last 24 h", _miami_sent(2, 5), False),
        ("Florida, none", _with(MIAMI), False),
    ],
)
def test_state_daily_limit(name: str, world: World, deferred: bool) -> None:
    decision = decide(world, recipient=MIAMI)
    assert ("TIME-STATE-LIMIT" in ids(decision, Severity.DEFER)) is deferred
    if deferred:
        assert decision.defer_until is not None and decision.defer_until > NOW
        assert timing.is_allowed(timing.locality(MIAMI), decision.defer_until, "marketing")


def _sent_n(count: int, days_ago: float, program: str = "prg_1") -> World:
    world = World()
    for n in range(count):
        world.sent(NOW - timedelta(days=days_ago) + timedelta(hours=n), program_id=program)
    return world


@pytest.mark.parametrize(
    ("name", "world", "changes", "deferred"),
    [
        ("4 this month, cap 4", _sent_n(4, 10), {}, True),
        ("5 this month, cap 4", _sent_n(5, 10), {}, True),
        ("3 this month, cap 4", _sent_n(3, 10), {}, False),
        ("4 sent 31 days ago", _sent_n(4, 31), {}, False),
        ("4 of another program", _sent_n(4, 10, "prg_2"), {}, False),
        (
            "4 this month, transactional message",
            _sent_n(4, 10),
            {"category": "transactional"},
            False,
        ),
    ],
)
def test_frequency_cap(name: str, world: World, changes: dict[str, object], deferred: bool) -> None:
    decision = decide(world, **changes)
    assert ("FREQ-CAP" in ids(decision, Severity.DEFER)) is deferred
    if deferred:
        # The oldest of the four in the window leaves it 30 days after it was sent.
        assert decision.defer_until is not None
        assert decision.defer_until >= NOW - 10 * DAY + 30 * DAY


# --- encoding --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "scheme", "segments"),
    [
        (BODY, "GSM-7", 1),
        ("Demo Coffee: " + "x" * 147 + " STOP", "GSM-7", 2),
        ("Demo Coffee: café ☕ Reply STOP to opt out", "UCS-2", 1),
        ("Demo Coffee: " + "é" * 130 + " Reply STOP", "GSM-7", 1),
        ("Demo Coffee: " + "é" * 140 + " Reply STOP", "GSM-7", 2),
        ("Demo Coffee: " + "☕" * 60 + " Reply STOP to opt out", "UCS-2", 2),
        ("Demo Coffee: " + "☕" * 130 + " Reply STOP to opt out", "UCS-2", 3),
    ],
)
def test_encoding_is_reported_as_info(body: str, scheme: str, segments: int) -> None:
    [info] = [f for f in decide(body=body).findings if f.rule_id == "ENCODING-SEGMENTS"]
    assert info.severity is Severity.INFO
    assert (info.details["encoding"], info.details["segments"]) == (scheme, segments)


# --- the catalogue ---------------------------------------------------------------------------


def test_every_finding_cites_a_catalogued_rule() -> None:
    rules = catalogue().rules
    world = _opted_out(Scope(ScopeKind.TENANT))
    world.senders = {}
    decision = decide(world, body="c.b.d https://bit.ly/x", at=_local("America/New_York", 3))
    assert len(decision.findings) >= 5
    for finding in decision.findings:
        assert finding.rule_id in rules
        assert finding.citation.strip()


def test_catalogue_page_lists_every_rule_with_its_source() -> None:
    page = catalogue_markdown()
    for rule in catalogue().rules.values():
        assert f"| {rule.id} | {rule.severity} |" in page
        assert rule.citation.replace("|", "\\|") in page


# --- properties ------------------------------------------------------------------------------

RECIPIENTS = [NY, SEATTLE, MIAMI, "+14055550123", "+18085550123", "+13125550123"]
BODIES = st.sampled_from(
    [BODY, "hi", "Demo Coffee: CBD!", "vodka", "Demo Coffee: bit.ly/x Reply STOP", "☕" * 80]
)
SCOPES = st.sampled_from(
    [
        Scope(ScopeKind.TENANT),
        Scope(ScopeKind.BRAND, "brd_1"),
        Scope(ScopeKind.PROGRAM, "prg_1"),
        Scope(ScopeKind.SENDER, SENDER),
    ]
)
MOMENTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2032, 12, 31), timezones=st.just(UTC)
)
CATEGORY = st.sampled_from(["marketing", "informational", "transactional", "conversational"])
LEVEL = st.sampled_from(list(ConsentLevel))


@st.composite
def worlds(draw: st.DrawFn) -> tuple[World, OutgoingMessage]:
    recipient = draw(st.sampled_from(RECIPIENTS))
    world = World()
    world.consents[(recipient, "prg_1")] = _consent(
        recipient, level=draw(LEVEL), granted_at=draw(MOMENTS)
    )
    at = draw(MOMENTS)
    for offset in draw(st.lists(st.integers(0, 60 * 24 * 40), max_size=8)):
        world.sent(at - timedelta(minutes=offset), recipient=recipient)
    msg = message(recipient=recipient, at=at, body=draw(BODIES), category=draw(CATEGORY))
    return world, msg


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), SCOPES)
def test_an_opted_out_recipient_is_never_allowed(
    case: tuple[World, OutgoingMessage], scope: Scope
) -> None:
    world, msg = case
    world.optouts[msg.recipient] = {scope}
    decision = check_send(msg, world.state())
    assert not decision.allowed and decision.action is Action.BLOCK
    assert "OPTOUT-ACTIVE" in ids(decision, Severity.BLOCK)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_marketing_without_consent_for_the_brand_is_never_allowed(
    case: tuple[World, OutgoingMessage],
) -> None:
    world, msg = case
    del world.consents[(msg.recipient, "prg_1")]
    # Consent to another brand's program does not count.
    other = replace(PROGRAM, id="prg_9", brand_id="brd_9", slug="other")
    world.programs["prg_9"] = other
    world.consents[(msg.recipient, "prg_9")] = _consent(msg.recipient, other)
    decision = check_send(replace(msg, category="marketing"), world.state())
    assert not decision.allowed
    assert "CONSENT-MISSING" in ids(decision, Severity.BLOCK)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_a_deferral_is_always_later_and_at_an_allowed_local_time(
    case: tuple[World, OutgoingMessage],
) -> None:
    world, msg = case
    decision = check_send(msg, world.state())
    if decision.action is Action.DEFER:
        assert decision.defer_until is not None and decision.defer_until > msg.at
        assert timing.is_allowed(timing.locality(msg.recipient), decision.defer_until, msg.category)
        assert not decision.allowed
    else:
        assert decision.defer_until is None
    assert decision.allowed is (decision.action is Action.SEND)
    blocks = ids(decision, Severity.BLOCK)
    assert (decision.action is Action.BLOCK) is bool(blocks)


@pytest.mark.parametrize(
    ("category", "program", "warned"),
    [
        ("transactional", "prg_2", True),
        ("informational", "prg_1", True),
        ("conversational", "prg_2", False),
    ],
)
def test_brand_identification_by_category(category: str, program: str, warned: bool) -> None:
    world = _consent_world(ALERTS)
    world.consents[(NY, "prg_1")] = _consent()
    world.sent(NOW - DAY, program_id=program)
    world.inbound.append((NY, NOW - timedelta(hours=1)))
    decision = decide(
        world,
        body="Your order shipped. Reply STOP to opt out.",
        category=category,
        program_id=program,
    )
    assert ("DISCLOSURE-BRAND-ID" in ids(decision, Severity.WARN)) is warned


ONE_WAY_CASES = [
    ("no notice, no alternative", "Demo Coffee: your order is ready. Reply STOP to opt out.", True),
    ("notice only", "Demo Coffee: your order is ready. Do not reply to this number.", True),
    ("alternative only", "Demo Coffee: order ready. Opt out at https://demo.example/stop", True),
    (
        "notice and link",
        "Demo Coffee: order ready. Replies are not monitored. Opt out at https://demo.example/stop",
        False,
    ),
    (
        "notice and phone",
        "Demo Coffee: order ready. This number does not accept replies; "
        "call +1 206 555 0100 to opt out.",
        False,
    ),
    (
        "no-reply and domain",
        "Demo Coffee: order ready (no-reply). Unsubscribe: democoffee.com/u",
        False,
    ),
]


@pytest.mark.parametrize(
    ("name", "body", "refused"), ONE_WAY_CASES, ids=[c[0] for c in ONE_WAY_CASES]
)
def test_one_way_programs_must_say_so_and_offer_another_way_out(
    name: str, body: str, refused: bool
) -> None:
    world = World()
    world.programs["prg_1"] = replace(PROGRAM, one_way=True)
    world.sent(NOW - DAY)
    decision = decide(world, body=body)
    assert ("DISCLOSURE-ONE-WAY" in ids(decision, Severity.BLOCK)) is refused
    # The same bodies in a two-way program are not concerned by the rule.
    assert "DISCLOSURE-ONE-WAY" not in ids(decide(World().sent(NOW - DAY), body=body))
