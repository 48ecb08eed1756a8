"""A tenant's opt-outs in the suppression index, seen as ``recipient -> scopes`` (for the gate)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from consentry.domain.model import Scope
from consentry.index.changes import key_number
from consentry.index.suppression import SuppressionIndex


class TenantOptOuts(Mapping[str, frozenset[Scope]]):
    """Read-only mapping of one tenant's opted-out recipients to their scopes.

    Looking a number up is a few bitmap probes (one, for a number that is not opted out);
    iterating walks every opted-out number and is meant for tests and tools, not the hot path.
    """

    __slots__ = ("index", "tenant_id")

    def __init__(self, index: SuppressionIndex, tenant_id: str) -> None:
        self.index = index
        self.tenant_id = tenant_id

    def get(  # type: ignore[override]  # the gate's lookup: no exception on a miss
        self, recipient: str, default: frozenset[Scope] | None = None
    ) -> frozenset[Scope] | None:
        # The gate passes numbers as ``to_e164`` returns them, so int() reads them directly
        # ("+14155550123" -> 14155550123) without the checks of ``number_key``.
        try:
            key = int(recipient)
        except (TypeError, ValueError):
            return default
        found = self.index.scopes_of_key(self.tenant_id, key)
        return found if found else default

    def __getitem__(self, recipient: str) -> frozenset[Scope]:
        found = self._scopes(recipient)
        if not found:
            raise KeyError(recipient)
        return found

    def __contains__(self, recipient: object) -> bool:
        return isinstance(recipient, str) and bool(self._scopes(recipient))

    def _scopes(self, recipient: str) -> frozenset[Scope]:
        try:
            return self.index.scopes_of(self.tenant_id, recipient)
        except ValueError:  # not an E.164 number: never in the index
            return frozenset()

    def __iter__(self) -> Iterator[str]:
        return (key_number(key) for key in self.index.union(self.tenant_id))

    def __len__(self) -> int:
        return len(self.index.union(self.tenant_id))
