"""Request-size and per-tenant rate limits answer 413 / 429 with the JSON error shape, over a
real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from consentry import Consentry
from consentry.api import create_app
from consentry.api.limits import BodySizeLimit
from tests.conftest import serving

SENDER = "+12065550100"


@pytest.fixture(scope="module")
def small_url(service: Consentry) -> Iterator[str]:
    """A server with a 4 KiB body limit (64 KiB on the batch route) and 5 requests a minute."""
    app = create_app(
        service,
        api_rate_limit="5/minute",
        max_body_bytes=4096,
        body_limits={"/v1/messages:check-batch": 65536},
    )
    with serving(app) as url:
        yield url


def _key(service: Consentry) -> str:
    return service.create_tenant("Limits", slug=f"lim-{secrets.token_hex(5)}")[1]


def _assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]


def _optout_body(size: int) -> bytes:
    recipients = ",".join(f'{{"to": "+1206555{n % 10000:04d}"}}' for n in range(size // 20))
    return f'{{"from": "{SENDER}", "recipients": [{recipients}]}}'.encode()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversized_body_is_413_json(service: Consentry, small_url: str, chunked: bool) -> None:
    body = _optout_body(8192)
    assert len(body) > 4096
    headers = {"Authorization": f"Bearer {_key(service)}", "Content-Type": "application/json"}
    content: bytes | Iterator[bytes] = body
    if chunked:  # no Content-Length: the limit is enforced while the body streams in
        content = iter([body[i : i + 1000] for i in range(0, len(body), 1000)])
    with httpx.Client(base_url=small_url, timeout=30) as http:
        response = http.post("/v1/optouts:check", content=content, headers=headers)
        _assert_error(response, 413, "too_large")
        assert ("content-length" in response.request.headers) is not chunked


def test_body_under_the_limit_and_larger_route_limit(service: Consentry, small_url: str) -> None:
    key = _key(service)
    with httpx.Client(
        base_url=small_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as http:
        small = http.post(
            "/v1/optouts:check", json={"from": SENDER, "recipients": [{"to": "+12065550123"}]}
        )
        assert small.status_code == 200, small.text
        assert small.json()["value"][0]["isOptedOut"] is False
        message = {"from": SENDER, "to": "+12065550123", "program": "p", "body": "x" * 100}
        batch = http.post("/v1/messages:check-batch", json={"messages": [message] * 50})
        assert batch.status_code == 200, batch.text  # 8 KB: over the default, under its route's
        assert len(batch.json()["results"]) == 50
        huge = http.post("/v1/messages:check-batch", json={"messages": [message] * 500})
        _assert_error(huge, 413, "too_large")


def test_tenant_rate_limit_is_429_with_retry_after(service: Consentry, small_url: str) -> None:
    first, second = _key(service), _key(service)
    with httpx.Client(base_url=small_url, timeout=30) as http:
        statuses = [
            http.get("/v1/tenant", headers={"Authorization": f"Bearer {first}"}).status_code
            for _ in range(5)
        ]
        assert statuses == [200] * 5
        limited = http.get("/v1/tenant", headers={"Authorization": f"Bearer {first}"})
        _assert_error(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert limited.json()["error"]["retry_after"] == int(limited.headers["Retry-After"])
        # the limit is per tenant: another tenant is not slowed down
        other = http.get("/v1/tenant", headers={"Authorization": f"Bearer {second}"})
        assert other.status_code == 200, other.text
        # a bad key is 401 and counts against nobody
        bad = http.get("/v1/tenant", headers={"Authorization": "Bearer csk.x.y.z"})
        assert bad.status_code == 401


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/optouts:check", 100),
        ("/v1/messages:check-batch", 1000),
        ("/v1/upload/a", 5000),
        ("/v1/upload", 100),
        ("/v1/screen", None),
    ],
)
def test_limit_for_path(path: str, expected: int | None) -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("not called")

    limit = BodySizeLimit(
        app,
        default=100,
        paths={"/v1/messages:check-batch": 1000, "/v1/upload/*": 5000, "/v1/screen": None},
    )
    assert limit.limit_for(path) == expected
