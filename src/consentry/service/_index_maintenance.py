"""Maintenance of the suppression index's change log: compaction (issue #11).

The opt-out change log (``optout_changes``) grows by one row per opt-out added or removed.
Compaction deletes the rows older than a few days; a process whose index was behind them
notices and rebuilds its index from the ``optouts`` table (see :mod:`consentry.index.loading`).
"""

from __future__ import annotations

from datetime import timedelta

from consentry.errors import InvalidInput
from consentry.service._index import IndexLayer
from consentry.store import optout_compaction

DEFAULT_KEEP = timedelta(days=7)


class IndexMaintenanceLayer(IndexLayer):
    """Compaction of the opt-out change log, which every process follows."""

    def compact_optout_changes(self, *, keep: timedelta = DEFAULT_KEEP) -> int:
        """Delete the opt-out change-log rows older than ``keep``; return how many.

        The log is process-wide (one for every tenant), so is its compaction. The newest change
        is always kept, and so is everything from the first change recorded within ``keep``
        on. One transaction. A process whose index has not applied the deleted changes rebuilds
        it from the ``optouts`` table at its next catch-up, so no change is ever missed; this
        process catches its own index up first, so that it does not have to.
        """
        if keep < timedelta(0):
            raise InvalidInput("must not be negative", field="keep")
        try:
            cutoff = self.now() - keep
        except OverflowError:  # further back than the calendar goes: nothing is that old
            return 0
        self._catch_up_index()
        with self.engine.begin() as conn:
            return optout_compaction.compact_changes(conn, older_than=cutoff)
