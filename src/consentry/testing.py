"""Helpers for tests and benchmarks: run ``consentry serve`` as a real process on a free
127.0.0.1 port (the server as it runs in production: its own interpreter, signals, several
processes), and make a scratch PostgreSQL database.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import sqlalchemy as sa


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(
    database_url: str,
    port: int,
    *,
    output: Path | None = None,
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """``consentry serve`` on ``port``, once ``/healthz`` answers; its stdout and stderr go to
    ``output`` (appended; or nowhere), ``extra`` are more ``serve`` options, ``env`` more
    environment variables. :class:`RuntimeError` if it exits or does not answer within 60 s."""
    sink = output.open("ab") if output is not None else subprocess.DEVNULL
    try:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "consentry.cli",
                "serve",
                "--database",
                database_url,
                "--port",
                str(port),
                *extra,
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    finally:
        if output is not None:
            sink.close()  # type: ignore[union-attr]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            where = f": see {output}" if output is not None else ""
            raise RuntimeError(f"the server exited with {server.returncode}{where}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("the server did not start")


@contextmanager
def scratch_postgres_database(admin_url: str, prefix: str = "consentry_scratch") -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of ``admin_url`` (a role that may create
    databases), named ``<prefix>_<random>``; yields its URL and drops it on exit, whatever
    happened."""
    url = sa.make_url(admin_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
