"""SQLite WAL checkpoints off the request path.

In WAL mode each commit appends the pages it changed to the write-ahead log; by default the connection whose commit
takes the log past 1,000 pages then copies the log into the database file and fsyncs it (an automatic checkpoint),
inside that commit. A request that audits many children (a caseload list writes ~60 pages: its audit rows' index
entries fall on random pages) pays that every ~17 requests, ~1,000 random writes and an fsync of the file: the tail
of its latency (bench/NOTES.md, issue 18 session 6). A service process runs this checkpointer instead: after
commits it checkpoints PASSIVE (never waiting for, nor blocking, a reader or the writer) on a connection of its own,
in a thread, so no request waits for it. Its connections keep an automatic checkpoint far out
(`AUTOCHECKPOINT_PAGES`) as the bound on the log should the checkpointer fall behind or not run.

Durability is the log's: a commit is on disk when its log frames are (synchronous=FULL); a checkpoint only moves
committed pages into the file, and SQLite makes that safe to interrupt at any point (a kill replays the log).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3

log = logging.getLogger("tas.db")

AUTOCHECKPOINT_PAGES = 10_000
"""The service connections' own automatic checkpoint while a checkpointer runs (~40 MB of log at 4 KB pages)."""


class WalCheckpointer:
    def __init__(self, path: str, *, delay_seconds: float = 0.1) -> None:
        self.path = path
        self.delay_seconds = delay_seconds
        """Commits within this wait share one checkpoint."""
        self._due = asyncio.Event()
        self.last: tuple[int, int, int] | None = None
        """The last checkpoint's (busy, pages in the log, pages checkpointed), as SQLite reports it."""

    def poke(self) -> None:
        """A unit of work committed: checkpoint soon."""
        self._due.set()

    async def run(self, stopping: asyncio.Event) -> None:
        """Checkpoint after commits until `stopping` is set; a checkpoint that fails is logged and tried again."""
        connection: sqlite3.Connection | None = None
        stop = asyncio.ensure_future(stopping.wait())
        try:
            while not stopping.is_set():
                due = asyncio.ensure_future(self._due.wait())
                await asyncio.wait((due, stop), return_when=asyncio.FIRST_COMPLETED)
                due.cancel()
                if stopping.is_set():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(stop), timeout=self.delay_seconds)
                self._due.clear()
                try:
                    if connection is None:
                        connection = await asyncio.to_thread(self._connect)
                    self.last = await asyncio.to_thread(self._checkpoint, connection)
                except sqlite3.Error as exc:
                    log.warning("WAL checkpoint failed", extra={"error": type(exc).__name__})
        finally:
            stop.cancel()
            if connection is not None:
                await asyncio.to_thread(connection.close)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        connection.execute("PRAGMA synchronous=FULL")  # the file is fsynced before the log is reused
        return connection

    @staticmethod
    def _checkpoint(connection: sqlite3.Connection) -> tuple[int, int, int]:
        busy, pages, done = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(pages), int(done)
