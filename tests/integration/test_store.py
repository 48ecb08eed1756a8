"""The store: migrations describe the same schema as the code, tenant_id leads every key,
and SQLite runs with WAL and foreign keys."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from consentry import Consentry
from consentry.store import current_revision
from consentry.store.tables import metadata


def test_migrations_build_exactly_the_schema_the_code_declares(service: Consentry) -> None:
    with service.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert current_revision(service.engine) == "0016"


def test_migrating_again_is_a_no_op(service: Consentry) -> None:
    service.migrate()
    assert current_revision(service.engine) == "0016"


def test_every_table_is_keyed_by_tenant_id_first() -> None:
    for table in metadata.sorted_tables:
        assert table.primary_key.columns.values()[0].name == "tenant_id", table.name


def test_sqlite_runs_in_wal_mode_with_foreign_keys(service: Consentry) -> None:
    if service.engine.dialect.name != "sqlite":
        return
    with service.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_program_cannot_point_at_another_tenants_brand(service: Consentry) -> None:
    first, _ = service.create_tenant("First", slug="fk-first")
    second, _ = service.create_tenant("Second", slug="fk-second")
    brand = service.create_brand(first, "Acme", "help@acme.example")
    with service.engine.connect() as conn, conn.begin():
        try:
            conn.execute(
                sa.text(
                    "INSERT INTO programs (tenant_id, program_id, brand_id, slug, name, category,"
                    " opt_out_scope, created_at) VALUES (:t, 'prg_x', :b, 'x', 'x', 'marketing',"
                    " 'program', CURRENT_TIMESTAMP)"
                ),
                {"t": second.id, "b": brand.id},
            )
        except sa.exc.IntegrityError:
            return
    raise AssertionError("the composite foreign key let a program use another tenant's brand")
