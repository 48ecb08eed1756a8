"""Small builders shared by the integration tests (each creates through the public HTTP API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Registry:
    brand: dict[str, Any]
    program: dict[str, Any]
    sender: dict[str, Any]


def create_registry(
    client: httpx.Client,
    *,
    sender: str = "+12065550100",
    brand_slug: str = "acme",
    program_slug: str = "alerts",
    opt_out_scope: str = "program",
    **program_fields: Any,
) -> Registry:
    """A brand, one program of it and one verified sender serving that program."""
    brand = client.post(
        "/v1/brands",
        json={
            "name": f"Acme {brand_slug}",
            "slug": brand_slug,
            "support_contact": "help@acme.example",
        },
    )
    assert brand.status_code == 201, brand.text
    program = client.post(
        "/v1/programs",
        json={
            "brand_id": brand_slug,
            "slug": program_slug,
            "name": f"Acme {program_slug}",
            "category": "informational",
            "opt_out_scope": opt_out_scope,
            **program_fields,
        },
    )
    assert program.status_code == 201, program.text
    registered = client.post(
        "/v1/senders",
        json={
            "address": sender,
            "kind": "long_code",
            "program_ids": [program_slug],
            "verified": True,
        },
    )
    assert registered.status_code == 201, registered.text
    return Registry(brand.json(), program.json(), registered.json())


def optouts(
    client: httpx.Client, action: str, sender: str | None, *numbers: str, **extra: Any
) -> list[dict[str, Any]]:
    """Call ``/v1/optouts:<action>`` and return its ``value`` list."""
    body: dict[str, Any] = {"recipients": [{"to": number} for number in numbers], **extra}
    if sender is not None:
        body["from"] = sender
    response = client.post(f"/v1/optouts:{action}", json=body)
    assert response.status_code == 200, response.text
    value: list[dict[str, Any]] = response.json()["value"]
    return value


def is_opted_out(client: httpx.Client, sender: str, number: str) -> bool:
    [entry] = optouts(client, "check", sender, number)
    assert entry["httpStatusCode"] == 200, entry
    return bool(entry["isOptedOut"])


def inbound(
    client: httpx.Client, number: str, sender: str, body: str, **extra: Any
) -> dict[str, Any]:
    response = client.post(
        "/v1/inbound", json={"from": number, "to": sender, "body": body, **extra}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
