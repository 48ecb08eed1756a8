"""Whole-database backup and restore: ``consentry export-all`` / ``import-all`` / ``verify-archive``.

An archive is one zip file: ``manifest.json`` (format version, consentry version, source database
kind, schema revision, creation time, per-table columns, row counts, sizes and SHA-256, the tables
left out and why, each tenant's ledger head), ``manifest.sha256``, and one JSON-lines member per
table under ``tables/``. See ``docs/backup.md``.
"""

from consentry.archive.errors import ArchiveError, TargetNotEmpty
from consentry.archive.manifest import Manifest
from consentry.archive.progress import NoProgress, Progress
from consentry.archive.restore import import_archive
from consentry.archive.verify import ArchiveReport, verify_archive
from consentry.archive.writer import export_archive

__all__ = [
    "ArchiveError",
    "ArchiveReport",
    "Manifest",
    "NoProgress",
    "Progress",
    "TargetNotEmpty",
    "export_archive",
    "import_archive",
    "verify_archive",
]
