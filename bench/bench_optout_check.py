"""Opt-out checks per second: in-process (the service) and over HTTP (a real uvicorn server).

Measurement only (nothing is asserted). Run: ``.venv/bin/python bench/bench_optout_check.py``
Set ``CONSENTRY_BENCH_DATABASE_URL`` to measure on PostgreSQL; the default is a temporary SQLite
file. The store holds ``--optouts`` opted-out numbers; each request checks 100 numbers, 10% hits.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from consentry import Consentry, ScopeKind, ScopeRef
from consentry.api import create_app

SENDER = "+12065550100"


def numbers(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    area_codes = [206, 212, 312, 415, 425, 503, 617, 702, 713, 808]
    return [
        f"+1{rng.choice(area_codes)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        for _ in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--optouts", type=int, default=20_000)
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()

    url = os.environ.get("CONSENTRY_BENCH_DATABASE_URL")
    workdir = tempfile.mkdtemp()
    url = url or f"sqlite:///{Path(workdir) / 'bench.db'}"
    service = Consentry(url)
    service.migrate()
    tenant, key = service.create_tenant("Bench", slug=f"bench-{random.randrange(1 << 30):x}")
    brand = service.create_brand(tenant, "Bench", "help@bench.example")
    program = service.create_program(tenant, brand.id, "Alerts")
    service.create_sender(tenant, SENDER, "long_code", programs=[program.id])

    opted = numbers(args.optouts, seed=1)
    started = time.perf_counter()
    service.import_optouts(
        tenant, enumerate(opted, 1), scope=ScopeRef(ScopeKind.PROGRAM, program.id)
    )
    print(
        f"store: {url.split('@')[-1]}; imported {len(opted)} opt-outs in {time.perf_counter() - started:.1f} s"
    )

    rng = random.Random(2)
    fresh = numbers(args.batches * 100, seed=3)
    batches = [
        [rng.choice(opted) if rng.random() < 0.1 else fresh[b * 100 + i] for i in range(100)]
        for b in range(args.batches)
    ]

    checked = len(batches) * 100
    # The first pass parses every number; the second finds them in the number cache.
    for label in ("cold number cache", "warm number cache"):
        started = time.perf_counter()
        hits = 0
        for batch in batches:
            statuses = service.check_optouts(tenant, batch, sender=SENDER)
            hits += sum(bool(status.opted_out) for status in statuses)
        elapsed = time.perf_counter() - started
        per_check = elapsed / len(batches) * 1000
        print(
            f"in-process, {label}: {checked / elapsed:,.0f} numbers/s "
            f"({per_check:.2f} ms per 100-number check, {hits} hits)"
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
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}
    ) as http:
        started = time.perf_counter()
        for batch in batches:
            response = http.post(
                "/v1/optouts:check", json={"from": SENDER, "recipients": [{"to": n} for n in batch]}
            )
            response.raise_for_status()
        elapsed = time.perf_counter() - started
    print(
        f"HTTP (1 client, sequential): {checked / elapsed:,.0f} numbers/s ({elapsed / len(batches) * 1000:.2f} ms per 100-number request)"
    )
    server.should_exit = True
    thread.join(timeout=5)
    service.close()


if __name__ == "__main__":
    main()
