"""Send-gate decisions per second: the pure function, the service (in-process) and HTTP batches.

Measurement only (nothing is asserted). Run: ``.venv/bin/python bench/bench_send_gate.py``
Set ``CONSENTRY_BENCH_DATABASE_URL`` to measure on PostgreSQL; the default is a temporary SQLite
file. The tenant has ``--recipients`` consented recipients (10% of them opted out) across US area
codes; a campaign sends one of a few templates to every recipient with all rules on. Caches are
warm (one untimed pass first), as they are in a running server.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import uvicorn

from consentry import Consentry
from consentry.api import create_app
from consentry.domain.policy import OutgoingMessage, check_send
from consentry.service import SendRequest

SENDER = "+12065550100"
TEMPLATES = [
    "Demo Coffee: 2-for-1 lattes today only at your local shop. Reply STOP to opt out.",
    "Demo Coffee: your loyalty reward is ready, show this text at the counter. Reply STOP to opt out.",
    "Demo Coffee: new autumn menu, pumpkin spice is back. Reply STOP to opt out.",
]


def numbers(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    area_codes = [206, 212, 312, 415, 425, 503, 617, 702, 713, 808, 305, 405]
    found: set[str] = set()
    while len(found) < count:
        found.add(f"+1{rng.choice(area_codes)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}")
    return sorted(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    url = os.environ.get("CONSENTRY_BENCH_DATABASE_URL")
    url = url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    service = Consentry(url)
    service.migrate()
    tenant, key = service.create_tenant("Bench", slug=f"bench-{random.randrange(1 << 30):x}")
    brand = service.create_brand(tenant, "Demo Coffee", "help@demo.example")
    program = service.create_program(
        tenant, brand.id, "Coffee Club", category="marketing", frequency="Up to 4 msgs/month"
    )
    service.create_sender(tenant, SENDER, "long_code", programs=[program.id], verified=True)
    recipients = numbers(args.recipients, seed=1)
    started = time.perf_counter()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    report = service.import_consents(
        tenant,
        program.id,
        (
            (
                line,
                {
                    "recipient": number,
                    "occurred_at": yesterday,
                    "disclosure_text": "Join Demo Coffee Club texts. Up to 4 msgs/month. Reply STOP.",
                },
            )
            for line, number in enumerate(recipients, start=2)
        ),
    )
    assert not report.rejected, report.rejected[:3]
    service.add_optouts(tenant, recipients[::10], sender=SENDER)
    print(
        f"store: {url.split('@')[-1]}; {len(recipients)} consented recipients, "
        f"{len(recipients[::10])} opted out; set-up {time.perf_counter() - started:.1f} s"
    )

    # A weekday afternoon in every US zone.
    at = datetime.now(UTC).replace(hour=19, minute=0, second=0, microsecond=0) + timedelta(days=1)
    while at.weekday() >= 5:
        at += timedelta(days=1)
    requests = [
        SendRequest(SENDER, number, program.slug, TEMPLATES[i % len(TEMPLATES)], at)
        for i, number in enumerate(recipients)
    ]
    batches = [requests[i : i + 10_000] for i in range(0, len(requests), 10_000)]

    # Warm the caches (state load, number parsing, body analysis), then time.
    for batch in batches:
        service.check_batch(tenant, batch)
    gate = service._gates[tenant.id]  # the benchmark looks inside on purpose
    assert gate.state is not None
    messages = [
        OutgoingMessage(SENDER, r.recipient, program.id, r.body, at, "marketing") for r in requests
    ]
    rates = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for message in messages:
            check_send(message, gate.state)
        rates.append(len(messages) / (time.perf_counter() - started))
    outcome = {"send": 0, "block": 0, "defer": 0}
    for message in messages:
        outcome[check_send(message, gate.state).action.value] += 1
    print(
        f"pure check_send (one core, warm): median {statistics.median(rates):,.0f} decisions/s, "
        f"best {max(rates):,.0f}  outcome {outcome}"
    )

    rates = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for batch in batches:
            service.check_batch(tenant, batch)
        rates.append(len(requests) / (time.perf_counter() - started))
    print(
        f"service check_batch (10,000 a batch, in-process): median "
        f"{statistics.median(rates):,.0f} decisions/s, best {max(rates):,.0f}"
    )

    started = time.perf_counter()
    single = requests[:2000]
    for request in single:
        service.check_send(
            tenant, request.sender, request.recipient, request.program, request.body, at=at
        )
    elapsed = time.perf_counter() - started
    print(
        f"service check_send (one message a call, version check each): "
        f"{len(single) / elapsed:,.0f} decisions/s ({elapsed / len(single) * 1e6:.0f} us a call)"
    )

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    bodies = [
        orjson.dumps(
            {
                "messages": [
                    {
                        "from": r.sender,
                        "to": r.recipient,
                        "program": r.program,
                        "body": r.body,
                        "at": at.isoformat(),
                    }
                    for r in batch
                ]
            }
        )
        for batch in batches
    ]
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        timeout=120,
    ) as http:
        rates = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            for body in bodies:
                response = http.post("/v1/messages:check-batch", content=body)
                response.raise_for_status()
            rates.append(len(requests) / (time.perf_counter() - started))
    print(
        f"HTTP check-batch (10,000 a request, 1 client): median "
        f"{statistics.median(rates):,.0f} recipients/s, best {max(rates):,.0f}"
    )
    server.should_exit = True
    thread.join(timeout=5)
    service.close()


if __name__ == "__main__":
    main()
