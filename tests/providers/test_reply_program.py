"""The outbox records the program each reply speaks for, and the send gate checks the reply in that
program, not the one it used to infer from the sender (its first program for a reply to an
inbound text, else the program of the recipient's most recent matching consent); on SQLite and
PostgreSQL. A row without a program (as queued before migration 0016) is still inferred, and so
is one whose program its sender no longer serves.

Every gate case below is one the old inference decides the other way: each queued reply gets a
twin without a program (a pre-0016 row), and both go through ``deliver_outbox``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from consentry import Consentry, Tenant
from consentry.domain.model import Program, ScopeKind
from consentry.service import ScopeRef
from consentry.store import current_revision, messages
from consentry.store.migrate import alembic_config, upgrade
from consentry.store.tables import outbox
from tests.providers.conftest import new_number

SENDER = "+12065550100"  # serves both programs, "alerts" first
SOLO = "+12065550101"  # serves "alerts" only
DISCLOSURE = "Acme texts by SMS. Msg&data rates may apply. Reply STOP to cancel."
# Age-gated (alcohol) wording: allowed only in a program marked age-gated.
CLUB_WELCOME = "Acme club: welcome! Wine tasting news weekly. Reply HELP for help, STOP to cancel."


@dataclass(frozen=True)
class Setup:
    service: Consentry
    tenant: Tenant
    alerts: Program
    club: Program

    def consent(self, number: str, program: str) -> str | None:
        """Record an express web-form consent; the id of the reply it queued, if any."""
        outcome = self.service.record_consent(
            self.tenant, number, program, medium="web_form", disclosure_text=DISCLOSURE
        )
        return outcome.outbox_id

    def text(self, number: str, body: str, sender: str = SENDER) -> str | None:
        """The person texts ``body`` to ``sender``; the id of the reply queued, if any."""
        return self.service.receive_inbound(self.tenant, sender, number, body).outbox_id

    def row(self, outbox_id: str) -> dict[str, Any]:
        [row] = [r for r in self.service.list_outbox(self.tenant) if r["outbox_id"] == outbox_id]
        return row

    def slug(self, program_id: object) -> str | None:
        names = {self.alerts.id: self.alerts.slug, self.club.id: self.club.slug}
        return None if program_id is None else names[str(program_id)]


def _setup(
    service: Consentry,
    tenant: Tenant,
    alerts: dict[str, Any] | None = None,
    club: dict[str, Any] | None = None,
) -> Setup:
    """Brand ``acme``; programs ``alerts`` then ``club`` (informational unless told);
    ``SENDER`` serves both, ``SOLO`` only ``alerts``."""
    service.create_brand(tenant, "Acme", "help@acme.example", slug="acme")
    first = service.create_program(tenant, "acme", "Acme alerts", slug="alerts", **(alerts or {}))
    second = service.create_program(tenant, "acme", "Acme club", slug="club", **(club or {}))
    service.create_sender(tenant, SENDER, "long_code", programs=["alerts", "club"], verified=True)
    service.create_sender(tenant, SOLO, "long_code", programs=["alerts"], verified=True)
    return Setup(service, tenant, first, second)


def _legacy_twin(setup: Setup, outbox_id: str) -> str:
    """A copy of a queued reply without its program, as a row queued before 0016 is."""
    row = setup.row(outbox_id)
    with setup.service.engine.begin() as conn:
        return messages.queue_reply(
            conn,
            setup.tenant.id,
            recipient=row["recipient"],
            sender_address=row["sender_address"],
            body=row["body"],
            purpose=row["purpose"],
            created_at=setup.service.now(),
            inbound_id=row["inbound_id"],
            program_id=None,
        )


# --- the gate checks the recorded program --------------------------------------------------


def _opted_out_of_the_program_confirmed_earlier(setup: Setup, number: str) -> str:
    """alerts' confirmation is queued, then club's; then the person leaves alerts. The old
    inference checked both in club (the most recent active consent) and sent alerts' too."""
    queued = setup.consent(number, "alerts")
    setup.consent(number, "club")
    setup.service.add_optouts(setup.tenant, [number], scope=ScopeRef(ScopeKind.PROGRAM, "alerts"))
    assert queued is not None
    return queued


def _yes_confirms_the_second_program(setup: Setup, number: str) -> str:
    """YES confirms club's double opt-in; the person never agreed to alerts, the sender's first
    program, where the old inference checked the confirmation (and refused it)."""
    setup.consent(number, "club")  # pending: the "Reply YES" request
    assert setup.service.deliver_outbox(tenant=setup.tenant).sent == 1
    queued = setup.text(number, "YES")
    assert queued is not None
    return queued


def _age_gated_text_of_the_older_consent(setup: Setup, number: str) -> str:
    """club (age-gated) confirms with wine wording, then alerts is agreed to as well: the old
    inference checked club's confirmation in alerts (most recent), where the wording is refused."""
    queued = setup.consent(number, "club")
    setup.consent(number, "alerts")
    assert queued is not None
    return queued


GateCase = Callable[[Setup, str], str]


@pytest.mark.parametrize(
    ("scenario", "alerts", "club", "recorded", "now", "before"),
    [
        (_opted_out_of_the_program_confirmed_earlier, {}, {}, "alerts", "OPTOUT-ACTIVE", "sent"),
        (
            _yes_confirms_the_second_program,
            {},
            {"double_opt_in": True},
            "club",
            "sent",
            "CONSENT-MISSING",
        ),
        (
            _age_gated_text_of_the_older_consent,
            {},
            {"age_gated": True, "opt_in_reply": CLUB_WELCOME},
            "club",
            "sent",
            "CONTENT-AGE-GATED",
        ),
    ],
    ids=lambda value: value.__name__.strip("_") if callable(value) else None,
)
def test_a_reply_is_gated_in_the_program_it_was_queued_for(
    service: Consentry,
    tenant: Tenant,
    scenario: GateCase,
    alerts: dict[str, Any],
    club: dict[str, Any],
    recorded: str,
    now: str,
    before: str,
) -> None:
    """``now``/``before``: the outcome with the recorded program / with the old inference (a
    row without a program): ``sent`` or the rule id the reply is suppressed with."""
    setup = _setup(service, tenant, alerts, club)
    queued = scenario(setup, new_number())
    assert setup.slug(setup.row(queued)["program_id"]) == recorded
    twin = _legacy_twin(setup, queued)
    report = service.deliver_outbox(tenant=tenant)
    for outbox_id, expected in ((queued, now), (twin, before)):
        row = setup.row(outbox_id)
        if expected == "sent":
            assert row["status"] == "sent", row
        else:
            assert row["status"] == "suppressed", row
            assert row["last_error"].startswith(f"{expected}: "), row
    assert report.outcomes[queued] != report.outcomes[twin]


# --- fallback: a recorded program the sender no longer serves ------------------------------


@pytest.mark.parametrize(
    ("inbound", "expected"),
    [
        # Queued by the API: inferred from the active consent to alerts, which allows it.
        (False, "sent"),
        # A reply to a text: inferred as the sender's first program, alerts, never agreed to.
        (True, "CONSENT-MISSING"),
    ],
    ids=["api-consent", "reply-to-yes"],
)
def test_a_recorded_program_the_sender_no_longer_serves_falls_back_to_the_inference(
    service: Consentry, tenant: Tenant, inbound: bool, expected: str
) -> None:
    """Checked in club, its sender would now fail SENDER-PROGRAM; it is inferred instead."""
    setup = _setup(service, tenant, club={"double_opt_in": inbound})
    number = new_number()
    queued: str | None
    if inbound:
        queued = _yes_confirms_the_second_program(setup, number)
    else:
        setup.consent(number, "alerts")
        assert service.deliver_outbox(tenant=tenant).sent == 1
        queued = setup.consent(number, "club")
    assert queued is not None
    service.update_sender(tenant, SENDER, {"program_ids": ["alerts"]}, actor="test")
    service.deliver_outbox(tenant=tenant)
    row = setup.row(queued)
    assert row["program_id"] == setup.club.id  # the record stays as queued
    if expected == "sent":
        assert row["status"] == "sent", row
    else:
        assert row["status"] == "suppressed", row
        assert row["last_error"].startswith(f"{expected}: "), row
    assert "SENDER-PROGRAM" not in (row["last_error"] or "")


def test_a_row_without_a_program_is_still_inferred(service: Consentry, tenant: Tenant) -> None:
    """A pre-0016 HELP answer with the sender's first program's text is checked in that program:
    alerts blocks shorteners, so its help text (with one) is suppressed, as before 0016."""
    setup = _setup(
        service,
        tenant,
        alerts={
            "block_shorteners": True,
            "help_reply": "Acme alerts: help at https://bit.ly/acme-help. Reply STOP to cancel.",
        },
    )
    number = new_number()
    queued = setup.text(number, "HELP")
    assert queued is not None
    assert setup.row(queued)["program_id"] == setup.alerts.id
    twin = _legacy_twin(setup, queued)
    service.deliver_outbox(tenant=tenant)
    for outbox_id in (queued, twin):
        row = setup.row(outbox_id)
        assert row["status"] == "suppressed", row
        assert row["last_error"].startswith("CONTENT-SHORTENER: "), row


# --- every place that queues a reply records its program -----------------------------------


def _help(sender: str) -> Callable[[Setup, str], str | None]:
    return lambda setup, number: setup.text(number, "HELP", sender)


def _stop(sender: str) -> Callable[[Setup, str], str | None]:
    return lambda setup, number: setup.text(number, "STOP", sender)


def _start(sender: str) -> Callable[[Setup, str], str | None]:
    return lambda setup, number: setup.text(number, "START", sender)


def _clarified_stop(setup: Setup, number: str) -> str | None:
    setup.service.update_tenant_settings(setup.tenant, {"clarify_revocation_scope": True})
    setup.consent(number, "alerts")
    setup.consent(number, "club")
    return setup.text(number, "STOP")


def _yes(setup: Setup, number: str) -> str | None:
    setup.consent(number, "club")
    return setup.text(number, "YES")


def _reconfirmation(setup: Setup, number: str) -> str | None:
    setup.consent(number, "alerts")
    setup.consent(number, "club")
    return setup.service.request_reconfirmation(setup.tenant, number, "alerts").outbox_id


Queue = Callable[[Setup, str], str | None]
# alerts' own STOP text would be recorded as alerts': the scope question is not that text.
NOTIFICATIONS = {"purpose": "notifications", "opt_out_reply": "Acme alerts: you are out. Bye."}


@pytest.mark.parametrize(
    ("queue", "alerts", "club", "purpose", "recorded"),
    [
        # HELP: the text comes from the sender's first program.
        (_help(SOLO), {}, {}, "help", "alerts"),
        (_help(SENDER), {"help_reply": "Acme alerts: help@acme.example. STOP to end"}, {}, "help", "alerts"),
        # The brand's standard HELP answers for both of the sender's programs: none recorded.
        (_help(SENDER), {}, {}, "help", None),
        (_stop(SOLO), {}, {}, "opt_out_confirmation", "alerts"),
        (_stop(SENDER), {"opt_out_reply": "Acme alerts: you are out. No more texts."}, {}, "opt_out_confirmation", "alerts"),
        (_stop(SENDER), {}, {}, "opt_out_confirmation", None),
        # The brand-wide scope question offers the purposes of both programs: none recorded.
        (_clarified_stop, NOTIFICATIONS, {"purpose": "marketing"}, "opt_out_confirmation", None),
        (_start(SOLO), {}, {}, "opt_in_confirmation", "alerts"),
        (_start(SENDER), {}, {"double_opt_in": True}, "double_opt_in_request", "club"),
        (_yes, {}, {"double_opt_in": True}, "opt_in_confirmation", "club"),
        (lambda setup, number: setup.consent(number, "club"), {}, {}, "opt_in_confirmation", "club"),
        (lambda setup, number: setup.consent(number, "club"), {}, {"double_opt_in": True}, "double_opt_in_request", "club"),
        (_reconfirmation, {}, {}, "reconfirmation_request", "alerts"),
    ],
    ids=[
        "help-solo", "help-own-text", "help-brand-text", "stop-solo", "stop-own-text",
        "stop-brand-text", "stop-scope-question", "start-solo", "start-double-opt-in", "yes",
        "api-consent", "api-consent-double-opt-in", "api-reconfirmation",
    ],
)  # fmt: skip
def test_every_reply_records_the_program_it_speaks_for(
    service: Consentry,
    tenant: Tenant,
    queue: Queue,
    alerts: dict[str, Any],
    club: dict[str, Any],
    purpose: str,
    recorded: str | None,
) -> None:
    setup = _setup(service, tenant, alerts, club)
    queued = queue(setup, new_number())
    assert queued is not None
    row = setup.row(queued)
    assert row["purpose"] == purpose, row
    assert setup.slug(row["program_id"]) == recorded, row
    if queue is _clarified_stop:
        assert "ALERTS" in row["body"], row  # the scope question, not alerts' own STOP text


# --- migration 0016 --------------------------------------------------------------------------


def test_migration_0016_keeps_earlier_rows_without_a_program_and_reverses(
    fresh_database_url: str,
) -> None:
    """A confirmation queued at 0015 has no program after 0016 and is still gated, in the
    program inferred (alerts, the sender's first: no consent there, so it is suppressed); 0016
    goes down and up again with the row kept."""
    app = Consentry(fresh_database_url)
    try:
        upgrade(app.engine, "0015")
        tenant, _ = app.create_tenant("Migrating", slug="migrating")
        _setup(app, tenant)
        with app.engine.begin() as conn:  # the columns of 0015 only
            conn.execute(
                sa.insert(outbox).values(
                    tenant_id=tenant.id,
                    outbox_id="out_old",
                    recipient="+14255550190",
                    sender_address=SENDER,
                    body="Acme: you are in. Reply STOP to cancel.",
                    purpose="opt_in_confirmation",
                    status="queued",
                    created_at=app.now(),
                )
            )
        app.migrate()
        assert current_revision(app.engine) not in (None, "0015")
        [row] = app.list_outbox(tenant)
        assert row["outbox_id"] == "out_old" and row["program_id"] is None
        assert app.deliver_outbox(tenant=tenant).outcomes == {"out_old": "suppressed"}
        [row] = app.list_outbox(tenant)
        assert row["last_error"].startswith("CONSENT-MISSING: "), row
        config = alembic_config(app.engine)
        command.downgrade(config, "0015")
        columns = {c["name"] for c in sa.inspect(app.engine).get_columns("outbox")}
        assert "program_id" not in columns and "status" in columns
        command.upgrade(config, "0016")
        [row] = app.list_outbox(tenant)
        assert (row["outbox_id"], row["status"], row["program_id"]) == (
            "out_old",
            "suppressed",
            None,
        )
    finally:
        app.close()
