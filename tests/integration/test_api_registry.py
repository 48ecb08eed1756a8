"""Tenant, brands, programs and senders over HTTP; authentication and tenant isolation."""

from __future__ import annotations

import httpx
import pytest

from consentry import Consentry, Tenant
from tests.integration.helpers import create_registry, is_opted_out, optouts


def test_tenant_is_the_one_the_key_belongs_to(client: httpx.Client, tenant: Tenant) -> None:
    response = client.get("/v1/tenant")
    assert response.status_code == 200
    assert response.json() == {
        "id": tenant.id,
        "slug": tenant.slug,
        "name": tenant.name,
        "default_region": "US",
    }


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer csk.tnt_x.key_y.secret"],
)
def test_missing_or_wrong_key_is_401_json_and_touches_nothing(
    anonymous: httpx.Client, client: httpx.Client, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = anonymous.post(
        "/v1/optouts:add",
        json={"from": "+12065550100", "recipients": [{"to": "+14255550123"}]},
        headers=headers,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"
    assert not is_opted_out(client, "+12065550100", "+14255550123")


def test_a_key_with_a_wrong_secret_is_refused(
    anonymous: httpx.Client, tenant_and_key: tuple[Tenant, str]
) -> None:
    key = tenant_and_key[1]
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    response = anonymous.get("/v1/tenant", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_revoked_key_stops_working_and_a_rotated_one_works(
    service: Consentry, anonymous: httpx.Client, tenant_and_key: tuple[Tenant, str]
) -> None:
    tenant, old = tenant_and_key
    new = service.issue_api_key(tenant, "rotation")
    service.revoke_api_key(tenant, old.split(".")[2])
    assert (
        anonymous.get("/v1/tenant", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    )
    assert (
        anonymous.get("/v1/tenant", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    )


def test_api_keys_are_stored_hashed(service: Consentry, tenant_and_key: tuple[Tenant, str]) -> None:
    tenant, key = tenant_and_key
    secret = key.split(".")[3]
    with service.engine.connect() as conn:
        import sqlalchemy as sa

        stored = (
            conn.execute(
                sa.text("SELECT secret_hash FROM api_keys WHERE tenant_id = :t"), {"t": tenant.id}
            )
            .scalars()
            .all()
        )
    assert stored and all(secret not in value for value in stored)


def test_create_list_and_get_registry_by_id_or_slug(client: httpx.Client) -> None:
    registry = create_registry(client, sender="(206) 555-0100")
    assert registry.sender["address"] == "+12065550100"
    assert registry.sender["program_ids"] == [registry.program["id"]]
    assert registry.program["brand_id"] == registry.brand["id"]
    for path, ref in [
        ("/v1/brands", "acme"),
        ("/v1/brands", registry.brand["id"]),
        ("/v1/programs", "alerts"),
        ("/v1/programs", registry.program["id"]),
        ("/v1/senders", registry.sender["id"]),
        ("/v1/senders", "+12065550100"),
        ("/v1/senders", "2065550100"),
    ]:
        response = client.get(f"{path}/{ref}")
        assert response.status_code == 200, (path, ref, response.text)
    assert [b["slug"] for b in client.get("/v1/brands").json()] == ["acme"]
    assert [p["slug"] for p in client.get("/v1/programs").json()] == ["alerts"]
    assert [s["address"] for s in client.get("/v1/senders").json()] == ["+12065550100"]


@pytest.mark.parametrize(
    ("address", "kind", "stored"),
    [
        ("12345", "short_code", "12345"),
        ("AcmeShop", "alphanumeric", "ACMESHOP"),
        ("+1 833 555 0100", "toll_free", "+18335550100"),
    ],
)
def test_sender_kinds(client: httpx.Client, address: str, kind: str, stored: str) -> None:
    response = client.post("/v1/senders", json={"address": address, "kind": kind})
    assert response.status_code == 201, response.text
    assert response.json()["address"] == stored


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/v1/brands", {"name": "", "support_contact": "x"}, 422, "name"),
        ("/v1/brands", {"name": "A", "support_contact": "x", "slug": "Not A Slug"}, 422, "slug"),
        (
            "/v1/brands",
            {"name": "A", "support_contact": "x", "support_phone": "call me"},
            422,
            "support_phone",
        ),
        ("/v1/programs", {"brand_id": "nope", "name": "P"}, 404, "brand_id"),
        ("/v1/programs", {"brand_id": "acme", "name": "P", "category": "spam"}, 422, "category"),
        (
            "/v1/programs",
            {"brand_id": "acme", "name": "P", "opt_out_scope": "planet"},
            422,
            "opt_out_scope",
        ),
        (
            "/v1/programs",
            {"brand_id": "acme", "name": "P", "opt_out_reply": "Unsubscribed ✓"},
            422,
            "opt_out_reply",
        ),
        (
            "/v1/programs",
            {"brand_id": "acme", "name": "P", "opt_out_reply": "x" * 161},
            422,
            "opt_out_reply",
        ),
        ("/v1/senders", {"address": "+14255550123", "kind": "pigeon"}, 422, "kind"),
        ("/v1/senders", {"address": "1234", "kind": "short_code"}, 422, "address"),
        ("/v1/senders", {"address": "+14255550123", "kind": "toll_free"}, 422, "address"),
        (
            "/v1/senders",
            {"address": "+14255550123", "kind": "long_code", "program_ids": ["nope"]},
            404,
            "program_ids",
        ),
    ],
)
def test_bad_registry_input_is_4xx_naming_the_field(
    client: httpx.Client, path: str, body: dict[str, object], status: int, field: str
) -> None:
    client.post("/v1/brands", json={"name": "Acme", "slug": "acme", "support_contact": "x"})
    before = {p: client.get(p).json() for p in ("/v1/brands", "/v1/programs", "/v1/senders")}
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field
    assert {p: client.get(p).json() for p in before} == before


def test_duplicates_are_409(client: httpx.Client) -> None:
    create_registry(client, sender="+12065550100")
    brand = client.post("/v1/brands", json={"name": "X", "slug": "acme", "support_contact": "x"})
    assert brand.status_code == 409
    sender = client.post("/v1/senders", json={"address": "2065550100", "kind": "long_code"})
    assert sender.status_code == 409
    assert sender.json()["error"]["field"] == "address"


def test_tenants_never_see_each_other(
    service: Consentry, base_url: str, client: httpx.Client, tenant: Tenant
) -> None:
    registry = create_registry(client, sender="+12065550100")
    optouts(client, "add", "+12065550100", "+14255550123")
    _, other_key = service.create_tenant("Other", slug=f"other-{tenant.slug}")
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {other_key}"}) as other:
        for path in (
            f"/v1/brands/{registry.brand['id']}",
            "/v1/brands/acme",
            f"/v1/programs/{registry.program['id']}",
            f"/v1/senders/{registry.sender['id']}",
        ):
            assert other.get(path).status_code == 404, path
        assert other.get("/v1/brands").json() == []
        assert other.get("/v1/senders").json() == []
        assert other.get("/v1/outbox").json() == []
        assert not is_opted_out(other, "+12065550100", "+14255550123")
        assert other.get("/v1/optouts").text.strip().count("\n") == 0
        assert other.get("/v1/optouts/+14255550123/history").json()["events"] == []
        response = other.post(
            "/v1/optouts:add",
            json={
                "recipients": [{"to": "+14255550123"}],
                "scope": {"kind": "program", "id": registry.program["id"]},
            },
        )
        assert response.status_code == 404


def test_healthz_and_openapi(anonymous: httpx.Client) -> None:
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    schema = anonymous.get("/openapi.json").json()
    assert "/v1/optouts:add" in schema["paths"]
    assert "/v1/inbound" in schema["paths"]
