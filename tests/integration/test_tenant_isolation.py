"""Tenant isolation, walked over the whole API: with tenant A's key, every GET endpoint of the
OpenAPI schema is called with tenant B's ids, slugs and numbers in its path; nothing of B's ever
comes back (404, or A's own empty view), and writes naming B's things are refused with 404."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
import pytest

from consentry import Consentry
from consentry.api import create_app

A_SENDER = "+12065550100"
B_SENDER = "+12065550999"
B_NUMBER = "+14255550999"
B_BODY = "b-secret-body wrong number"
B_DISCLOSURE = "b-secret-disclosure: Bee alerts by text. Reply STOP to cancel."


@pytest.fixture
def tenant_b(service: Consentry) -> dict[str, str]:
    """Another tenant with data of every kind, and the markers that must never leak to A."""
    tenant, _key = service.create_tenant("Bee", slug=f"bee-{secrets.token_hex(4)}")
    brand = service.create_brand(tenant, "Bee secret brand", "help@bee.example", slug="bee-brand")
    program = service.create_program(tenant, brand.id, "Bee alerts", slug="bee-alerts")
    sender = service.create_sender(
        tenant, B_SENDER, "long_code", programs=[program.id], verified=True
    )
    outcome = service.record_consent(
        tenant, B_NUMBER, program.id, medium="web_form", disclosure_text=B_DISCLOSURE
    )
    held = service.receive_inbound(tenant, B_SENDER, B_NUMBER, B_BODY)
    service.add_optouts(tenant, ["+14255550998"], sender=B_SENDER)
    service.add_keyword(tenant, "BEE SECRET WORD", "opt_out")
    return {
        "tenant_id": tenant.id,
        "tenant_slug": tenant.slug,
        "brand_id": brand.id,
        "program_id": program.id,
        "sender_id": sender.id,
        "event_id": outcome.event_id,
        "inbound_id": held.inbound_id,
        "body": B_BODY,
        "disclosure": "b-secret-disclosure",
        "keyword": "BEE SECRET WORD",
        "brand_name": "Bee secret brand",
    }


def _candidates(param: str, b: dict[str, str]) -> list[str]:
    if param == "number":
        return [B_NUMBER, "+14255550998"]
    if param == "inbound_id":
        return [b["inbound_id"]]
    if param == "keyword":
        return [b["keyword"]]
    if param == "provider":
        return ["twilio"]
    return [b["brand_id"], b["program_id"], b["sender_id"], "bee-brand", "bee-alerts", B_SENDER]


def _leaks(text: str, b: dict[str, str], asked: str) -> list[str]:
    markers = [value for name, value in b.items() if name != "tenant_slug" and value != asked]
    return [marker for marker in markers if marker in text]


def test_every_get_endpoint_hides_the_other_tenant(
    service: Consentry, client: httpx.Client, tenant_b: dict[str, str]
) -> None:
    client.post(
        "/v1/brands", json={"name": "Acme", "support_contact": "help@acme.example", "slug": "a"}
    )
    schema = create_app(service).openapi()
    walked = 0
    for path, operations in schema["paths"].items():
        if "get" not in operations or not path.startswith("/v1/"):
            continue
        params = re.findall(r"{(\w+)}", path)
        fillings = (
            [{}]
            if not params
            else [{params[0]: value} for value in _candidates(params[0], tenant_b)]
        )
        for filling in fillings:
            url = path
            for name, value in filling.items():
                url = url.replace("{" + name + "}", value)
            response = client.get(url)
            walked += 1
            assert response.status_code < 500, (url, response.text)
            asked = next(iter(filling.values()), "")
            assert _leaks(response.text, tenant_b, asked) == [], (url, response.text[:300])
            if params and params[0] not in ("number", "provider"):
                assert response.status_code == 404, (url, response.status_code)
    assert walked >= 25


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "post",
            "/v1/consents",
            {
                "recipient": B_NUMBER,
                "program": "bee-alerts",
                "medium": "web_form",
                "disclosure_text": "x",
            },
        ),
        (
            "post",
            "/v1/messages:check",
            {"from": B_SENDER, "to": B_NUMBER, "program": "bee-alerts", "body": "hi"},
        ),
        (
            "post",
            "/v1/optouts:add",
            {"recipients": [{"to": B_NUMBER}], "scope": {"kind": "program", "id": "bee-alerts"}},
        ),
        ("post", "/v1/programs", {"brand_id": "bee-brand", "name": "Steal", "slug": "steal"}),
        (
            "post",
            "/v1/senders",
            {"address": "+12065550998", "kind": "long_code", "program_ids": ["bee-alerts"]},
        ),
        ("post", "/v1/lint/cta", {"text": "x", "program": "bee-alerts"}),
        ("delete", "/v1/keywords/BEE SECRET WORD", None),
    ],
)
def test_writes_naming_the_other_tenants_things_are_404(
    client: httpx.Client, tenant_b: dict[str, str], method: str, path: str, body: Any
) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == 404, (path, response.text)
    echoed = tenant_b["keyword"] if method == "delete" else ""  # the error names what was asked
    assert _leaks(response.text, tenant_b, echoed) == []


def test_resolving_the_other_tenants_reply_is_404(
    client: httpx.Client, service: Consentry, tenant_b: dict[str, str]
) -> None:
    response = client.post(
        f"/v1/inbound/{tenant_b['inbound_id']}:resolve", json={"decision": "opt_out"}
    )
    assert response.status_code == 404
    b = service.get_tenant(tenant_b["tenant_id"])
    assert [row["inbound_id"] for row in service.review_queue(b)] == [tenant_b["inbound_id"]]
