"""Fixtures of the archive tests: fresh, empty databases of either kind, and a realistic tenant.

Every test here makes its own databases (a restore needs an empty one), so the session database
that the other suites share is never exported with their tenants in it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from consentry import Consentry, OptOutSource, ScopeKind, ScopeRef, Tenant
from consentry.secrets_at_rest import KEY_ENV
from consentry.service import SendRequest

POSTGRES_ENV = "CONSENTRY_TEST_POSTGRES_URL"
KINDS = ("sqlite", "postgresql")
SENDER = "+12065550100"
DOUBLE_SENDER = "+12065550101"
NOW = datetime(2026, 6, 10, 17, 0, tzinfo=UTC)  # 10:00 in Seattle: inside every quiet-hour rule

NewDatabase = Callable[[str], str]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def __call__(self) -> datetime:
        return self.current


def _admin_url() -> sa.URL:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        message = f"{POSTGRES_ENV} is not set: PostgreSQL tests cannot run"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return sa.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))


class Databases:
    """Makes new, empty (not migrated) databases and drops them all at the end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.created: list[str] = []
        self.admin: sa.Engine | None = None

    def new(self, kind: str) -> str:
        """The URL of a new, empty database of ``kind`` (sqlite or postgresql)."""
        if kind == "sqlite":
            return f"sqlite:///{self.directory / f'{secrets.token_hex(4)}.db'}"
        admin_url = _admin_url()
        self.admin = self.admin or sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        name = f"consentry_archive_{secrets.token_hex(4)}"
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return admin_url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if self.admin is None:
            return
        with self.admin.connect() as conn:
            for name in self.created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def secret_key() -> Iterator[str]:
    """One secret key for every installation (a restore needs the source's key)."""
    key = Fernet.generate_key().decode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, key)
        yield key


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[NewDatabase]:
    """A factory of new, empty (not migrated) databases: ``new_database("postgresql")``."""
    databases = Databases(tmp_path)
    yield databases.new
    databases.drop_all()


Install = Callable[[str], Consentry]


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def install(new_database: NewDatabase, clock: Clock) -> Iterator[Install]:
    """A factory of services over new, empty databases (``install("sqlite")``), on ``clock``;
    closed before their databases are dropped. They are not migrated: call ``migrate()``."""
    services: list[Consentry] = []

    def make(kind: str) -> Consentry:
        service = Consentry(new_database(kind), clock=clock)
        services.append(service)
        return service

    yield make
    for service in services:
        service.close()


@pytest.fixture(scope="module")
def realistic_archives(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """An archive of a realistic database of each kind (built once a module, on demand)."""
    directory = tmp_path_factory.mktemp("archives")
    databases = Databases(directory)
    archives: dict[str, Path] = {}
    for kind in KINDS:
        try:
            url = databases.new(kind)
        except pytest.skip.Exception:
            continue
        clock = Clock(NOW)
        service = Consentry(url, clock=clock)
        service.migrate()
        build_realistic(service, clock)
        archives[kind] = directory / f"{kind}.zip"
        service.export_all(archives[kind])
        service.close()
    yield archives
    databases.drop_all()


@dataclass
class Built:
    """What :func:`build_realistic` made: the tenants and the numbers worth reading back."""

    tenants: list[Tenant]
    numbers: list[str]
    live_key: str
    revoked_key: str


def build_realistic(service: Consentry, clock: Clock) -> Built:
    """Two tenants with everything a real account has: brands, programs (one double opt-in),
    senders, opt-outs added, removed and imported in several scopes, consents granted, confirmed
    and revoked, STOP / START / HELP replies, a reply held for review, queued replies, settings,
    keywords, provider settings, API keys (one revoked), console users, recorded sends and
    events redacted by a purge."""
    clock.current = NOW - timedelta(days=6 * 365)
    acme, first_key = service.create_tenant("Acme", slug="acme")
    other, _ = service.create_tenant("Other Co", slug="other", default_region="CA")
    # An old relationship that ended: purged later, so the chain holds redacted events.
    brand = service.create_brand(acme, "Acme", "help@acme.example", support_phone="+12065550199")
    service.create_program(acme, brand.id, "Alerts", slug="alerts", frequency="up to 4 msgs/month")
    service.create_sender(acme, SENDER, "long_code", programs=["alerts"], verified=True)
    service.record_consent(
        acme, "+14255550170", "alerts", medium="web_form", disclosure_text="Old terms. Reply STOP."
    )
    everywhere = ScopeRef(ScopeKind.TENANT)
    service.add_optouts(acme, ["+14255550170"], scope=everywhere)  # revokes the consent
    service.remove_optouts(acme, ["+14255550170"], scope=everywhere, source=OptOutSource.CLI)

    clock.current = NOW - timedelta(days=2)
    service.create_program(
        acme,
        brand.id,
        "Deals",
        slug="deals",
        category="marketing",
        double_opt_in=True,
        frequency="up to 8 msgs/month",
    )
    service.create_sender(acme, DOUBLE_SENDER, "long_code", programs=["deals"], verified=True)
    service.create_sender(acme, "ACME", "alphanumeric", programs=["alerts"], verified=False)
    service.record_consent(
        acme,
        "+14255550101",
        "alerts",
        medium="web_form",
        disclosure_text="Acme alerts: up to 4 msgs/month. Reply STOP to opt out, HELP for help.",
        source_url="https://acme.example/join",
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0 (test) \u00e9\u00e8 \u2603",
        evidence={"form": "join", "checkbox": True, "score": 0.75, "tags": ["a", "b"]},
    )
    service.record_consent(
        acme, "+14255550102", "deals", medium="web_form", disclosure_text="Acme deals. Reply Y."
    )
    service.receive_inbound(acme, DOUBLE_SENDER, "+14255550102", "YES")  # confirms
    service.record_consent(
        acme, "+14255550103", "deals", medium="web_form", disclosure_text="Acme deals. Reply Y."
    )  # stays pending
    service.add_optouts(acme, ["+14255550104", "+14255550105"], sender=SENDER)
    service.remove_optouts(acme, ["+14255550104"], sender=SENDER)
    service.add_optouts(acme, ["+14255550106"], scope=ScopeRef(ScopeKind.TENANT))
    service.add_optouts(acme, ["+14255550107"], scope=ScopeRef(ScopeKind.BRAND, brand.id))
    service.import_optouts(
        acme, [(1, "+14255550108"), (2, "4255550109"), (3, "+14255550108")], sender=SENDER
    )
    service.receive_inbound(acme, SENDER, "+14255550101", "STOP", provider_message_id="SM1")
    service.receive_inbound(acme, SENDER, "+14255550110", "STOP")
    service.receive_inbound(acme, SENDER, "+14255550110", "START")
    service.receive_inbound(acme, SENDER, "+14255550111", "HELP")
    service.receive_inbound(acme, SENDER, "+14255550112", "please don't text me anymore")
    service.update_tenant_settings(acme, {"optout_removal_min_days": 30})
    service.add_keyword(acme, "CHAO PESCAO", "opt_out", language="es")
    service.configure_provider(acme, "twilio", {"auth_token": "0123456789abcdef" * 2})
    service.create_user(acme, "owner@acme.example", "admin", "correct horse battery staple")
    live_key = service.issue_api_key(acme, "rotation")
    service.revoke_api_key(acme, first_key.split(".")[2])
    service.record_sent(
        acme,
        [
            SendRequest(SENDER, "+14255550102", "alerts", "Acme: your order shipped. STOP to end"),
            SendRequest(DOUBLE_SENDER, "+14255550102", "deals", "Acme deals: 20% off. STOP=end"),
        ],
    )
    other_brand = service.create_brand(other, "Other", "help@other.example")
    service.create_program(other, other_brand.id, "News", slug="news")
    service.create_sender(other, "+16045550100", "long_code", programs=["news"], verified=True)
    service.add_optouts(other, ["6045550123"], sender="+16045550100")

    clock.current = NOW
    report = service.purge(acme, older_than_years=4)
    assert report["events"] >= 3, report
    numbers = [f"+142555501{n:02d}" for n in range(0, 13)] + ["+14255550170"]
    return Built([acme, other], numbers, live_key, first_key)
