"""Bulk screening: 10 million E.164 rows from CSV against 10 million opt-outs, and mixed formats.

Measured in one run, on the same files (generated in a temporary directory, deleted after):

- **pipeline**: ``consentry.screening`` end to end: stream the CSV in chunks, normalise, screen
  against the opt-out bitmap, write the allowed rows and the suppressed rows (with a reason) as
  CSV. Goal: under 10 s, within 1.5x of the reference, faster than the csv-module script.
- **reference**: the issue's reference pipeline, in memory, writing nothing: read the whole
  column with pyarrow, cast to int64, argsort, build a BitMap64 from the sorted numbers,
  intersect with the opt-outs, map the hits back to rows.
- **csv + set**: a hand-written script: the ``csv`` module reads each row, looks the number up in
  a Python ``set`` of the opt-outs, and writes the row to one of two files.
- **mixed formats**: the pipeline on national formats with spaces, dashes, dots, parentheses
  (1% of rows need ``phonenumbers``). Goal: at least 200,000 rows/s.

The opt-out bitmap (as the suppression index holds it) and the Python set are built before the
clock starts; building the bitmap is reported on its own line. The NANP prefix-validity table is
filled on first use and cached in a file (``consentry.screening.normalise``): the bench starts
with an empty cache, reports that first fill on its own line, and times the runs with it warm.

Run: ``python -m bench --only bench_screen [--scale 0.1]`` or
``python bench/bench_screen.py [--scale 0.1]``.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from pyroaring import BitMap64

from consentry.screening import Suppression, normalise, open_list, screen_source
from consentry.screening.normalise import CACHE_ENV, forget_prefix_table
from consentry.screening.pipeline import bitmap_of_sorted

FULL_ROWS = 10_000_000
FULL_MIXED_ROWS = 2_000_000
HIT_RATE = 0.10
# 60 area codes in service across the US: 60 x 800 exchanges = 48,000 six-digit prefixes.
AREA_CODES = (
    201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224,
    225, 228, 229, 231, 234, 239, 240, 248, 251, 252, 253, 254, 256, 260, 262, 267, 269, 270,
    276, 281, 301, 302, 303, 304, 305, 307, 308, 309, 310, 312, 313, 314, 315, 316, 317, 318,
    319, 320, 321, 323, 325, 330,
)  # fmt: skip

Result = dict[str, object]


def _numbers(rng: np.random.Generator, count: int) -> npt.NDArray[np.int64]:
    """Random NANP numbers (E.164 integers) over :data:`AREA_CODES`, exchanges 200-999."""
    area = np.array(AREA_CODES, dtype=np.int64)[rng.integers(0, len(AREA_CODES), count)]
    exchange = rng.integers(200, 1000, count, dtype=np.int64)
    line = rng.integers(0, 10_000, count, dtype=np.int64)
    return 10_000_000_000 + area * 10_000_000 + exchange * 10_000 + line


def _write_lines(path: Path, header: str, values: pa.Array) -> None:
    """Write a one-column CSV fast: the header, then each value on its own line, unquoted."""
    lines = pc.binary_join_element_wise(values, "", "\n")
    with path.open("wb") as handle:
        handle.write(header.encode() + b"\n")
        step = 1_000_000
        for start in range(0, len(lines), step):
            part = lines.slice(start, step)
            _, offsets, data = part.buffers()
            bounds = np.frombuffer(offsets, dtype=np.int32)[
                part.offset : part.offset + len(part) + 1
            ]
            handle.write(memoryview(data)[int(bounds[0]) : int(bounds[-1])])


def _e164(numbers: npt.NDArray[np.int64]) -> pa.Array:
    return pc.binary_join_element_wise("+", pa.array(numbers).cast(pa.string()), "")


def _mixed(numbers: npt.NDArray[np.int64], rng: np.random.Generator) -> pa.Array:
    """National spellings of ``numbers``; 1% are numbers only ``phonenumbers`` reads."""
    digits = pa.array(numbers - 10_000_000_000).cast(pa.string())
    area = pc.utf8_slice_codeunits(digits, 0, 3)
    exchange = pc.utf8_slice_codeunits(digits, 3, 6)
    line = pc.utf8_slice_codeunits(digits, 6, 10)
    forms = [
        pc.binary_join_element_wise("(", area, ") ", exchange, "-", line, ""),
        pc.binary_join_element_wise(area, "-", exchange, "-", line, ""),
        pc.binary_join_element_wise(area, ".", exchange, ".", line, ""),
        pc.binary_join_element_wise("+1 ", area, " ", exchange, " ", line, ""),
        pc.binary_join_element_wise("1-", area, "-", exchange, "-", line, ""),
        digits,
    ]
    choice = rng.integers(0, len(forms), len(numbers))
    text = np.empty(len(numbers), dtype=object)
    for index, form in enumerate(forms):
        chosen = choice == index
        text[chosen] = np.asarray(form.to_numpy(zero_copy_only=False))[chosen]
    foreign = rng.random(len(numbers)) < 0.01
    uk = 2_071_830_000 + rng.integers(0, 10_000, int(foreign.sum()))
    text[foreign] = [f"+44 {str(n)[:2]} {str(n)[2:6]} {str(n)[6:]}" for n in uk.tolist()]
    return pa.array(text, type=pa.string())


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def _bitmap(numbers: npt.NDArray[np.int64]) -> BitMap64:
    return bitmap_of_sorted(np.sort(numbers))


def reference(path: Path, optouts: BitMap64) -> int:
    """The issue's reference pipeline: rows of ``path`` whose number is in ``optouts``."""
    table = pa_csv.read_csv(
        path, convert_options=pa_csv.ConvertOptions(column_types={"phone": pa.string()})
    )
    numbers = pc.utf8_slice_codeunits(table.column("phone"), 1).cast(pa.int64()).to_numpy()
    order = np.argsort(numbers)
    ordered = numbers[order]
    hits = BitMap64(ordered) & optouts
    found = np.frombuffer(hits.to_array(), dtype=np.uint64).view(np.int64)
    positions = np.minimum(np.searchsorted(found, ordered), max(found.size - 1, 0))
    suppressed_sorted = found[positions] == ordered if found.size else np.zeros(0, bool)
    suppressed = np.zeros(numbers.size, dtype=bool)
    suppressed[order] = suppressed_sorted
    return int(suppressed.sum())


def csv_and_set(path: Path, optouts: set[int], allowed: Path, suppressed: Path) -> int:
    """The hand-written baseline: csv module in, set look-up, csv module out."""
    count = 0
    with (
        path.open(newline="") as source,
        allowed.open("w", newline="") as ok,
        suppressed.open("w", newline="") as no,
    ):
        rows = csv.reader(source)
        header = next(rows)
        keep, drop = csv.writer(ok), csv.writer(no)
        keep.writerow(header)
        drop.writerow([*header, "reason"])
        for row in rows:
            if int(row[0][1:]) in optouts:
                drop.writerow([*row, "opted_out:tenant"])
                count += 1
            else:
                keep.writerow(row)
    return count


def run(scale: float = 1.0) -> list[Result]:
    """Generate the files, run the three screenings and the mixed-format one; the figures."""
    rows = max(int(FULL_ROWS * scale), 1000)
    mixed_rows = max(int(FULL_MIXED_ROWS * scale), 1000)
    rng = np.random.default_rng(11)
    workdir = Path(tempfile.mkdtemp(prefix="consentry-bench-screen-"))
    results: list[Result] = []
    cache_before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(workdir / "cache")  # a cold prefix table, measured on its own
    forget_prefix_table()
    try:
        listed = _numbers(rng, rows)
        hit_rows = rng.random(rows) < HIT_RATE
        others = _numbers(rng, rows - int(hit_rows.sum()))
        optout_numbers = np.concatenate([listed[hit_rows], others])
        rng.shuffle(optout_numbers)
        source = workdir / "list.csv"
        _write_lines(source, "phone", _e164(listed))
        mixed_source = workdir / "mixed.csv"
        _write_lines(mixed_source, "phone", _mixed(_numbers(rng, mixed_rows), rng))
        del others

        build, optouts = _timed(partial(_bitmap, optout_numbers))
        area = np.array(AREA_CODES, dtype=np.int64)[:, None] * 1000
        prefixes = (area + np.arange(200, 1000, dtype=np.int64)).ravel()
        fill, filled = _timed(lambda: normalise(_e164(10_000_000_000 + prefixes * 10_000)))
        if not np.count_nonzero(filled):
            raise AssertionError("the prefix table was not filled")
        expected = int(np.isin(listed, optout_numbers, kind="sort").sum()) if scale < 0.5 else None
        del listed

        suppression = Suppression({"opted_out:tenant": optouts})
        pipeline_seconds, summary = _timed(
            lambda: screen_source(
                open_list(source, "phone"),
                suppression,
                allowed=str(workdir / "allowed.csv"),
                suppressed=str(workdir / "suppressed.csv"),
            )
        )
        reference_seconds, reference_hits = _timed(lambda: reference(source, optouts))
        # Built only now: a 10-million-element set slows every full garbage collection of
        # whatever runs while it is alive (the baseline pays that, the others need not).
        python_set = set(optout_numbers.tolist())
        del optout_numbers
        script_seconds, script_hits = _timed(
            partial(
                csv_and_set,
                source,
                python_set,
                workdir / "allowed2.csv",
                workdir / "suppressed2.csv",
            )
        )
        del python_set
        if not summary.suppressed_total == reference_hits == script_hits:
            raise AssertionError(
                f"screenings disagree: pipeline {summary.suppressed_total}, "
                f"reference {reference_hits}, csv+set {script_hits}"
            )
        if expected is not None and expected != reference_hits:
            raise AssertionError(f"{expected} hits expected, {reference_hits} found")
        mixed_seconds, mixed_summary = _timed(
            lambda: screen_source(
                open_list(mixed_source, "phone"),
                suppression,
                allowed=str(workdir / "mixed-allowed.csv"),
                suppressed=str(workdir / "mixed-suppressed.csv"),
            )
        )
        label = f"{rows / 1e6:g}M"
        ratio_reference = pipeline_seconds / reference_seconds
        ratio_script = pipeline_seconds / script_seconds
        mixed_rate = mixed_summary.rows / mixed_seconds
        limit = 10.0 * scale
        results = [
            _result(f"opt-out bitmap build ({label} sorted numbers)", build, "s"),
            _result(f"NANP prefix table, first fill ({prefixes.size:,} prefixes)", fill, "s"),
            _result(
                f"screen {label} E.164 rows from CSV, end to end (both files written)",
                pipeline_seconds,
                "s",
                f"< {limit:g} s",
                pipeline_seconds < limit,
            ),
            _result(
                f"reference pipeline, {label} rows (read, cast, argsort, build, intersect, map)",
                reference_seconds,
                "s",
            ),
            _result(f"csv module + set script, {label} rows", script_seconds, "s"),
            _result(
                "pipeline / reference",
                ratio_reference,
                "x",
                "<= 1.5",
                ratio_reference <= 1.5,
            ),
            _result("pipeline / csv + set", ratio_script, "x", "< 1", ratio_script < 1),
            _result(
                f"mixed formats, {mixed_rows / 1e6:g}M rows end to end",
                mixed_rate,
                "rows/s",
                ">= 200000",
                mixed_rate >= 200_000,
            ),
            _result("suppressed rows (all three agree)", float(reference_hits), "rows"),
        ]
    finally:
        forget_prefix_table()
        if cache_before is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = cache_before
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def _result(
    name: str, value: float, unit: str, goal: str | None = None, met: bool | None = None
) -> Result:
    return {"name": name, "value": round(value, 3), "unit": unit, "goal": goal, "met": met}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    for line in run(parser.parse_args().scale):
        print(line)
