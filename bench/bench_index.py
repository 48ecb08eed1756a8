"""The suppression index: memory, build and snapshot times, look-ups, and cross-process propagation.

Measured in one run:

- **memory**: 100 million opt-outs (times ``scale``) in one tenant scope, realistic NANP numbers
  (random +1 NPA-NXX-XXXX, NPA and NXX in 200..999), as roaring bitmaps: the serialised size and
  the growth of the process's resident memory. Goal: under 1 GB.
- **build**: the bitmap from sorted ``uint64`` arrays (generated area code by area code, so each
  chunk is sorted and appended in order).
- **snapshot**: save (roaring serialisation, SHA-256 digest, fsync, rename) and load (read,
  verify, deserialise): the start-up cost of a process with that many opt-outs.
- **look-ups**: ``scopes_of`` on random numbers (about 1% opted out), per second.
- **propagation**: an opt-out committed by this process, until a second process's index holds
  it, with nothing in the second process asking for it (only its follower thread works: polling
  every 0.2 s on SQLite, LISTEN/NOTIFY on PostgreSQL). Median and max over 20 opt-outs. Goal:
  under 1 s. PostgreSQL runs when ``CONSENTRY_BENCH_POSTGRES_URL`` (or
  ``CONSENTRY_TEST_POSTGRES_URL``) names a server where a scratch database may be created.

Run: ``python -m bench --only bench_index [--scale 0.1]`` or
``python bench/bench_index.py [--scale 0.1]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from pyroaring import BitMap64

from consentry import Consentry
from consentry.domain.model import Scope, ScopeKind
from consentry.index import SuppressionIndex
from consentry.testing import scratch_postgres_database

FULL_SIZE = 100_000_000
PROPAGATIONS = 20
SENDER = "+12065550100"
Result = dict[str, object]


def _result(
    name: str, value: float, unit: str, goal: str | None = None, met: bool | None = None
) -> Result:
    return {"name": name, "value": round(value, 4), "unit": unit, "goal": goal, "met": met}


def _rss() -> int:
    """Resident memory of this process, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def nanp_keys(count: int, seed: int = 11) -> Iterator[np.ndarray]:
    """``count`` random NANP numbers as sorted ``uint64`` keys, one area code at a time."""
    rng = np.random.default_rng(seed)
    area_codes = np.arange(200, 1000, dtype=np.uint64)
    per_code = rng.multinomial(count, [1 / len(area_codes)] * len(area_codes))
    for area_code, n in zip(area_codes, per_code, strict=True):
        local = rng.integers(2_000_000, 10_000_000, size=n, dtype=np.uint64)  # NXX 200..999
        local.sort()
        yield np.uint64(10_000_000_000) + area_code * np.uint64(10_000_000) + local


def measure_index(scale: float) -> list[Result]:
    count = max(1000, int(FULL_SIZE * scale))
    results: list[Result] = []
    chunks = list(nanp_keys(count))  # generated before the clock starts
    gc.collect()
    before = _rss()
    started = time.perf_counter()
    bitmap = BitMap64()
    for keys in chunks:
        bitmap.update(keys)
    built = time.perf_counter() - started
    index = SuppressionIndex()
    index.add_keys("ten_bench", Scope(ScopeKind.TENANT), bitmap)
    gc.collect()
    grown = _rss() - before
    del chunks
    held = len(bitmap)
    serialised = len(bitmap.serialize())
    projected = serialised / held * FULL_SIZE  # the same as held at scale 1
    results += [
        _result("index: opt-outs held", held, "numbers"),
        _result("index: build from sorted arrays", built, "s"),
        _result("index: serialised size", serialised / 1e6, "MB"),
        _result("index: resident memory growth", grown / 1e6, "MB"),
        _result("index: bytes per opt-out", serialised / held, "B"),
        _result(
            "index: memory for 100 million opt-outs",
            projected / 1e6,
            "MB",
            "< 1000 MB",
            projected < 1e9,
        ),
    ]

    rng = np.random.default_rng(5)
    probes = [
        f"+1{n}"
        for n in rng.integers(200, 1000, 200_000) * 10_000_000
        + rng.integers(2_000_000, 10_000_000, 200_000)
    ]
    started = time.perf_counter()
    hits = sum(1 for number in probes if index.scopes_of("ten_bench", number))
    elapsed = time.perf_counter() - started
    results.append(_result("index: scopes_of look-ups", len(probes) / elapsed, "per s"))
    del hits

    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "index.snap"
        started = time.perf_counter()
        size = index.save(path)
        saved = time.perf_counter() - started
        del index, bitmap
        gc.collect()
        started = time.perf_counter()
        loaded = SuppressionIndex.load(path)
        load_time = time.perf_counter() - started
        assert loaded.count() == held
    results += [
        _result("snapshot: size", size / 1e6, "MB"),
        _result("snapshot: save", saved, "s"),
        _result("snapshot: load and verify (start-up)", load_time, "s"),
    ]
    return results


# --- propagation between two processes --------------------------------------------------------

_WATCHER = """
import sys, time
from consentry import Consentry
from consentry.domain.model import Tenant
service = Consentry(sys.argv[1])
tenant_id = sys.argv[2]
index = service._suppression()  # loads it and starts the follower thread
print("ready", flush=True)
for line in sys.stdin:
    number = line.strip()
    while not index.scopes_of(tenant_id, number):
        time.sleep(0.0005)
    print(time.monotonic(), flush=True)
"""


def measure_propagation(database_url: str, label: str, count: int) -> list[Result]:
    service = Consentry(database_url)
    service.migrate()
    tenant, _ = service.create_tenant("Bench", slug=f"bench-{secrets.token_hex(4)}")
    service.suppression_index(tenant)
    watcher = subprocess.Popen(
        [sys.executable, "-c", _WATCHER, database_url, tenant.id],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "CONSENTRY_INDEX_SNAPSHOT": ""},
    )
    assert watcher.stdin is not None and watcher.stdout is not None
    delays: list[float] = []
    try:
        assert watcher.stdout.readline().strip() == "ready"
        for n in range(count):
            number = f"+1206555{n:04d}"
            watcher.stdin.write(number + "\n")
            watcher.stdin.flush()
            time.sleep(0.05 + (n % 7) * 0.03)  # spread the commits over the poll cycle
            started = time.monotonic()
            service.add_optouts(tenant, [number], sender=SENDER)
            seen = float(watcher.stdout.readline())
            delays.append(seen - started)
    finally:
        watcher.stdin.close()
        watcher.wait(timeout=15)
        service.close()
    return [
        _result(
            f"propagation {label}: median",
            statistics.median(delays),
            "s",
            "< 1 s",
            statistics.median(delays) < 1,
        ),
        _result(f"propagation {label}: max", max(delays), "s", "< 1 s", max(delays) < 1),
    ]


@contextmanager
def _postgres_database() -> Iterator[str | None]:
    base = os.environ.get("CONSENTRY_BENCH_POSTGRES_URL") or os.environ.get(
        "CONSENTRY_TEST_POSTGRES_URL"
    )
    if not base:
        yield None
        return
    with scratch_postgres_database(base, "consentry_bench") as url:
        yield url


def run(scale: float = 1.0) -> list[Result]:
    """Every measurement of this module, as result rows."""
    results = measure_index(scale)
    count = max(5, round(PROPAGATIONS * min(1.0, max(scale, 0.25))))
    with tempfile.TemporaryDirectory() as workdir:
        results += measure_propagation(f"sqlite:///{Path(workdir) / 'bench.db'}", "SQLite", count)
    with _postgres_database() as url:
        if url is not None:
            results += measure_propagation(url, "PostgreSQL", count)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    for row in run(args.scale):
        goal = (
            f"  (goal {row['goal']}: {'met' if row['met'] else 'NOT met'})" if row["goal"] else ""
        )
        print(f"{row['name']:<45} {row['value']:>14,} {row['unit']}{goal}")


if __name__ == "__main__":
    main()
