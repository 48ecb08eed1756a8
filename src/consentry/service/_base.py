"""The service's base: the database engine, the clock and read connections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consentry.store import (
    create_store_engine,
    default_database_url,
    upgrade,
)
from consentry.store.engine import READ_ONLY

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, in UTC (the default clock of :class:`Consentry`)."""
    return datetime.now(UTC)


class ServiceBase:
    """The service's base: the database engine, the clock and read connections."""

    def __init__(
        self,
        database_url: str | None = None,
        *,
        engine: Engine | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.database_url = database_url or default_database_url()
        self.engine = engine or create_store_engine(self.database_url)
        self._clock = clock

    def migrate(self) -> None:
        """Apply every pending migration."""
        upgrade(self.engine)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return now

    def _read(self) -> sa.Connection:
        return self.engine.connect().execution_options(**{READ_ONLY: True})
