"""Consent events written per second, hash chain included: one API-style call per consent
(one transaction each) and a bulk import (one transaction). Measurement only.

Run: ``.venv/bin/python bench/bench_consent_events.py`` (temporary SQLite) or with
``CONSENTRY_BENCH_DATABASE_URL=postgresql://...`` for PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from consentry import Consentry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--single", type=int, default=1000, help="consents recorded one by one")
    parser.add_argument("--bulk", type=int, default=20_000, help="consent rows imported at once")
    args = parser.parse_args()
    url = os.environ.get("CONSENTRY_BENCH_DATABASE_URL") or (
        f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    )
    service = Consentry(url)
    service.migrate()
    tenant, _ = service.create_tenant("Bench", slug=f"bench-{random.randrange(1 << 30):x}")
    brand = service.create_brand(tenant, "Bench", "help@bench.example")
    program = service.create_program(tenant, brand.id, "Deals", category="marketing")
    service.create_sender(tenant, "+12065550100", "long_code", programs=[program.id])
    disclosure = "Yes, send me Bench deals, up to 4 msgs/month. Msg&data rates may apply. Reply STOP to cancel."

    started = time.perf_counter()
    for i in range(args.single):
        service.record_consent(
            tenant,
            f"+1425{200 + i // 10000:03d}{i % 10000:04d}",
            program.id,
            medium="web_form",
            disclosure_text=disclosure,
            ip_address="203.0.113.7",
            source_url="https://bench.example/join",
        )
    elapsed = time.perf_counter() - started
    print(f"store: {url.split('@')[-1]}")
    print(
        f"record_consent one by one: {args.single / elapsed:,.0f} consents/s "
        f"({elapsed / args.single * 1000:.2f} ms each, incl. confirmation queued)"
    )

    rows = (
        (
            line,
            {
                "recipient": f"+1206{300 + i // 10000:03d}{i % 10000:04d}",
                "occurred_at": "2025-06-01T12:00:00Z",
                "disclosure_text": disclosure,
            },
        )
        for line, i in enumerate(range(args.bulk), start=2)
    )
    started = time.perf_counter()
    report = service.import_consents(tenant, program.id, rows, source_name="bench.csv")
    elapsed = time.perf_counter() - started
    print(
        f"import_consents (one transaction): {report.events / elapsed:,.0f} events/s "
        f"({report.events} events in {elapsed:.1f} s)"
    )
    started = time.perf_counter()
    check = service.verify_ledger(tenant)
    elapsed = time.perf_counter() - started
    print(
        f"audit verify: {check.events / elapsed:,.0f} events/s ({check.events} events, ok={check.ok})"
    )
    service.close()


if __name__ == "__main__":
    main()
