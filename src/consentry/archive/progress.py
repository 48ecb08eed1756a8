"""How the archive functions report progress (the CLI draws it with Rich)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Told when a table starts (with its row count) and as rows are handled."""

    def start(self, table: str, rows: int) -> None: ...

    def advance(self, rows: int) -> None: ...


class NoProgress:
    """Progress that goes nowhere (the default)."""

    def start(self, table: str, rows: int) -> None:
        pass

    def advance(self, rows: int) -> None:
        pass
