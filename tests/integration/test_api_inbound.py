"""Inbound replies over HTTP: STOP, START, HELP and the rest, end to end."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from consentry.domain.replies import gsm7_length
from tests.integration.helpers import create_registry, inbound, is_opted_out, optouts

SENDER = "+12065550100"
ALICE = "+14255550123"


def _outbox(client: httpx.Client, number: str) -> list[dict[str, object]]:
    response = client.get("/v1/outbox", params={"to": number})
    assert response.status_code == 200
    rows: list[dict[str, object]] = response.json()
    return rows


def test_stop_opts_out_in_the_program_and_queues_one_confirmation(client: httpx.Client) -> None:
    registry = create_registry(client, sender=SENDER)
    result = inbound(client, "(425) 555-0123", SENDER, "Stop please")
    assert result["classification"]["kind"] == "opt_out"
    assert result["classification"]["keyword"] == "STOP"
    assert result["action"] == "opted_out"
    assert result["scopes"] == [f"program:{registry.program['id']}"]
    reply = result["reply"]["body"]
    assert "Acme" in reply
    assert "no more messages" in reply
    septets = gsm7_length(reply)
    assert septets is not None and septets <= 160
    assert is_opted_out(client, SENDER, ALICE)

    queued = _outbox(client, ALICE)
    assert [(row["purpose"], row["body"], row["status"]) for row in queued] == [
        ("opt_out_confirmation", reply, "queued")
    ]


def test_a_repeated_stop_gets_no_second_confirmation(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER)
    inbound(client, ALICE, SENDER, "STOP")
    again = inbound(client, ALICE, SENDER, "stop!!")
    assert again["action"] == "opt_out_repeated"
    assert again["reply"] is None
    assert len(_outbox(client, ALICE)) == 1


def test_stop_history_links_the_inbound_message(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER)
    result = inbound(client, ALICE, SENDER, "UNSUBSCRIBE")
    events = client.get(f"/v1/optouts/{ALICE}/history").json()["events"]
    assert [(e["action"], e["source"], e["inbound_id"]) for e in events] == [
        ("add", "keyword", result["id"])
    ]


def test_start_lifts_the_keyword_opt_out_and_confirms(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER)
    inbound(client, ALICE, SENDER, "STOP")
    result = inbound(client, ALICE, SENDER, "START")
    assert result["classification"]["kind"] == "opt_in"
    assert result["action"] == "opted_in"
    assert "resubscribed" in result["reply"]["body"]
    assert not is_opted_out(client, SENDER, ALICE)
    events = client.get(f"/v1/optouts/{ALICE}/history").json()["events"]
    assert [e["action"] for e in events] == ["add", "remove"]


def test_start_does_not_lift_an_opt_out_the_business_recorded(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER)
    optouts(client, "add", None, ALICE, scope={"kind": "tenant"}, reason="litigator list")
    result = inbound(client, ALICE, SENDER, "START")
    assert result["action"] == "opt_in_still_opted_out"
    assert result["reply"] is None
    assert result["needs_review"] is True
    assert is_opted_out(client, SENDER, ALICE)


def test_stopall_opts_out_of_the_whole_tenant(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER)
    create_registry(client, sender="+12065550101", brand_slug="globex", program_slug="news")
    result = inbound(client, ALICE, SENDER, "STOPALL")
    assert result["classification"]["account_wide"] is True
    assert result["scopes"] == ["tenant"]
    assert is_opted_out(client, "+12065550101", ALICE)


def test_brand_scoped_program_opts_out_of_the_whole_brand(client: httpx.Client) -> None:
    registry = create_registry(client, sender=SENDER, opt_out_scope="brand")
    result = inbound(client, ALICE, SENDER, "cancel")
    assert result["scopes"] == [f"brand:{registry.brand['id']}"]


def test_stop_to_an_unregistered_sender_is_still_honoured_at_that_sender(
    client: httpx.Client,
) -> None:
    result = inbound(client, ALICE, "+12065550177", "STOP")
    assert result["action"] == "opted_out"
    assert result["scopes"] == ["sender:+12065550177"]
    assert is_opted_out(client, "+12065550177", ALICE)


def test_help_answers_anyone_with_brand_contact_and_stop_instructions(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER)
    result = inbound(client, "+14255550199", SENDER, "help")
    assert result["classification"]["kind"] == "help"
    body = result["reply"]["body"]
    assert "Acme" in body
    assert "help@acme.example" in body
    assert "STOP" in body
    assert not is_opted_out(client, SENDER, "+14255550199")


def test_program_reply_texts_override_the_defaults(client: httpx.Client) -> None:
    create_registry(
        client,
        sender=SENDER,
        help_reply="Acme alerts: call 800-555-0100. Reply STOP to end.",
        opt_out_reply="Acme alerts: you will get no more messages.",
    )
    assert inbound(client, ALICE, SENDER, "INFO")["reply"]["body"].startswith("Acme alerts: call")
    assert inbound(client, ALICE, SENDER, "STOP")["reply"]["body"] == (
        "Acme alerts: you will get no more messages."
    )


def test_ambiguous_reply_is_held_for_review_without_opt_out_or_reply(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER)
    result = inbound(client, ALICE, SENDER, "wrong number")
    assert result["classification"]["kind"] == "ambiguous"
    assert result["action"] == "held_for_review"
    assert result["reply"] is None
    assert not is_opted_out(client, SENDER, ALICE)
    queue = client.get("/v1/inbound", params={"needs_review": "true"}).json()
    assert [row["inbound_id"] for row in queue] == [result["id"]]


@pytest.mark.parametrize(
    "body", ["the bus stop is on 5th street", "cancel my reservation for friday"]
)
def test_ordinary_conversation_opts_nobody_out(client: httpx.Client, body: str) -> None:
    create_registry(client, sender=SENDER)
    result = inbound(client, ALICE, SENDER, body)
    assert result["classification"]["kind"] != "opt_out"
    assert result["reply"] is None
    assert not is_opted_out(client, SENDER, ALICE)


def test_received_at_is_kept(client: httpx.Client) -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    result = inbound(client, ALICE, SENDER, "STOP", received_at=at.isoformat())
    events = client.get(f"/v1/optouts/{ALICE}/history").json()["events"]
    assert datetime.fromisoformat(events[0]["occurred_at"]) == at
    assert result["action"] == "opted_out"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from": "garbage", "to": SENDER, "body": "STOP"}, "from"),
        ({"from": ALICE, "to": "12", "body": "STOP"}, "to"),
        ({"from": ALICE, "to": SENDER}, "body"),
        ({"from": ALICE, "to": SENDER, "body": "x" * 5001}, "body"),
        (
            {"from": ALICE, "to": SENDER, "body": "STOP", "received_at": "2026-01-01T00:00:00"},
            "received_at",
        ),
        ({"from": ALICE, "to": SENDER, "body": "STOP", "received_at": "yesterday"}, "received_at"),
    ],
)
def test_bad_inbound_is_422_and_stores_nothing(
    client: httpx.Client, body: dict[str, str], field: str
) -> None:
    response = client.post("/v1/inbound", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert client.get("/v1/inbound").json() == []
    assert not is_opted_out(client, SENDER, ALICE)
