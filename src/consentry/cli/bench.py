"""``consentry bench``: run the benchmarks of a source checkout (``bench/``), as ``python -m bench``.

The benchmarks are not part of the installed package: they live in the repository's ``bench/``
directory, found beside ``src/`` (or in the current directory, or with ``--bench-dir``).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from consentry.cli._common import _fail, app


def _bench_dir(given: Path | None) -> Path:
    candidates = [given] if given else [Path.cwd() / "bench", Path(__file__).parents[3] / "bench"]
    for candidate in candidates:
        if candidate is not None and (candidate / "__main__.py").is_file():
            return candidate.resolve()
    _fail("no bench/ directory here: run from a source checkout of consentry or pass --bench-dir")


@app.command("bench")
def bench(
    scale: Annotated[
        float, typer.Option("--scale", help="Fraction of the full sizes (0.1: a quick run).")
    ] = 1.0,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only these bench modules (repeatable).")
    ] = None,
    bench_dir: Annotated[
        Path | None, typer.Option("--bench-dir", help="The bench/ directory to run.")
    ] = None,
) -> None:
    """Run every benchmark module that exposes ``run(scale)``; print a table and write
    ``bench/results/latest.json``."""
    if scale <= 0:
        _fail("--scale: must be greater than 0")
    directory = _bench_dir(bench_dir)
    root = str(directory.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    runner = importlib.import_module(f"{directory.name}.__main__")
    found = runner.modules(only or None)
    unknown = sorted(set(only or ()) - set(found))
    if unknown or not found:
        _fail(f"--only: no bench module with run() named {', '.join(unknown) or 'at all'}")
    failed = runner.run_all(scale=scale, only=only or None)
    if failed:
        raise typer.Exit(1)
