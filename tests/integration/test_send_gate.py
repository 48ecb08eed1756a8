"""The send gate end to end, over HTTP on SQLite and PostgreSQL: decisions, batches, recording,
bad input, tenant isolation, and caches that follow writes made by another process.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from consentry import Consentry, Tenant
from consentry.errors import InvalidInput, NotFound
from consentry.service import SendRequest
from tests.integration.helpers import Registry, create_registry, inbound

SENDER = "+12065550100"
NY = "+12125550123"
BODY = "Acme acme: your table is ready. Reply STOP to opt out."
DISCLOSURE = "Get Acme alerts by text. Up to 4 msgs/month. Msg&data rates may apply. Reply STOP."


def _afternoon(days: int = 1) -> datetime:
    """Tomorrow (or later) at 13:00 in New York: inside every quiet-hours window there."""
    day = (datetime.now(ZoneInfo("America/New_York")) + timedelta(days=days)).date()
    at = datetime(day.year, day.month, day.day, 13, tzinfo=ZoneInfo("America/New_York"))
    while at.weekday() == 6:  # no Sunday: keep clear of any day-of-week rule
        at += timedelta(days=1)
    return at.astimezone(UTC)


def _setup(client: httpx.Client, **program: Any) -> Registry:
    registry = create_registry(client, **program)
    return registry


def _consent(client: httpx.Client, number: str = NY, program: str = "alerts") -> None:
    response = client.post(
        "/v1/consents",
        json={
            "recipient": number,
            "program": program,
            "medium": "web_form",
            "disclosure_text": DISCLOSURE,
        },
    )
    assert response.status_code == 201, response.text


def check(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {"from": SENDER, "to": NY, "program": "alerts", "body": BODY, **fields}
    if isinstance(body.get("at"), datetime):
        body["at"] = body["at"].isoformat()
    response = client.post("/v1/messages:check", json=body)
    assert response.status_code == 200, response.text
    decision: dict[str, Any] = response.json()
    return decision


def rules(decision: dict[str, Any], severity: str | None = None) -> set[str]:
    return {
        f["rule_id"] for f in decision["findings"] if severity is None or f["severity"] == severity
    }


def test_a_consented_first_message_is_allowed_and_explains_itself(client: httpx.Client) -> None:
    _setup(client)
    _consent(client)
    decision = check(client, at=_afternoon())
    assert decision["allowed"] is True and decision["action"] == "send"
    assert decision["defer_until"] is None
    [encoding] = decision["findings"]
    assert encoding["rule_id"] == "ENCODING-SEGMENTS" and encoding["severity"] == "info"
    assert encoding["details"]["segments"] == 1 and encoding["citation"]


def test_stop_blocks_the_next_check_at_once(client: httpx.Client) -> None:
    _setup(client)
    _consent(client)
    at = _afternoon()
    assert check(client, at=at)["allowed"]
    inbound(client, NY, SENDER, "stop")
    decision = check(client, at=at)
    assert decision["allowed"] is False and decision["action"] == "block"
    assert {"OPTOUT-ACTIVE", "CONSENT-MISSING"} <= rules(decision, "block")
    optout = next(f for f in decision["findings"] if f["rule_id"] == "OPTOUT-ACTIVE")
    assert "47 CFR 64.1200" in optout["citation"]


def test_no_consent_unknown_sender_and_wrong_program_are_blocked(client: httpx.Client) -> None:
    _setup(client)
    decision = check(client, at=_afternoon())
    assert rules(decision, "block") == {"CONSENT-MISSING"}
    _consent(client)
    assert "SENDER-UNREGISTERED" in rules(
        check(client, at=_afternoon(), **{"from": "+12065550177"})
    )
    client.post("/v1/programs", json={"brand_id": "acme", "slug": "other", "name": "Other"})
    client.post(
        "/v1/senders",
        json={
            "address": "+12065550111",
            "kind": "long_code",
            "program_ids": ["other"],
            "verified": True,
        },
    )
    wrong = check(client, at=_afternoon(), **{"from": "+12065550111"})
    assert rules(wrong, "block") == {"SENDER-PROGRAM"}


def test_recording_sends_feeds_the_first_message_rule_and_the_frequency_cap(
    client: httpx.Client,
) -> None:
    _setup(client, frequency="Up to 2 msgs/week")
    _consent(client)
    at = _afternoon()
    bare = "Acme acme: your table is ready."
    assert "DISCLOSURE-FIRST-MESSAGE" in rules(check(client, at=at, body=bare), "block")
    first = check(client, at=at, record=True)
    assert first["allowed"] and first["send_id"].startswith("snt_")
    # The first message went out: a later one need not repeat the opt-out instructions.
    assert check(client, at=at + timedelta(minutes=5), body=bare)["allowed"]
    sent = client.post(
        "/v1/messages:sent",
        json={
            "messages": [
                {
                    "from": SENDER,
                    "to": NY,
                    "program": "alerts",
                    "body": bare,
                    "at": (at + timedelta(minutes=10)).isoformat(),
                }
            ]
        },
    )
    assert sent.status_code == 200 and sent.json()["summary"]["recorded"] == 1
    capped = check(client, at=at + timedelta(hours=1))
    assert capped["action"] == "defer" and rules(capped, "defer") == {"FREQ-CAP"}
    until = datetime.fromisoformat(capped["defer_until"])
    assert until >= at + timedelta(days=7)


def test_quiet_hours_defer_until_the_morning(client: httpx.Client) -> None:
    _setup(client, category="marketing")
    _consent(client)
    night = _afternoon() + timedelta(hours=10)  # 23:00 in New York
    decision = check(client, at=night)
    assert decision["action"] == "defer" and decision["allowed"] is False
    assert rules(decision, "defer") == {"TIME-QUIET-HOURS"}
    until = datetime.fromisoformat(decision["defer_until"]).astimezone(ZoneInfo("America/New_York"))
    assert until > night and until.hour == 8 and until.minute == 0


def test_a_batch_answers_each_message_in_order(client: httpx.Client) -> None:
    _setup(client)
    _consent(client)
    _consent(client, "+12125550124")
    at = _afternoon().isoformat()
    messages = [
        {"from": SENDER, "to": NY, "program": "alerts", "body": BODY, "at": at},
        {"from": SENDER, "to": "+12125550125", "program": "alerts", "body": BODY, "at": at},
        {"from": SENDER, "to": "not a number", "program": "alerts", "body": BODY, "at": at},
        {"from": SENDER, "to": "+12125550124", "program": "nope", "body": BODY, "at": at},
        {"from": SENDER, "to": "(212) 555-0124", "program": "alerts", "body": BODY, "at": at},
    ]
    response = client.post("/v1/messages:check-batch", json={"messages": messages, "record": True})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert [r["status"] for r in results] == [200, 200, 422, 404, 200]
    assert results[0]["decision"]["action"] == "send" and "send_id" in results[0]
    assert rules(results[1]["decision"]) >= {"CONSENT-MISSING"} and "send_id" not in results[1]
    assert results[2]["error"]["field"] == "to"
    assert results[3]["error"]["field"] == "program"
    assert results[4]["decision"]["allowed"]
    assert response.json()["summary"] == {
        "send": 2,
        "block": 1,
        "defer": 0,
        "error": 2,
        "recorded": 2,
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"at": "2026-11-23T10:00:00"}, "at"),
        ({"category": "promo"}, "category"),
        ({"body": ""}, "body"),
        ({"to": None}, "to"),
        ({"surprise": 1}, "surprise"),
        ({"record": "maybe"}, "record"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: httpx.Client, fields: dict[str, Any], field: str
) -> None:
    _setup(client)
    body = {"from": SENDER, "to": NY, "program": "alerts", "body": BODY, **fields}
    response = client.post(
        "/v1/messages:check", json={k: v for k, v in body.items() if v is not None}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_unknown_program_is_404_and_a_huge_batch_is_refused(client: httpx.Client) -> None:
    _setup(client)
    response = client.post(
        "/v1/messages:check", json={"from": SENDER, "to": NY, "program": "nope", "body": BODY}
    )
    assert response.status_code == 404 and response.json()["error"]["field"] == "program"
    one = {"from": SENDER, "to": NY, "program": "alerts", "body": BODY}
    response = client.post("/v1/messages:check-batch", json={"messages": [one] * 10_001})
    assert response.status_code == 422 and response.json()["error"]["field"] == "messages"


def test_checks_need_an_api_key(anonymous: httpx.Client) -> None:
    response = anonymous.post(
        "/v1/messages:check", json={"from": SENDER, "to": NY, "program": "a", "body": "b"}
    )
    assert response.status_code == 401


def test_a_tenant_never_sees_another_tenants_state(
    service: Consentry, client: httpx.Client, tenant: Tenant
) -> None:
    _setup(client)
    _consent(client)
    other, _key = service.create_tenant("Other co")
    brand = service.create_brand(other, "Other", "help@other.example")
    service.create_program(other, brand.id, "Alerts", slug="alerts")
    service.create_sender(other, SENDER, "long_code", programs=["alerts"], verified=True)
    service.add_optouts(other, [NY], sender=SENDER)
    at = _afternoon()
    # The other tenant's opt-out does not block ours; our consent does not serve theirs.
    assert service.check_send(tenant, SENDER, NY, "alerts", BODY, at=at).allowed
    theirs = service.check_send(other, SENDER, NY, "alerts", BODY, at=at)
    assert {f.rule_id for f in theirs.findings} >= {"OPTOUT-ACTIVE", "CONSENT-MISSING"}
    with pytest.raises(NotFound):
        service.check_send(other, SENDER, NY, "coffee-club-of-someone-else", BODY, at=at)


def test_writes_by_another_process_reach_the_gate(
    service: Consentry, database_url: str, client: httpx.Client, tenant: Tenant
) -> None:
    _setup(client)
    _consent(client)
    at = _afternoon()
    assert service.check_send(tenant, SENDER, NY, "alerts", BODY, at=at).allowed
    second = Consentry(database_url)  # another process: its own engine, its own caches
    try:
        second.add_optouts(tenant, [NY], sender=SENDER)
        assert not service.check_send(tenant, SENDER, NY, "alerts", BODY, at=at).allowed
        second.remove_optouts(tenant, [NY], sender=SENDER)
        assert service.check_send(tenant, SENDER, NY, "alerts", BODY, at=at).allowed
        # Sends recorded elsewhere count here too: after one, a bare message is no first message.
        bare = "Acme acme: your table is ready."
        assert not service.check_send(tenant, SENDER, NY, "alerts", bare, at=at).allowed
        second.record_sent(
            tenant, [SendRequest(SENDER, NY, "alerts", BODY, at - timedelta(hours=1))]
        )
        assert service.check_send(tenant, SENDER, NY, "alerts", bare, at=at).allowed
        second.create_program(tenant, "acme", "Promo", slug="promo", category="marketing")
        with pytest.raises(InvalidInput):
            service.check_send(tenant, SENDER, NY, "promo", "", at=at)
        blocked = service.check_send(tenant, SENDER, NY, "promo", BODY, at=at)
        assert "SENDER-PROGRAM" in {f.rule_id for f in blocked.findings}
    finally:
        second.close()


def test_record_true_counts_within_the_same_batch(
    service: Consentry, client: httpx.Client, tenant: Tenant
) -> None:
    _setup(client, frequency="Up to 2 msgs/day")
    _consent(client)
    at = _afternoon()
    requests = [
        SendRequest(SENDER, NY, "alerts", BODY, at + timedelta(minutes=n)) for n in range(4)
    ]
    items = service.check_batch(tenant, requests, record=True)
    actions = [item.decision.action.value for item in items if item.decision]
    assert actions == ["send", "send", "defer", "defer"]
    assert [item.send_id is not None for item in items] == [True, True, False, False]


@pytest.mark.parametrize(
    "zone", ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "America/St_Johns"]
)
def test_one_instant_written_in_any_zone_gets_the_same_decision(
    client: httpx.Client, zone: str
) -> None:
    """The gate works in UTC whatever offset a time is written with (evening in New York, inside
    quiet hours, so the timing rules are exercised)."""
    _setup(client, category="marketing")
    _consent(client)
    evening = _afternoon().astimezone(ZoneInfo("America/New_York")).replace(hour=22)
    in_utc = check(client, at=evening.astimezone(UTC))
    assert in_utc["action"] == "defer"
    written = evening.astimezone(ZoneInfo(zone))
    assert check(client, at=written) == in_utc
    batch = client.post(
        "/v1/messages:check-batch",
        json={
            "messages": [
                {"from": SENDER, "to": NY, "program": "alerts", "body": BODY, "at": at}
                for at in (written.isoformat(), evening.astimezone(UTC).isoformat())
            ]
        },
    )
    assert batch.status_code == 200, batch.text
    first, second = (result["decision"] for result in batch.json()["results"])
    assert first == second == in_utc
