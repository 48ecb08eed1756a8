"""Concurrent writers keep the ledger linear and the derived state equal to a replay.

Real threads (and, in one test, separate processes) hammer one recipient with STOP / START
replies, direct opt-out adds and removes, overlapping opt-out imports and consent records, on
SQLite and on PostgreSQL. Afterwards: the chain verifies link by link (no fork: sequence numbers
1..n, each event's ``prev_hash`` is the hash of the event before it), the ``optouts`` table equals
a replay of the ledger's opt-out events (so the state is that of the last committed event for
each scope), and the consent states equal a ``rebuild_consents``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from consentry import Conflict, Consentry, NotFound, ScopeKind, ScopeRef, Tenant
from consentry.store.engine import READ_ONLY
from consentry.store.ledger import GENESIS_HASH
from consentry.store.tables import consent_events, optouts

SENDER = "+12065550100"
DEALS_SENDER = "+12065550101"
NUMBER = "+14255550123"
THREADS = 6
ROUNDS = 12


def _registry(service: Consentry, tenant: Tenant) -> None:
    brand = service.create_brand(tenant, "Acme", "help@acme.example")
    service.create_program(tenant, brand.id, "Alerts", slug="alerts")
    service.create_sender(tenant, SENDER, "long_code", programs=["alerts"], verified=True)


def _run_threads(work: Callable[[int], None], count: int = THREADS) -> None:
    """Run ``work(i)`` in ``count`` threads that start together; re-raise the first error."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not [t for t in threads if t.is_alive()], "a writer hung"
    if errors:
        raise errors[0]


def _events(service: Consentry, tenant: Tenant) -> list[Any]:
    with service.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(consent_events)
                .where(consent_events.c.tenant_id == tenant.id)
                .order_by(consent_events.c.seq)
            )
        )


def _assert_linear(service: Consentry, tenant: Tenant) -> list[Any]:
    """The chain has no fork or gap, and verifies; return its events."""
    events = _events(service, tenant)
    assert [event.seq for event in events] == list(range(1, len(events) + 1))
    previous = GENESIS_HASH
    for event in events:
        assert event.prev_hash == previous, f"fork or broken link at event {event.seq}"
        previous = event.hash
    assert len({event.hash for event in events}) == len(events)
    assert len({event.event_id for event in events}) == len(events)
    report = service.verify_ledger(tenant)
    assert report.ok, report
    assert report.events == len(events)
    return events


def _assert_optouts_are_the_replay(service: Consentry, tenant: Tenant) -> set[tuple[str, str, str]]:
    """``optouts`` equals a replay of the opt-out events: for each (recipient, scope) the row
    exists exactly when the last committed event for it is an add."""
    last: dict[tuple[str, str, str], str] = {}
    for event in _events(service, tenant):
        if event.kind in ("opt_out_added", "opt_out_removed"):
            last[(event.recipient, event.scope_kind, event.scope_id)] = event.kind
    replayed = {key for key, kind in last.items() if kind == "opt_out_added"}
    with service.engine.connect() as conn:
        live = {
            (row.recipient, row.scope_kind, row.scope_id)
            for row in conn.execute(sa.select(optouts).where(optouts.c.tenant_id == tenant.id))
        }
    assert live == replayed
    return live


def _assert_consents_are_the_rebuild(service: Consentry, tenant: Tenant) -> None:
    before = sorted(service.consent_states(tenant), key=repr)
    service.rebuild_consents(tenant)
    assert sorted(service.consent_states(tenant), key=repr) == before


def _mixed_opt_out_work(service: Consentry, tenant: Tenant, seed: int, rounds: int) -> None:
    """One writer's share: STOP, START, adds and removes at sender and tenant scope."""
    rng = random.Random(seed)
    everywhere = ScopeRef(ScopeKind.TENANT)
    actions: list[Callable[[], Any]] = [
        lambda: service.receive_inbound(tenant, SENDER, NUMBER, "STOP"),
        lambda: service.receive_inbound(tenant, SENDER, NUMBER, "START"),
        lambda: service.add_optouts(tenant, [NUMBER], sender=SENDER),
        lambda: service.remove_optouts(tenant, [NUMBER], sender=SENDER),
        lambda: service.add_optouts(tenant, [NUMBER], scope=everywhere),
        lambda: service.remove_optouts(tenant, [NUMBER], scope=everywhere),
    ]
    for _ in range(rounds):
        rng.choice(actions)()


def test_concurrent_stop_start_and_direct_changes_keep_one_chain(
    service: Consentry, tenant: Tenant
) -> None:
    _registry(service, tenant)
    _run_threads(lambda i: _mixed_opt_out_work(service, tenant, i, ROUNDS))

    events = _assert_linear(service, tenant)
    assert len(events) >= THREADS  # the writers did change things
    live = _assert_optouts_are_the_replay(service, tenant)
    [status] = service.check_optouts(tenant, [NUMBER], sender=SENDER)
    assert status.opted_out == any(key[0] == NUMBER for key in live)
    _assert_consents_are_the_rebuild(service, tenant)


def _process_worker(database_url: str, tenant_ref: str, seed: int, rounds: int) -> None:
    app = Consentry(database_url)
    try:
        _mixed_opt_out_work(app, app.get_tenant(tenant_ref), seed, rounds)
    finally:
        app.close()


def test_concurrent_processes_keep_one_chain(
    database_url: str, service: Consentry, tenant: Tenant
) -> None:
    _registry(service, tenant)
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_process_worker, args=(database_url, tenant.id, 100 + i, ROUNDS))
        for i in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [worker.exitcode for worker in workers] == [0] * len(workers)

    events = _assert_linear(service, tenant)
    assert len(events) >= 3
    _assert_optouts_are_the_replay(service, tenant)
    _assert_consents_are_the_rebuild(service, tenant)


def test_concurrent_overlapping_imports_add_each_number_once(
    service: Consentry, tenant: Tenant
) -> None:
    _registry(service, tenant)
    files = [[f"+1425555{n:04d}" for n in range(i * 50, i * 50 + 150)] for i in range(THREADS)]
    union = {number for rows in files for number in rows}
    reports: list[Any] = [None] * THREADS

    def run(index: int) -> None:
        reports[index] = service.import_optouts(
            tenant, list(enumerate(files[index], start=1)), sender=SENDER
        )

    _run_threads(run)

    assert sum(report.added for report in reports) == len(union)
    assert all(
        report.added + report.already_opted_out == len(files[i]) for i, report in enumerate(reports)
    )
    events = _assert_linear(service, tenant)
    added = [event.recipient for event in events if event.kind == "opt_out_added"]
    assert sorted(added) == sorted(union)  # each number once: no duplicate event
    live = _assert_optouts_are_the_replay(service, tenant)
    assert {key[0] for key in live} == union


def test_concurrent_consent_events_for_one_recipient_match_a_rebuild(
    service: Consentry, tenant: Tenant
) -> None:
    _registry(service, tenant)
    brand = service.list_brands(tenant)[0]
    service.create_program(tenant, brand.id, "Deals", slug="deals", double_opt_in=True)
    service.create_sender(tenant, DEALS_SENDER, "long_code", programs=["deals"], verified=True)
    program = ScopeRef(ScopeKind.PROGRAM, "alerts")

    def reconfirm() -> None:
        with contextlib.suppress(Conflict):  # not active just now: nothing to reconfirm
            service.request_reconfirmation(tenant, NUMBER, "alerts")

    def run(index: int) -> None:
        rng = random.Random(1000 + index)
        actions: list[Callable[[], Any]] = [
            lambda: service.record_consent(
                tenant, NUMBER, "alerts", medium="web_form", disclosure_text=f"Terms {index}"
            ),
            lambda: service.record_consent(
                tenant, NUMBER, "deals", medium="web_form", disclosure_text="Deals. Reply Y."
            ),
            lambda: service.receive_inbound(tenant, DEALS_SENDER, NUMBER, "YES"),
            lambda: service.receive_inbound(tenant, SENDER, NUMBER, "STOP"),
            lambda: service.receive_inbound(tenant, SENDER, NUMBER, "START"),
            lambda: service.add_optouts(tenant, [NUMBER], scope=program),
            lambda: service.remove_optouts(tenant, [NUMBER], scope=program),
            lambda: service.expire_pending_consents(tenant),
            reconfirm,
        ]
        for _ in range(ROUNDS):
            rng.choice(actions)()

    _run_threads(run)

    events = _assert_linear(service, tenant)
    assert any(event.kind.startswith("consent_") for event in events)
    _assert_optouts_are_the_replay(service, tenant)
    _assert_consents_are_the_rebuild(service, tenant)
    for state in service.recipient(tenant, NUMBER).consents:
        last = [e for e in events if e.program_id == state.program_id][-1]
        assert state.last_event_seq == last.seq  # the state is that of its last consent event


@pytest.mark.parametrize("readers", [2])
def test_readers_never_see_a_half_written_change(
    service: Consentry, tenant: Tenant, readers: int
) -> None:
    """While writers flip the opt-out, every read sees the ledger and ``optouts`` in step."""
    _registry(service, tenant)
    stop = threading.Event()
    mismatches: list[str] = []
    reads = [0]

    def read() -> None:
        while not stop.is_set():
            reads[0] += 1
            # A read transaction (deferred BEGIN on SQLite: a WAL snapshot, not a writer's lock).
            with (
                service.engine.connect().execution_options(**{READ_ONLY: True}) as conn,
                conn.begin(),
            ):
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                last = conn.execute(
                    sa.select(consent_events.c.kind)
                    .where(
                        consent_events.c.tenant_id == tenant.id,
                        consent_events.c.recipient == NUMBER,
                        consent_events.c.scope_kind == "sender",
                    )
                    .order_by(consent_events.c.seq.desc())
                    .limit(1)
                ).scalar()
                present = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(optouts)
                    .where(
                        optouts.c.tenant_id == tenant.id,
                        optouts.c.recipient == NUMBER,
                        optouts.c.scope_kind == "sender",
                    )
                ).scalar_one()
            if (last == "opt_out_added") != bool(present):
                mismatches.append(f"last event {last}, rows {present}")

    def write(index: int) -> None:
        for round_ in range(ROUNDS):
            if (index + round_) % 2:
                service.add_optouts(tenant, [NUMBER], sender=SENDER)
            else:
                service.remove_optouts(tenant, [NUMBER], sender=SENDER)

    reader_threads = [threading.Thread(target=read) for _ in range(readers)]
    for thread in reader_threads:
        thread.start()
    try:
        _run_threads(write, 3)
    finally:
        stop.set()
        for thread in reader_threads:
            thread.join(timeout=60)
    assert mismatches == []
    assert reads[0] > 0
    _assert_linear(service, tenant)
    _assert_optouts_are_the_replay(service, tenant)


def test_a_rotated_key_works_beside_the_old_one_and_a_revoked_key_fails_at_once(
    service: Consentry, anonymous: httpx.Client, tenant_and_key: tuple[Tenant, str]
) -> None:
    """Over HTTP while another client keeps using the old key: during a rotation both keys
    work; the first request after the revocation commits gets 401, the new key keeps working."""
    tenant, old = tenant_and_key
    new = service.issue_api_key(tenant, "rotation")
    stop = threading.Event()
    statuses: list[int] = []

    def as_old_key() -> None:
        while not stop.is_set():
            statuses.append(anonymous.get("/v1/tenant", headers=_bearer(old)).status_code)

    for key in (old, new):  # two live keys at once
        response = anonymous.get("/v1/tenant", headers=_bearer(key))
        assert response.status_code == 200 and response.json()["id"] == tenant.id
    user = threading.Thread(target=as_old_key)
    user.start()
    try:
        while len(statuses) < 5:
            time.sleep(0.01)
        service.revoke_api_key(tenant, old.split(".")[2])
        refused = anonymous.get("/v1/tenant", headers=_bearer(old))
        # The request in flight now may have been checked before the revocation committed;
        # every one after it started later.
        after = len(statuses) + 1
        while len(statuses) < after + 3:
            time.sleep(0.01)
    finally:
        stop.set()
        user.join(timeout=30)
    assert refused.status_code == 401
    assert statuses[:5] == [200] * 5
    assert statuses[after:] and set(statuses[after:]) == {401}  # no cache keeps it alive
    assert anonymous.get("/v1/tenant", headers=_bearer(new)).status_code == 200
    with pytest.raises(NotFound):
        service.revoke_api_key(tenant, old.split(".")[2])  # already revoked


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
