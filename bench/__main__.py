"""Run every benchmark module of ``bench/`` that exposes ``run(scale) -> list[dict]``.

``python -m bench [--scale 0.1] [--only bench_screen]`` (or ``consentry bench``): each module's
``run`` returns its figures as dicts with ``name``, ``value``, ``unit``, ``goal`` and ``met``;
they are printed as one Rich table and written to ``bench/results/latest.json``. Modules without
``run`` (the older scripts, run on their own) are skipped. Ratios are computed by the modules
within one run, so they compare figures measured under the same load.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"


def modules(only: Sequence[str] | None = None) -> list[str]:
    """The bench modules that define ``run`` (found by reading them, not importing them)."""
    found = []
    for path in sorted(HERE.glob("bench_*.py")):
        if only and path.stem not in only:
            continue
        if "\ndef run(" in path.read_text(encoding="utf-8"):
            found.append(path.stem)
    return found


def run_all(scale: float = 1.0, only: Sequence[str] | None = None) -> int:
    """Run the modules, print the table, write the JSON; return how many modules failed."""
    console = Console(width=max(Console().width, 120))
    if str(HERE.parent) not in sys.path:
        sys.path.insert(0, str(HERE.parent))
    names = modules(only)
    if only and len(names) < len(set(only)):
        missing = sorted(set(only) - set(names))
        console.print(f"[red]no bench module with run(): {', '.join(missing)}[/]")
        return len(missing)
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scale": scale,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "modules": {},
    }
    failed = 0
    table = Table(
        "module", "measure", "value", "unit", "goal", "met", title=f"bench (scale {scale:g})"
    )
    for name in names:
        console.print(f"[bold]running {name}[/] ...")
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"{HERE.name}.{name}")
            results: list[dict[str, Any]] = module.run(scale=scale)
        except Exception as error:  # one broken module must not hide the others' figures
            failed += 1
            traceback.print_exc()
            report["modules"][name] = {"error": f"{type(error).__name__}: {error}"}
            table.add_row(name, "[red]failed[/]", "", "", "", "", end_section=True)
            continue
        report["modules"][name] = {
            "seconds": round(time.perf_counter() - started, 1),
            "results": results,
        }
        for index, result in enumerate(results):
            table.add_row(
                name if index == 0 else "",
                str(result["name"]),
                _value(result["value"]),
                str(result["unit"]),
                str(result.get("goal") or ""),
                _met(result.get("met")),
                end_section=index == len(results) - 1,
            )
    console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    console.print(f"written: {RESULTS}")
    return failed


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.3g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _met(met: object) -> str:
    if met is None:
        return ""
    return "[green]yes[/]" if met else "[red]no[/]"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full sizes")
    parser.add_argument("--only", action="append", help="run only this module (repeatable)")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be greater than 0")
    return 1 if run_all(args.scale, args.only) else 0


if __name__ == "__main__":
    sys.exit(main())
