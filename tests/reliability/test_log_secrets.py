"""What a running server writes at info level: no API key, no provider auth token, no message
body and no full phone number (the access log shows request paths masked). A real
``consentry serve --deliver`` process is driven over HTTP; its whole output is checked. On SQLite
and PostgreSQL."""

from __future__ import annotations

import secrets
import signal
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from consentry import Consentry
from consentry.logs import mask_numbers
from consentry.testing import free_port, start_server

SENDER = "+12065550100"
PERSON = "+14255550123"
OTHER = "+14255550124"


def test_info_log_keeps_no_secrets(database_url: str, service: Consentry, tmp_path: Path) -> None:
    tenant, key = service.create_tenant("Logs", slug=f"logs-{secrets.token_hex(4)}")
    brand = service.create_brand(tenant, "Acme", "help@acme.example")
    service.create_program(tenant, brand.id, "Alerts", slug="alerts")
    service.create_sender(tenant, SENDER, "long_code", programs=["alerts"], verified=True)
    token = secrets.token_hex(16)
    bodies = [f"stop texting me {secrets.token_hex(6)}" for _ in range(3)]
    output = tmp_path / "server.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(database_url, port, output=output, extra=("--deliver",))
    try:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as http:
            assert http.put("/v1/providers/twilio", json={"auth_token": token}).status_code == 200
            inbound = http.post(
                "/v1/inbound", json={"from": PERSON, "to": SENDER, "body": bodies[0]}
            )
            assert inbound.status_code == 200, inbound.text
            check = {"from": SENDER, "to": OTHER, "program": "alerts", "body": bodies[1]}
            assert http.post("/v1/messages:check", json=check).status_code == 200
            for path in (
                f"/v1/recipients/{quote(PERSON)}",
                f"/v1/recipients/{PERSON}/history",
                f"/v1/optouts/{quote(PERSON, safe='')}/history",
                f"/v1/outbox?to={quote(PERSON)}",
            ):
                assert http.get(path).status_code == 200, path
            assert (
                http.get("/v1/tenant", headers={"Authorization": f"Bearer {key}x"}).status_code
                == 401
            )
        url = f"{base}/webhooks/twilio/{tenant.slug}"
        params = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "AccountSid": "AC" + "0" * 32,
            "From": OTHER,
            "To": SENDER,
            "Body": bodies[2],
            "NumMedia": "0",
        }
        signature = RequestValidator(token).compute_signature(url, params)
        webhook = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature})
        assert webhook.status_code == 200, webhook.text
        time.sleep(2.5)  # one delivery round of the outbox (the STOP confirmation)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    log = output.read_text(errors="replace")
    assert "GET /v1/recipients/+1******0123 " in log, log  # the access log ran, masked
    assert mask_numbers(PERSON) in log
    leaks = [key, key.rsplit(".", 1)[1], token, *bodies, PERSON, OTHER, SENDER]
    leaks += [number[1:] for number in (PERSON, OTHER, SENDER)]  # without "+"
    leaks += [number[2:] for number in (PERSON, OTHER, SENDER)]  # national
    found = [secret for secret in leaks if secret in log]
    assert found == [], log
    password = sa.make_url(database_url).password
    if password:
        assert f":{password}@" not in log
