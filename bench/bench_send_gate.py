"""Send-gate decisions per second: the pure function, the service (in-process) and HTTP batches.

Measurement only (nothing is asserted). Run: ``.venv/bin/python bench/bench_send_gate.py``
(``--workers 2 --clients 2`` for two server processes), or as part of ``python -m bench``, which
measures one and two workers on SQLite. Set ``CONSENTRY_BENCH_DATABASE_URL`` to measure on
PostgreSQL; the default is a temporary SQLite file. The tenant has ``--recipients`` consented
recipients (10% of them opted out) across US area codes; a campaign sends one of a few templates
to every recipient with all rules on. Caches are warm (one untimed pass first), as they are in a
running server.
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from consentry import Consentry, Tenant
from consentry.domain.policy import OutgoingMessage, check_send
from consentry.service import SendRequest
from consentry.testing import free_port, start_server

SENDER = "+12065550100"
TEMPLATES = [
    "Demo Coffee: 2-for-1 lattes today only at your local shop. Reply STOP to opt out.",
    "Demo Coffee: your loyalty reward is ready, show this text at the counter. Reply STOP to opt out.",
    "Demo Coffee: new autumn menu, pumpkin spice is back. Reply STOP to opt out.",
]
BATCH = 10_000
Result = dict[str, object]


def numbers(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    area_codes = [206, 212, 312, 415, 425, 503, 617, 702, 713, 808, 305, 405]
    found: set[str] = set()
    while len(found) < count:
        found.add(f"+1{rng.choice(area_codes)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}")
    return sorted(found)


@dataclass(frozen=True)
class Campaign:
    """A tenant with consented recipients and the messages of one campaign to all of them."""

    url: str
    tenant: Tenant
    key: str
    program_id: str
    requests: list[SendRequest]


def prepare(service: Consentry, url: str, recipients: int) -> Campaign:
    """Register a brand, program and sender; import the consents; opt out every tenth."""
    tenant, key = service.create_tenant("Bench", slug=f"bench-{random.randrange(1 << 30):x}")
    brand = service.create_brand(tenant, "Demo Coffee", "help@demo.example")
    program = service.create_program(
        tenant, brand.id, "Coffee Club", category="marketing", frequency="Up to 4 msgs/month"
    )
    service.create_sender(tenant, SENDER, "long_code", programs=[program.id], verified=True)
    people = numbers(recipients, seed=1)
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
            for line, number in enumerate(people, start=2)
        ),
    )
    assert not report.rejected, report.rejected[:3]
    service.add_optouts(tenant, people[::10], sender=SENDER)
    print(
        f"store: {url.split('@')[-1]}; {len(people)} consented recipients, "
        f"{len(people[::10])} opted out; set-up {time.perf_counter() - started:.1f} s"
    )
    # A weekday afternoon in every US zone.
    at = datetime.now(UTC).replace(hour=19, minute=0, second=0, microsecond=0) + timedelta(days=1)
    while at.weekday() >= 5:
        at += timedelta(days=1)
    requests = [
        SendRequest(SENDER, number, program.slug, TEMPLATES[i % len(TEMPLATES)], at)
        for i, number in enumerate(people)
    ]
    return Campaign(url, tenant, key, program.id, requests)


def measure_in_process(service: Consentry, campaign: Campaign, rounds: int) -> dict[str, float]:
    """The pure function, the service's batches and single calls (medians of ``rounds``)."""
    tenant, requests = campaign.tenant, campaign.requests
    batches = [requests[i : i + BATCH] for i in range(0, len(requests), BATCH)]
    for batch in batches:  # warm the caches (state load, number parsing, body analysis)
        service.check_batch(tenant, batch)
    gate = service._gates[tenant.id]  # the benchmark looks inside on purpose
    assert gate.state is not None
    messages = [
        OutgoingMessage(SENDER, r.recipient, campaign.program_id, r.body, r.at, "marketing")
        for r in requests
    ]
    pure = []
    for _ in range(rounds):
        started = time.perf_counter()
        for message in messages:
            check_send(message, gate.state)
        pure.append(len(messages) / (time.perf_counter() - started))
    outcome = {"send": 0, "block": 0, "defer": 0}
    for message in messages:
        outcome[check_send(message, gate.state).action.value] += 1
    print(f"outcome of the campaign: {outcome}")
    batched = []
    for _ in range(rounds):
        started = time.perf_counter()
        for batch in batches:
            service.check_batch(tenant, batch)
        batched.append(len(requests) / (time.perf_counter() - started))
    single = requests[:2000]
    started = time.perf_counter()
    for request in single:
        service.check_send(
            tenant, request.sender, request.recipient, request.program, request.body, at=request.at
        )
    per_call = (time.perf_counter() - started) / len(single)
    return {
        "pure": statistics.median(pure),
        "pure_best": max(pure),
        "batch": statistics.median(batched),
        "batch_best": max(batched),
        "single_us": per_call * 1e6,
    }


def measure_http(
    campaign: Campaign, rounds: int, workers: int, clients: int
) -> tuple[float, float]:
    """Recipients a second over ``POST /v1/messages:check-batch`` (median, best), with the
    server in its own ``workers`` processes, as in production: the clients' JSON work does not
    share the server's interpreter lock."""
    port = free_port()
    server = start_server(campaign.url, port, extra=("--workers", str(workers)))
    requests = campaign.requests
    bodies = [
        orjson.dumps(
            {
                "messages": [
                    {
                        "from": r.sender,
                        "to": r.recipient,
                        "program": r.program,
                        "body": r.body,
                        "at": r.at.isoformat() if r.at else None,
                    }
                    for r in requests[i : i + BATCH]
                ]
            }
        )
        for i in range(0, len(requests), BATCH)
    ]
    headers = {"Authorization": f"Bearer {campaign.key}", "Content-Type": "application/json"}

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

    try:
        for _ in range(workers * 2):
            post_all(bodies)  # warm each worker's caches (the kernel spreads connections)
        rates = []
        for _ in range(rounds):
            started = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(post_all, [bodies] * clients))
            rates.append(len(requests) * clients / (time.perf_counter() - started))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return statistics.median(rates), max(rates)


def _result(
    name: str, value: float, unit: str, goal: str | None = None, met: bool | None = None
) -> Result:
    return {"name": name, "value": round(value, 1), "unit": unit, "goal": goal, "met": met}


def run(scale: float = 1.0) -> list[Result]:
    """``python -m bench``: in-process figures, then HTTP with one and two workers (SQLite)."""
    recipients = max(2_000, round(20_000 * min(scale, 1.0)))
    rounds = 5 if scale >= 1 else 3
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{Path(workdir) / 'bench.db'}"
        service = Consentry(url)
        service.migrate()
        try:
            campaign = prepare(service, url, recipients)
            local = measure_in_process(service, campaign, rounds)
        finally:
            service.close()
        one, _ = measure_http(campaign, rounds, workers=1, clients=1)
        two, _ = measure_http(campaign, rounds, workers=2, clients=2)
    return [
        _result("check_send, pure, one core", local["pure"], "decisions/s", ">= 100,000",
                local["pure"] >= 100_000),
        _result("check_batch, in-process", local["batch"], "decisions/s"),
        _result("check_send, one call", local["single_us"], "us"),
        _result("HTTP check-batch, 1 worker", one, "recipients/s", ">= 50,000", one >= 50_000),
        _result("HTTP check-batch, 2 workers", two, "recipients/s", ">= 50,000", two >= 50_000),
    ]  # fmt: skip


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
    campaign = prepare(service, url, args.recipients)
    local = measure_in_process(service, campaign, args.rounds)
    service.close()
    print(
        f"pure check_send (one core, warm): median {local['pure']:,.0f} decisions/s, "
        f"best {local['pure_best']:,.0f}"
    )
    print(
        f"service check_batch ({BATCH:,} a batch, in-process): median "
        f"{local['batch']:,.0f} decisions/s, best {local['batch_best']:,.0f}"
    )
    print(
        f"service check_send (one message a call, version check each): {local['single_us']:.0f} us a call"
    )
    median, best = measure_http(campaign, args.rounds, args.workers, args.clients)
    print(
        f"HTTP check-batch ({BATCH:,} a request; {args.clients} clients, {args.workers} server "
        f"workers in their own processes): median {median:,.0f} recipients/s, best {best:,.0f}"
    )


if __name__ == "__main__":
    main()
