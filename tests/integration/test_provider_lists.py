"""Exporting and importing the opt-out list in Twilio's, AWS's and Azure's own formats."""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Iterator

import httpx
import pytest

from consentry.service import Consentry
from tests.integration.helpers import create_registry, is_opted_out, optouts

SENDER = "+12065550100"
ALICE = "+14255550123"
BOB = "+14255550124"
CAROL = "+14255550125"
FORMATS = ["twilio", "aws", "azure"]


@pytest.fixture
def other(base_url: str, service: Consentry) -> Iterator[httpx.Client]:
    """A client of a second tenant, to import into."""
    _, key = service.create_tenant("Other", slug=f"pl-{secrets.token_hex(6)}")
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as http:
        yield http


def _current(client: httpx.Client) -> list[dict[str, str]]:
    response = client.get("/v1/optouts")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.text)))


def _numbers(fmt: str, text: str) -> list[str]:
    if fmt == "twilio":
        return [row["phone_number"] for row in csv.DictReader(io.StringIO(text))]
    if fmt == "aws":
        return [entry["OptedOutNumber"] for entry in json.loads(text)["OptedOutNumbers"]]
    return [entry["to"] for entry in json.loads(text)["value"]]


def _export(client: httpx.Client, fmt: str) -> str:
    response = client.get("/v1/optouts", params={"format": fmt})
    assert response.status_code == 200, response.text
    expected = "text/csv" if fmt == "twilio" else "application/json"
    assert response.headers["content-type"].startswith(expected)
    assert f"optouts-{fmt}." in response.headers["content-disposition"]
    return response.text


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_into_another_tenant(
    client: httpx.Client, other: httpx.Client, fmt: str
) -> None:
    create_registry(client, sender=SENDER)
    optouts(client, "add", SENDER, ALICE, BOB)
    optouts(client, "add", None, CAROL, scope={"kind": "tenant"})
    text = _export(client, fmt)
    assert sorted(_numbers(fmt, text)) == [ALICE, BOB, CAROL]

    response = other.post(
        "/v1/optouts:import", params={"format": fmt, "scope_kind": "tenant"}, content=text
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["imported"], report["rows"], report["added"]) == (True, 3, 3)
    rows = _current(other)
    assert sorted(r["recipient"] for r in rows) == [ALICE, BOB, CAROL]
    assert {(r["scope"], r["source"]) for r in rows} == {("tenant", "import")}
    assert sorted(_numbers(fmt, _export(other, fmt))) == [ALICE, BOB, CAROL]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_number_in_two_scopes_appears_once_with_its_earliest_time(
    client: httpx.Client, fmt: str
) -> None:
    create_registry(client, sender=SENDER)
    optouts(client, "add", SENDER, ALICE)
    optouts(client, "add", None, ALICE, scope={"kind": "program", "id": "alerts"})
    optouts(client, "add", None, BOB, scope={"kind": "tenant"})
    current = _current(client)
    assert len(current) == 3
    earliest = min(r["opted_out_at"] for r in current if r["recipient"] == ALICE)

    text = _export(client, fmt)
    assert _numbers(fmt, text) == [ALICE, BOB]
    if fmt == "twilio":
        times = {r["phone_number"]: r["opted_out_at"] for r in csv.DictReader(io.StringIO(text))}
        assert times[ALICE] == earliest
    elif fmt == "aws":
        document = json.loads(text)
        assert document["NextToken"] is None
        assert document["OptedOutNumbers"][0]["OptedOutTimestamp"] == earliest
    else:
        assert json.loads(text)["value"] == [
            {"to": ALICE, "from": SENDER, "isOptedOut": True},
            {"to": BOB, "from": None, "isOptedOut": True},
        ]


def test_the_default_export_is_unchanged(client: httpx.Client) -> None:
    optouts(client, "add", SENDER, ALICE)
    default = client.get("/v1/optouts")
    explicit = client.get("/v1/optouts", params={"format": "consentry"})
    assert default.text == explicit.text
    assert default.text.startswith("recipient,scope,scope_kind,scope_id,source,opted_out_at,")


MALFORMED = [
    ("twilio", "phone,when\n+14255550130,x\n", "file"),
    (
        "twilio",
        "phone_number,opted_out_at\n+14255550130,\n+14255550131,yesterday\n",
        "opted_out_at",
    ),
    ("aws", "{not json", "file"),
    (
        "aws",
        '{"OptedOutNumbers": [{"OptedOutNumber": "+14255550130"}, {}]}',
        "OptedOutNumbers[1].OptedOutNumber",
    ),
    ("azure", '{"value": {"to": "+14255550130"}}', "value"),
    ("azure", '{"value": [{"to": "+14255550130", "isOptedOut": "true"}]}', "value[0].isOptedOut"),
]


@pytest.mark.parametrize(("fmt", "content", "field"), MALFORMED)
def test_malformed_files_are_refused_naming_the_field_and_import_nothing(
    client: httpx.Client, fmt: str, content: str, field: str
) -> None:
    response = client.post(
        "/v1/optouts:import", params={"format": fmt, "from": SENDER}, content=content
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field, error
    assert error["message"]
    assert _current(client) == []


BAD_NUMBERS = {
    "twilio": "phone_number,opted_out_at\n+14255550130,2024-01-02T03:04:05Z\nbanana,\n",
    "aws": json.dumps(
        {"OptedOutNumbers": [{"OptedOutNumber": "+14255550130"}, {"OptedOutNumber": "banana"}]}
    ),
    "azure": json.dumps({"value": [{"to": "+14255550130"}, {"to": "banana", "isOptedOut": True}]}),
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_bad_number_rejects_the_whole_file_with_its_line(client: httpx.Client, fmt: str) -> None:
    response = client.post(
        "/v1/optouts:import", params={"format": fmt, "from": SENDER}, content=BAD_NUMBERS[fmt]
    )
    assert response.status_code == 422, response.text
    report = response.json()
    assert report["imported"] is False
    line = 3 if fmt == "twilio" else 2  # a CSV line of the file; a JSON entry's position
    assert [(r["line"], r["value"]) for r in report["rejected"]] == [(line, "banana")]
    assert _current(client) == []
    assert not is_opted_out(client, SENDER, "+14255550130")


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_format_is_422_naming_format(client: httpx.Client, method: str) -> None:
    if method == "get":
        response = client.get("/v1/optouts", params={"format": "sinch"})
    else:
        response = client.post(
            "/v1/optouts:import", params={"format": "sinch", "from": SENDER}, content=ALICE
        )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "format"
    assert _current(client) == []


def test_history_has_no_provider_format(client: httpx.Client) -> None:
    response = client.get("/v1/optouts", params={"format": "aws", "history": "true"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "format"
