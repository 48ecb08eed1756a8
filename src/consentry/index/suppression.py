"""The in-memory suppression index: opted-out numbers per (tenant, scope) in roaring bitmaps.

Each tenant's opt-outs in one scope (the tenant, a brand, a program or a sender) are one
``BitMap64`` of the numbers' E.164 digits (see :func:`~consentry.index.changes.number_key`).
The index records the change id of the store's opt-out change log it covers; applying the
changes after that id, in order, brings it up to date (see :mod:`consentry.index.follower`).

Thread safety: every read and every :meth:`SuppressionIndex.apply` holds one lock, and a batch
of changes is applied as a whole under it, so a reader never sees half of a batch. The bitmaps
handed out by :meth:`SuppressionIndex.bitmap` are frozen copies (cached until that scope changes):
a caller can intersect them at leisure while the index moves on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pyroaring import BitMap64, FrozenBitMap64

from consentry.domain.model import Scope
from consentry.index.changes import Change, number_key

Keys = npt.NDArray[np.uint64]
_EMPTY = FrozenBitMap64()
_NONE: frozenset[Scope] = frozenset()


@dataclass(slots=True)
class _TenantSet:
    """One tenant's bitmaps, and ``whole``: every number in any of them (for quick misses).

    ``whole`` is the one bitmap itself while the tenant has a single scope, and a union kept
    alongside once there are more.
    """

    scopes: dict[Scope, BitMap64] = field(default_factory=dict)
    whole: BitMap64 | None = None

    def add(self, scope: Scope, keys: BitMap64) -> None:
        """Add ``keys`` to ``scope`` (a new scope takes ``keys`` itself: do not reuse it)."""
        bitmap = self.scopes.get(scope)
        if bitmap is None:
            if not keys:
                return
            self.scopes[scope] = keys
            if len(self.scopes) == 1:
                self.whole = keys
            elif len(self.scopes) == 2:
                self.whole = BitMap64().union(*self.scopes.values())
            else:
                assert self.whole is not None
                self.whole |= keys
            return
        bitmap |= keys
        if len(self.scopes) > 1:
            assert self.whole is not None
            self.whole |= keys

    def remove(self, scope: Scope, keys: BitMap64) -> None:
        bitmap = self.scopes.get(scope)
        if bitmap is None:
            return
        bitmap -= keys
        if not bitmap:
            del self.scopes[scope]
        if len(self.scopes) < 2:
            self.whole = next(iter(self.scopes.values()), None)
        elif self.whole is not None:
            # A number leaves the union only when no other scope still holds it.
            gone = keys.copy()
            for other in self.scopes.values():
                gone -= other
            self.whole -= gone


class SuppressionIndex:
    """Opted-out numbers per tenant and scope, as of :attr:`change_id` of the change log."""

    def __init__(self, change_id: int = 0) -> None:
        self._lock = threading.RLock()
        self._tenants: dict[str, _TenantSet] = {}
        self._frozen: dict[tuple[str, Scope], FrozenBitMap64] = {}
        self._change_id = change_id
        self._applied = threading.Condition(self._lock)

    # --- reading ----------------------------------------------------------------------------

    @property
    def change_id(self) -> int:
        """The last change of the store's opt-out change log this index reflects."""
        return self._change_id

    def bitmap(self, tenant_id: str, scope: Scope) -> FrozenBitMap64:
        """The numbers opted out of ``tenant_id`` in exactly ``scope`` (frozen; empty if none)."""
        with self._lock:
            return self._frozen_bitmap(tenant_id, scope)

    def bitmaps(self, tenant_id: str, scopes: Iterable[Scope]) -> dict[Scope, FrozenBitMap64]:
        """The bitmaps of several scopes, all as of the same change."""
        with self._lock:
            return {scope: self._frozen_bitmap(tenant_id, scope) for scope in scopes}

    def union(self, tenant_id: str, scopes: Iterable[Scope] | None = None) -> FrozenBitMap64:
        """The numbers opted out of any of ``scopes`` (default: of any scope) of the tenant."""
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            if tenant is None:
                return _EMPTY
            if scopes is None:
                whole = tenant.whole
                return _EMPTY if whole is None else FrozenBitMap64(whole)
            chosen = [tenant.scopes[s] for s in dict.fromkeys(scopes) if s in tenant.scopes]
            return FrozenBitMap64().union(*chosen) if chosen else _EMPTY

    def scopes(self, tenant_id: str) -> list[Scope]:
        """The scopes of the tenant that hold at least one opt-out (kind, then id)."""
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            found = list(tenant.scopes) if tenant is not None else []
        return sorted(found, key=lambda scope: (scope.kind.value, scope.id))

    def scopes_of(self, tenant_id: str, number: str | int) -> frozenset[Scope]:
        """Every scope of the tenant that ``number`` is opted out of (empty if none)."""
        return self.scopes_of_key(tenant_id, number_key(number))

    def scopes_of_key(self, tenant_id: str, key: int) -> frozenset[Scope]:
        """:meth:`scopes_of` for a number already turned into its key (no validation)."""
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            if tenant is None or tenant.whole is None or key not in tenant.whole:
                return _NONE
            return frozenset(scope for scope, bitmap in tenant.scopes.items() if key in bitmap)

    def contains(self, tenant_id: str, scope: Scope, number: str | int) -> bool:
        """Whether ``number`` is opted out of the tenant in exactly ``scope``."""
        key = number_key(number)
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            bitmap = tenant.scopes.get(scope) if tenant is not None else None
            return bitmap is not None and key in bitmap

    def count(self, tenant_id: str | None = None) -> int:
        """How many (number, scope) opt-outs the index holds (of one tenant, or in all)."""
        with self._lock:
            tenants = (
                list(self._tenants.values())
                if tenant_id is None
                else [self._tenants[tenant_id]]
                if tenant_id in self._tenants
                else []
            )
            return sum(len(bitmap) for tenant in tenants for bitmap in tenant.scopes.values())

    def tenants(self) -> list[str]:
        """The tenants that have at least one opt-out."""
        with self._lock:
            return sorted(self._tenants)

    def entries(self) -> Iterator[tuple[str, Scope, FrozenBitMap64]]:
        """Every (tenant, scope, bitmap), as of one change (the copies are taken at once)."""
        with self._lock:
            taken = [
                (tenant_id, scope, self._frozen_bitmap(tenant_id, scope))
                for tenant_id, tenant in self._tenants.items()
                for scope in tenant.scopes
            ]
        yield from taken

    def serialized(self) -> tuple[int, list[tuple[str, Scope, bytes]]]:
        """The change id and every (tenant, scope, roaring serialisation), taken together.

        Serialises under the lock (readers wait for it: about 0.1 s per 100 million numbers)
        rather than copying each bitmap first, so a snapshot does not double the memory.
        """
        with self._lock:
            return self._change_id, [
                (tenant_id, scope, bitmap.serialize())
                for tenant_id, tenant in self._tenants.items()
                for scope, bitmap in tenant.scopes.items()
            ]

    def wait_for(self, change_id: int, timeout: float) -> bool:
        """Block until the index covers ``change_id`` (or ``timeout`` seconds pass)."""
        with self._applied:
            return self._applied.wait_for(lambda: self._change_id >= change_id, timeout)

    # --- changing ---------------------------------------------------------------------------

    def apply(self, changes: Iterable[Change], *, upto: int | None = None) -> int:
        """Apply committed changes in change-id order; return how many were applied.

        Changes at or below :attr:`change_id` are skipped (already reflected). Consecutive
        changes of one tenant, scope and operation are applied as one bitmap operation. The
        index then covers the last change's id, or ``upto`` if that is higher (a caller that
        read the log up to ``upto`` and found nothing more).
        """
        with self._lock:
            pending = [c for c in changes if c.change_id > self._change_id]
            for (tenant_id, scope, op), run in groupby(
                pending, key=lambda c: (c.tenant_id, c.scope, c.op)
            ):
                keys = BitMap64(np.fromiter((c.recipient for c in run), dtype=np.uint64))
                self._apply_keys(tenant_id, scope, op == "add", keys)
            last = max([self._change_id, upto or 0, *(c.change_id for c in pending[-1:])])
            self._change_id = last
            self._applied.notify_all()
            return len(pending)

    def add_keys(self, tenant_id: str, scope: Scope, keys: Keys | BitMap64) -> None:
        """Add numbers to one scope (for loaders; sorted ``uint64`` keys build fastest).

        A ``BitMap64`` given here may be taken over by the index: do not change it afterwards.
        """
        bitmap = keys if isinstance(keys, BitMap64) else BitMap64(keys)
        with self._lock:
            self._apply_keys(tenant_id, scope, True, bitmap)

    def set_change_id(self, change_id: int) -> None:
        """Declare which change of the log the index now covers (for loaders)."""
        with self._lock:
            self._change_id = change_id
            self._applied.notify_all()

    def replace_with(self, other: SuppressionIndex) -> None:
        """Take over ``other``'s whole content at once (a reload)."""
        with self._lock, other._lock:
            self._tenants = other._tenants
            self._frozen = {}
            self._change_id = other._change_id
            self._applied.notify_all()

    # --- snapshots --------------------------------------------------------------------------

    def save(self, path: Path | str) -> int:
        """Write a snapshot file (atomically); return its size in bytes."""
        from consentry.index import snapshot

        return snapshot.save(self, Path(path))

    @classmethod
    def load(cls, path: Path | str) -> SuppressionIndex:
        """Read a snapshot written by :meth:`save`; raises ``SnapshotError`` if it is damaged."""
        from consentry.index import snapshot

        return snapshot.load(Path(path))

    # --- internals --------------------------------------------------------------------------

    def _frozen_bitmap(self, tenant_id: str, scope: Scope) -> FrozenBitMap64:
        cached = self._frozen.get((tenant_id, scope))
        if cached is not None:
            return cached
        tenant = self._tenants.get(tenant_id)
        bitmap = tenant.scopes.get(scope) if tenant is not None else None
        if bitmap is None:
            return _EMPTY
        frozen = self._frozen[(tenant_id, scope)] = FrozenBitMap64(bitmap)
        return frozen

    def _apply_keys(self, tenant_id: str, scope: Scope, add: bool, keys: BitMap64) -> None:
        self._frozen.pop((tenant_id, scope), None)
        tenant = self._tenants.get(tenant_id)
        if add:
            if tenant is None:
                tenant = self._tenants[tenant_id] = _TenantSet()
            tenant.add(scope, keys)
        elif tenant is not None:
            tenant.remove(scope, keys)
            if not tenant.scopes:
                del self._tenants[tenant_id]
