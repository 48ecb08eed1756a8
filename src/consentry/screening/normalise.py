"""Phone numbers of a whole column to E.164 integers, vectorised where that is exact.

A recipient number is kept as the integer of its E.164 digits (``+12065550100`` ->
``12065550100``); ``0`` marks an invalid number. North American numbers, written as ``+1`` and
ten digits, or (when the tenant's default region is a NANP region) as ten digits or ``1`` and ten
digits, with any spaces, dashes, dots and parentheses, are converted in bulk with pyarrow and
numpy. Every other value goes through :func:`consentry.domain.numbers.to_e164` (``phonenumbers``),
once per distinct value of a chunk, so both paths give the same E.164 number or the same invalid
verdict.

Validity of a NANP number is decided by ``phonenumbers`` too: its metadata fixes the area code and
the exchange (the first six national digits), so the verdict is computed once per distinct
six-digit prefix (at one representative for each seventh digit, and ``...9999``) and kept in a
table. A prefix whose representatives disagree is never trusted: its numbers take the slow path.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from consentry.domain.numbers import to_e164
from consentry.errors import InvalidNumber

INVALID: Final = 0
CACHE_ENV: Final = "CONSENTRY_CACHE_DIR"
MAX_INPUT: Final = 64  # the longest text to_e164 accepts (after trimming)

_NANP_REGIONS: Final = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1])
_TEN_DIGITS: Final = 10**10

_UNKNOWN: Final = -1
_NO: Final = 0
_YES: Final = 1
_MIXED: Final = 2

Int64Array = npt.NDArray[np.int64]


class _PrefixVerdicts:
    """``phonenumbers``' validity verdict per six-digit NANP prefix, filled on demand.

    Filling costs ~0.2 ms a prefix (a list spread over 60 area codes has ~48,000), so the table
    is also kept in a cache file (see :func:`cache_path`), keyed by the ``phonenumbers`` version
    its verdicts came from, and read back by the next process.
    """

    def __init__(self) -> None:
        self.table: npt.NDArray[np.int8] | None = None
        self.lock = threading.Lock()
        self.unsaved = 0

    def lookup(self, prefixes: Int64Array) -> npt.NDArray[np.int8]:
        """The verdict of each prefix (0 invalid, 1 valid, 2 decided per number)."""
        table = self.table if self.table is not None else self._load()
        unknown = np.unique(prefixes[table[prefixes] == _UNKNOWN])
        if unknown.size:
            with self.lock:
                for prefix in unknown.tolist():
                    if table[prefix] == _UNKNOWN:
                        table[prefix] = _verdict(prefix)
                        self.unsaved += 1
        return table[prefixes]

    def _load(self) -> npt.NDArray[np.int8]:
        with self.lock:
            if self.table is None:
                table = np.full(10**6, _UNKNOWN, dtype=np.int8)
                path = cache_path()
                if path is not None:
                    with contextlib.suppress(OSError, ValueError):
                        cached = np.fromfile(path, dtype=np.int8)
                        if cached.size == table.size and cached.max() <= _MIXED:
                            table = cached
                self.table = table
            return self.table

    def save(self) -> None:
        """Write the table to the cache file if it gained verdicts (quietly skipped if the
        directory cannot be written)."""
        path = cache_path()
        with self.lock:
            if self.table is None or not self.unsaved or path is None:
                return
            with contextlib.suppress(OSError):
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(f".{os.getpid()}.tmp")
                self.table.tofile(partial)
                os.replace(partial, path)
                self.unsaved = 0


def cache_path() -> Path | None:
    """Where the prefix table is cached: ``$CONSENTRY_CACHE_DIR`` (``off`` to disable), else
    ``$XDG_CACHE_HOME/consentry``, else ``~/.cache/consentry``."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None and configured.strip().lower() in ("", "off", "0", "none"):
        return None
    if configured:
        directory = Path(configured)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        directory = Path(base) / "consentry"
    return directory / f"nanp-prefixes-{phonenumbers.__version__}.int8"


def forget_prefix_table() -> None:
    """Drop the in-memory table (the next look-up reads the cache file again, if any)."""
    with _VERDICTS.lock:
        _VERDICTS.table = None
        _VERDICTS.unsaved = 0


def save_prefix_cache() -> None:
    """Keep the verdicts learned so far for the next process (called after each screening)."""
    _VERDICTS.save()


def _verdict(prefix: int) -> int:
    verdicts = {_valid_nanp(prefix * 10_000 + suffix) for suffix in _REPRESENTATIVES}
    if len(verdicts) > 1:
        return _MIXED
    return _YES if verdicts.pop() else _NO


# One number for each seventh digit, and the last of the prefix. An exhaustive scan of the
# metadata of phonenumbers 9.0 found 3 of the 800,000 prefixes whose validity depends on the
# seventh digit (e.g. 246-521: 0, 1, 3, 4, 6, 7, 9 valid; 2, 5, 8 not), none deeper.
_REPRESENTATIVES: Final = (*range(0, 10_000, 1_000), 9_999)


def _valid_nanp(national: int) -> bool:
    number = phonenumbers.PhoneNumber(country_code=1, national_number=national)
    return bool(phonenumbers.is_valid_number(number))


_VERDICTS = _PrefixVerdicts()


def normalise(values: pa.Array | pa.ChunkedArray, region: str = "US") -> Int64Array:
    """E.164 integers of ``values`` (strings), ``0`` where a value is not a valid number.

    ``region`` is the default region for numbers written without a country code, as
    :func:`~consentry.domain.numbers.to_e164` takes it.
    """
    text = values.cast(pa.string()) if values.type != pa.string() else values
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks() if text.num_chunks != 1 else text.chunk(0)
    national_region = region.upper() in _NANP_REGIONS
    result = np.zeros(len(text), dtype=np.int64)
    if not len(text):
        return result
    national, rest = _canonical(text, national_region)
    if rest.size:
        # Spaces, dashes, dots or parentheses: drop them from those rows, then read again.
        national[rest] = _cleaned(text.take(pa.array(rest)), national_region)
    todo = national < 0
    candidates = np.flatnonzero(~todo)
    if candidates.size:
        verdicts = _VERDICTS.lookup(national[candidates] // 10_000)
        valid = candidates[verdicts == _YES]
        result[valid] = national[valid] + _TEN_DIGITS
        todo[candidates[verdicts == _MIXED]] = True
    if todo.any():
        positions = np.flatnonzero(todo)
        result[positions] = _slow(text.take(pa.array(positions)), region)
    return result


def _canonical(text: pa.Array, national_region: bool) -> tuple[Int64Array, Int64Array]:
    """NANP national numbers of the values written without separators, read from the bytes.

    Returns the ten national digits as an integer (``-1`` where a value is not ``+1`` and ten
    digits, or with ``national_region`` also ten digits or ``1`` and ten digits), and the
    positions of the values that may still be such a number once cleaned of separators.
    """
    size = len(text)
    national = np.full(size, -1, dtype=np.int64)
    _, offsets_buffer, data_buffer = text.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[text.offset : text.offset + size + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else None
    starts = offsets[:-1].astype(np.int64)
    lengths = np.diff(offsets)
    present = ~text.is_null().to_numpy(zero_copy_only=False) if text.null_count else None
    forms = ((12, b"+1"), (10, b""), (11, b"1")) if national_region else ((12, b"+1"),)
    for length, lead in forms:
        rows = np.flatnonzero(lengths == length)
        if present is not None:
            rows = rows[present[rows]]
        if not rows.size or data is None:
            continue
        if rows.size == size:  # every value this long: the bytes are one block
            first = int(starts[0])
            chars = data[first : first + size * length].reshape(size, length)
        else:
            chars = np.ascontiguousarray(data[starts[rows, None] + np.arange(length)])
        value, ok = _ten_digits(chars, length - 10)
        for index, byte in enumerate(lead):
            ok &= chars[:, index] == byte
        national[rows[ok]] = value[ok]
    maybe = (national < 0) & (lengths > 9) & (lengths <= _MAX_BYTES)
    if present is not None:
        maybe &= present
    return national, np.flatnonzero(maybe)


_MAX_BYTES: Final = MAX_INPUT
_ZEROS8: Final = np.uint64(0x3030303030303030)
_HIGH8: Final = np.uint64(0xF0F0F0F0F0F0F0F0)
_SIXES8: Final = np.uint64(0x0606060606060606)
_ZEROS2: Final = np.uint16(0x3030)
_HIGH2: Final = np.uint16(0xF0F0)
_SIXES2: Final = np.uint16(0x0606)


def _ten_digits(
    chars: npt.NDArray[np.uint8], first: int
) -> tuple[Int64Array, npt.NDArray[np.bool_]]:
    """The integer of the ten ASCII digits at column ``first`` of each row of ``chars`` (C
    order), and whether they all are digits. Eight bytes are read as one little-endian word and
    checked and converted with a few whole-array operations (SWAR), then the last two."""
    count, width = chars.shape
    eight = np.ndarray((count,), dtype="<u8", buffer=chars, offset=first, strides=(width,))
    two = np.ndarray((count,), dtype="<u2", buffer=chars, offset=first + 8, strides=(width,))
    ok = ((eight & _HIGH8) == _ZEROS8) & (((eight + _SIXES8) & _HIGH8) == _ZEROS8)
    ok &= ((two & _HIGH2) == _ZEROS2) & (((two + _SIXES2) & _HIGH2) == _ZEROS2)
    word = eight - _ZEROS8  # byte i holds digit i (the first digit in the lowest byte)
    word = (word * np.uint64(10) + (word >> np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
    word = (word * np.uint64(100) + (word >> np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    word = (word * np.uint64(10_000) + (word >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    last = two - _ZEROS2
    tail = (last & np.uint16(0xFF)) * np.uint16(10) + (last >> np.uint16(8))
    value = word.astype(np.int64) * 100 + tail.astype(np.int64)
    return value, ok


def _cleaned(text: pa.Array, national_region: bool) -> Int64Array:
    """The ten national digits of values that are NANP numbers once spaces, dashes, dots and
    parentheses are dropped (byte masks on the string buffer); ``-1`` for the others."""
    size = len(text)
    _, offsets_buffer, data_buffer = text.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[text.offset : text.offset + size + 1]
    if data_buffer is None:
        return np.full(size, -1, dtype=np.int64)
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
    keep = ~_DROPPED[data]
    kept_before = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
    compact_offsets = kept_before[offsets - offsets[0]].astype(np.int32)
    compact = pa.StringArray.from_buffers(
        size, pa.py_buffer(compact_offsets), pa.py_buffer(np.ascontiguousarray(data[keep]))
    )
    national, _ = _canonical(compact, national_region)
    national[np.diff(offsets) > MAX_INPUT] = -1  # to_e164 refuses them: let it say so
    return national


_DROPPED: Final = np.zeros(256, dtype=bool)
_DROPPED[np.frombuffer(b" -.()", dtype=np.uint8)] = True


def _slow(values: pa.Array, region: str) -> Int64Array:
    """``phonenumbers`` on each distinct value (the path every unusual number takes)."""
    encoded = values.dictionary_encode()
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    distinct = [to_number(raw, region) for raw in encoded.dictionary.to_pylist()]
    numbers = np.array(distinct, dtype=np.int64)
    if values.null_count:
        valid = ~values.is_null().to_numpy(zero_copy_only=False)
        out = np.zeros(len(values), dtype=np.int64)
        out[valid] = numbers[indices[valid].astype(np.int64)]
        return out
    mapped: Int64Array = numbers[indices.astype(np.int64)]
    return mapped


def to_number(raw: str | None, region: str = "US") -> int:
    """One value through ``phonenumbers``: the E.164 integer, or ``0`` when invalid."""
    if raw is None:
        return INVALID
    try:
        return int(to_e164(raw, region, field="number")[1:])
    except InvalidNumber:
        return INVALID


def to_e164_text(numbers: Int64Array) -> pa.Array:
    """E.164 strings (``+12065550100``) of E.164 integers; null where the number is ``0``."""
    text = pc.binary_join_element_wise("+", pa.array(numbers).cast(pa.string()), "")
    return pc.if_else(pa.array(numbers != INVALID), text, pa.scalar(None, pa.string()))
