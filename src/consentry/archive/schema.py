"""What the archive covers: consentry's tables (from ``consentry.store.tables``) in foreign-key
order, minus the few it deliberately leaves out, each named with its reason in the manifest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from consentry.store import tables
from consentry.store.migrate import MIGRATIONS

# Tables deliberately not archived: name -> the reason the manifest gives.
EXCLUDED_TABLES: Mapping[str, str] = {
    "admin_sessions": "login sessions are short-lived secrets; users log in again after a restore",
}
ALEMBIC_TABLE = "alembic_version"
CHUNK = 1000


def archived_tables() -> list[sa.Table]:
    """Every table of consentry's schema that an archive holds, parents before children."""
    return [table for table in tables.metadata.sorted_tables if table.name not in EXCLUDED_TABLES]


def excluded_tables(conn: sa.Connection) -> dict[str, str]:
    """The tables present in the database that the archive leaves out, with the reasons."""
    present = set(sa.inspect(conn).get_table_names())
    known = set(tables.metadata.tables)
    excluded = {
        name: why for name, why in sorted(EXCLUDED_TABLES.items()) if name in present | known
    }
    for name in sorted(present - known - {ALEMBIC_TABLE}):
        excluded[name] = "not part of consentry's schema (consentry.store.tables)"
    return excluded


def schema_revision(conn: sa.Connection) -> str | None:
    """The database's Alembic revision (None when it has never been migrated)."""
    return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest schema revision this consentry's migrations know."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def columns_of(table: sa.Table) -> dict[str, sa.Column[Any]]:
    """The table's columns by name, in definition order."""
    return {column.name: column for column in table.columns}


def key_order(table: sa.Table) -> list[sa.Column[Any]]:
    """The columns to order rows by: the primary key, else every column."""
    return list(table.primary_key.columns) or list(table.columns)
