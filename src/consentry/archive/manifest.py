"""The archive's manifest: what it holds, where from, and the checksums that prove it whole.

The manifest is ``manifest.json`` in the archive, with its own SHA-256 in ``manifest.sha256``.
It names the format and its version, the consentry version and database kind that wrote it,
the schema (Alembic) revision, when it was written, every table member with its columns, row
count, size and SHA-256, every table left out and why, and each tenant's ledger head.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from consentry.archive.errors import ArchiveError

FORMAT = "consentry-archive"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_DIGEST = "manifest.sha256"
TABLES_DIR = "tables/"


def member_name(table: str) -> str:
    """The archive member that holds ``table``'s rows (JSON lines)."""
    return f"{TABLES_DIR}{table}.jsonl"


@dataclass(frozen=True, slots=True)
class TableEntry:
    """One table's member: its columns in order, row count, size in bytes and SHA-256."""

    name: str
    member: str
    columns: tuple[str, ...]
    rows: int
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Excluded:
    """A table the archive leaves out, and why."""

    table: str
    reason: str


@dataclass(frozen=True, slots=True)
class LedgerHead:
    """A tenant's chain head as exported, and whether its chain verified when it was read."""

    seq: int
    hash: str
    events: int
    verified: bool
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Manifest:
    """The whole manifest (see the module docstring)."""

    consentry_version: str
    created_at: str
    source_database: str
    schema_revision: str | None
    tables: tuple[TableEntry, ...]
    excluded: tuple[Excluded, ...]
    ledger: dict[str, LedgerHead]
    format_version: int = FORMAT_VERSION

    def table(self, name: str) -> TableEntry | None:
        """The entry of table ``name``, if the archive holds it."""
        return next((entry for entry in self.tables if entry.name == name), None)

    def to_json(self) -> bytes:
        """The manifest as UTF-8 JSON (indented: people read it)."""
        document = {
            "format": FORMAT,
            "format_version": self.format_version,
            "consentry_version": self.consentry_version,
            "created_at": self.created_at,
            "source_database": self.source_database,
            "schema_revision": self.schema_revision,
            "tables": [{**asdict(entry), "columns": list(entry.columns)} for entry in self.tables],
            "excluded": [asdict(entry) for entry in self.excluded],
            "ledger": {tenant: asdict(head) for tenant, head in sorted(self.ledger.items())},
        }
        return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse and check a manifest; :class:`ArchiveError` names what is wrong."""
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ArchiveError(f"{MANIFEST} is not valid JSON: {error}") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ArchiveError(f"not a consentry archive ({MANIFEST} does not say {FORMAT!r})")
        version = document.get("format_version")
        if version != FORMAT_VERSION:
            raise ArchiveError(
                f"archive format version {version!r}; this consentry reads version "
                f"{FORMAT_VERSION} (use the consentry version that wrote it)"
            )
        try:
            return cls(
                consentry_version=_text(document["consentry_version"]),
                created_at=_text(document["created_at"]),
                source_database=_text(document["source_database"]),
                schema_revision=document["schema_revision"],
                tables=tuple(
                    TableEntry(
                        name=_text(entry["name"]),
                        member=_text(entry["member"]),
                        columns=tuple(_text(column) for column in entry["columns"]),
                        rows=_count(entry["rows"]),
                        bytes=_count(entry["bytes"]),
                        sha256=_text(entry["sha256"]),
                    )
                    for entry in document["tables"]
                ),
                excluded=tuple(
                    Excluded(_text(entry["table"]), _text(entry["reason"]))
                    for entry in document["excluded"]
                ),
                ledger={
                    _text(tenant): LedgerHead(
                        seq=_count(head["seq"]),
                        hash=_text(head["hash"]),
                        events=_count(head["events"]),
                        verified=bool(head["verified"]),
                        problem=head.get("problem"),
                    )
                    for tenant, head in document["ledger"].items()
                },
            )
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise ArchiveError(f"{MANIFEST} is incomplete or malformed ({error!r})") from None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    return value


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a count, got {value!r}")
    return value
