"""Keep a suppression index in step with the store's opt-out change log, in a daemon thread.

PostgreSQL: a dedicated psycopg connection LISTENs on ``consentry_optout_changes`` (each opt-out
transaction notifies at commit), and the thread catches up on every notification, and at least
every ``poll_interval`` seconds in case a notification is lost or the listening connection
breaks (it is then reopened). SQLite: the thread polls the change log every ``poll_interval``
seconds (default 0.2 s). A catch-up is one indexed range query on the change id, so an opt-out
committed by another process reaches this index within about one poll or one notification.

:meth:`Follower.catch_up` can also be called from any thread (the service does so after its own
writes and before its checks); catch-ups are serialised, and each applies its batch atomically.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consentry.index import loading
from consentry.index.suppression import SuppressionIndex
from consentry.store import optouts as optout_store
from consentry.store.engine import READ_ONLY

log = logging.getLogger(__name__)
SQLITE_POLL_INTERVAL = 0.2
POSTGRES_POLL_INTERVAL = 0.5
_RECONNECT_DELAY = 1.0


class Follower:
    """Follows the change log of ``engine``'s database into ``index``."""

    def __init__(
        self,
        index: SuppressionIndex,
        engine: Engine,
        *,
        poll_interval: float | None = None,
        listen: bool | None = None,
    ) -> None:
        self.index = index
        self.engine = engine
        postgres = engine.dialect.name == "postgresql"
        self.listen = postgres if listen is None else listen
        self.poll_interval = poll_interval or (
            POSTGRES_POLL_INTERVAL if postgres else SQLITE_POLL_INTERVAL
        )
        self.notifications = 0
        self.listening = threading.Event()  # set once LISTEN has taken hold (PostgreSQL)
        self._failing = False
        self._sync = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the background thread (once)."""
        if self._thread is not None:
            return
        target: Callable[[], None] = self._run_listening if self.listen else self._run_polling
        self._thread = threading.Thread(target=target, name="consentry-index-follower", daemon=True)
        self._thread.start()

    def signal_stop(self) -> None:
        """Ask the thread to stop, without waiting (safe from a finaliser)."""
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the background thread and wait for it (at most ``timeout`` seconds)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def catch_up(self) -> int:
        """Apply every change committed after the index's change id; return how many."""
        with self._sync, self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            return loading.catch_up(self.index, conn)

    # --- the thread -------------------------------------------------------------------------

    def _safe_catch_up(self) -> None:
        try:
            self.catch_up()
        except sa.exc.SQLAlchemyError as error:
            if not self._failing:  # once per outage, not once per poll
                log.warning("suppression index catch-up failed: %s", error)
            self._failing = True
        else:
            self._failing = False

    def _run_polling(self) -> None:
        while not self._stop.wait(self.poll_interval):
            self._safe_catch_up()

    def _run_listening(self) -> None:
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        lost = False
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as listener:
                    listener.execute(f"LISTEN {optout_store.NOTIFY_CHANNEL}")
                    self.listening.set()
                    if lost:
                        log.warning("suppression index listener reconnected")
                        lost = False
                    self._safe_catch_up()  # whatever committed before LISTEN took hold
                    while not self._stop.is_set():
                        for _ in listener.notifies(timeout=self.poll_interval, stop_after=1):
                            self.notifications += 1
                        self._safe_catch_up()
            except psycopg.Error as error:
                if not lost:  # once per outage, not once per retry
                    log.warning("suppression index listener lost (%s); polling meanwhile", error)
                lost = True
                if self._stop.wait(_RECONNECT_DELAY):
                    return
                self._safe_catch_up()
