"""Compaction of the opt-out change log (SQLite and PostgreSQL): old rows go, the newest stays,
and no process ever misses a change: an index (or a snapshot) behind the compacted log is
rebuilt from the ``optouts`` table; one that was caught up simply goes on."""

from __future__ import annotations

import json
import logging
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from consentry import Consentry, ScopeRef
from consentry.cli import app
from consentry.domain.model import Scope, ScopeKind, Tenant
from consentry.errors import InvalidInput
from consentry.index import SuppressionIndex, loading
from consentry.store import optout_compaction
from consentry.store import optouts as optout_store
from consentry.store.tables import optout_changes, optouts
from consentry.testing import free_port, start_server

SENDER = "+12065550100"
NUMBERS = [f"+1206555{n:04d}" for n in range(2000, 2010)]
REBUILT = "behind the compacted opt-out change log"
SNAPSHOT_TOO_OLD = "older than the compacted opt-out change log"


class Clock:
    """A clock the test moves forward."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def own(fresh_database_url: str, clock: Clock) -> Iterator[Consentry]:
    """A service over a database of this test's own (compaction spans every tenant)."""
    service = Consentry(fresh_database_url, clock=clock, follow_index=False)
    service.migrate()
    yield service
    service.close()


def _tenant(service: Consentry) -> Tenant:
    tenant, _ = service.create_tenant("Compaction", slug=f"cp-{secrets.token_hex(6)}")
    return tenant


def _ids(service: Consentry) -> list[int]:
    with service.engine.connect() as conn:
        query = sa.select(optout_changes.c.change_id).order_by(optout_changes.c.change_id)
        return [int(row[0]) for row in conn.execute(query)]


def _state(index: SuppressionIndex) -> dict[tuple[str, Scope], set[int]]:
    """Every tenant's bitmaps, as plain sets."""
    return {(tenant_id, scope): set(bitmap) for tenant_id, scope, bitmap in index.entries()}


def _table(service: Consentry) -> dict[tuple[str, Scope], set[int]]:
    """What the ``optouts`` table holds, in the index's terms (the source of truth)."""
    found: dict[tuple[str, Scope], set[int]] = {}
    with service.engine.connect() as conn:
        for row in conn.execute(sa.select(optouts)):
            key = (row.tenant_id, Scope(ScopeKind(row.scope_kind), row.scope_id))
            found.setdefault(key, set()).add(int(row.recipient[1:]))
    return found


def _compact_all(service: Consentry, clock: Clock) -> int:
    """Compact everything but the newest change (a second on: changes at ``now`` are kept)."""
    clock.now += timedelta(seconds=1)
    return service.compact_optout_changes(keep=timedelta(0))


def _rebuilds(caplog: pytest.LogCaptureFixture, text: str = REBUILT) -> int:
    return sum(text in record.getMessage() for record in caplog.records)


def test_compaction_deletes_old_rows_and_keeps_recent_ones(own: Consentry, clock: Clock) -> None:
    tenant = _tenant(own)
    own.add_optouts(tenant, NUMBERS[:4], sender=SENDER)  # changes 1-4
    own.remove_optouts(tenant, NUMBERS[:1], sender=SENDER)  # 5
    clock.now += timedelta(days=10)
    own.add_optouts(tenant, NUMBERS[4:6], sender=SENDER)  # 6-7, within the last week
    assert _ids(own) == [1, 2, 3, 4, 5, 6, 7]

    assert own.compact_optout_changes() == 5  # 7 days by default
    assert _ids(own) == [6, 7]
    assert own.compact_optout_changes(keep=timedelta(days=30)) == 0
    assert own.compact_optout_changes(keep=timedelta(days=999_999_999)) == 0  # before year 1
    clock.now += timedelta(days=30)
    assert own.compact_optout_changes(keep=timedelta(0)) == 1
    assert _ids(own) == [7]  # the newest change always stays: ids are never handed out again
    assert own.compact_optout_changes(keep=timedelta(0)) == 0
    own.add_optouts(tenant, NUMBERS[6:7], sender=SENDER)
    assert _ids(own) == [7, 8]
    with pytest.raises(InvalidInput):
        own.compact_optout_changes(keep=timedelta(days=-1))
    assert _state(own.suppression_index(tenant)) == _table(own)


@pytest.mark.parametrize(
    ("keep_after_id", "bound", "left"),
    [
        (0, 0, [1, 2, 3, 4, 5]),
        (2, 2, [3, 4, 5]),
        (4, 4, [5]),
        (5, 4, [5]),  # never the newest
        (99, 4, [5]),
        (-3, 0, [1, 2, 3, 4, 5]),
    ],
)
def test_compact_changes_deletes_a_prefix_up_to_the_bound(
    own: Consentry, keep_after_id: int, bound: int, left: list[int]
) -> None:
    tenant = _tenant(own)
    own.add_optouts(tenant, NUMBERS[:5], sender=SENDER)
    with own.engine.begin() as conn:
        assert optout_compaction.compaction_bound(conn, keep_after_id=keep_after_id) == bound
        deleted = optout_compaction.compact_changes(conn, keep_after_id=keep_after_id)
    assert deleted == 5 - len(left)
    assert _ids(own) == left
    with own.engine.connect() as conn, pytest.raises(TypeError):
        optout_compaction.compact_changes(conn)


def test_a_caught_up_index_keeps_working_without_a_rebuild(
    own: Consentry, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = _tenant(own)
    other = Consentry(own.database_url, follow_index=False)  # another process, in effect
    try:
        own.add_optouts(tenant, NUMBERS[:3], sender=SENDER)
        index = other.suppression_index(tenant)
        before = index.change_id
        assert before == 3
        caplog.set_level(logging.WARNING, logger="consentry.index")
        assert _compact_all(own, clock) == 2
        own.add_optouts(tenant, NUMBERS[3:4], sender=SENDER)
        own.remove_optouts(tenant, NUMBERS[:1], sender=SENDER)
        statuses = other.check_optouts(tenant, NUMBERS[:4], sender=SENDER)
        assert [s.opted_out for s in statuses] == [False, True, True, True]
        assert other.suppression_index(tenant) is index
        assert index.change_id == 5
        assert _state(index) == _table(own)
        assert _rebuilds(caplog) == 0
    finally:
        other.close()


def test_a_lagging_index_is_rebuilt_and_then_follows_the_log(
    own: Consentry, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = _tenant(own)
    own.add_optouts(tenant, NUMBERS[:2], sender=SENDER)
    with own.engine.connect() as conn:
        lagging = loading.build(conn)
    own.remove_optouts(tenant, NUMBERS[:1], sender=SENDER)
    own.add_optouts(tenant, NUMBERS[2:4], sender=SENDER)
    caplog.set_level(logging.WARNING, logger="consentry.index")
    assert _compact_all(own, clock) == 4
    with own.engine.connect() as conn:
        loading.catch_up(lagging, conn)
    assert _rebuilds(caplog) == 1
    assert _state(lagging) == _table(own)
    assert lagging.change_id == 5
    own.add_optouts(tenant, NUMBERS[4:5], sender=SENDER)  # after the rebuild: the log again
    with own.engine.connect() as conn:
        assert loading.catch_up(lagging, conn) == 1
    assert _rebuilds(caplog) == 1
    assert _state(lagging) == _table(own)


_SCOPES = ["tenant", "brand", "program", "sender"]
_write = st.tuples(
    st.sampled_from(NUMBERS[:5]), st.sampled_from(_SCOPES), st.sampled_from([True, True, False])
)
# A compaction: before which write, and which fraction of this example's changes it takes.
_compaction = st.tuples(st.integers(0, 14), st.floats(0, 1))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    writes=st.lists(_write, min_size=3, max_size=14),
    compactions=st.lists(_compaction, min_size=1, max_size=3),
    lag_at=st.integers(0, 3),
    snapshot_too=st.booleans(),
)
def test_after_any_compaction_a_lagging_index_equals_the_optouts_table(
    own: Consentry,
    caplog: pytest.LogCaptureFixture,
    tmp_path_factory: pytest.TempPathFactory,
    writes: list[tuple[str, str, bool]],
    compactions: list[tuple[int, float]],
    lag_at: int,
    snapshot_too: bool,
) -> None:
    """Random adds and removes, compactions at random points and bounds, and an index built at
    a random point and left behind: after catch-up it always equals the table (and a fresh
    build); it rebuilds exactly when a compaction took a change it had not applied. A snapshot
    of it is used exactly when the log still holds the change it covers."""
    tenant, _ = own.create_tenant("Property", slug=f"pr-{secrets.token_hex(6)}")
    brand = own.create_brand(tenant, "Acme", "help@acme.example")
    program = own.create_program(tenant, brand.id, "Alerts", slug="alerts")
    refs = {
        "tenant": ScopeRef(ScopeKind.TENANT),
        "brand": ScopeRef(ScopeKind.BRAND, brand.id),
        "program": ScopeRef(ScopeKind.PROGRAM, program.id),
        "sender": ScopeRef(ScopeKind.SENDER, SENDER),
    }
    path = Path(str(tmp_path_factory.mktemp("snap"))) / "index.snap"
    with own.engine.connect() as conn:
        start = optout_store.last_change_id(conn)  # earlier examples' changes come before
    lagging: SuppressionIndex | None = None
    highest_bound = 0
    for position in range(len(writes) + 1):
        if position == min(lag_at, len(writes)):
            with own.engine.connect() as conn:
                lagging = loading.build(conn)
                loading.save_snapshot(lagging, conn, path)
        for at, fraction in compactions:
            if at == position or (at > len(writes) and position == len(writes)):
                with own.engine.begin() as conn:
                    newest = optout_store.last_change_id(conn)
                    keep_after = start + round(fraction * (newest - start))
                    bound = optout_compaction.compaction_bound(conn, keep_after_id=keep_after)
                    optout_compaction.compact_changes(conn, keep_after_id=keep_after)
                highest_bound = max(highest_bound, bound)
        if position < len(writes):
            number, kind, add = writes[position]
            change = own.add_optouts if add else own.remove_optouts
            change(tenant, [number], scope=refs[kind])
    assert lagging is not None
    covered = lagging.change_id
    event("compacted past the lagging index" if highest_bound > covered else "no change lost")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="consentry.index"):
        if snapshot_too:
            with own.engine.connect() as conn:
                restored, source = loading.from_snapshot_or_store(conn, path)
            assert source == ("store" if highest_bound >= max(covered, 1) else "snapshot")
            assert _state(restored) == _table(own)
        with own.engine.connect() as conn:
            loading.catch_up(lagging, conn)
            fresh = loading.build(conn)
            newest = optout_store.last_change_id(conn)
    assert lagging.change_id == newest
    assert _rebuilds(caplog) == (1 if highest_bound > covered else 0)
    assert _state(lagging) == _table(own) == _state(fresh)
    assert _state(own.suppression_index(tenant)) == _table(own)  # the writer's, never behind


def test_a_snapshot_older_than_the_compacted_log_is_rebuilt(
    own: Consentry, clock: Clock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = _tenant(own)
    own.suppression_index(tenant)  # loaded: own writes now keep it caught up
    old, fitting = tmp_path / "old.snap", tmp_path / "fitting.snap"
    own.add_optouts(tenant, NUMBERS[:3], sender=SENDER)
    assert own.save_index_snapshot(old)
    own.remove_optouts(tenant, NUMBERS[:1], sender=SENDER)
    own.add_optouts(tenant, NUMBERS[3:5], sender=SENDER)
    caplog.set_level(logging.WARNING, logger="consentry.index")
    assert _compact_all(own, clock) == 5
    assert own.save_index_snapshot(fitting)  # caught up: anchored at the newest change, kept
    own.add_optouts(tenant, NUMBERS[5:6], sender=SENDER)

    restarted = Consentry(own.database_url, index_snapshot=old, follow_index=False)
    try:
        index = restarted.suppression_index(tenant)
        assert restarted.index_loaded_from == "store"
        assert _rebuilds(caplog, SNAPSHOT_TOO_OLD) == 1
        assert _state(index) == _table(own)
    finally:
        restarted.index_snapshot = None  # keep the old file as it is for the next check
        restarted.close()
    with own.engine.connect() as conn:
        restored, source = loading.from_snapshot_or_store(conn, fitting)
    assert source == "snapshot"
    assert _state(restored) == _table(own)
    # A snapshot whose change the log does not hold (compacted, or never there) never fits.
    for change_id in (2, 100):
        stale = tmp_path / f"stale-{change_id}.snap"
        with own.engine.connect() as conn:
            loading.save_snapshot(SuppressionIndex(change_id=change_id), conn, stale)
            restored, source = loading.from_snapshot_or_store(conn, stale)
        assert source == "store"
        assert _state(restored) == _table(own)


BOUND = 5.0  # generous: propagation times are measured in bench/, never asserted here


@contextmanager
def _server(database_url: str, key: str, snapshot: Path | None) -> Iterator[httpx.Client]:
    """A ``consentry serve`` process of its own, and a client with the tenant's key."""
    port = free_port()
    env = {"CONSENTRY_INDEX_SNAPSHOT": str(snapshot or "")}
    process = start_server(database_url, port, env=env)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        ) as client:
            yield client
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _opted_out(client: httpx.Client, numbers: list[str]) -> list[bool]:
    response = client.post(
        "/v1/optouts:check", json={"from": SENDER, "recipients": [{"to": n} for n in numbers]}
    )
    assert response.status_code == 200, response.text
    return [bool(item["isOptedOut"]) for item in response.json()["value"]]


def _within(bound: float, condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_other_servers_honour_opt_outs_across_a_compaction(
    own: Consentry, clock: Clock, tmp_path: Path
) -> None:
    """A live server follows the log through a compaction; a server started afterwards from a
    snapshot older than the compacted log rebuilds and misses none of the compacted changes."""
    tenant, key = own.create_tenant("Servers", slug=f"sv-{secrets.token_hex(4)}")
    brand = own.create_brand(tenant, "Acme", "help@acme.example")
    own.create_program(tenant, brand.id, "Alerts", slug="alerts")
    own.create_sender(tenant, SENDER, "long_code", programs=["alerts"], verified=True)
    numbers = [f"+120655501{n}" for n in range(42, 46)]
    filler = "+12065550150"  # its change becomes the newest, so the two before it can go
    own.add_optouts(tenant, numbers[:1], sender=SENDER)
    own.suppression_index(tenant)
    old_snapshot = tmp_path / "old.snap"
    assert own.save_index_snapshot(old_snapshot)  # it holds numbers[0] as opted out

    with _server(own.database_url, key, None) as live:
        assert _opted_out(live, numbers) == [True, False, False, False]
        own.add_optouts(tenant, numbers[1:2], sender=SENDER)
        own.remove_optouts(tenant, numbers[:1], sender=SENDER)
        assert _within(BOUND, lambda: _opted_out(live, numbers) == [False, True, False, False])
        own.add_optouts(tenant, [filler], sender=SENDER)
        assert _compact_all(own, clock) == 3  # every change but the filler's
        own.add_optouts(tenant, numbers[2:3], sender=SENDER)
        assert _within(BOUND, lambda: _opted_out(live, numbers) == [False, True, True, False])

        with _server(own.database_url, key, old_snapshot) as restarted:
            # The removal of numbers[0] and the add of numbers[1] are no longer in the log.
            assert _opted_out(restarted, numbers) == [False, True, True, False]
            added = restarted.post(
                "/v1/optouts:add", json={"from": SENDER, "recipients": [{"to": numbers[3]}]}
            )
            assert added.status_code == 200, added.text
        assert _within(BOUND, lambda: _opted_out(live, numbers) == [False, True, True, True])
    assert [s.opted_out for s in own.check_optouts(tenant, numbers, sender=SENDER)] == [
        False,
        True,
        True,
        True,
    ]


runner = CliRunner()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "--keep-days: must be 0 or more"),
        ("36501", "--keep-days: at most 36500"),
        ("abc", "Invalid value"),
        ("1.5", "Invalid value"),
    ],
)
def test_compact_log_refuses_a_bad_keep_days(own: Consentry, value: str, message: str) -> None:
    tenant = _tenant(own)
    own.add_optouts(tenant, NUMBERS[:3], sender=SENDER)
    result = runner.invoke(
        app,
        ["optouts", "compact-log", "--keep-days", value, "--database", own.database_url],
    )
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert _ids(own) == [1, 2, 3]


def test_compact_log_deletes_and_reports_as_json(own: Consentry, clock: Clock) -> None:
    tenant = _tenant(own)
    clock.now = datetime(2001, 5, 1, tzinfo=UTC)  # the command compacts by the wall clock
    own.add_optouts(tenant, NUMBERS[:3], sender=SENDER)
    arguments = ["optouts", "compact-log", "--database", own.database_url, "--json"]
    result = runner.invoke(app, [*arguments, "--keep-days", "36500"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"deleted": 0, "keep_days": 36500}
    result = runner.invoke(app, arguments)  # 7 days
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"deleted": 2, "keep_days": 7}
    assert _ids(own) == [3]
    result = runner.invoke(app, ["optouts", "compact-log", "--database", own.database_url])
    assert result.exit_code == 0, result.stderr
    assert "deleted 0 opt-out change-log rows older than 7 days" in " ".join(result.stdout.split())
