"""The decisions log's writer: refusals are stored by a background thread, in batches.

A check must not wait for a database commit to log why it refused a message (measured: logging
each refusal in the check's own transaction halved the gate's batch throughput and doubled the
cost of a single check). The refused message was not sent, so nothing the caller relies on
waits here; the log is flushed at most ``interval`` seconds later, before any read of the log
in this process (:meth:`RefusalLog.flush`), when the service closes, and at interpreter exit.
A process killed outright loses at most the refusals of that last interval.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Engine

from consentry.domain.policy import Decision, OutgoingMessage
from consentry.store import decisions as decision_store

log = logging.getLogger(__name__)

_Entry = tuple[str, Sequence[tuple[OutgoingMessage, Decision]], datetime]


class RefusalLog:
    """Queue refusals; a daemon thread writes them every ``interval`` seconds."""

    def __init__(self, engine: Engine, *, interval: float = 0.1) -> None:
        self.engine = engine
        self.interval = interval
        self._pending: list[_Entry] = []
        self._lock = threading.Condition()
        self._queued = 0  # entries ever queued
        self._written = 0  # entries ever written (or given up on)
        self._thread: threading.Thread | None = None
        self._closed = False
        atexit.register(_flush_at_exit, weakref.ref(self))

    def add(
        self, tenant_id: str, refused: Sequence[tuple[OutgoingMessage, Decision]], at: datetime
    ) -> None:
        """Queue one check's refusals (returns at once)."""
        with self._lock:
            if self._closed:
                self._write([(tenant_id, refused, at)])
                return
            self._pending.append((tenant_id, refused, at))
            self._queued += 1
            if self._thread is None:
                # The thread holds the log weakly: a log nobody holds any more ends its thread.
                self._thread = threading.Thread(
                    target=_run,
                    args=(weakref.ref(self),),
                    name="consentry-refusal-log",
                    daemon=True,
                )
                self._thread.start()

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every refusal queued so far is stored."""
        with self._lock:
            target = self._queued
            self._lock.notify_all()
            self._lock.wait_for(lambda: self._written >= target, timeout)

    def close(self) -> None:
        """Store what is queued and stop the thread."""
        self.flush()
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    def _step(self) -> bool:
        """Wait up to one interval, then store what is queued; False once closed and empty."""
        with self._lock:
            self._lock.wait_for(lambda: self._pending or self._closed, self.interval)
            batch, self._pending = self._pending, []
            if not batch and self._closed:
                return False
        if batch:
            self._write(batch)
            with self._lock:
                self._written += len(batch)
                self._lock.notify_all()
        return True

    def _write(self, batch: list[_Entry]) -> None:
        try:
            with self.engine.begin() as conn:
                for tenant_id, refused, at in batch:
                    decision_store.insert(conn, tenant_id, refused, at)
        except Exception:  # a lost log entry must never break the gate; say so loudly
            log.exception("could not store %d refusal(s) in the decisions log", len(batch))


def _run(reference: weakref.ref[RefusalLog]) -> None:
    while True:
        refusal_log = reference()
        if refusal_log is None or not refusal_log._step():
            return
        del refusal_log


def _flush_at_exit(reference: weakref.ref[RefusalLog]) -> None:
    refusal_log = reference()
    if refusal_log is not None and refusal_log._thread is not None:
        refusal_log.flush(timeout=5)
