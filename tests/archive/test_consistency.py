"""The archive is one consistent moment: a write that commits while the export runs is either
wholly in it or wholly out, so the chains in the archive still verify. And the portable encoding
keeps every event's hash."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consentry.archive import verify_archive
from consentry.archive.codec import decoder_for, encode_row
from consentry.archive.schema import columns_of
from consentry.store.ledger import GENESIS_HASH, event_hash
from consentry.store.tables import consent_events
from tests.archive.conftest import KINDS, SENDER, Clock, Install, build_realistic


class _WriteDuringExport:
    """Progress that commits new ledger events (through another connection) just as the export
    reaches the ``consent_events`` table: the export's snapshot was taken long before."""

    def __init__(self, write: Any) -> None:
        self.write = write
        self.done = False

    def start(self, table: str, rows: int) -> None:
        if table == consent_events.name and not self.done:
            self.write()
            self.done = True

    def advance(self, rows: int) -> None:
        pass


@pytest.mark.parametrize("kind", KINDS)
def test_a_write_during_the_export_is_not_half_in_the_archive(
    install: Install, clock: Clock, tmp_path: Path, kind: str
) -> None:
    service = install(kind)
    service.migrate()
    built = build_realistic(service, clock)
    acme = built.tenants[0]
    before = service.verify_ledger(acme).events

    def write() -> None:
        service.add_optouts(acme, ["+14255550160", "+14255550161"], sender=SENDER)
        service.receive_inbound(acme, SENDER, "+14255550162", "STOP")

    progress = _WriteDuringExport(write)
    path = tmp_path / "during.zip"
    manifest = service.export_all(path, progress=progress)

    assert progress.done
    assert service.verify_ledger(acme).events == before + 3  # the writes did commit ...
    assert manifest.ledger[acme.id].events == before  # ... after the snapshot
    report = verify_archive(path)
    assert report.chains[acme.id].ok and report.chains[acme.id].events == before
    optouts = manifest.table("optouts")
    assert optouts is not None
    assert (
        optouts.rows
        == len(list(service.export_optouts(acme)))
        + len(list(service.export_optouts(built.tenants[1])))
        - 3
    )


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)
_TIMES = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda t: t.astimezone(UTC))
_OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timedelta(minutes=m))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    evidence=st.none() | st.dictionaries(_TEXT, _JSON, max_size=5),
    actor=st.none() | _TEXT,
    occurred_at=_TIMES,
    recorded_at=_TIMES,
    expires_at=st.none() | _TIMES,
    seq=st.integers(1, 2**62),
)
def test_encoding_an_event_keeps_its_hash(
    evidence: dict[str, Any] | None,
    actor: str | None,
    occurred_at: datetime,
    recorded_at: datetime,
    expires_at: datetime | None,
    seq: int,
) -> None:
    row: dict[str, Any] = dict.fromkeys(columns_of(consent_events))
    row.update(
        tenant_id="tnt_x",
        seq=seq,
        event_id="evt_x",
        kind="consent_granted",
        recipient="+14255550100",
        source="api",
        actor=actor,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        expires_at=expires_at,
        evidence=evidence,
        prev_hash=GENESIS_HASH,
        level="express",
    )
    row["hash"] = event_hash(row)
    columns = columns_of(consent_events)
    portable = json.loads(encode_row(columns, row))
    decoded = {name: decoder_for(columns[name])(value) for name, value in portable.items()}
    assert decoded == row
    assert event_hash(decoded) == row["hash"]
