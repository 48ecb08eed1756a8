"""Storage: SQLAlchemy Core tables, engines for SQLite and PostgreSQL, Alembic migrations."""

from consentry.store.engine import create_store_engine, default_database_url
from consentry.store.migrate import current_revision, upgrade

__all__ = ["create_store_engine", "current_revision", "default_database_url", "upgrade"]
