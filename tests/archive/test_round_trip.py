"""A realistic database goes SQLite -> PostgreSQL -> SQLite (and PostgreSQL -> SQLite ->
PostgreSQL) through archives: every row, every chain and every answer the service gives stay the
same."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from consentry import AuthenticationError, Consentry, Tenant
from consentry.archive import verify_archive
from tests.archive.conftest import (
    DOUBLE_SENDER,
    NOW,
    SENDER,
    Built,
    Clock,
    Install,
    build_realistic,
)
from tests.archive.helpers import snapshot

MESSAGES = [
    (SENDER, "+14255550101", "alerts", "Acme: your order shipped. Reply STOP to end"),
    (SENDER, "+14255550102", "alerts", "Acme: your order shipped. Reply STOP to end"),
    (SENDER, "+14255550106", "alerts", "Acme: your order shipped. Reply STOP to end"),
    (DOUBLE_SENDER, "+14255550102", "deals", "Acme deals: 20% off today. Reply STOP to end"),
    (DOUBLE_SENDER, "+14255550103", "deals", "Acme deals: 20% off today. Reply STOP to end"),
    ("ACME", "+14255550101", "alerts", "Acme: hello. Reply STOP to end"),
]


def _answers(service: Consentry, built: Built) -> dict[str, Any]:
    """What the service says about the built tenants: the reads a user relies on."""
    acme, other = built.tenants
    answers: dict[str, Any] = {
        "recipients": [service.recipient(acme, number) for number in built.numbers],
        "checks": service.check_optouts(acme, built.numbers, sender=SENDER),
        "other_checks": service.check_optouts(other, ["6045550123"], sender="+16045550100"),
        "decisions": [
            service.check_send(acme, sender, to, program, body, at=NOW)
            for sender, to, program, body in MESSAGES
        ],
        "consents": sorted(service.consent_states(acme), key=repr),
        "history": service.optout_history(acme, "+14255550104"),
        "settings": service.tenant_settings(acme),
        "keywords": service.list_keywords(acme),
        "provider": service.provider_view(acme, "twilio"),
        "users": service.list_users(acme),
        "tenants": sorted(service.list_tenants(), key=lambda t: t.id),
        "authenticated": service.authenticate(built.live_key),
    }
    with pytest.raises(AuthenticationError):
        service.authenticate(built.revoked_key)
    return answers


def _chains_verify(service: Consentry, tenants: list[Tenant]) -> None:
    for tenant in tenants:
        report = service.verify_ledger(tenant)
        assert report.ok, report
        assert report.events > 0


@pytest.mark.parametrize(("first", "second"), [("sqlite", "postgresql"), ("postgresql", "sqlite")])
def test_a_database_survives_two_moves_across_kinds(
    install: Install, clock: Clock, tmp_path: Path, first: str, second: str
) -> None:
    source = install(first)
    source.migrate()
    built = build_realistic(source, clock)
    expected_answers = _answers(source, built)  # (check_send logs its decisions: a write)
    expected_rows = snapshot(source)

    there, back = tmp_path / "there.zip", tmp_path / "back.zip"
    source.export_all(there)
    middle = install(second)
    middle.import_all(there)
    middle.export_all(back)
    last = install(first)
    last.import_all(back)

    for restored in (middle, last):
        assert snapshot(restored) == expected_rows
        _chains_verify(restored, built.tenants)
        assert _answers(restored, built) == expected_answers
    # The data are worth comparing: every kind of row is there, redacted events included.
    assert all(expected_rows[name] for name in ("consent_events", "optouts", "inbound", "outbox"))
    assert all(expected_rows[name] for name in ("sends", "tenant_keywords", "admin_users"))
    assert any('"redacted_at": "' in row for row in expected_rows["consent_events"])
    # Restored databases take new writes: ids (and PostgreSQL sequences) continue past the rows.
    for restored in (source, middle, last):
        acme = built.tenants[0]
        restored.add_optouts(acme, ["+14255550150"], sender=SENDER)
        restored.receive_inbound(acme, SENDER, "+14255550151", "STOP")
        _chains_verify(restored, built.tenants)
    assert snapshot(middle)["consent_events"] != expected_rows["consent_events"]


def test_the_manifest_describes_the_archive(install: Install, clock: Clock, tmp_path: Path) -> None:
    source = install("sqlite")
    source.migrate()
    built = build_realistic(source, clock)
    path = tmp_path / "backup.zip"
    manifest = source.export_all(path)
    rows = snapshot(source)

    assert manifest.source_database == "sqlite"
    assert manifest.schema_revision is not None
    assert {entry.name: entry.rows for entry in manifest.tables} == {
        name: len(found) for name, found in rows.items()
    }
    assert [e.table for e in manifest.excluded] == ["admin_sessions"]
    with zipfile.ZipFile(path) as archive:
        stored = json.loads(archive.read("manifest.json"))
        assert stored["format"] == "consentry-archive"
        for entry in manifest.tables:
            assert hashlib.sha256(archive.read(entry.member)).hexdigest() == entry.sha256
        events = [
            json.loads(line)
            for line in archive.read("tables/consent_events.jsonl").split(b"\n")
            if line
        ]
    # Portable encoding: ISO 8601 UTC timestamps, JSON evidence kept as JSON.
    assert all(event["recorded_at"].endswith("+00:00") for event in events)
    assert any(
        event["evidence"] == {"form": "join", "checkbox": True, "score": 0.75, "tags": ["a", "b"]}
        for event in events
    )
    report = verify_archive(path)
    for tenant in built.tenants:
        head = manifest.ledger[tenant.id]
        assert head.verified and head.events == source.verify_ledger(tenant).events
        assert report.chains[tenant.id].hash == head.hash
