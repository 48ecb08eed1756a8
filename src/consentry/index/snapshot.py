"""Snapshot files of a suppression index: roaring's own serialisation plus the change id.

Layout (all integers little-endian)::

    b"CONSENTRY-SIDX\\n"  magic
    u32 format version, u64 change id, u32 number of bitmaps
    u16 + bytes: anchor (identifies the change-log row at the change id; see loading)
    per bitmap: u16 + tenant id, u16 + scope kind, u16 + scope id, u64 + roaring bytes
    32 bytes: SHA-256 digest of everything before it

A file is written to a temporary name, flushed to disk and renamed over the old one, so a crash
leaves either the old snapshot or the new one. :func:`load` checks the magic, the version and the
digest before it trusts a byte, and raises :class:`SnapshotError` otherwise.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from pyroaring import BitMap64

from consentry.domain.model import Scope, ScopeKind
from consentry.index.suppression import SuppressionIndex

MAGIC = b"CONSENTRY-SIDX\n"
FORMAT_VERSION = 1
_HEADER = struct.Struct("<IQI")
_U16 = struct.Struct("<H")
_U64 = struct.Struct("<Q")
_DIGEST = 32


class SnapshotError(ValueError):
    """A snapshot file is missing, damaged, of another format version, or not a snapshot."""


class _HashingWriter:
    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.hash.update(data)
        self.size += len(data)

    def text(self, value: str) -> None:
        raw = value.encode()
        self.write(_U16.pack(len(raw)) + raw)


def save(index: SuppressionIndex, path: Path, anchor: str | Callable[[int], str] = "") -> int:
    """Write ``index`` to ``path`` atomically; return the file's size in bytes.

    ``anchor`` is stored as is, or computed from the change id the written state covers.
    """
    change_id, entries = index.serialized()
    if callable(anchor):
        anchor = anchor(change_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as file:
            out = _HashingWriter(file)
            out.write(MAGIC + _HEADER.pack(FORMAT_VERSION, change_id, len(entries)))
            out.text(anchor)
            for tenant_id, scope, data in entries:
                out.text(tenant_id)
                out.text(scope.kind.value)
                out.text(scope.id)
                out.write(_U64.pack(len(data)))
                out.write(data)
            file.write(out.hash.digest())
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return out.size + _DIGEST


def load(path: Path) -> SuppressionIndex:
    """Read a snapshot; the index covers the change id it was saved at."""
    index, _ = load_with_anchor(path)
    return index


def load_with_anchor(path: Path) -> tuple[SuppressionIndex, str]:
    """Read a snapshot and the anchor it was saved with."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SnapshotError(f"cannot read snapshot {path}: {error}") from error
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + _HEADER.size + _DIGEST:
        raise SnapshotError(f"{path} is not a suppression index snapshot")
    body = memoryview(data)[:-_DIGEST]
    if hashlib.sha256(body).digest() != data[-_DIGEST:]:
        raise SnapshotError(f"snapshot {path} is damaged (digest mismatch)")
    version, change_id, count = _HEADER.unpack_from(body, len(MAGIC))
    if version != FORMAT_VERSION:
        raise SnapshotError(f"snapshot {path} has format {version}; expected {FORMAT_VERSION}")
    reader = _Reader(body, len(MAGIC) + _HEADER.size)
    try:
        anchor = reader.text()
        index = SuppressionIndex()
        for _ in range(count):
            tenant_id = reader.text()
            scope = Scope(ScopeKind(reader.text()), reader.text())
            # pyroaring reads any buffer; a memoryview spares a copy of each bitmap.
            bitmap = BitMap64.deserialize(reader.block())  # type: ignore[arg-type]
            index.add_keys(tenant_id, scope, bitmap)
        if reader.offset != len(body):
            raise SnapshotError(f"snapshot {path} has trailing bytes")
    except (struct.error, ValueError) as error:
        if isinstance(error, SnapshotError):
            raise
        raise SnapshotError(f"snapshot {path} is damaged: {error}") from error
    index.set_change_id(change_id)
    return index, anchor


class _Reader:
    def __init__(self, data: memoryview, offset: int) -> None:
        self.data = data
        self.offset = offset

    def block(self) -> memoryview:
        (size,) = _U64.unpack_from(self.data, self.offset)
        return self._take(_U64.size, size)

    def text(self) -> str:
        (size,) = _U16.unpack_from(self.data, self.offset)
        return bytes(self._take(_U16.size, size)).decode()

    def _take(self, header: int, size: int) -> memoryview:
        start = self.offset + header
        if start + size > len(self.data):
            raise SnapshotError("snapshot ends in the middle of a record")
        self.offset = start + size
        return self.data[start : start + size]
