"""A tenant with a registry, opt-outs in every kind of scope and consents, for screening."""

from __future__ import annotations

import csv
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest

from consentry import Consentry
from consentry.domain.model import ScopeKind, Tenant
from consentry.screening.normalise import CACHE_ENV
from consentry.service import ScopeRef

SENDER = "+12065550199"
DISCLOSURE = "Coffee Club: up to 4 msgs/month. Reply STOP to opt out, HELP for help."


@dataclass(frozen=True)
class Screened:
    """The tenant, its registry, and the list file written for it."""

    tenant: Tenant
    key: str
    program_slug: str
    list_path: Path


# Each row: (id, phone as written, why it is suppressed for coffee-club: "" = allowed).
LIST_ROWS = [
    ("1", "+12065550101", "opted_out:tenant"),
    ("2", "(206) 555-0102", "opted_out:brand:acme"),
    ("3", "206.555.0103", "opted_out:program:coffee-club"),
    ("4", "+1 206 555 0104", "no_consent"),  # opted out of another program only
    ("5", "2065550105", "opted_out:sender:+12065550199"),  # sender scope: only with --sender
    ("6", "+12065550106", ""),  # consented
    ("7", "206 555 0107", ""),  # consented
    ("8", "+12065550108", "no_consent"),
    ("9", "555", "invalid_number"),
    ("10", "+12065550106", ""),  # a duplicate row of a consented number
]


@pytest.fixture(autouse=True)
def _own_prefix_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep the NANP prefix table's cache file out of the user's home during tests."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path_factory.getbasetemp() / "prefix-cache"))


@pytest.fixture
def screened(service: Consentry, tenant_and_key: tuple[Tenant, str], tmp_path: Path) -> Screened:
    tenant, key = tenant_and_key
    brand = service.create_brand(tenant, "Acme", "help@acme.example", slug="acme")
    coffee = service.create_program(tenant, brand.id, "Coffee Club", slug="coffee-club")
    service.create_program(tenant, brand.id, "Tea Club", slug="tea-club")
    service.create_sender(tenant, SENDER, "long_code", programs=["coffee-club"], verified=True)
    for number in ("+12065550105", "+12065550106", "+12065550107", "+12065550103"):
        service.record_consent(
            tenant, number, "coffee-club", medium="web_form", disclosure_text=DISCLOSURE
        )
    service.add_optouts(tenant, ["+12065550101"], scope=ScopeRef(ScopeKind.TENANT))
    service.add_optouts(tenant, ["+12065550102"], scope=ScopeRef(ScopeKind.BRAND, "acme"))
    service.add_optouts(tenant, ["+12065550103"], scope=ScopeRef(ScopeKind.PROGRAM, coffee.id))
    service.add_optouts(tenant, ["+12065550104"], scope=ScopeRef(ScopeKind.PROGRAM, "tea-club"))
    service.add_optouts(tenant, ["+12065550105"], sender=SENDER)
    # Another tenant opting everyone out must change nothing here.
    other, _ = service.create_tenant("Other", slug=f"o-{secrets.token_hex(6)}")
    service.add_optouts(
        other, [f"+1206555010{i}" for i in range(1, 9)], scope=ScopeRef(ScopeKind.TENANT)
    )
    path = tmp_path / "list.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "phone"])
        writer.writerows((row_id, phone) for row_id, phone, _ in LIST_ROWS)
    return Screened(tenant, key, coffee.slug, path)


def expected(*, sender: bool = False, consent: bool = True) -> dict[str, str]:
    """Row id -> reason for the list above (sender-scope and consent rules as asked)."""
    reasons = {}
    for row_id, _, reason in LIST_ROWS:
        if reason.startswith("opted_out:sender") and not sender:
            reason = ""
        if reason == "no_consent" and not consent:
            reason = ""
        reasons[row_id] = reason
    return reasons
