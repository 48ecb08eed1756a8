"""Screen a list against opt-outs and consent, chunk by chunk, vectorised from file to result.

Pure apart from the files it reads and writes: what suppresses a number (the opt-outs of each
covering scope, the consented numbers) is passed in as roaring bitmaps of E.164 integers.

Per chunk: normalise the column (:mod:`consentry.screening.normalise`), sort its distinct valid
numbers once, build a ``BitMap64`` from them (fast, because sorted), intersect it with the union
of the covering scopes' opt-outs, and map the hits back to rows through the sort's inverse.
"""

from __future__ import annotations

import array
import contextlib
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from queue import Empty, Full, Queue
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from pyroaring import AbstractBitMap64, BitMap64

from consentry.screening.normalise import INVALID, normalise, save_prefix_cache
from consentry.screening.readers import ListFormat, ListSource

INVALID_NUMBER = "invalid_number"
NO_CONSENT = "no_consent"
REASON_COLUMN = "reason"

Progress = Callable[[int, int], None]  # (rows screened in the chunk, position in the source)


@dataclass(frozen=True)
class Suppression:
    """What keeps a number off the list.

    ``optouts``: reason label (e.g. ``opted_out:program:coffee-club``) -> opted-out numbers, in
    the order reasons are given (widest scope first: a number opted out in several covering
    scopes is reported under the first). ``consented``: when set, every valid number not in it is
    suppressed as ``no_consent``. ``region``: default region of numbers without a country code.
    """

    optouts: Mapping[str, AbstractBitMap64]
    consented: AbstractBitMap64 | None = None
    region: str = "US"
    union: AbstractBitMap64 = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        union = BitMap64.union(BitMap64(), *self.optouts.values())
        object.__setattr__(self, "union", union)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every reason a row can be suppressed for, in order."""
        return (INVALID_NUMBER, *self.optouts, NO_CONSENT)


@dataclass(frozen=True, slots=True)
class ChunkVerdict:
    """The verdict on each row of one chunk: a reason code, 0 for rows that may be sent."""

    codes: npt.NDArray[np.int8]  # 0 allowed, else 1 + index into Suppression.reasons

    @property
    def allowed(self) -> npt.NDArray[np.bool_]:
        mask: npt.NDArray[np.bool_] = self.codes == 0
        return mask


@dataclass
class ScreenSummary:
    """Rows read, allowed and suppressed (by reason), and how long it took."""

    rows: int = 0
    allowed: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def suppressed_total(self) -> int:
        return sum(self.suppressed.values())

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready data."""
        return {
            "rows": self.rows,
            "allowed": self.allowed,
            "suppressed": self.suppressed_total,
            "suppressed_by_reason": dict(self.suppressed),
            "seconds": round(self.seconds, 3),
        }


def screen_numbers(numbers: npt.NDArray[np.int64], suppression: Suppression) -> ChunkVerdict:
    """The verdict on each of ``numbers`` (E.164 integers, ``0`` for invalid ones)."""
    invalid = numbers == INVALID
    codes = invalid.astype(np.int8)
    if invalid.all():
        return ChunkVerdict(codes)
    rows = np.flatnonzero(~invalid) if invalid.any() else None
    values = numbers if rows is None else numbers[rows]
    order = np.argsort(values)
    ordered = values[order]
    distinct = ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
    chunk = bitmap_of_sorted(distinct)
    found: list[tuple[AbstractBitMap64, int]] = []  # disjoint sets of numbers, with their code
    hits = chunk & suppression.union
    for index, optouts in enumerate(suppression.optouts.values()):
        if not hits:
            break
        these = hits & optouts
        if these:
            found.append((these, index + 2))
            hits -= these
    if suppression.consented is not None:
        missing = chunk - suppression.consented - suppression.union
        if missing:
            found.append((missing, len(suppression.optouts) + 2))
    if not found:
        return ChunkVerdict(codes)
    in_order = np.zeros(values.size, dtype=np.int8)
    for members, code in found:
        in_order[_members(ordered, members)] = code
    verdict = np.empty_like(in_order)
    verdict[order] = in_order
    if rows is None:
        return ChunkVerdict(verdict)
    codes[rows] = verdict
    return ChunkVerdict(codes)


def _members(ordered: npt.NDArray[np.int64], members: AbstractBitMap64) -> npt.NDArray[np.bool_]:
    """Which of the sorted ``ordered`` are in ``members`` (a merge-like binary search: both
    sides are sorted, so the probes walk the cache in order)."""
    wanted = np.frombuffer(members.to_array(), dtype=np.uint64).view(np.int64)
    positions = np.searchsorted(wanted, ordered)
    np.minimum(positions, wanted.size - 1, out=positions)
    found: npt.NDArray[np.bool_] = wanted[positions] == ordered
    return found


def bitmap_of_sorted(numbers: npt.NDArray[np.int64] | npt.NDArray[np.uint64]) -> BitMap64:
    """A ``BitMap64`` of sorted non-negative integers, built the fast way.

    pyroaring reads an ``array.array('Q')`` through its buffer (2-3x faster than from a numpy
    array, which it iterates), and sorted input is what makes roaring's build cheap (10x).
    """
    buffer = array.array("Q")
    buffer.frombytes(np.ascontiguousarray(numbers).tobytes())
    return BitMap64(buffer)


class CsvSink:
    """A CSV file written batch by batch (opened on the first batch)."""

    def __init__(self, target: str | IO[bytes] | None, *, header: bool = True) -> None:
        self.target = target
        self.header = header
        self._writer: pa_csv.CSVWriter | None = None

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        if self.target is None:
            return
        if self._writer is None:
            options = pa_csv.WriteOptions(include_header=self.header, quoting_style="needed")
            self._writer = pa_csv.CSVWriter(self.target, batch.schema, write_options=options)
        if batch.num_rows:
            self._writer.write(batch)

    def open_with(self, schema: pa.Schema) -> None:
        """Make sure the file exists (with its header) even if no row is ever written."""
        if self._writer is None and self.target is not None:
            self.write(pa.RecordBatch.from_pylist([], schema=schema))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class LinesSink(CsvSink):
    """A plain list: each value of a one-column batch as it was read, one a line."""

    def __init__(self, target: str | IO[bytes] | None) -> None:
        super().__init__(target, header=False)
        self._file: IO[bytes] | None = None
        self._owned = False

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        if self.target is None:
            return
        if self._file is None:
            if isinstance(self.target, str):
                self._file, self._owned = open(self.target, "wb"), True  # noqa: SIM115
            else:
                self._file = self.target
        if not batch.num_rows:
            return
        column = batch.column(0)
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        lines = pc.binary_join_element_wise(column.fill_null(""), "", "\n")
        _, offsets, data = lines.buffers()
        bounds = np.frombuffer(offsets, dtype=np.int32)[
            lines.offset : lines.offset + len(lines) + 1
        ]
        self._file.write(memoryview(data)[int(bounds[0]) : int(bounds[-1])])

    def open_with(self, schema: pa.Schema) -> None:
        if self._file is None and self.target is not None:
            self.write(pa.RecordBatch.from_pylist([], schema=schema))

    def close(self) -> None:
        if self._file is not None and self._owned:
            self._file.close()
        self._file = None


def screen_batches(
    batches: Iterable[pa.RecordBatch],
    column: str,
    suppression: Suppression,
) -> Iterator[tuple[pa.RecordBatch, ChunkVerdict, npt.NDArray[np.int64]]]:
    """Each batch with the verdict on its rows and their E.164 integers."""
    for batch in batches:
        numbers = normalise(batch.column(column), suppression.region)
        yield batch, screen_numbers(numbers, suppression), numbers


def screen_source(
    source: ListSource,
    suppression: Suppression,
    *,
    allowed: str | IO[bytes] | None = None,
    suppressed: str | IO[bytes] | None = None,
    progress: Progress | None = None,
) -> ScreenSummary:
    """Screen every row of ``source``; write the allowed rows and the suppressed rows.

    Both outputs are CSV with the input's columns (a plain list stays a plain list for the
    allowed rows); the suppressed rows get a ``reason`` column. ``None`` skips an output.

    Reading (pyarrow parses the next chunk), screening and writing (the previous chunk's rows)
    overlap in three threads; at most a few chunks are in memory at any time.
    """
    started = time.perf_counter()
    reasons = pa.array(["", *suppression.reasons], type=pa.string())
    counts: Counter[int] = Counter()
    allowed_sink = LinesSink(allowed) if source.format is ListFormat.LIST else CsvSink(allowed)
    suppressed_sink = CsvSink(suppressed)
    suppressed_schema = source.schema.append(pa.field(REASON_COLUMN, pa.string()))
    summary = ScreenSummary()
    writes: deque[Future[None]] = deque()

    def write(keep: pa.RecordBatch | None, drop: pa.RecordBatch | None) -> None:
        if keep is not None:
            allowed_sink.write(keep)
        if drop is not None:
            suppressed_sink.write(drop)

    try:
        with ThreadPoolExecutor(1, thread_name_prefix="screen-writer") as writer:
            batches = _read_ahead(source.batches(), _READ_AHEAD)
            for batch, verdict, _ in screen_batches(batches, source.column, suppression):
                keep = verdict.allowed
                allowed_rows = int(np.count_nonzero(keep))
                summary.rows += batch.num_rows
                summary.allowed += allowed_rows
                kept = batch.filter(pa.array(keep)) if allowed_rows and allowed else None
                dropped = None
                if allowed_rows < batch.num_rows:
                    codes = verdict.codes[~keep]
                    values, tally = np.unique(codes, return_counts=True)
                    counts.update(dict(zip(values.tolist(), tally.tolist(), strict=True)))
                    if suppressed is not None:
                        rows = batch.filter(pa.array(~keep))
                        labels = reasons.take(pa.array(codes))
                        dropped = pa.RecordBatch.from_arrays(
                            [*rows.columns, labels], schema=suppressed_schema
                        )
                writes.append(writer.submit(write, kept, dropped))
                while len(writes) > _WRITE_BEHIND or (writes and writes[0].done()):
                    writes.popleft().result()
                if progress is not None:
                    progress(batch.num_rows, source.position())
            while writes:
                writes.popleft().result()
        allowed_sink.open_with(source.schema)
        suppressed_sink.open_with(suppressed_schema)
    finally:
        for pending in writes:
            pending.cancel()
        allowed_sink.close()
        suppressed_sink.close()
        save_prefix_cache()
    summary.suppressed = {
        str(reasons[code].as_py()): int(counts[code]) for code in sorted(counts) if counts[code]
    }
    summary.seconds = time.perf_counter() - started
    return summary


_READ_AHEAD = 2  # chunks parsed ahead of the one being screened
_WRITE_BEHIND = 2  # chunks screened but not yet written


def _read_ahead(batches: Iterator[pa.RecordBatch], depth: int) -> Iterator[pa.RecordBatch]:
    """``batches``, produced by a thread of their own up to ``depth`` ahead of the consumer."""
    queue: Queue[tuple[pa.RecordBatch | None, BaseException | None]] = Queue(depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        queue.put((batch, None), timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put((None, None))
        except BaseException as error:  # handed to the consumer, raised there
            queue.put((None, error))

    thread = threading.Thread(target=produce, name="screen-reader", daemon=True)
    thread.start()
    try:
        while True:
            batch, error = queue.get()
            if error is not None:
                raise error
            if batch is None:
                return
            yield batch
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(Empty):
                queue.get_nowait()
            thread.join(timeout=0.05)
