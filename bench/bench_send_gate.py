"""Send-gate decisions per second: the pure function, the service (in-process) and HTTP batches.

Measurement only (nothing is asserted). Run: ``.venv/bin/python bench/bench_send_gate.py``
Set ``CONSENTRY_BENCH_DATABASE_URL`` to measure on PostgreSQL; the default is a temporary SQLite
file. The tenant has ``--recipients`` consented recipients (10% of them opted out) across US area
codes; a campaign sends one of a few templates to every recipient with all rules on. Caches are
warm (one untimed pass first), as they are in a running server.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from consentry import Consentry
from consentry.domain.policy import OutgoingMessage, check_send
from consentry.service import SendRequest
from consentry.testing import free_port, start_server

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
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--clients", type=int, default=1, help="concurrent HTTP clients")
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

    # The server runs in its own process, as in production: the client's JSON work does not
    # share the server's interpreter lock.
    port = free_port()
    server = start_server(url, port, extra=("--workers", str(args.workers)))
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
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def post_all(batch_bodies: list[bytes]) -> None:
        # The standard library's client reads the response without parsing it (the client
        # shares the machine's two cores with the server); a connection a request, so that the
        # kernel spreads requests over the workers (a kept-alive one stays with one worker).
        for body in batch_bodies:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            connection.request("POST", "/v1/messages:check-batch", body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            connection.close()
            if response.status != 200 or not payload.startswith(b'{"results":'):
                raise RuntimeError(f"HTTP {response.status}: {payload[:200]!r}")

    # Every client sends every batch: each request is 10,000 recipients.
    for _ in range(args.workers * 2):
        post_all(bodies)  # warm each worker's caches (the kernel spreads connections)
    rates = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(post_all, [bodies] * args.clients))
        rates.append(len(requests) * args.clients / (time.perf_counter() - started))
    print(
        f"HTTP check-batch (10,000 a request; {args.clients} clients, {args.workers} server "
        f"workers in their own processes): median {statistics.median(rates):,.0f} "
        f"recipients/s, best {max(rates):,.0f}"
    )
    server.terminate()
    server.wait(timeout=10)
    service.close()


if __name__ == "__main__":
    main()
