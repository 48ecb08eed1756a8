"""The suppression index of the service: one per process, loaded on first use, kept in step.

The index (see :mod:`consentry.index`) holds every tenant's opted-out numbers as roaring bitmaps.
It is loaded on first use: from the snapshot file if one is configured (argument
``index_snapshot`` or environment variable ``CONSENTRY_INDEX_SNAPSHOT``) and fits this database,
caught up from the opt-out change log; otherwise built from the ``optouts`` table. A follower
thread then applies other processes' changes within about a second (LISTEN/NOTIFY on PostgreSQL,
polling on SQLite). The service's own readers catch up before they read, which is one indexed
query for the whole call, so a change committed by this process, or any other, is seen at once.
``close()`` (or a normal interpreter exit) writes the snapshot back.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import weakref
from pathlib import Path
from typing import Any

from consentry.domain.model import Tenant
from consentry.index import SuppressionIndex, loading
from consentry.index.follower import Follower
from consentry.service._settings import SettingsLayer
from consentry.store.engine import READ_ONLY

SNAPSHOT_ENV = "CONSENTRY_INDEX_SNAPSHOT"


class IndexLayer(SettingsLayer):
    """The process's suppression index: load, follow, catch up, snapshot."""

    def __init__(
        self,
        *args: Any,
        index_snapshot: Path | str | None = None,
        follow_index: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        configured = index_snapshot or os.environ.get(SNAPSHOT_ENV) or None
        self.index_snapshot = Path(configured) if configured else None
        self._follow_index = follow_index
        self._index: SuppressionIndex | None = None
        self._follower: Follower | None = None
        self._index_lock = threading.Lock()
        self.index_loaded_from: str | None = None  # "snapshot" or "store", once loaded

    def suppression_index(self, tenant: Tenant) -> SuppressionIndex:
        """The suppression index, caught up to every opt-out change committed so far.

        Read the tenant's numbers with ``index.bitmap(tenant.id, scope)``, ``scopes(tenant.id)``
        and ``scopes_of(tenant.id, number)``: the index is the process's own and holds every
        tenant, each under its own id. Bitmaps it hands out are frozen copies.
        """
        del tenant  # every tenant's numbers are kept apart by tenant id inside the index
        return self._suppression()

    def save_index_snapshot(self, path: Path | str | None = None) -> int | None:
        """Write the index's snapshot (default: the configured path); return its size in bytes.

        Nothing is written (``None``) when no path is given or configured, or when the index was
        never loaded in this process.
        """
        target = Path(path) if path is not None else self.index_snapshot
        index = self._index
        if target is None or index is None:
            return None
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            return loading.save_snapshot(index, conn, target)

    def close(self) -> None:
        """Stop following the change log, write the snapshot if configured, release the engine."""
        follower, self._follower = self._follower, None
        if follower is not None:
            follower.stop()
        if self._index is not None and self.index_snapshot is not None:
            self.save_index_snapshot()
        self._index = None
        super().close()

    # --- for the layers above ---------------------------------------------------------------

    def _suppression(self, *, catch_up: bool = True) -> SuppressionIndex:
        """The loaded index (loading it on first use), caught up unless told otherwise."""
        index = self._index
        if index is None:
            with self._index_lock:
                if self._index is None:
                    self._open_index()
            index = self._index
            assert index is not None
        elif catch_up:
            self._catch_up_index()
        return index

    def _catch_up_index(self) -> int:
        follower = self._follower
        if follower is None:
            return 0
        return follower.catch_up()

    def _open_index(self) -> None:
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            index, self.index_loaded_from = loading.from_snapshot_or_store(
                conn, self.index_snapshot
            )
        follower = Follower(index, self.engine)
        self._index, self._follower = index, follower
        if self._follow_index:
            follower.start()
            # A service dropped without close() must not leave its thread polling forever.
            weakref.finalize(self, follower.signal_stop)
        if self.index_snapshot is not None:
            _save_at_exit(self)


def _save_at_exit(service: IndexLayer) -> None:
    """Write the snapshot at a normal interpreter exit, unless the service was closed before."""
    ref = weakref.ref(service)

    def save() -> None:
        live = ref()
        if live is not None and live._index is not None:
            # Best effort at exit: without a snapshot the next start-up simply rebuilds.
            with contextlib.suppress(Exception):
                live.save_index_snapshot()

    atexit.register(save)
