"""NUL characters (which PostgreSQL cannot store in text) in paths, query strings, JSON and CSV
bodies, and CSV files Python's reader rejects: a 4xx JSON error naming the problem, never a 5xx,
on SQLite and PostgreSQL alike. (Found by ``test_openapi_fuzz.py`` run with more examples.)"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.helpers import create_registry

SENDER = "+12065550100"
CSV = {"Content-Type": "text/csv"}

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/v1/brands/a%00b", {}),
    ("GET", "/v1/programs/a%00b", {}),
    ("GET", "/v1/senders/a%00b", {}),
    ("GET", "/v1/recipients/%2B1425555%000123", {}),
    ("POST", "/v1/brands", {"json": {"name": "a\x00b", "support_contact": "help\x00"}}),
    (
        "POST",
        "/v1/optouts:add",
        {"json": {"from": SENDER, "recipients": [{"to": "+14255550123"}], "reason": "a\x00"}},
    ),
    ("POST", "/v1/inbound", {"json": {"from": "+14255550123", "to": SENDER, "body": "STOP\x00"}}),
    (
        "POST",
        "/v1/consents",
        {
            "json": {
                "recipient": "+14255550140",
                "program": "alerts",
                "medium": "web_form",
                "disclosure_text": "Alerts\x00. Reply STOP to cancel.",
            }
        },
    ),
    (
        "POST",
        "/v1/messages:check",
        {"json": {"from": SENDER, "to": "+14255550140", "program": "al\x00erts", "body": "hi"}},
    ),
    ("POST", "/v1/consents:import?program=a%00b", {"content": b"\x7f", "headers": CSV}),
    (  # a carriage return inside a CSV field
        "POST",
        "/v1/consents:import?program=alerts",
        {"content": "\u00c7\x1c\r\u00f5:\u00bfi2".encode(), "headers": CSV},
    ),
    ("POST", "/v1/optouts:import?scope_kind=tenant", {"content": b"phone\na\rb", "headers": CSV}),
    (
        "POST",
        "/v1/optouts:import?scope_kind=program&scope_id=a%00b",
        {"content": b"phone\n+14255550150\n", "headers": CSV},
    ),
]


@pytest.mark.parametrize(("method", "path", "request_kwargs"), CASES, ids=[c[1] for c in CASES])
def test_nul_characters_are_refused_not_crashed_on(
    client: httpx.Client, method: str, path: str, request_kwargs: dict[str, Any]
) -> None:
    create_registry(client, sender=SENDER)
    response = client.request(method, path, **request_kwargs)
    assert response.status_code < 500, response.text  # SQLite may store what PostgreSQL refuses
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]
