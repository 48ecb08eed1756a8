"""Why an archive was refused."""

from __future__ import annotations

from consentry.errors import Conflict, InvalidInput


class ArchiveError(InvalidInput):
    """The archive is unreadable, corrupt, incomplete or does not match this schema."""

    code = "invalid_archive"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="archive")


class TargetNotEmpty(Conflict):
    """A restore was aimed at a database that already holds data."""

    code = "target_not_empty"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="database")
