"""A tenant's own reply keywords over HTTP: add, list, remove, and inbound replies honour them."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from consentry.domain.model import Tenant
from consentry.service import Consentry
from tests.integration.helpers import create_registry, inbound, is_opted_out

SENDER = "+12065550100"
ALICE = "+14255550123"
BOB = "+14255550124"


def _add(client: httpx.Client, keyword: str, kind: str, **extra: Any) -> httpx.Response:
    return client.post("/v1/keywords", json={"keyword": keyword, "kind": kind, **extra})


def _outbox(client: httpx.Client, number: str) -> list[dict[str, Any]]:
    response = client.get("/v1/outbox", params={"to": number})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_a_custom_opt_out_keyword_opts_out_at_the_program_and_confirms(
    client: httpx.Client,
) -> None:
    registry = create_registry(client, sender=SENDER)
    before = inbound(client, BOB, SENDER, "ya no quiero")
    assert before["classification"]["kind"] == "other"

    added = _add(client, "¡Ya no quiero!", "opt_out", language="es")
    assert added.status_code == 201, added.text
    entry = added.json()
    assert (entry["keyword"], entry["kind"], entry["language"]) == (
        "YA NO QUIERO",
        "opt_out",
        "es",
    )
    assert entry["created_at"]

    result = inbound(client, ALICE, SENDER, "Ya no quiero!!")
    assert result["classification"] == {
        "kind": "opt_out",
        "keyword": "YA NO QUIERO",
        "language": "es",
        "stage": "tenant_keyword",
        "account_wide": False,
    }
    assert result["action"] == "opted_out"
    assert result["scopes"] == [f"program:{registry.program['id']}"]
    assert is_opted_out(client, SENDER, ALICE)
    assert [row["purpose"] for row in _outbox(client, ALICE)] == ["opt_out_confirmation"]
    events = client.get(f"/v1/optouts/{ALICE}/history").json()["events"]
    assert [(e["action"], e["source"], e["inbound_id"]) for e in events] == [
        ("add", "keyword", result["id"])
    ]
    stored = client.get("/v1/inbound").json()
    assert {row["inbound_id"]: row["stage"] for row in stored}[result["id"]] == "tenant_keyword"


def test_a_language_specific_keyword_ignores_replies_hinted_in_another_language(
    client: httpx.Client,
) -> None:
    create_registry(client, sender=SENDER)
    assert _add(client, "ya no quiero", "opt_out", language="es").status_code == 201
    english = inbound(client, ALICE, SENDER, "ya no quiero", language="en")
    assert english["classification"]["kind"] == "other"
    assert not is_opted_out(client, SENDER, ALICE)
    mexican = inbound(client, ALICE, SENDER, "ya no quiero", language="es-MX")
    assert mexican["action"] == "opted_out"


def test_a_custom_help_keyword_gets_the_help_reply(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER)
    assert _add(client, "MENU", "help").status_code == 201
    result = inbound(client, ALICE, SENDER, "Menú?")
    assert result["classification"]["kind"] == "help"
    assert result["classification"]["stage"] == "tenant_keyword"
    assert result["action"] == "help_sent"
    assert "help@acme.example" in result["reply"]["body"]
    assert [row["purpose"] for row in _outbox(client, ALICE)] == ["help"]
    assert not is_opted_out(client, SENDER, ALICE)


def test_a_custom_opt_in_keyword_lifts_a_keyword_opt_out(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER)
    assert _add(client, "count me in", "opt_in").status_code == 201
    inbound(client, ALICE, SENDER, "STOP")
    assert is_opted_out(client, SENDER, ALICE)
    result = inbound(client, ALICE, SENDER, "Count me in!")
    assert result["classification"]["kind"] == "opt_in"
    assert result["action"] == "opted_in"
    assert not is_opted_out(client, SENDER, ALICE)


def test_a_custom_opt_out_turns_an_ambiguous_reply_into_a_revocation(
    client: httpx.Client,
) -> None:
    create_registry(client, sender=SENDER)
    assert inbound(client, BOB, SENDER, "wrong number")["action"] == "held_for_review"
    assert _add(client, "wrong number", "opt_out").status_code == 201
    result = inbound(client, ALICE, SENDER, "Wrong number!")
    assert (result["classification"]["kind"], result["action"]) == ("opt_out", "opted_out")
    assert is_opted_out(client, SENDER, ALICE)


def test_another_tenants_keyword_has_no_effect(
    client: httpx.Client, base_url: str, service: Consentry, tenant: Tenant
) -> None:
    _, other_key = service.create_tenant("Other", slug=f"kw-{secrets.token_hex(5)}")
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {other_key}"}, timeout=30
    ) as other:
        create_registry(other, sender=SENDER)
        assert _add(other, "ya no quiero", "opt_out").status_code == 201
        assert [e["keyword"] for e in other.get("/v1/keywords").json()] == ["YA NO QUIERO"]
        assert other.delete("/v1/keywords/MENU").status_code == 404
    create_registry(client, sender=SENDER)
    assert client.get("/v1/keywords").json() == []
    result = inbound(client, ALICE, SENDER, "ya no quiero")
    assert result["classification"]["kind"] == "other"
    assert result["action"] == "none"
    assert not is_opted_out(client, SENDER, ALICE)
    # and this tenant may add the same keyword, with another kind
    assert _add(client, "ya no quiero", "help").status_code == 201


@pytest.mark.parametrize(
    ("keyword", "kind", "says"),
    [
        ("STOP", "opt_in", "read as opt_out"),
        ("stop", "help", "read as opt_out"),
        ("HELP", "opt_out", "read as help"),
        ("START", "opt_out", "read as opt_in"),
        ("STOP", "opt_out", "already a standard keyword"),
        ("basta ya", "opt_out", "already a standard keyword"),
        ("wrong number", "opt_in", "read as ambiguous"),
    ],
)
def test_the_reviewed_lists_cannot_be_changed(
    client: httpx.Client, keyword: str, kind: str, says: str
) -> None:
    response = _add(client, keyword, kind)
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert error["field"] == "keyword"
    assert says in error["message"]
    assert client.get("/v1/keywords").json() == []


def test_stop_stays_an_opt_out(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER)
    assert _add(client, "STOP", "opt_in").status_code == 409
    assert inbound(client, ALICE, SENDER, "stop")["action"] == "opted_out"


def test_a_duplicate_is_409_whatever_its_spelling(client: httpx.Client) -> None:
    assert _add(client, "MENU", "help").status_code == 201
    again = _add(client, "m.e.n.u!", "opt_out")
    assert again.status_code == 409
    assert "already one of this tenant's keywords" in again.json()["error"]["message"]
    assert [(e["keyword"], e["kind"]) for e in client.get("/v1/keywords").json()] == [
        ("MENU", "help")
    ]


def test_list_is_alphabetical_and_delete_makes_a_keyword_inert(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER)
    assert _add(client, "ya no quiero", "opt_out", language="es").status_code == 201
    assert _add(client, "menu", "help").status_code == 201
    listed = client.get("/v1/keywords").json()
    assert [(e["keyword"], e["kind"], e["language"]) for e in listed] == [
        ("MENU", "help", None),
        ("YA NO QUIERO", "opt_out", "es"),
    ]

    removed = client.delete("/v1/keywords/ya no quiero")  # any spelling that normalises to it
    assert removed.status_code == 204, removed.text
    assert [e["keyword"] for e in client.get("/v1/keywords").json()] == ["MENU"]
    result = inbound(client, ALICE, SENDER, "ya no quiero")
    assert result["classification"]["kind"] == "other"
    assert not is_opted_out(client, SENDER, ALICE)

    missing = client.delete("/v1/keywords/YA%20NO%20QUIERO")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "help"}, "keyword"),
        ({"keyword": "", "kind": "help"}, "keyword"),
        ({"keyword": "?!! 🛑", "kind": "help"}, "keyword"),
        ({"keyword": "x" * 65, "kind": "help"}, "keyword"),
        ({"keyword": 12, "kind": "help"}, "keyword"),
        ({"keyword": "menu"}, "kind"),
        ({"keyword": "menu", "kind": "confirm"}, "kind"),
        ({"keyword": "menu", "kind": "help", "language": "spanish"}, "language"),
        ({"keyword": "menu", "kind": "help", "language": "e1"}, "language"),
        ({"keyword": "menu", "kind": "help", "scope": "all"}, "scope"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: httpx.Client, body: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/keywords", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert client.get("/v1/keywords").json() == []


def test_keywords_need_an_api_key(anonymous: httpx.Client) -> None:
    assert anonymous.get("/v1/keywords").status_code == 401
    assert anonymous.post("/v1/keywords", json={"keyword": "menu", "kind": "help"}).status_code == (
        401
    )
