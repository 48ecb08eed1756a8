"""Compaction of the opt-out change log: delete the oldest ``optout_changes`` rows.

The ``optouts`` table is the truth; the change log only tells followers what changed since the
change id their index covers. Compaction deletes a *prefix* of the log (every row up to a bound)
and always keeps the newest row, for two reasons:

- A writer takes its change ids as ``max(change_id) + 1`` (see :mod:`consentry.store.optouts`):
  with the newest row gone, ids would be handed out again and a follower that had seen them
  would skip the new changes.
- Change ids are dense (1, 2, 3 ... with no holes: a writer takes max + 1 under a lock it holds
  until commit, so a rolled-back transaction leaves no hole; the next writer reuses its ids).
  Hence the log after a compaction starts at ``bound + 1``, and a follower whose index stands at
  ``K`` sees, in the very query that reads the changes after ``K``, whether it missed some: the
  first row returned is ``K + 1`` unless rows after ``K`` were compacted. No watermark is read
  separately, so there is no window between reading a watermark and reading the rows for a
  compaction to slip into (see :func:`consentry.index.loading.catch_up`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from consentry.store.optouts import last_change_id
from consentry.store.tables import optout_changes


def first_change_id(conn: sa.Connection) -> int:
    """The oldest change id the log still holds (0 when it is empty)."""
    return int(conn.execute(sa.select(sa.func.min(optout_changes.c.change_id))).scalar() or 0)


def compaction_bound(
    conn: sa.Connection, *, keep_after_id: int | None = None, older_than: datetime | None = None
) -> int:
    """The highest change id :func:`compact_changes` would delete (0: nothing to delete).

    Exactly one of ``keep_after_id`` (keep every change after that id) and ``older_than`` (keep
    the first change recorded at or after that time and every later one: ``changed_at`` is the
    opt-out's own time, which need not grow with the id, so only the prefix before the first
    recent change goes) must be given. The newest change is never part of it.
    """
    if (keep_after_id is None) == (older_than is None):
        raise TypeError("give exactly one of keep_after_id and older_than")
    newest = last_change_id(conn)
    if older_than is not None:
        # Walks the change-id index from the oldest row and stops at the first recent one: it
        # reads about as many rows as the compaction deletes.
        first_recent = conn.execute(
            sa.select(optout_changes.c.change_id)
            .where(optout_changes.c.changed_at >= older_than)
            .order_by(optout_changes.c.change_id)
            .limit(1)
        ).scalar()
        bound = newest if first_recent is None else int(first_recent) - 1
    else:
        assert keep_after_id is not None
        bound = keep_after_id
    return max(0, min(bound, newest - 1))


def compact_changes(
    conn: sa.Connection, *, keep_after_id: int | None = None, older_than: datetime | None = None
) -> int:
    """Delete the change-log rows up to the bound (see :func:`compaction_bound`); return how many.

    Runs in the caller's transaction. It does not take the change-id lock: it deletes only rows
    below the newest one it sees, and writers only ever add rows above that.
    """
    bound = compaction_bound(conn, keep_after_id=keep_after_id, older_than=older_than)
    if bound <= 0:
        return 0
    deleted = conn.execute(sa.delete(optout_changes).where(optout_changes.c.change_id <= bound))
    return int(deleted.rowcount)
