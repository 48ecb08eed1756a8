"""``consentry bench`` finds the bench modules of the checkout (nothing is timed here)."""

from __future__ import annotations

import importlib
from pathlib import Path

from typer.testing import CliRunner

from consentry.cli import app

runner = CliRunner()
BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_runner_lists_modules_with_run() -> None:
    module = importlib.import_module("bench.__main__")
    found = module.modules()
    assert {"bench_screen", "bench_send_gate", "bench_index", "bench_load"} <= set(found)
    assert "bench_classify" not in found  # an older script without run()
    assert module.modules(["bench_screen"]) == ["bench_screen"]


def test_bad_options_exit_2() -> None:
    unknown = runner.invoke(app, ["bench", "--only", "bench_nope", "--bench-dir", str(BENCH)])
    assert unknown.exit_code == 2
    assert "bench_nope" in unknown.stderr
    zero = runner.invoke(app, ["bench", "--scale", "0"])
    assert zero.exit_code == 2
    assert "--scale" in zero.stderr
