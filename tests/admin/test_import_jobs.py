"""Console opt-out imports as background jobs, on SQLite and PostgreSQL: the service reports
progress every 1,000 numbers inside its one transaction (nothing visible before the commit); the
job's JSON status rises to its total, then says ``committed`` with the counts in the database; a
failed import leaves nothing; one import at a time per account; only the account's admins see a
job. The registry itself (one running job per tenant, finished jobs forgotten after 15 minutes)
is checked without a database."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from consentry import Consentry
from consentry.domain.model import ScopeKind
from consentry.service import ScopeRef
from consentry.service._optouts import IMPORT_CHUNK
from consentry.service._results import ImportReport, RejectedRow
from consentry.store import ledger
from consentry.store.tables import consent_events
from consentry.web.admin.import_jobs import ImportJobs, ImportRunning, JobState, Progress
from tests.admin.conftest import Account, csrf_of, signed_in
from tests.admin.test_import import confirm_import, wait_for_job

ROWS = 20_000


def numbers(count: int = ROWS) -> list[str]:
    """``count`` distinct valid US numbers."""
    return [f"+1425{300 + n // 10_000:03d}{n % 10_000:04d}" for n in range(count)]


def _added_events(service: Consentry, tenant_id: str) -> int:
    with service.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(
                    consent_events.c.tenant_id == tenant_id,
                    consent_events.c.kind == "opt_out_added",
                )
            ).scalar_one()
        )


def _start(http: httpx.Client, slug: str, listed: list[str]) -> httpx.Response:
    """Post a confirmation of ``listed`` (as the preview's form would) without waiting."""
    token = csrf_of(http.get(f"/admin/{slug}/optouts/import").text)
    return http.post(
        f"/admin/{slug}/optouts/import",
        data={
            "csrf_token": token,
            "numbers": ",".join(listed),
            "scope": "tenant",
            "reason": "old CRM export",
        },
    )


def _job_url(started: httpx.Response) -> str:
    assert started.status_code == 303, started.text[:500]
    location: str = started.headers["location"]
    return location.removesuffix("/progress")


# --- the service: progress inside the transaction -------------------------------------------


def test_the_import_reports_every_thousand_numbers_before_it_commits(
    service: Consentry, account: Account
) -> None:
    tenant = account.tenant
    listed = numbers()
    calls: list[tuple[int, int]] = []
    visible: list[int] = []

    def progress(done: int, total: int) -> None:
        calls.append((done, total))
        visible.append(service.count_optouts(tenant))  # another connection: before the commit

    report = service.import_optouts(
        tenant,
        enumerate(listed + listed[:5], start=1),  # five duplicates
        scope=ScopeRef(ScopeKind.TENANT),
        actor="console:ana@example.com",
        reason="old CRM export",
        progress=progress,
    )
    assert IMPORT_CHUNK == 1000
    assert calls == [(done, ROWS) for done in range(0, ROWS + 1, IMPORT_CHUNK)]
    assert visible == [0] * len(calls)  # nothing was visible before the commit
    assert (report.rows, report.added, report.duplicates) == (ROWS + 5, ROWS, 5)
    assert service.count_optouts(tenant) == ROWS
    assert _added_events(service, tenant.id) == ROWS
    assert service.verify_ledger(tenant).ok  # written in chunks, still one linear chain


def test_an_import_stopped_midway_leaves_nothing(service: Consentry, account: Account) -> None:
    """The registry runs the real import; it stops after 5,000 numbers had been written."""
    tenant = account.tenant
    jobs = ImportJobs()
    with service.engine.connect() as conn:
        head_before = ledger.lock_head(conn, tenant.id)

    def work(progress: Progress) -> ImportReport:
        def stop_midway(done: int, total: int) -> None:
            progress(done, total)
            if done >= 5000:
                raise RuntimeError("the server is stopping")

        return service.import_optouts(
            tenant,
            enumerate(numbers(), start=1),
            scope=ScopeRef(ScopeKind.TENANT),
            progress=stop_midway,
        )

    job = jobs.start(tenant.id, ROWS, work)
    ended = _wait(jobs, tenant.id, job.job_id)
    assert ended.state is JobState.FAILED
    assert ended.done == 5000 and ended.total == ROWS
    assert ended.error is not None and "rolled back" in ended.error
    assert ended.report is None
    assert service.count_optouts(tenant) == 0
    assert _added_events(service, tenant.id) == 0
    with service.engine.connect() as conn:
        assert ledger.lock_head(conn, tenant.id) == head_before
    assert service.verify_ledger(tenant).ok


def _wait(jobs: ImportJobs, tenant_id: str, job_id: str) -> Any:
    for _ in range(2400):  # a bound on waiting (2 minutes), not an assertion about speed
        job = jobs.get(tenant_id, job_id)
        assert job is not None
        if job.state is not JobState.RUNNING:
            return job
        threading.Event().wait(0.05)
    raise AssertionError("the job did not end")


# --- the console: the job's status over HTTP ------------------------------------------------


def test_the_status_rises_to_the_total_then_says_committed(
    service: Consentry, base_url: str, account: Account
) -> None:
    slug = account.tenant.slug
    with signed_in(base_url, account, "admin") as http:
        started = _start(http, slug, numbers())
        seen = wait_for_job(http, _job_url(started))
        page = http.get(started.headers["location"])
    done = [status["done"] for status in seen]
    assert done == sorted(done)  # never goes back
    assert all(status["total"] == ROWS for status in seen)
    assert all(status["state"] == "running" for status in seen[:-1])
    final = seen[-1]
    assert final["state"] == "committed" and final["done"] == ROWS
    assert "error" not in final
    count = service.count_optouts(account.tenant)
    assert final["result"]["added"] == count == ROWS == _added_events(service, account.tenant.id)
    assert final["result"]["already_opted_out"] == 0
    assert final["result"]["scope"] == "everything from this account"
    assert page.status_code == 200
    assert 'data-result="added">20,000</span> new opt-outs' in page.text
    assert re.search(r'<progress id="import-rows" max="20000" value="20000"', page.text)
    assert "Refresh the status" not in page.text  # nothing left to wait for
    with service.engine.connect() as conn:
        actors = conn.execute(
            sa.select(consent_events.c.actor, consent_events.c.reason)
            .where(consent_events.c.tenant_id == account.tenant.id)
            .distinct()
        ).all()
    assert actors == [(f"console:{account.emails['admin']}", "old CRM export")]


def test_a_rejected_number_fails_the_job_and_imports_nothing(
    service: Consentry, base_url: str, account: Account
) -> None:
    """The confirmation carries the numbers; the import checks each again (a forged form)."""
    slug = account.tenant.slug
    listed = [*numbers(3000), "not a number"]
    with signed_in(base_url, account, "admin") as http:
        started = _start(http, slug, listed)
        final = wait_for_job(http, _job_url(started))[-1]
        page = http.get(started.headers["location"])
    assert final["state"] == "failed"
    assert final["error"] == "1 row was rejected (line 3001, 'not a number': " + (
        final["result"]["rejected"][0]["error"] + ")."
    )
    assert final["result"]["rejected"][0]["line"] == 3001
    assert service.count_optouts(account.tenant) == 0
    assert _added_events(service, account.tenant.id) == 0
    assert 'id="import-result">Nothing imported: 1 row was rejected' in page.text
    assert '<progress id="import-progress" max="3" value="2" data-step="failed">' in page.text


def test_one_import_at_a_time_per_account(
    service: Consentry, base_url: str, account: Account
) -> None:
    tenant = account.tenant
    slug = tenant.slug
    with signed_in(base_url, account, "admin") as http:
        # Hold the account's ledger (what every import takes first) so the first job waits.
        with service.engine.begin() as conn:
            ledger.lock_head(conn, tenant.id)
            first = _start(http, slug, numbers(2000))
            job_url = _job_url(first)
            waiting = http.get(job_url).json()
            second = _start(http, slug, numbers(10))
        assert (waiting["state"], waiting["done"]) == ("running", 0)
        assert second.status_code == 409
        assert "An import is already running" in second.text
        assert job_url.rsplit("/", 1)[1] in second.text
        final = wait_for_job(http, job_url)[-1]
        assert final["state"] == "committed" and final["result"]["added"] == 2000
        # the first one ended: the next import may start (its numbers are all there already)
        third = confirm_import(
            http,
            slug,
            {
                "csrf_token": csrf_of(http.get(f"/admin/{slug}/optouts/import").text),
                "numbers": ",".join(numbers(10)),
                "scope": "tenant",
                "reason": "again",
            },
        )
        assert 'data-result="already_opted_out">10</span> already opted out' in third.text
    assert service.count_optouts(tenant) == 2000


def test_only_the_accounts_admins_see_a_job(
    base_url: str, account: Account, other_account: Account
) -> None:
    slug = account.tenant.slug
    with signed_in(base_url, account, "admin") as http:
        job_url = _job_url(_start(http, slug, numbers(10)))
        job_id = job_url.rsplit("/", 1)[1]
        wait_for_job(http, job_url)
        unknown = http.get(f"/admin/{slug}/optouts/import/imp_unknown")
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "not_found"
        assert http.get(f"/admin/{slug}/optouts/import/imp_unknown/progress").status_code == 404
    for role in ("agent", "auditor"):
        with signed_in(base_url, account, role) as http:
            refused = http.get(job_url)
            assert refused.status_code == 403, role
            assert refused.json()["error"]["code"] == "forbidden"
            assert http.get(f"{job_url}/progress").status_code == 403
    theirs = other_account.tenant.slug
    with signed_in(base_url, other_account, "admin") as http:
        for url in (
            f"/admin/{theirs}/optouts/import/{job_id}",
            f"/admin/{theirs}/optouts/import/{job_id}/progress",
        ):
            response = http.get(url)
            assert response.status_code == 404, url
            assert job_id in response.text or "no such page" in response.text.lower()
            assert '"done"' not in response.text
    with httpx.Client(base_url=base_url) as anonymous:
        assert anonymous.get(job_url).status_code == 303  # to the log-in page


# --- the registry, without a database -------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


def _held(release: threading.Event, report: ImportReport) -> Any:
    def work(progress: Progress) -> ImportReport:
        progress(1, 2)
        release.wait(30)
        progress(2, 2)
        return report

    return work


@pytest.mark.parametrize(
    ("report", "state", "error"),
    [
        (ImportReport(2, 2, 0, 0), JobState.COMMITTED, None),
        (
            ImportReport(2, 0, 0, 0, (RejectedRow(2, "x", "not a phone number"),)),
            JobState.FAILED,
            "1 row was rejected (line 2, 'x': not a phone number).",
        ),
    ],
)
def test_the_registry_runs_one_job_per_tenant_and_forgets_old_ones(
    report: ImportReport, state: JobState, error: str | None
) -> None:
    clock = _Clock()
    jobs = ImportJobs(keep=timedelta(minutes=15), clock=clock)
    release = threading.Event()
    job = jobs.start("ten_a", 2, _held(release, report), scope_label="program Alerts")
    try:
        with pytest.raises(ImportRunning) as refused:
            jobs.start("ten_a", 1, _held(release, report))
        assert refused.value.running.job_id == job.job_id
        other = jobs.start("ten_b", 2, _held(release, report))  # another tenant may import
        assert jobs.get("ten_b", job.job_id) is None  # never another tenant's job
        assert jobs.get("ten_a", other.job_id) is None
    finally:
        release.set()
    ended = _wait(jobs, "ten_a", job.job_id)
    assert (ended.state, ended.done, ended.total, ended.error) == (state, 2, 2, error)
    body = ended.as_json()
    assert body["state"] == state.value and body["result"]["scope"] == "program Alerts"
    assert ("error" in body) is (error is not None)
    clock.at += timedelta(minutes=15)
    assert jobs.get("ten_a", job.job_id) is not None  # kept 15 minutes
    clock.at += timedelta(seconds=1)
    assert jobs.get("ten_a", job.job_id) is None  # then forgotten
