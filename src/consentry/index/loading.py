"""Build a suppression index from the store, and catch one up from the opt-out change log.

Building reads the newest change id first and the ``optouts`` table after it, one scope at a
time, converting each batch of numbers to integers with pyarrow and sorting them with numpy
before the bitmap is built (roaring builds ten times faster from sorted input). The table may
already show some changes made after that id; replaying every change after it, in order, on top
converges on the right state anyway, because each change sets the final presence of its (number,
scope) and the replay ends with the newest one.

Compaction (:mod:`consentry.store.optout_compaction`) deletes the oldest change rows. Change ids
are dense, so a catch-up notices in the same query that reads the changes when rows it needed
are gone: the first row after the index's change id ``K`` is not ``K + 1``. The index is then
rebuilt from the ``optouts`` table (newest change id first, the table after it, then a catch-up
from that id, as above) and swapped in whole; a snapshot older than the log is not used either.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from consentry.domain.model import Scope, ScopeKind
from consentry.index import snapshot
from consentry.index.changes import Change, number_key
from consentry.index.suppression import Keys, SuppressionIndex
from consentry.store import optouts as optout_store
from consentry.store.optout_compaction import first_change_id

log = logging.getLogger(__name__)
_CATCH_UP_BATCH = 100_000
MISSING = "missing"  # the anchor of a change id the log does not hold


def numbers_to_keys(numbers: list[str] | pa.Array) -> Keys:
    """E.164 numbers (``+`` and digits) as sorted unique ``uint64`` bitmap keys, vectorised."""
    array = numbers if isinstance(numbers, pa.Array) else pa.array(numbers, pa.string())
    digits = pc.utf8_ltrim(array, characters="+")
    keys = pc.cast(digits, pa.uint64()).to_numpy(zero_copy_only=False)
    return np.unique(keys)


def build(conn: sa.Connection) -> SuppressionIndex:
    """A fresh index of every tenant's current opt-outs, caught up to the newest change."""
    index = _load_table(conn)
    catch_up(index, conn)
    return index


def _load_table(conn: sa.Connection) -> SuppressionIndex:
    """The ``optouts`` table as an index at the newest change id read *before* the table."""
    index = SuppressionIndex()
    index.set_change_id(optout_store.last_change_id(conn))
    for tenant_id, scope in optout_store.scope_groups(conn):
        parts = [
            numbers_to_keys(list(batch))
            for batch in optout_store.recipients_in_scope(conn, tenant_id, scope)
        ]
        if parts:
            index.add_keys(tenant_id, scope, np.unique(np.concatenate(parts)))
    return index


def catch_up(index: SuppressionIndex, conn: sa.Connection) -> int:
    """Apply every committed change after the index's change id; return how many.

    If the log no longer holds the changes right after the index's change id (compacted
    away), the index is rebuilt from the ``optouts`` table instead and replaced whole (readers
    see the old state until then); the count is then of the changes replayed after the reload.
    """
    applied = 0
    while True:
        rows = optout_store.changes_after(conn, index.change_id, _CATCH_UP_BATCH)
        if not rows:
            return applied
        if int(rows[0].change_id) > index.change_id + 1:
            return _rebuild(index, conn, int(rows[0].change_id))
        applied += index.apply(
            (
                Change(
                    change_id=int(row.change_id),
                    tenant_id=row.tenant_id,
                    recipient=number_key(row.recipient),
                    scope=Scope(ScopeKind(row.scope_kind), row.scope_id),
                    op="add" if row.op == "add" else "remove",
                )
                for row in rows
                if row.op != optout_store.REDACTED  # purged: its adds and removes cancel out
            ),
            upto=int(rows[-1].change_id),
        )
        if len(rows) < _CATCH_UP_BATCH:
            return applied


def _rebuild(index: SuppressionIndex, conn: sa.Connection, resumes_at: int) -> int:
    """Replace ``index`` by a fresh build: the log lost changes it had not applied."""
    log.warning(
        "suppression index at change %d is behind the compacted opt-out change log (which now "
        "starts at change %d): rebuilding it from the optouts table",
        index.change_id,
        resumes_at,
    )
    fresh = _load_table(conn)
    applied = catch_up(fresh, conn)  # rebuilds once more should a compaction overtake it
    index.replace_with(fresh)
    return applied


def anchor(conn: sa.Connection, change_id: int) -> str:
    """What identifies the change-log row ``change_id`` (so a snapshot fits only its database)."""
    if change_id <= 0:
        return ""
    rows = optout_store.changes_after(conn, change_id - 1, 1)
    if not rows or int(rows[0].change_id) != change_id:
        return MISSING
    row = rows[0]
    return f"{change_id}|{row.tenant_id}|{row.recipient}|{row.scope_kind}|{row.scope_id}|{row.op}"


def from_snapshot_or_store(conn: sa.Connection, path: Path | None) -> tuple[SuppressionIndex, str]:
    """Load the snapshot at ``path`` and catch it up, or build afresh if it is absent or unfit.

    Returns the index and where it came from: ``"snapshot"`` or ``"store"``.

    A snapshot is unfit when it is damaged, of another format, older than the compacted change
    log (the changes right after it are gone), or does not match this database's change log (its
    change id is newer than the log, or the row there differs).
    """
    if path is not None and path.exists():
        try:
            index, saved_anchor = snapshot.load_with_anchor(path)
        except snapshot.SnapshotError as error:
            log.warning("suppression index snapshot ignored: %s", error)
        else:
            first = first_change_id(conn)
            current = anchor(conn, index.change_id)
            if first > max(index.change_id, 1):  # change_id + 1 .. first - 1 were compacted
                log.warning(
                    "suppression index snapshot %s covers change %d, older than the compacted "
                    "opt-out change log (which now starts at change %d); rebuilding",
                    path,
                    index.change_id,
                    first,
                )
            elif saved_anchor == current != MISSING:
                catch_up(index, conn)
                return index, "snapshot"
            else:
                log.warning(
                    "suppression index snapshot %s is of another database; rebuilding", path
                )
    return build(conn), "store"


def save_snapshot(index: SuppressionIndex, conn: sa.Connection, path: Path) -> int:
    """Write ``index`` to ``path`` with the anchor of the change it covers; return the size."""
    return snapshot.save(index, path, lambda change_id: anchor(conn, change_id))
