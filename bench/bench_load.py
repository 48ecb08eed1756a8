"""Load: a mixed workload against a real ``consentry serve`` process, with latency percentiles.

An asyncio driver (httpx, ``--clients`` concurrent connections, 127.0.0.1 only) holds the load for
``--seconds`` (default 120) and stops by itself. Four tenants, each with a brand, a marketing
program ("Up to 4 msgs/month"), a verified sender and 2,000 consented recipients (10% opted out).
Each request picks one operation at random, by weight:

| operation | weight | request |
| --- | ---: | --- |
| check | 35 | ``POST /v1/messages:check`` one message |
| check-batch | 5 | ``POST /v1/messages:check-batch`` 100 messages |
| inbound | 20 | ``POST /v1/inbound``: STOP, START, HELP, "stop texting me", everyday replies |
| optout-write | 15 | ``POST /v1/optouts:add`` or ``:remove``, 1 to 10 numbers |
| optout-check | 25 | ``POST /v1/optouts:check`` 50 numbers |

The first tenth of the time (at most 5 s) warms the caches and is not timed (errors count).
Reported per operation: requests, errors (any status other than 200, or a transport error),
p50 / p95 / p99 / max latency and requests per second. At the end the server gets SIGTERM and
must drain and exit 0. Exit status 1 on any error.

Run: ``python bench/bench_load.py [--seconds 120] [--postgres URL]`` (PostgreSQL also runs when
``CONSENTRY_BENCH_POSTGRES_URL`` or ``CONSENTRY_TEST_POSTGRES_URL`` is set: a scratch database is
created and dropped), or ``python -m bench --only bench_load`` (``run(scale)``: 120 s times scale
per database, at least 10 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from consentry import Consentry
from consentry.testing import free_port, scratch_postgres_database, start_server

TENANTS = 4
RECIPIENTS = 2_000  # consented, per tenant
SENDER = "+12065550100"
BODY = "Demo Coffee: 2-for-1 lattes today at your local shop. Reply STOP to opt out."
REPLIES = ["STOP", "Start", "HELP", "stop texting me", "ok thanks", "see you at the bus stop", "Y"]
WEIGHTS = {"check": 35, "check-batch": 5, "inbound": 20, "optout-write": 15, "optout-check": 25}
Result = dict[str, object]


@dataclass
class _Tenant:
    key: str
    recipients: list[str]


@dataclass
class _Stats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None


def _numbers(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    area_codes = [206, 212, 312, 415, 425, 503, 617, 702, 713, 808]
    found: set[str] = set()
    while len(found) < count:
        found.add(f"+1{rng.choice(area_codes)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}")
    return sorted(found)


def _prepare(database_url: str) -> list[_Tenant]:
    """Migrate the database and create the tenants with their recipients."""
    service = Consentry(database_url)
    service.migrate()
    tenants = []
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    for index in range(TENANTS):
        tenant, key = service.create_tenant(f"Load {index}", slug=f"load-{secrets.token_hex(4)}")
        brand = service.create_brand(tenant, "Demo Coffee", "help@demo.example")
        program = service.create_program(
            tenant,
            brand.id,
            "Coffee Club",
            slug="club",
            category="marketing",
            frequency="Up to 4 msgs/month",
        )
        service.create_sender(tenant, SENDER, "long_code", programs=[program.id], verified=True)
        recipients = _numbers(RECIPIENTS, seed=index)
        rows = (
            (
                line,
                {
                    "recipient": number,
                    "occurred_at": yesterday,
                    "disclosure_text": "Join Demo Coffee Club texts. Up to 4 msgs/month. "
                    "Reply STOP to cancel.",
                },
            )
            for line, number in enumerate(recipients, start=2)
        )
        report = service.import_consents(tenant, program.id, rows)
        assert not report.rejected, report.rejected[:3]
        service.add_optouts(tenant, recipients[::10], sender=SENDER)
        tenants.append(_Tenant(key, recipients))
    service.close()
    return tenants


def _request(rng: random.Random, tenant: _Tenant) -> tuple[str, str, dict[str, Any]]:
    """One operation of the mix: (name, path, JSON body)."""
    name = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
    people = tenant.recipients
    if name == "check":
        body = {"from": SENDER, "to": rng.choice(people), "program": "club", "body": BODY}
        return name, "/v1/messages:check", body
    if name == "check-batch":
        messages = [
            {"from": SENDER, "to": to, "program": "club", "body": BODY}
            for to in rng.sample(people, 100)
        ]
        return name, "/v1/messages:check-batch", {"messages": messages}
    if name == "inbound":
        body = {"from": rng.choice(people), "to": SENDER, "body": rng.choice(REPLIES)}
        return name, "/v1/inbound", body
    if name == "optout-write":
        action = rng.choice(["add", "remove"])
        recipients = [{"to": to} for to in rng.sample(people, rng.randint(1, 10))]
        return name, f"/v1/optouts:{action}", {"from": SENDER, "recipients": recipients}
    recipients = [{"to": to} for to in rng.sample(people, 50)]
    return name, "/v1/optouts:check", {"from": SENDER, "recipients": recipients}


async def _drive(
    base_url: str, tenants: list[_Tenant], seconds: float, clients: int
) -> tuple[dict[str, _Stats], float]:
    stats = {name: _Stats() for name in WEIGHTS}
    warm = time.perf_counter() + min(5.0, seconds / 10)  # caches fill: latencies not counted
    deadline = warm + seconds

    async def client(number: int) -> None:
        rng = random.Random(number)
        tenant = tenants[number % len(tenants)]
        headers = {"Authorization": f"Bearer {tenant.key}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
            while time.perf_counter() < deadline:
                name, path, body = _request(rng, tenant)
                started = time.perf_counter()
                try:
                    response = await http.post(path, json=body)
                    problem = None if response.status_code == 200 else response.text[:300]
                    status = str(response.status_code)
                except httpx.HTTPError as error:
                    problem, status = repr(error), "transport"
                elapsed = time.perf_counter() - started
                entry = stats[name]
                if started >= warm:
                    entry.latencies.append(elapsed)
                if problem is not None:
                    entry.errors += 1
                    entry.first_error = entry.first_error or f"{path} {status}: {problem}"

    await asyncio.gather(*(client(n) for n in range(clients)))
    return stats, time.perf_counter() - warm


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def _result(
    name: str, value: float, unit: str, goal: str | None = None, met: bool | None = None
) -> Result:
    return {"name": name, "value": round(value, 2), "unit": unit, "goal": goal, "met": met}


def measure(database_url: str, label: str, seconds: float, clients: int = 8) -> list[Result]:
    """Hold the mixed load for ``seconds`` on ``database_url``; the figures as result rows."""
    tenants = _prepare(database_url)
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        log = Path(workdir) / "server.log"
        server = start_server(database_url, port, output=log)
        try:
            stats, elapsed = asyncio.run(
                _drive(f"http://127.0.0.1:{port}", tenants, seconds, clients)
            )
        finally:
            server.send_signal(signal.SIGTERM)
            exit_code = server.wait(timeout=60)
    results: list[Result] = []
    total = errors = 0
    for name, entry in stats.items():
        values = sorted(entry.latencies)
        total += len(values)
        errors += entry.errors
        prefix = f"{label} {name}"
        results += [
            _result(f"{prefix} requests", len(values), "requests"),
            _result(f"{prefix} throughput", len(values) / elapsed, "requests/s"),
            _result(f"{prefix} p50", _percentile(values, 0.50) * 1000, "ms"),
            _result(f"{prefix} p95", _percentile(values, 0.95) * 1000, "ms"),
            _result(f"{prefix} p99", _percentile(values, 0.99) * 1000, "ms"),
            _result(f"{prefix} max", (values[-1] if values else 0.0) * 1000, "ms"),
            _result(f"{prefix} errors", entry.errors, "errors", "0", entry.errors == 0),
        ]
        if entry.first_error:
            print(f"first error of {prefix}: {entry.first_error}", file=sys.stderr)
    everything = sorted(value for entry in stats.values() for value in entry.latencies)
    results += [
        _result(f"{label} all requests", total, "requests"),
        _result(f"{label} all throughput", total / elapsed, "requests/s"),
        _result(f"{label} all p50", _percentile(everything, 0.50) * 1000, "ms"),
        _result(f"{label} all p99", _percentile(everything, 0.99) * 1000, "ms"),
        _result(f"{label} all errors", errors, "errors", "0", errors == 0),
        _result(f"{label} exit code after SIGTERM", exit_code, "", "0", exit_code == 0),
        _result(f"{label} machine load average (1 min)", os.getloadavg()[0], ""),
    ]
    return results


@contextmanager
def _postgres_database(base: str | None) -> Iterator[str | None]:
    base = (
        base
        or os.environ.get("CONSENTRY_BENCH_POSTGRES_URL")
        or os.environ.get("CONSENTRY_TEST_POSTGRES_URL")
    )
    if not base:
        yield None
        return
    if sa.make_url(base).host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the load test runs against 127.0.0.1 only")
    with scratch_postgres_database(base, "consentry_load") as url:
        yield url


def run(scale: float = 1.0) -> list[Result]:
    """Every measurement of this module (``120 * scale`` seconds per database), as result rows."""
    return _run(max(10.0, 120.0 * scale), clients=8, postgres=None)


def _run(seconds: float, clients: int, postgres: str | None) -> list[Result]:
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{Path(workdir) / 'load.db'}"
        results = measure(url, "SQLite", seconds, clients)
    with _postgres_database(postgres) as pg_url:
        if pg_url is not None:
            results += measure(pg_url, "PostgreSQL", seconds, clients)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0, help="duration per database")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--postgres", help="PostgreSQL admin URL (a scratch database is made)")
    args = parser.parse_args()
    results = _run(args.seconds, args.clients, args.postgres)
    for row in results:
        goal = (
            f"  (goal {row['goal']}: {'met' if row['met'] else 'NOT met'})" if row["goal"] else ""
        )
        print(f"{row['name']:<40} {row['value']:>12,} {row['unit']}{goal}")
    return 0 if all(row["met"] is not False for row in results) else 1


if __name__ == "__main__":
    sys.exit(main())
