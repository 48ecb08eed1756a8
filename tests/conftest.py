"""Shared fixtures: the same integration suite runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``CONSENTRY_TEST_POSTGRES_URL`` (a role allowed to create databases); each
test session creates a fresh database there and drops it at the end. Without the variable the
PostgreSQL half is skipped locally, and fails under ``CI=true``.

Tests isolate themselves by tenant: every test gets a new tenant, which is also how the product
isolates its customers.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from consentry import Consentry, Tenant
from consentry.api import create_app
from consentry.testing import scratch_postgres_database

POSTGRES_ENV = "CONSENTRY_TEST_POSTGRES_URL"


def _postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        message = f"{POSTGRES_ENV} is not set: PostgreSQL tests cannot run"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, empty database of each kind for the session."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "consentry.db"
        yield f"sqlite:///{path}"
        return
    with scratch_postgres_database(_postgres_admin_url(), "consentry_test") as url:
        yield url


@pytest.fixture
def fresh_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A new empty database (not migrated) of the same kind as ``database_url``, dropped
    afterwards: for tests that must not share the session's database."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with scratch_postgres_database(database_url, "consentry_fresh") as url:
        yield url


@pytest.fixture(scope="session")
def service(database_url: str) -> Iterator[Consentry]:
    """The service over the session's database, migrated."""
    app = Consentry(database_url)
    app.migrate()
    yield app
    app.close()


@pytest.fixture
def tenant_and_key(service: Consentry) -> tuple[Tenant, str]:
    """A new tenant of its own for one test, and its API key."""
    return service.create_tenant("Test " + secrets.token_hex(3), slug=f"t-{secrets.token_hex(6)}")


@pytest.fixture
def tenant(tenant_and_key: tuple[Tenant, str]) -> Tenant:
    return tenant_and_key[0]


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the server runs in a thread
        pass


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` with a real uvicorn HTTP server on a free 127.0.0.1 port; yield its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def base_url(service: Consentry) -> Iterator[str]:
    """A real uvicorn HTTP server on a free 127.0.0.1 port, serving ``service``."""
    with serving(create_app(service)) as url:
        yield url


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (skipped locally without it; fails under CI)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not shutil.which(CHROMIUM):
        message = "Playwright or /usr/bin/chromium is missing"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def client(base_url: str, tenant_and_key: tuple[Tenant, str]) -> Iterator[httpx.Client]:
    """An HTTP client authenticated as the test's tenant."""
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {tenant_and_key[1]}"}, timeout=30
    ) as http:
        yield http


@pytest.fixture
def anonymous(base_url: str) -> Iterator[httpx.Client]:
    """An HTTP client without credentials."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        yield http
