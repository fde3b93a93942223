"""WAL checkpoints off the event loop, for the embedded SQLite file.

SQLite's automatic checkpoint runs inside the COMMIT that pushes the WAL past
1,000 pages: that commit copies the pages into the database file and syncs
both files. With the connections on the event loop (models.sqlite_inline) that
stalled every chat turn in the process, several times a second at the morning
peak (a copy and two fdatasync calls, 1-3 ms each, measured under the bench mix;
issue 17). The SQLite documentation suggests the remedy for applications that
must not stall: turn the automatic checkpoint off where it hurts and run
checkpoints from another thread. Here one daemon thread per Database runs a
PASSIVE checkpoint (it never waits for a lock and never blocks a writer) a few
times a second; the sqlite3 module releases the GIL while SQLite works.

The loop's connections keep an automatic checkpoint, at FALLBACK_PAGES: should
this thread ever stop or fall behind, SQLite still bounds the WAL by itself.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

# Seconds between checkpoints: at the peak the WAL grows by a few thousand pages a
# second, so it stays near SQLite's own bound of 1,000 pages.
INTERVAL_S = 0.1
# The loop connections' own automatic checkpoint, only for when this thread is not running.
FALLBACK_PAGES = 20_000


class Checkpointer:
    """One thread that checkpoints a SQLite file's WAL until stopped."""

    def __init__(
        self, path: str, interval: float = INTERVAL_S, *, before: Callable[[], None] | None = None
    ) -> None:
        self.path = path
        self.interval = interval
        # Run before each pass: the Database's check of the WAL index (-shm), which gives a
        # file cut short under the server its length back. A checkpoint reads that mapped
        # file, and a read past its end is a SIGBUS that ends the process.
        self.before = before
        self.passes = 0  # checkpoints run (for tests and the bench)
        # What the last one reported: (busy, frames in the WAL, frames copied to the file).
        self.last: tuple[int, int, int] | None = None
        self._failing = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread once (called on each new connection; cheap after the first)."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._stop = threading.Event()  # each thread its own: a stop is never undone
                self._thread = threading.Thread(
                    target=self._run, args=(self._stop,), name="sqlite-checkpoint", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None:
            thread.join(timeout=5)

    def _run(self, stop: threading.Event) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error:
            log.exception("WAL checkpoints: cannot open %s; SQLite's own checkpoint remains", self.path)
            return
        try:
            while not stop.wait(self.interval):
                if self._ready():
                    self.checkpoint(conn)
        finally:
            conn.close()

    def _ready(self) -> bool:
        if self.before is None:
            return True
        try:
            self.before()
        except Exception as error:  # the Database's own error (logged there); try the next pass
            self._failed(error)
            return False
        return True

    def _failed(self, error: Exception) -> None:
        # A file being replaced or removed (check_present reports that to requests); the
        # next pass tries again. Logged once until a pass succeeds.
        if not self._failing:
            log.warning("WAL checkpoint of %s failed: %s", self.path, error)
        self._failing = True

    def checkpoint(self, conn: sqlite3.Connection) -> None:
        """One PASSIVE checkpoint: copies what no reader still needs, never waits."""
        try:
            # fetchall: the statement runs to its end, so no read transaction stays open
            # (one would keep the WAL from starting over).
            ((busy, frames, copied),) = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as error:
            self._failed(error)
            return
        self._failing = False
        self.last = (busy, frames, copied)
        self.passes += 1
