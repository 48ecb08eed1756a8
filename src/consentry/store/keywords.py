"""Reads and writes of a tenant's own reply keywords (the ``tenant_keywords`` table).

Every function takes the tenant id and filters on it: another tenant's keywords are never seen.
Keywords are stored normalised (:func:`consentry.domain.custom_keywords.normalise_keyword`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from consentry.domain.custom_keywords import CustomKeyword
from consentry.store.tables import tenant_keywords


def list_keywords(conn: sa.Connection, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's keywords, alphabetically."""
    query = (
        sa.select(tenant_keywords)
        .where(tenant_keywords.c.tenant_id == tenant_id)
        .order_by(tenant_keywords.c.keyword)
    )
    return [_row(row) for row in conn.execute(query)]


def get(conn: sa.Connection, tenant_id: str, keyword: str) -> dict[str, Any] | None:
    """The tenant's entry for a normalised ``keyword``, or None."""
    row = conn.execute(
        sa.select(tenant_keywords).where(
            tenant_keywords.c.tenant_id == tenant_id, tenant_keywords.c.keyword == keyword
        )
    ).first()
    return _row(row) if row else None


def find(conn: sa.Connection, tenant_id: str, keyword: str) -> list[CustomKeyword]:
    """The entry for a normalised ``keyword`` as the matcher takes it ([] if there is none)."""
    entry = get(conn, tenant_id, keyword)
    if entry is None:
        return []
    return [CustomKeyword(entry["keyword"], entry["kind"], entry["language"])]


def insert(
    conn: sa.Connection, tenant_id: str, entry: CustomKeyword, created_at: datetime
) -> dict[str, Any]:
    row = {
        "tenant_id": tenant_id,
        "keyword": entry.keyword,
        "kind": entry.kind,
        "language": entry.language,
        "created_at": created_at,
    }
    conn.execute(sa.insert(tenant_keywords).values(**row))
    return {key: value for key, value in row.items() if key != "tenant_id"}


def delete(conn: sa.Connection, tenant_id: str, keyword: str) -> bool:
    """Remove the entry; False when the tenant has no such keyword."""
    result = conn.execute(
        sa.delete(tenant_keywords).where(
            tenant_keywords.c.tenant_id == tenant_id, tenant_keywords.c.keyword == keyword
        )
    )
    return bool(result.rowcount)


def _row(row: sa.Row[Any]) -> dict[str, Any]:
    return {
        "keyword": row.keyword,
        "kind": row.kind,
        "language": row.language,
        "created_at": row.created_at,
    }
