"""Build a suppression index from the store, and catch one up from the opt-out change log.

Building reads the newest change id first and the ``optouts`` table after it, one scope at a
time, converting each batch of numbers to integers with pyarrow and sorting them with numpy
before the bitmap is built (roaring builds ten times faster from sorted input). The table may
already show some changes made after that id; replaying every change after it, in order, on top
converges on the right state anyway, because each change sets the final presence of its (number,
scope) and the replay ends with the newest one.
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

log = logging.getLogger(__name__)
_CATCH_UP_BATCH = 100_000


def numbers_to_keys(numbers: list[str] | pa.Array) -> Keys:
    """E.164 numbers (``+`` and digits) as sorted unique ``uint64`` bitmap keys, vectorised."""
    array = numbers if isinstance(numbers, pa.Array) else pa.array(numbers, pa.string())
    digits = pc.utf8_ltrim(array, characters="+")
    keys = pc.cast(digits, pa.uint64()).to_numpy(zero_copy_only=False)
    return np.unique(keys)


def build(conn: sa.Connection) -> SuppressionIndex:
    """A fresh index of every tenant's current opt-outs, caught up to the newest change."""
    index = SuppressionIndex()
    index.set_change_id(optout_store.last_change_id(conn))
    for tenant_id, scope in optout_store.scope_groups(conn):
        parts = [
            numbers_to_keys(list(batch))
            for batch in optout_store.recipients_in_scope(conn, tenant_id, scope)
        ]
        if parts:
            index.add_keys(tenant_id, scope, np.unique(np.concatenate(parts)))
    catch_up(index, conn)
    return index


def catch_up(index: SuppressionIndex, conn: sa.Connection) -> int:
    """Apply every committed change after the index's change id; return how many."""
    applied = 0
    while True:
        rows = optout_store.changes_after(conn, index.change_id, _CATCH_UP_BATCH)
        if not rows:
            return applied
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


def anchor(conn: sa.Connection, change_id: int) -> str:
    """What identifies the change-log row ``change_id`` (so a snapshot fits only its database)."""
    if change_id <= 0:
        return ""
    rows = optout_store.changes_after(conn, change_id - 1, 1)
    if not rows or int(rows[0].change_id) != change_id:
        return "missing"
    row = rows[0]
    return f"{change_id}|{row.tenant_id}|{row.recipient}|{row.scope_kind}|{row.scope_id}|{row.op}"


def from_snapshot_or_store(conn: sa.Connection, path: Path | None) -> tuple[SuppressionIndex, str]:
    """Load the snapshot at ``path`` and catch it up, or build afresh if it is absent or unfit.

    Returns the index and where it came from: ``"snapshot"`` or ``"store"``.

    A snapshot is unfit when it is damaged, of another format, or does not match this
    database's change log (its change id is newer than the log, or the row there differs).
    """
    if path is not None and path.exists():
        try:
            index, saved_anchor = snapshot.load_with_anchor(path)
        except snapshot.SnapshotError as error:
            log.warning("suppression index snapshot ignored: %s", error)
        else:
            if saved_anchor == anchor(conn, index.change_id):
                catch_up(index, conn)
                return index, "snapshot"
            log.warning("suppression index snapshot %s is of another database; rebuilding", path)
    return build(conn), "store"


def save_snapshot(index: SuppressionIndex, conn: sa.Connection, path: Path) -> int:
    """Write ``index`` to ``path`` with the anchor of the change it covers; return the size."""
    return snapshot.save(index, path, lambda change_id: anchor(conn, change_id))
