"""Database engines: SQLite (the embedded default) and PostgreSQL through psycopg 3."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine

DEFAULT_SQLITE_PATH = Path("var") / "consentry.db"
# Execution option marking a connection that only reads: on SQLite it begins a deferred
# transaction, which does not queue behind writers the way BEGIN IMMEDIATE does.
READ_ONLY = "consentry_read_only"


def default_database_url() -> str:
    """``CONSENTRY_DATABASE_URL`` if set, else a SQLite file under ``./var/``."""
    url = os.environ.get("CONSENTRY_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def create_store_engine(url: str) -> Engine:
    """Create an engine for ``url`` with consentry's connection settings.

    SQLite runs in WAL mode with foreign keys on; every transaction starts with
    ``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy timeout instead of failing
    on a lock upgrade. ``postgresql://`` URLs use psycopg 3.
    """
    sa_url = sa.make_url(_with_psycopg(url))
    if sa_url.get_backend_name() == "sqlite":
        return _sqlite_engine(sa_url)
    return sa.create_engine(
        sa_url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        json_serializer=json_text,
        json_deserializer=json_value,
    )


def json_text(value: Any) -> str:
    """JSON columns' text, written by orjson (the decisions log writes thousands of findings a
    second): times as ISO 8601, sets and tuples as lists, any other object as its ``str``."""
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()


def json_value(text: str | bytes) -> Any:
    """A JSON column's value read back (orjson). SQLite may hand back a bare number as a number;
    the :class:`TypeError` tells SQLAlchemy's SQLite JSON type to keep it as it is."""
    if not isinstance(text, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"JSON text expected, got {type(text).__name__}")
    return orjson.loads(text)


def _json_default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def _with_psycopg(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_engine(url: sa.URL) -> Engine:
    database = url.database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        json_serializer=json_text,
        json_deserializer=json_value,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite; we emit BEGIN ourselves below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
