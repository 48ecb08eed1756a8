"""Opt-out imports started from the console, each run in a background thread of the server.

An import is one database transaction (all rows or none); the job only watches it: rows written
so far out of the total, then ``committed`` once the transaction has committed (never before),
or ``failed`` with the reason (nothing imported). One import runs at a time per tenant.

Job state lives in this process's memory only, behind a lock: a finished job is kept
``KEEP_FINISHED`` and then forgotten. If the server stops during an import, the transaction
rolls back (nothing was imported) and the job is unknown afterwards.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from fastapi import Request

from consentry.errors import ConsentryError
from consentry.service._results import ImportReport

log = logging.getLogger(__name__)

KEEP_FINISHED = timedelta(minutes=15)
SHOWN_REJECTED = 50

Progress = Callable[[int, int], None]
"""Called with (numbers written so far, total) while the import's transaction runs."""

Work = Callable[[Progress], ImportReport]
"""The import itself: it reports progress and returns once its transaction committed."""


class JobState(StrEnum):
    """Where an import job is: running, committed (all rows) or failed (no row)."""

    RUNNING = "running"
    COMMITTED = "committed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ImportJob:
    """A snapshot of one import job."""

    job_id: str
    tenant_id: str
    scope_label: str
    total: int
    started_at: datetime
    state: JobState = JobState.RUNNING
    done: int = 0
    finished_at: datetime | None = None
    error: str | None = None
    report: ImportReport | None = None

    def as_json(self) -> dict[str, Any]:
        """The job as the console's status endpoint answers it."""
        body: dict[str, Any] = {
            "job_id": self.job_id,
            "state": self.state.value,
            "done": self.done,
            "total": self.total,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }
        if self.error is not None:
            body["error"] = self.error
        if self.report is not None:
            body["result"] = {
                "rows": self.report.rows,
                "added": self.report.added,
                "already_opted_out": self.report.already_opted_out,
                "duplicates": self.report.duplicates,
                "scope": self.scope_label,
                "rejected": [
                    {"line": row.line, "value": row.value, "error": row.error}
                    for row in self.report.rejected[:SHOWN_REJECTED]
                ],
            }
        return body


class ImportRunning(Exception):
    """Another import of the same tenant is still running (the console answers 409)."""

    def __init__(self, running: ImportJob) -> None:
        super().__init__(f"import {running.job_id} is still running")
        self.running = running


class ImportJobs:
    """The import jobs of one server process (one registry per app), safe across threads."""

    def __init__(
        self,
        *,
        keep: timedelta = KEEP_FINISHED,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._keep = keep
        self._clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[str, ImportJob] = {}

    def start(self, tenant_id: str, total: int, work: Work, *, scope_label: str = "") -> ImportJob:
        """Run ``work`` in a new thread as the tenant's import job and return the job at once.

        Raises :class:`ImportRunning` if the tenant already has an import running.
        """
        with self._lock:
            self._forget_old()
            running = next(
                (
                    job
                    for job in self._jobs.values()
                    if job.tenant_id == tenant_id and job.state is JobState.RUNNING
                ),
                None,
            )
            if running is not None:
                raise ImportRunning(running)
            job = ImportJob(
                job_id=f"imp_{secrets.token_urlsafe(16)}",
                tenant_id=tenant_id,
                scope_label=scope_label,
                total=total,
                started_at=self._clock(),
            )
            self._jobs[job.job_id] = job
        thread = threading.Thread(
            target=self._run, args=(job.job_id, work), name=f"optout-{job.job_id}", daemon=True
        )
        thread.start()
        return job

    def get(self, tenant_id: str, job_id: str) -> ImportJob | None:
        """The tenant's job ``job_id``; None if unknown, forgotten or another tenant's."""
        with self._lock:
            self._forget_old()
            job = self._jobs.get(job_id)
        return job if job is not None and job.tenant_id == tenant_id else None

    def _update(self, job_id: str, **changes: Any) -> ImportJob:
        with self._lock:
            job = replace(self._jobs[job_id], **changes)
            self._jobs[job_id] = job
            return job

    def _run(self, job_id: str, work: Work) -> None:
        def progress(done: int, total: int) -> None:
            self._update(job_id, done=done, total=total)

        try:
            report = work(progress)
        except ConsentryError as error:
            job = self._finish(job_id, JobState.FAILED, error=error.message)
        except Exception:
            log.exception("console opt-out import %s failed; its transaction rolled back", job_id)
            job = self._finish(
                job_id,
                JobState.FAILED,
                error="the import stopped on an error, and its transaction rolled back "
                "(the server log has the details).",
            )
        else:
            if report.imported:
                job = self._finish(job_id, JobState.COMMITTED, report=report)
            else:
                job = self._finish(
                    job_id, JobState.FAILED, report=report, error=_rejected_text(report)
                )
        log.info(
            "console opt-out import %s %s: %d of %d numbers",
            job_id,
            job.state.value,
            job.done,
            job.total,
        )

    def _finish(self, job_id: str, state: JobState, **changes: Any) -> ImportJob:
        return self._update(job_id, state=state, finished_at=self._clock(), **changes)

    def _forget_old(self) -> None:
        """Drop the jobs that finished more than ``keep`` ago (the caller holds the lock)."""
        cutoff = self._clock() - self._keep
        for job_id in [
            job.job_id
            for job in self._jobs.values()
            if job.finished_at is not None and job.finished_at < cutoff
        ]:
            del self._jobs[job_id]


def _rejected_text(report: ImportReport) -> str:
    first = report.rejected[0]
    count = len(report.rejected)
    rows = "1 row was" if count == 1 else f"{count} rows were"
    return f"{rows} rejected (line {first.line}, {first.value!r}: {first.error})."


_REGISTRY_LOCK = threading.Lock()


def jobs_of(request: Request) -> ImportJobs:
    """The import jobs of the app serving ``request`` (created on first use)."""
    state = request.app.state
    with _REGISTRY_LOCK:
        jobs: ImportJobs | None = getattr(state, "optout_import_jobs", None)
        if jobs is None:
            jobs = ImportJobs()
            state.optout_import_jobs = jobs
    return jobs
