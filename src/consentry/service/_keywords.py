"""A tenant's own reply keywords: add, list, remove, and the lookup inbound handling uses."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from consentry.domain import custom_keywords
from consentry.domain.custom_keywords import KeywordProblem
from consentry.domain.model import Classification, Tenant
from consentry.errors import Conflict, InvalidInput, NotFound
from consentry.service._consents import ConsentsLayer
from consentry.store import keywords as keyword_store


class KeywordsLayer(ConsentsLayer):
    """A tenant's own opt-out, opt-in and help keywords, on top of the reviewed lists.

    The reviewed lists always win: a keyword they already read as something (STOP, HELP, YES,
    "BASTA YA") cannot be added, and at classification a tenant keyword is consulted only when
    the classifier answers ``other`` (or ``ambiguous``, for an opt-out keyword); see
    :mod:`consentry.domain.custom_keywords`. The list is read inside the inbound transaction, so
    a change is in effect for the next reply.
    """

    def add_keyword(
        self, tenant: Tenant, keyword: str, kind: str, *, language: str | None = None
    ) -> dict[str, Any]:
        """Add a keyword (normalised as the classifier normalises a reply); return the entry.

        Raises InvalidInput for malformed input and Conflict for a duplicate or a clash with the
        reviewed lists.
        """
        try:
            entry = custom_keywords.validate(keyword, kind, language)
        except KeywordProblem as problem:
            if problem.conflict:
                raise Conflict(problem.message, field=problem.field) from None
            raise InvalidInput(problem.message, field=problem.field) from None
        duplicate = Conflict(
            f"{entry.keyword} is already one of this tenant's keywords", field="keyword"
        )
        try:
            with self.engine.begin() as conn:
                if keyword_store.get(conn, tenant.id, entry.keyword) is not None:
                    raise duplicate
                return keyword_store.insert(conn, tenant.id, entry, self.now())
        except sa.exc.IntegrityError:  # added concurrently
            raise duplicate from None

    def list_keywords(self, tenant: Tenant) -> list[dict[str, Any]]:
        """The tenant's keywords, alphabetically."""
        with self._read() as conn:
            return keyword_store.list_keywords(conn, tenant.id)

    def remove_keyword(self, tenant: Tenant, keyword: str) -> None:
        """Remove a keyword (given in any spelling that normalises to it); NotFound if absent."""
        key = custom_keywords.lookup_key(keyword) if isinstance(keyword, str) else None
        with self.engine.begin() as conn:
            if key is None or not keyword_store.delete(conn, tenant.id, key):
                raise NotFound(f"no keyword {keyword!r} in this tenant", field="keyword")

    def _with_tenant_keywords(
        self,
        conn: sa.Connection,
        tenant: Tenant,
        verdict: Classification,
        body: str,
        language: str | None,
    ) -> Classification:
        """``verdict`` or, where it may decide, the tenant keyword ``body`` is (same transaction)."""
        if not custom_keywords.needs_lookup(verdict):
            return verdict
        key = custom_keywords.lookup_key(body)
        if key is None:
            return verdict
        entries = keyword_store.find(conn, tenant.id, key)
        return custom_keywords.resolve(verdict, body, entries, language)
