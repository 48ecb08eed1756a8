"""The suppression index over a real store, on SQLite and PostgreSQL: the change log, building,
snapshots with catch-up, following another process's writes, and the order of change ids."""

from __future__ import annotations

import gc
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyroaring import BitMap64

from consentry import Consentry, ScopeRef
from consentry.domain.model import Scope, ScopeKind, Tenant
from consentry.index import SuppressionIndex, loading, number_key
from consentry.index.snapshot import save
from consentry.store import optouts as optout_store
from consentry.store.migrate import upgrade
from consentry.store.tables import optout_changes, optouts

SENDER = "+12065550100"
NUMBERS = [f"+1206555{n:04d}" for n in range(1000, 1012)]


def _tenant(service: Consentry) -> tuple[Tenant, Scope, Scope]:
    tenant, _ = service.create_tenant("Index", slug=f"ix-{secrets.token_hex(6)}")
    brand = service.create_brand(tenant, "Acme", "help@acme.example")
    program = service.create_program(tenant, brand.id, "Alerts", slug="alerts")
    return tenant, Scope(ScopeKind.BRAND, brand.id), Scope(ScopeKind.PROGRAM, program.id)


def _table(service: Consentry, tenant: Tenant) -> dict[Scope, set[int]]:
    """The tenant's opt-outs as the ``optouts`` table holds them."""
    found: dict[Scope, set[int]] = {}
    with service.engine.connect() as conn:
        for row in conn.execute(sa.select(optouts).where(optouts.c.tenant_id == tenant.id)):
            scope = Scope(ScopeKind(row.scope_kind), row.scope_id)
            found.setdefault(scope, set()).add(number_key(row.recipient))
    return found


def _of(index: SuppressionIndex, tenant: Tenant) -> dict[Scope, set[int]]:
    return {scope: set(index.bitmap(tenant.id, scope)) for scope in index.scopes(tenant.id)}


def _changes(service: Consentry, tenant: Tenant) -> list[tuple[int, str, str, str]]:
    with service.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                optout_changes.c.change_id,
                optout_changes.c.recipient,
                optout_changes.c.scope_kind,
                optout_changes.c.op,
            )
            .where(optout_changes.c.tenant_id == tenant.id)
            .order_by(optout_changes.c.change_id)
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows]


def test_every_optout_change_is_logged_once_in_order(service: Consentry) -> None:
    tenant, _, _ = _tenant(service)
    service.add_optouts(tenant, NUMBERS[:2], sender=SENDER)
    service.add_optouts(tenant, NUMBERS[:1], sender=SENDER)  # already there: no change
    service.remove_optouts(tenant, NUMBERS[:1], sender=SENDER)
    service.remove_optouts(tenant, NUMBERS[:1], sender=SENDER)  # already gone: no change
    service.import_optouts(tenant, [(1, NUMBERS[2])], scope=ScopeRef(ScopeKind.TENANT))
    logged = _changes(service, tenant)
    assert [(number, kind, op) for _, number, kind, op in logged] == [
        (NUMBERS[0], "sender", "add"),
        (NUMBERS[1], "sender", "add"),
        (NUMBERS[0], "sender", "remove"),
        (NUMBERS[2], "tenant", "add"),
    ]
    ids = [change_id for change_id, *_ in logged]
    assert ids == sorted(set(ids))


def test_an_inbound_stop_reaches_the_index_and_the_check(service: Consentry) -> None:
    tenant, _, program = _tenant(service)
    service.create_sender(tenant, SENDER, "long_code", programs=["alerts"], verified=True)
    service.receive_inbound(tenant, SENDER, NUMBERS[3], "STOP")
    index = service.suppression_index(tenant)
    assert index.scopes_of(tenant.id, NUMBERS[3]) == {program}
    assert service.check_optouts(tenant, [NUMBERS[3]], sender=SENDER)[0].opted_out


_step = st.tuples(
    st.sampled_from(NUMBERS[:6]),
    st.sampled_from(["tenant", "brand", "program", "sender"]),
    st.booleans(),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(_step, min_size=1, max_size=14), split=st.integers(0, 14))
def test_loaded_snapshot_plus_catch_up_equals_a_fresh_build_and_the_table(
    service: Consentry,
    tmp_path_factory: pytest.TempPathFactory,
    steps: list[tuple[str, str, bool]],
    split: int,
) -> None:
    tenant, brand, program = _tenant(service)
    refs = {
        "tenant": ScopeRef(ScopeKind.TENANT),
        "brand": ScopeRef(ScopeKind.BRAND, brand.id),
        "program": ScopeRef(ScopeKind.PROGRAM, program.id),
        "sender": ScopeRef(ScopeKind.SENDER, SENDER),
    }
    snapshot = Path(str(tmp_path_factory.mktemp("snap"))) / "index.snap"
    live = service.suppression_index(tenant)
    for position, (number, kind, add) in enumerate(steps):
        if position == split:
            with service.engine.connect() as conn:
                loading.save_snapshot(live, conn, snapshot)
        change = service.add_optouts if add else service.remove_optouts
        change(tenant, [number], scope=refs[kind])
    if not snapshot.exists():
        with service.engine.connect() as conn:
            loading.save_snapshot(live, conn, snapshot)
    table = _table(service, tenant)
    assert _of(live, tenant) == table  # the writer's own index, at once
    with service.engine.connect() as conn:
        fresh = loading.build(conn)
        restored, source = loading.from_snapshot_or_store(conn, snapshot)
    assert source == "snapshot"
    assert _of(fresh, tenant) == table
    assert _of(restored, tenant) == table
    assert restored.change_id == fresh.change_id


def test_start_up_loads_the_snapshot_written_at_close(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "index.snap"
    first = Consentry(database_url, index_snapshot=path)
    tenant, _, _ = _tenant(first)
    assert first.index_loaded_from is None  # loaded on first use only
    first.suppression_index(tenant)
    assert first.index_loaded_from == "store"
    first.add_optouts(tenant, NUMBERS[:3], sender=SENDER)
    first.close()
    assert path.exists()

    other = Consentry(database_url)  # writes while no snapshot-holder runs
    other.remove_optouts(tenant, NUMBERS[:1], sender=SENDER)
    other.add_optouts(tenant, NUMBERS[5:6], sender=SENDER)
    other.close()

    second = Consentry(database_url, index_snapshot=path, follow_index=False)
    try:
        index = second.suppression_index(tenant)
        assert second.index_loaded_from == "snapshot"
        assert _of(index, tenant) == _table(second, tenant)
        assert index.scopes_of(tenant.id, NUMBERS[0]) == frozenset()
        assert index.scopes_of(tenant.id, NUMBERS[5]) == {Scope(ScopeKind.SENDER, SENDER)}
    finally:
        second.close()


def test_a_snapshot_of_another_database_or_damaged_is_rebuilt(
    service: Consentry, tmp_path: Path
) -> None:
    tenant, _, _ = _tenant(service)
    service.add_optouts(tenant, NUMBERS[:2], sender=SENDER)
    foreign = SuppressionIndex()
    foreign.add_keys(tenant.id, Scope(ScopeKind.TENANT), BitMap64([14155550123]))
    foreign.set_change_id(1)
    path = tmp_path / "foreign.snap"
    save(foreign, path, "1|someone|+10000000000|tenant||add")
    damaged = tmp_path / "damaged.snap"
    damaged.write_bytes(b"CONSENTRY-SIDX\n" + b"\0" * 64)
    for snapshot in (path, damaged, tmp_path / "absent.snap"):
        with service.engine.connect() as conn:
            index, source = loading.from_snapshot_or_store(conn, snapshot)
        assert source == "store"
        assert _of(index, tenant) == _table(service, tenant)


def test_another_process_s_opt_out_reaches_a_following_index(
    database_url: str, service: Consentry
) -> None:
    tenant, _, _ = _tenant(service)
    follower = Consentry(database_url)
    try:
        index = follower.suppression_index(tenant)
        assert index.scopes_of(tenant.id, NUMBERS[7]) == frozenset()
        service.add_optouts(tenant, NUMBERS[7:8], sender=SENDER)
        target = service.suppression_index(tenant).change_id
        # Nothing is asked of the follower's service: its thread brings the index along.
        assert index.wait_for(target, timeout=10)
        assert index.scopes_of(tenant.id, NUMBERS[7]) == {Scope(ScopeKind.SENDER, SENDER)}
        if database_url.startswith("postgresql"):
            listener = follower._follower
            assert listener is not None and listener.listen
        service.remove_optouts(tenant, NUMBERS[7:8], sender=SENDER)
        # A check catches up before it reads, so it sees the other process's write at once.
        assert not follower.check_optouts(tenant, NUMBERS[7:8], sender=SENDER)[0].opted_out
    finally:
        follower.close()


def test_postgres_notifications_wake_the_follower(database_url: str, service: Consentry) -> None:
    if not database_url.startswith("postgresql"):
        # SQLite has no notifications; its follower polls (covered by the test above).
        assert Consentry(database_url, follow_index=False)._follow_index is False
        return
    tenant, _, _ = _tenant(service)
    follower = Consentry(database_url)
    try:
        follower.suppression_index(tenant)
        listener = follower._follower
        assert listener is not None
        # A notification sent before LISTEN takes hold is lost (the poll covers it): wait.
        assert listener.listening.wait(30)
        before = listener.notifications
        service.add_optouts(tenant, NUMBERS[8:9], sender=SENDER)
        woke = threading.Event()
        for _ in range(100):
            if listener.notifications > before:
                woke.set()
                break
            woke.wait(0.1)
        assert woke.is_set()
    finally:
        follower.close()


def test_change_ids_commit_in_order_across_tenants(database_url: str, service: Consentry) -> None:
    """A writer holding change ids blocks the next writer until it commits (or rolls back), so
    a lower id can never commit after a higher one is visible."""
    first, _, _ = _tenant(service)
    second, _, _ = _tenant(service)
    scope = Scope(ScopeKind.TENANT)
    now = datetime.now(UTC)

    def row(number: str) -> dict[str, object]:
        return {"recipient": number, "scope": scope, "source": "api", "event_id": "evt_x"}

    done = threading.Event()

    def later_writer() -> None:
        with service.engine.begin() as conn:
            optout_store.insert(conn, second.id, [{**row(NUMBERS[10]), "created_at": now}])
        done.set()

    with service.engine.begin() as conn:
        optout_store.insert(conn, first.id, [{**row(NUMBERS[9]), "created_at": now}])
        writer = threading.Thread(target=later_writer)
        writer.start()
        assert not done.wait(0.5), "the second writer took a change id while the first held one"
    writer.join(timeout=30)
    assert done.is_set()
    (first_id, *_), *_ = _changes(service, first)
    (second_id, *_), *_ = _changes(service, second)
    assert first_id < second_id


def test_the_migration_backfills_existing_opt_outs(fresh_database_url: str) -> None:
    engine = sa.create_engine(
        fresh_database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    )
    try:
        upgrade(engine, "0010")
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO tenants (tenant_id, slug, name, default_region, created_at) "
                    "VALUES ('ten_1', 'one', 'One', 'US', :now)"
                ),
                {"now": now},
            )
            conn.execute(
                sa.insert(optouts),
                [
                    {
                        "tenant_id": "ten_1",
                        "recipient": number,
                        "scope_kind": "tenant",
                        "scope_id": "",
                        "source": "api",
                        "event_id": f"evt_{number}",
                        "created_at": now,
                    }
                    for number in NUMBERS[:3]
                ],
            )
        upgrade(engine, "0011")
        with engine.connect() as conn:
            logged = conn.execute(
                sa.select(
                    optout_changes.c.change_id, optout_changes.c.recipient, optout_changes.c.op
                ).order_by(optout_changes.c.change_id)
            ).all()
            built = loading.build(conn)
        assert [tuple(r) for r in logged] == [(i + 1, n, "add") for i, n in enumerate(NUMBERS[:3])]
        assert built.change_id == 3
        assert set(built.bitmap("ten_1", Scope(ScopeKind.TENANT))) == {
            number_key(n) for n in NUMBERS[:3]
        }
    finally:
        engine.dispose()


def test_a_purge_redacts_the_number_and_followers_skip_it(service: Consentry) -> None:
    tenant, _, _ = _tenant(service)
    service.add_optouts(tenant, NUMBERS[:2], sender=SENDER)
    service.remove_optouts(tenant, NUMBERS[:1], sender=SENDER)
    before = _changes(service, tenant)
    with service.engine.begin() as conn:
        assert optout_store.redact_changes(conn, tenant.id, NUMBERS[:1]) == 2
    after = _changes(service, tenant)
    assert [row[0] for row in after] == [row[0] for row in before]  # ids kept
    assert [(number, op) for _, number, _, op in after] == [
        ("", "redacted"),
        (NUMBERS[1], "add"),
        ("", "redacted"),
    ]
    replayed = SuppressionIndex()
    with service.engine.connect() as conn:
        loading.catch_up(replayed, conn)
        assert replayed.change_id == optout_store.last_change_id(conn)
    assert _of(replayed, tenant) == _table(service, tenant)


def test_a_service_dropped_without_close_stops_its_follower(database_url: str) -> None:
    dropped = Consentry(database_url)
    tenant, _ = dropped.create_tenant("Dropped", slug=f"drop-{secrets.token_hex(6)}")
    dropped.suppression_index(tenant)
    follower = dropped._follower
    assert follower is not None and follower.running
    del dropped
    gc.collect()
    thread = follower._thread
    assert thread is not None
    thread.join(timeout=10)
    assert not thread.is_alive()
