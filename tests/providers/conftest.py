"""Local fakes of the providers' APIs for the real SDKs to talk to: AWS End User Messaging SMS
(``pinpoint-sms-voice-v2``, JSON 1.0 over plain http, as boto3 speaks it to any endpoint_url) and
Azure Communication Services SMS (over https with a self-signed certificate made here: the SDK
only speaks https when built from a connection string, and each request's HMAC-SHA256 signature
is checked with the access key)."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from consentry.service._delivery import AwsEndpointUrlEnv, AzureCaBundleEnv
from tests.conftest import serving

AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AZURE_KEY = base64.b64encode(b"consentry-test-access-key-0123456789").decode()

# --- AWS ---------------------------------------------------------------------------------------

AwsScript = tuple[int, str | None, str | None]  # HTTP status, exception type, reason


@dataclass
class FakeAws:
    """The SMS and voice v2 API: records requests; SendTextMessage answers from ``script``."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: list[AwsScript] = field(default_factory=list)
    opt_out_lists: dict[str, set[str]] = field(default_factory=dict)
    page_size: int = 2

    def sent(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["action"] == "SendTextMessage"]

    def app(self) -> Starlette:
        async def api(request: Request) -> Response:
            action = request.headers.get("x-amz-target", "").split(".")[-1]
            body = json.loads(await request.body() or b"{}")
            self.requests.append(
                {"action": action, "body": body, "auth": request.headers.get("authorization", "")}
            )
            if action == "SendTextMessage":
                return self._send()
            if action == "DescribeOptedOutNumbers":
                return self._describe(body)
            if action == "PutOptedOutNumber":
                numbers = self.opt_out_lists.setdefault(body["OptOutListName"], set())
                numbers.add(body["OptedOutNumber"])
                return _aws_json(
                    {
                        "OptOutListName": body["OptOutListName"],
                        "OptedOutNumber": body["OptedOutNumber"],
                        "OptedOutTimestamp": time.time(),
                        "EndUserOptedOut": False,
                    }
                )
            return _aws_error(400, "ValidationException", None, f"unknown action {action}")

        return Starlette(routes=[Route("/", api, methods=["POST"])])

    def _send(self) -> Response:
        status, kind, reason = self.script.pop(0) if self.script else (200, None, None)
        if status >= 300:
            return _aws_error(status, kind or "InternalServerException", reason, "scripted")
        return _aws_json({"MessageId": f"aws-{len(self.requests):08d}"})

    def _describe(self, body: dict[str, Any]) -> Response:
        name = body["OptOutListName"]
        if name not in self.opt_out_lists:
            return _aws_error(404, "ResourceNotFoundException", None, f"no list {name}")
        numbers = sorted(self.opt_out_lists[name])
        start = int(body.get("NextToken") or 0)
        page = numbers[start : start + self.page_size]
        answer: dict[str, Any] = {
            "OptOutListName": name,
            "OptedOutNumbers": [
                {"OptedOutNumber": n, "OptedOutTimestamp": time.time(), "EndUserOptedOut": True}
                for n in page
            ],
        }
        if start + self.page_size < len(numbers):
            answer["NextToken"] = str(start + self.page_size)
        return _aws_json(answer)


def _aws_json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status, media_type="application/x-amz-json-1.0")


def _aws_error(status: int, kind: str, reason: str | None, message: str) -> Response:
    body: dict[str, Any] = {"__type": kind, "message": message}
    if reason:
        body["Reason"] = reason
    return _aws_json(body, status)


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAws]:
    fake = FakeAws()
    with serving(fake.app()) as url:
        fake.url = url
        monkeypatch.setenv(AwsEndpointUrlEnv, url)
        yield fake


# --- Azure -------------------------------------------------------------------------------------

AzureScript = tuple[int, int | None]  # HTTP status of the request, per-recipient status


@dataclass
class FakeAzure:
    """The SMS API (send) and the Opt-Out Management API, over https; rejects bad signatures."""

    url: str = ""
    host: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: list[AzureScript] = field(default_factory=list)
    opted_out: dict[str, set[str]] = field(default_factory=dict)  # sender -> numbers
    bad_signatures: int = 0

    @property
    def connection_string(self) -> str:
        return f"endpoint={self.url}/;accesskey={AZURE_KEY}"

    def sent(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["path"] == "/sms"]

    def app(self) -> Starlette:
        async def sms(request: Request) -> Response:
            if (refused := await self._refused(request)) is not None:
                return refused
            body = self.requests[-1]["body"]
            status, each = self.script.pop(0) if self.script else (202, 202)
            if status >= 300:
                return JSONResponse(
                    {"error": {"code": "Scripted", "message": "scripted failure"}}, status
                )
            value = [
                {
                    "to": recipient["to"],
                    "messageId": f"Outgoing_{len(self.requests):08d}" if each == 202 else None,
                    "httpStatusCode": each,
                    "successful": each == 202,
                    "errorMessage": None if each == 202 else "scripted recipient failure",
                    "repeatabilityResult": "accepted",
                }
                for recipient in body["smsRecipients"]
            ]
            return JSONResponse({"value": value}, 202)

        async def optouts(request: Request) -> Response:
            if (refused := await self._refused(request)) is not None:
                return refused
            action = request.path_params["action"]
            body = self.requests[-1]["body"]
            numbers = self.opted_out.setdefault(body["from"], set())
            value = []
            for recipient in body["recipients"]:
                to = recipient["to"]
                if action == "add":
                    numbers.add(to)
                elif action == "remove":
                    numbers.discard(to)
                item: dict[str, Any] = {"to": to, "httpStatusCode": 200}
                if action == "check":
                    item["isOptedOut"] = to in numbers
                value.append(item)
            return JSONResponse({"value": value})

        return Starlette(
            routes=[
                Route("/sms", sms, methods=["POST"]),
                Route("/sms/optouts:{action}", optouts, methods=["POST"]),
            ]
        )

    async def _refused(self, request: Request) -> Response | None:
        """Record the request; 401 unless signed as Azure's HMAC scheme says, with our key."""
        raw = await request.body()
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        self.requests.append(
            {"path": request.url.path, "query": dict(request.query_params), "body": json.loads(raw)}
        )
        date = request.headers.get("x-ms-date", "")
        digest = base64.b64encode(hashlib.sha256(raw).digest()).decode()
        signed = f"{request.method}\n{path}\n{date};{self.host};{digest}"
        signature = base64.b64encode(
            hmac.new(base64.b64decode(AZURE_KEY), signed.encode(), hashlib.sha256).digest()
        ).decode()
        expected = (
            f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"
        )
        if request.headers.get("x-ms-content-sha256") != digest or not hmac.compare_digest(
            request.headers.get("authorization", ""), expected
        ):
            self.bad_signatures += 1
            return JSONResponse({"error": {"code": "Denied", "message": "bad signature"}}, 401)
        return None


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key: (certificate, key) PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "azure-cert.pem", directory / "azure-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the server runs in a thread
        pass


@contextlib.contextmanager
def serving_tls(app: Any, certfile: Path, keyfile: Path) -> Iterator[str]:
    """Serve ``app`` over https on a free 127.0.0.1 port; yield its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ssl_certfile=str(certfile),
        ssl_keyfile=str(keyfile),
        # A client the test left open (an SDK keeps its connection alive) must not hold the
        # shutdown for long.
        timeout_graceful_shutdown=1,
    )
    server = _Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def fake_azure(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FakeAzure]:
    fake = FakeAzure()
    certfile, keyfile = self_signed(tmp_path_factory.mktemp("tls"))
    with serving_tls(fake.app(), certfile, keyfile) as url:
        fake.url = url
        fake.host = url.removeprefix("https://")
        monkeypatch.setenv(AzureCaBundleEnv, str(certfile))
        yield fake


def new_number() -> str:
    """A fresh fictional US number (555-01xx range)."""
    return f"+1425555{secrets.randbelow(10_000):04d}"
