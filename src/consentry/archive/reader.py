"""Reading an archive: open it, check the manifest, and stream each table's rows while their
checksums are recomputed (a mismatch raises :class:`ArchiveError` at the end of the member)."""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from consentry.archive.errors import ArchiveError
from consentry.archive.manifest import MANIFEST, MANIFEST_DIGEST, Manifest, TableEntry

_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError)


class ArchiveReader:
    """An open archive and its checked manifest (use as a context manager)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise ArchiveError(f"no such file: {self.path}") from None
        except _READ_ERRORS as error:
            raise ArchiveError(f"{self.path} is not a readable archive: {error}") from None
        try:
            self.manifest = self._read_manifest()
        except BaseException:
            self._zip.close()
            raise

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def rows(self, entry: TableEntry) -> Iterator[dict[str, Any]]:
        """The rows of ``entry``'s member, decoded from JSON; checks columns, count and SHA-256.

        The checksum can only be compared once the member has been read to its end, so callers
        that write must read every member once before writing anything (see ``verify``).
        """
        digest = hashlib.sha256()
        size = count = 0
        expected = list(entry.columns)
        problem: str | None = None
        try:
            with self._zip.open(entry.member) as member:
                for line in member:
                    digest.update(line)
                    size += len(line)
                    count += 1
                    if problem is not None:
                        continue  # read on: a damaged member is reported as corrupt
                    row = _parsed(line)
                    if row is None:
                        problem = f"{entry.member} line {count} is not valid JSON"
                    elif list(row) != expected:
                        problem = (
                            f"{entry.member} line {count} does not have the manifest's columns"
                        )
                    else:
                        yield row
        except _READ_ERRORS as error:
            raise ArchiveError(f"{entry.member} cannot be read: {error}") from None
        if digest.hexdigest() != entry.sha256 or size != entry.bytes:
            raise ArchiveError(
                f"{entry.member} is corrupt: its SHA-256 does not match the manifest"
            )
        if problem is not None:
            raise ArchiveError(problem)
        if count != entry.rows:
            raise ArchiveError(f"{entry.member} has {count} rows; the manifest says {entry.rows}")

    def _read_manifest(self) -> Manifest:
        names = set(self._zip.namelist())
        for required in (MANIFEST, MANIFEST_DIGEST):
            if required not in names:
                raise ArchiveError(f"the archive has no {required}: not a consentry archive")
        try:
            data = self._zip.read(MANIFEST)
            recorded = self._zip.read(MANIFEST_DIGEST).decode("ascii", "replace").strip()
        except _READ_ERRORS as error:
            raise ArchiveError(f"{MANIFEST} cannot be read: {error}") from None
        if hashlib.sha256(data).hexdigest() != recorded:
            raise ArchiveError(f"{MANIFEST} is corrupt: its SHA-256 does not match")
        manifest = Manifest.from_json(data)
        members = {entry.member for entry in manifest.tables}
        if len(members) != len(manifest.tables):
            raise ArchiveError(f"{MANIFEST} names one member for two tables")
        missing = sorted(members - names)
        if missing:
            raise ArchiveError(f"members missing from the archive: {', '.join(missing)}")
        unexpected = sorted(names - members - {MANIFEST, MANIFEST_DIGEST})
        if unexpected:
            raise ArchiveError(f"members not in the manifest: {', '.join(unexpected)}")
        return manifest


def _parsed(line: bytes) -> dict[str, Any] | None:
    try:
        row = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return row if isinstance(row, dict) else None
