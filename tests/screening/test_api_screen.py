"""``POST /v1/screen`` over a real HTTP server, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from consentry import Consentry
from consentry.api import create_app
from tests.conftest import serving
from tests.screening.conftest import LIST_ROWS, SENDER, Screened, expected


def _client(base_url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_multipart_upload_json_answer(base_url: str, screened: Screened) -> None:
    with _client(base_url, screened.key) as client:
        response = client.post(
            "/v1/screen",
            params={"column": "phone", "program": "coffee-club", "sender": SENDER},
            files={"file": ("list.csv", screened.list_path.read_bytes(), "text/csv")},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    want = expected(sender=True)
    assert (body["rows"], body["allowed"], body["suppressed"]) == (10, 3, 7)
    assert body["suppressed_by_reason"]["no_consent"] == 2
    assert {row["id"]: row["reason"] for row in body["suppressed_rows"]} == {
        k: v for k, v in want.items() if v
    }
    assert body["suppressed_rows"][0] == {
        "id": "1",
        "phone": "+12065550101",
        "reason": "opted_out:tenant",
    }


def test_csv_body_and_csv_answers(base_url: str, screened: Screened) -> None:
    data = screened.list_path.read_bytes()
    headers = {"Content-Type": "text/csv"}
    params = {"column": "phone", "program": "coffee-club"}
    with _client(base_url, screened.key) as client:
        allowed = client.post(
            "/v1/screen", params=params | {"output": "allowed"}, content=data, headers=headers
        )
        suppressed = client.post(
            "/v1/screen", params=params | {"output": "suppressed"}, content=data, headers=headers
        )
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["content-type"].startswith("text/csv")
    assert [r["id"] for r in csv.DictReader(io.StringIO(allowed.text))] == ["5", "6", "7", "10"]
    assert allowed.headers["x-suppressed"] == "6"
    rows = list(csv.DictReader(io.StringIO(suppressed.text)))
    assert [(r["id"], r["reason"]) for r in rows] == [(k, v) for k, v in expected().items() if v]


def test_plain_list_and_parquet_bodies(base_url: str, screened: Screened) -> None:
    numbers = [phone for _, phone, _ in LIST_ROWS]
    table = pa.table({"mobile": numbers})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    with _client(base_url, screened.key) as client:
        listed = client.post(
            "/v1/screen",
            params={"format": "list", "program": "coffee-club"},
            content="\n".join(numbers).encode(),
            headers={"Content-Type": "text/plain"},
        )
        parquet = client.post(
            "/v1/screen",
            params={"column": "mobile", "program": "coffee-club"},
            content=sink.getvalue(),
            headers={"Content-Type": "application/vnd.apache.parquet"},
        )
    for response in (listed, parquet):
        assert response.status_code == 200, response.text
        assert (response.json()["rows"], response.json()["allowed"]) == (10, 4)


def test_errors(base_url: str, screened: Screened) -> None:
    files = {"file": ("list.csv", screened.list_path.read_bytes(), "text/csv")}
    with _client(base_url, screened.key) as client:
        column = client.post("/v1/screen", params={"column": "mobile"}, files=files)
        program = client.post(
            "/v1/screen", params={"column": "phone", "program": "nope"}, files=files
        )
        empty = client.post("/v1/screen", params={"column": "phone"}, content=b"")
        wrong_field = client.post(
            "/v1/screen", params={"column": "phone"}, files={"upload": ("a.csv", b"phone\n1\n")}
        )
    with httpx.Client(base_url=base_url) as anonymous:
        unauthenticated = anonymous.post("/v1/screen", params={"column": "phone"}, files=files)
    assert column.status_code == 422
    assert column.json()["error"]["field"] == "column"
    assert "no column 'mobile'" in column.json()["error"]["message"]
    assert program.status_code == 404
    assert program.json()["error"]["field"] == "program"
    assert empty.status_code == 422
    assert wrong_field.status_code == 422
    assert wrong_field.json()["error"]["field"] == "file"
    assert unauthenticated.status_code == 401


def test_upload_limit_is_configurable(service: Consentry, screened: Screened) -> None:
    app = create_app(service)
    app.state.screen_max_bytes = 100
    small = b"phone\n+12065550106\n"
    large = b"phone\n" + b"+12065550106\n" * 20
    with serving(app) as url, _client(url, screened.key) as client:
        accepted = client.post("/v1/screen", params={"column": "phone"}, content=small)
        refused = client.post("/v1/screen", params={"column": "phone"}, content=large)

        def chunks() -> Iterator[bytes]:
            yield large[:50]
            yield large[50:]

        streamed = client.post("/v1/screen", params={"column": "phone"}, content=chunks())
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["allowed"] == 1
    for response in (refused, streamed):
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_large"
        assert "100 bytes" in response.json()["error"]["message"]


def test_a_malformed_multipart_body_is_a_422_naming_the_file(
    base_url: str, screened: Screened
) -> None:
    with _client(base_url, screened.key) as client:
        broken = client.post(
            "/v1/screen",
            params={"column": "phone"},
            content=b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nno end',
            headers={"Content-Type": "multipart/form-data; boundary=xyz"},
        )
        no_boundary = client.post(
            "/v1/screen",
            params={"column": "phone"},
            content=b"phone\n+12065550100\n",
            headers={"Content-Type": "multipart/form-data"},
        )
        binary = client.post(
            "/v1/screen",
            params={"column": "phone"},
            files={"file": ("list.csv", bytes(range(256)) * 8, "text/csv")},
        )
    for response in (broken, no_boundary, binary):
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == "file"
