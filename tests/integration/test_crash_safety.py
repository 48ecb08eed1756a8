"""Nothing acknowledged is lost: a real server process is killed with SIGKILL while concurrent
clients write opt-outs, restarted, killed again; every opt-out that got a 2xx is there at the
end, and the ledger's hash chain verifies. On SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import os
import random
import signal
import threading
import time

import httpx

from consentry import Consentry
from consentry.testing import free_port, start_server

SENDER = "+12065550100"
CLIENTS = 4
KILLS = 3


def test_acknowledged_opt_outs_survive_sigkill(database_url: str, service: Consentry) -> None:
    tenant, key = service.create_tenant("Crash", slug=f"crash-{os.urandom(4).hex()}")
    brand = service.create_brand(tenant, "Acme", "help@acme.example")
    service.create_program(tenant, brand.id, "Alerts", slug="alerts")
    service.create_sender(tenant, SENDER, "long_code", programs=["alerts"], verified=True)

    port = free_port()
    acknowledged: list[str] = []
    attempts = itertools.count()
    stop = threading.Event()
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=5,
        ) as http:
            while not stop.is_set():
                n = next(attempts)
                number = f"+1206{300 + n // 10000:03d}{n % 10000:04d}"
                try:
                    response = http.post(
                        "/v1/optouts:add", json={"from": SENDER, "recipients": [{"to": number}]}
                    )
                except httpx.TransportError:
                    time.sleep(0.02)  # the server is down: this write was never acknowledged
                    continue
                if response.status_code == 200 and response.json()["value"][0]["isOptedOut"]:
                    with lock:
                        acknowledged.append(number)

    server = start_server(database_url, port)
    workers = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for worker in workers:
        worker.start()
    rng = random.Random(7)
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.4, 1.0))
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=10)
            server = start_server(database_url, port)
        time.sleep(0.5)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=10)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)

    assert len(acknowledged) > 20, "the clients barely got through: the test proves nothing"
    statuses = service.check_optouts(tenant, acknowledged, sender=SENDER)
    lost = [status.to for status in statuses if not status.opted_out]
    assert lost == []
    report = service.verify_ledger(tenant)
    assert report.ok, report
    assert report.events >= len(set(acknowledged))
