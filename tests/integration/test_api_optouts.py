"""The opt-out database over HTTP, in the shape of Azure's Opt-Out Management API."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from tests.integration.helpers import create_registry, is_opted_out, optouts

SENDER = "+12065550100"
OTHER_SENDER = "+12065550101"
ALICE = "+14255550123"
BOB = "+14255550124"


def test_add_then_check_reports_opted_out_in_azure_shape(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER)
    added = optouts(client, "add", SENDER, ALICE)
    assert added == [
        {
            "to": ALICE,
            "httpStatusCode": 200,
            "isOptedOut": True,
            "errorMessage": None,
            "scopes": [f"sender:{SENDER}"],
            "changed": True,
        }
    ]
    checked = optouts(client, "check", SENDER, ALICE, BOB)
    assert [(e["to"], e["isOptedOut"]) for e in checked] == [(ALICE, True), (BOB, False)]


@pytest.mark.parametrize(
    "spelling", ["(425) 555-0123", "+1 425-555-0123", "4255550123", "425.555.0123", "+14255550123"]
)
def test_every_spelling_of_a_number_is_the_same_number(client: httpx.Client, spelling: str) -> None:
    optouts(client, "add", SENDER, "(425) 555-0123")
    [entry] = optouts(client, "check", SENDER, spelling)
    assert entry["to"] == ALICE
    assert entry["isOptedOut"] is True


def test_invalid_numbers_get_their_own_400_and_the_valid_ones_are_processed(
    client: httpx.Client,
) -> None:
    value = optouts(client, "add", SENDER, "not a number", ALICE, "123")
    assert [e["httpStatusCode"] for e in value] == [400, 200, 400]
    assert value[0]["to"] == "not a number"
    assert "not a phone number" in value[0]["errorMessage"]
    assert "not a valid phone number" in value[2]["errorMessage"]
    assert value[1]["isOptedOut"] is True
    assert is_opted_out(client, SENDER, ALICE)


def test_adding_twice_is_idempotent_and_records_one_event(client: httpx.Client) -> None:
    first = optouts(client, "add", SENDER, ALICE)
    second = optouts(client, "add", SENDER, ALICE)
    assert first[0]["changed"] is True
    assert second[0]["changed"] is False
    history = client.get(f"/v1/optouts/{ALICE}/history").json()
    assert [e["action"] for e in history["events"]] == ["add"]


def test_sender_scope_does_not_reach_another_sender(client: httpx.Client) -> None:
    optouts(client, "add", SENDER, ALICE)
    assert is_opted_out(client, SENDER, ALICE)
    assert not is_opted_out(client, OTHER_SENDER, ALICE)


def test_wider_scopes_block_every_narrower_one(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER, brand_slug="acme", program_slug="alerts")
    create_registry(client, sender=OTHER_SENDER, brand_slug="globex", program_slug="news")

    optouts(client, "add", None, ALICE, scope={"kind": "program", "id": "alerts"})
    assert is_opted_out(client, SENDER, ALICE)
    assert not is_opted_out(client, OTHER_SENDER, ALICE)

    optouts(client, "add", None, BOB, scope={"kind": "brand", "id": "globex"})
    assert not is_opted_out(client, SENDER, BOB)
    assert is_opted_out(client, OTHER_SENDER, BOB)

    carol = "+14255550125"
    optouts(client, "add", None, carol, scope={"kind": "tenant"})
    assert is_opted_out(client, SENDER, carol)
    assert is_opted_out(client, OTHER_SENDER, carol)
    assert is_opted_out(client, "+12065550199", carol)  # even an unregistered sender


def test_remove_lifts_only_its_scope_and_says_when_a_wider_one_remains(
    client: httpx.Client,
) -> None:
    create_registry(client, sender=SENDER)
    optouts(client, "add", SENDER, ALICE)
    optouts(client, "add", None, ALICE, scope={"kind": "tenant"})
    [removed] = optouts(client, "remove", SENDER, ALICE)
    assert removed["changed"] is True
    assert removed["isOptedOut"] is True
    assert removed["scopes"] == ["tenant"]
    assert is_opted_out(client, SENDER, ALICE)
    [lifted] = optouts(client, "remove", None, ALICE, scope={"kind": "tenant"})
    assert lifted["isOptedOut"] is False
    assert not is_opted_out(client, SENDER, ALICE)


def test_history_keeps_every_add_and_remove(client: httpx.Client) -> None:
    optouts(client, "add", SENDER, ALICE, reason="asked on the phone")
    optouts(client, "remove", SENDER, ALICE)
    optouts(client, "add", SENDER, ALICE)
    response = client.get("/v1/optouts/(425)%20555-0123/history")
    assert response.status_code == 200
    history = response.json()
    assert history["recipient"] == ALICE
    assert history["opted_out_scopes"] == [f"sender:{SENDER}"]
    assert [(e["action"], e["source"]) for e in history["events"]] == [
        ("add", "api"),
        ("remove", "api"),
        ("add", "api"),
    ]
    assert history["events"][0]["reason"] == "asked on the phone"
    assert [e["seq"] for e in history["events"]] == sorted(e["seq"] for e in history["events"])


def test_unknown_program_scope_is_404_naming_the_field(client: httpx.Client) -> None:
    response = client.post(
        "/v1/optouts:add",
        json={"recipients": [{"to": ALICE}], "scope": {"kind": "program", "id": "nope"}},
    )
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "scope.id"
    assert not is_opted_out(client, SENDER, ALICE)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from": SENDER, "recipients": []}, "recipients"),
        ({"from": SENDER}, "recipients"),
        (
            {"from": SENDER, "recipients": [{"to": f"+1425555{i:04d}"} for i in range(101)]},
            "recipients",
        ),
        ({"from": SENDER, "recipients": [{"number": ALICE}]}, "recipients.0.to"),
        (
            {"from": SENDER, "recipients": [{"to": ALICE}], "scope": {"kind": "galaxy"}},
            "scope.kind",
        ),
        ({"recipients": [{"to": ALICE}]}, "from"),
        ({"from": SENDER, "recipients": [{"to": ALICE}], "colour": "red"}, "colour"),
        ({"from": "", "recipients": [{"to": ALICE}]}, "from"),
    ],
)
def test_bad_requests_are_4xx_json_naming_the_field_and_change_nothing(
    client: httpx.Client, body: dict[str, object], field: str
) -> None:
    response = client.post("/v1/optouts:add", json=body)
    assert 400 <= response.status_code < 500
    error = response.json()["error"]
    assert error["field"] == field, error
    assert error["message"]
    assert client.get("/v1/optouts").text.strip().count("\n") == 0  # header only


def test_malformed_json_is_422(client: httpx.Client) -> None:
    response = client.post(
        "/v1/optouts:add", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


def _export(client: httpx.Client, **params: str) -> list[dict[str, str]]:
    response = client.get("/v1/optouts", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_import_plain_list_and_csv_then_export(client: httpx.Client) -> None:
    plain = "+14255550130\n(425) 555-0131\n\n4255550132\n"
    response = client.post(
        "/v1/optouts:import",
        params={"scope_kind": "tenant"},
        content=plain,
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert response.json() | {"rejected": []} == {
        "imported": True,
        "rows": 3,
        "added": 3,
        "already_opted_out": 0,
        "duplicates": 0,
        "rejected": [],
    }
    with_header = (
        "name,Phone Number,phone\nAda,x,+14255550131\nBo,y,+14255550133\nCy,z,+14255550133\n"
    )
    response = client.post(
        "/v1/optouts:import", params={"scope_kind": "tenant"}, content=with_header
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["added"], report["already_opted_out"], report["duplicates"]) == (1, 1, 1)

    rows = _export(client)
    assert [r["recipient"] for r in rows] == [f"+1425555013{i}" for i in range(4)]
    assert {r["scope"] for r in rows} == {"tenant"}
    assert {r["source"] for r in rows} == {"import"}
    history = _export(client, history="true")
    assert len(history) == 4
    assert {h["action"] for h in history} == {"add"}


def test_import_is_all_or_nothing_and_reports_every_rejected_row(client: httpx.Client) -> None:
    content = "phone\n+14255550140\nbanana\n+14255550141\n12\n"
    response = client.post("/v1/optouts:import", params={"from": SENDER}, content=content)
    assert response.status_code == 422
    report = response.json()
    assert report["imported"] is False
    assert [(r["line"], r["value"]) for r in report["rejected"]] == [(3, "banana"), (5, "12")]
    assert _export(client) == []


def test_import_refuses_a_csv_without_phone_column(client: httpx.Client) -> None:
    response = client.post(
        "/v1/optouts:import", params={"from": SENDER}, content="name,email\nA,a@x\n"
    )
    assert response.status_code == 422
    assert "phone column" in response.json()["error"]["message"]
