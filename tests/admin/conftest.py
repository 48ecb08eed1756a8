"""Fixtures of the admin console tests: an account with a brand, a program, a sender and one
user per role; a clock the test moves; a log-in helper that fills the form like a browser; and
the browser tests' helpers (sign in, fit a phone screen, save a screenshot)."""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from consentry import Consentry, Tenant
from consentry.api import create_app
from consentry.domain.model import Brand, Program
from tests.conftest import serving

PASSWORD = "correct horse battery staple"
SENDER = "+12065550100"
ROLES = ("admin", "agent", "auditor")
PHONE = {"width": 390, "height": 844}


@dataclass
class Account:
    """A tenant ready for the console: one brand, one program, one sender, a user per role."""

    tenant: Tenant
    brand: Brand
    program: Program
    emails: dict[str, str] = field(default_factory=dict)
    api_key: str = ""


def make_account(service: Consentry, name: str = "Acme") -> Account:
    service.password_hasher = LIGHT_HASHER
    slug = f"{name.lower()}-{secrets.token_hex(4)}"
    tenant, key = service.create_tenant(f"{name} {slug[-8:]}", slug=slug)
    brand = service.create_brand(tenant, f"{name} Coffee", "help@acme.example", slug="coffee")
    program = service.create_program(
        tenant, brand.id, f"{name} alerts", slug="alerts", category="informational"
    )
    service.create_sender(tenant, SENDER, "long_code", programs=[program.id], verified=True)
    account = Account(tenant, brand, program, api_key=key)
    for role in ROLES:
        email = f"{role}@{slug}.example"
        service.create_user(tenant, email, role, PASSWORD)
        account.emails[role] = email
    return account


# The real argon2id, with light parameters so that the suite stays quick (the defaults are
# checked in test_users.py).
LIGHT_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def account(service: Consentry) -> Account:
    return make_account(service)


@pytest.fixture
def other_account(service: Consentry) -> Account:
    return make_account(service, "Other")


class MovableClock:
    """A clock the test sets and moves; starts at the real time."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def timed(database_url: str, clock: MovableClock) -> Iterator[tuple[Consentry, str]]:
    """A second service over the session's database whose clock the test moves, served."""
    app = Consentry(database_url, clock=clock)
    app.password_hasher = LIGHT_HASHER
    try:
        with serving(create_app(app)) as url:
            yield app, url
    finally:
        app.close()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def log_in(http: httpx.Client, slug: str, email: str, password: str = PASSWORD) -> httpx.Response:
    """Open the log-in page, then post it with its CSRF token (no redirects followed)."""
    form = http.get(f"/admin/{slug}/login")
    assert form.status_code == 200, form.text
    return http.post(
        f"/admin/{slug}/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(form.text)},
    )


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    """A cookie-keeping HTTP client (like a browser), redirects not followed."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


@contextlib.contextmanager
def signed_in(base_url: str, account: Account, role: str) -> Iterator[httpx.Client]:
    """A new client signed in as ``role`` of ``account``."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        response = log_in(client, account.tenant.slug, account.emails[role])
        assert response.status_code == 303, response.text
        yield client


# --- refused messages (the decisions log) ------------------------------------------------------

MARKETING_SENDER = "+12065550109"
CONSENT_TEXT = (
    "Acme alerts: order updates, up to 4 msgs/month. Msg&data rates may apply. "
    "Reply STOP to cancel."
)
NO_CONSENT = "+14255550111"  # never opted in: CONSENT-MISSING
OPTED_OUT = "+14255550112"  # opted out of everything: OPTOUT-ACTIVE
NIGHT_OWL = "+14255550114"  # a marketing message at 3 a.m. in Seattle: TIME-QUIET-HOURS


def refuse_some(service: Consentry, account: Account) -> None:
    """Have the send gate refuse three messages of ``account``: two blocks and one deferral."""
    from zoneinfo import ZoneInfo

    from consentry.domain.model import ScopeKind
    from consentry.service import ScopeRef

    tenant = account.tenant
    body = "Acme Coffee: your order shipped. Reply STOP to opt out, HELP for help."
    service.check_send(tenant, SENDER, NO_CONSENT, account.program.id, body)
    service.add_optouts(tenant, [OPTED_OUT], scope=ScopeRef(ScopeKind.TENANT))
    service.check_send(tenant, SENDER, OPTED_OUT, account.program.id, body)
    deals = service.create_program(
        tenant, account.brand.id, "Deals", slug="deals", category="marketing"
    )
    service.create_sender(tenant, MARKETING_SENDER, "long_code", programs=[deals.id], verified=True)
    service.record_consent(
        tenant, NIGHT_OWL, deals.id, medium="web_form", disclosure_text=CONSENT_TEXT
    )
    night = (datetime.now(ZoneInfo("America/Los_Angeles")) + timedelta(days=1)).replace(
        hour=3, minute=0, second=0, microsecond=0
    )
    service.check_send(
        tenant,
        MARKETING_SENDER,
        NIGHT_OWL,
        deals.id,
        "Acme Coffee: 10% off today. Reply STOP to opt out, HELP for help.",
        at=night.astimezone(UTC),
    )
    service.flush_decisions()  # the decisions log is written in the background


# --- the browser tests ------------------------------------------------------------------------


@pytest.fixture
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the browser tests save their screenshots in (under pytest's temporary one)."""
    return tmp_path_factory.mktemp("admin-screenshots")


def save_screenshot(page: Any, folder: Path, name: str) -> None:
    """Save the whole page as ``<name>.png`` in ``folder`` and print its path."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    print(f"screenshot: {path}")


def fits_phone(page: Any) -> None:
    """The page needs no sideways scrolling on a :data:`PHONE` screen."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def browser_sign_in(
    page: Any, base_url: str, slug: str, email: str, password: str = PASSWORD
) -> None:
    """Fill and send the console's log-in form of account ``slug``, as a person would."""
    page.goto(f"{base_url}/admin/{slug}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
