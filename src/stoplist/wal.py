"""SQLite: the write-ahead log checkpointed on a thread of the server's own, not by the write that fills it.

SQLite's own autocheckpoint runs in the commit that takes the log past its size: that request
copies the log back into the database and waits for both files to reach the disk (a batch of 1,000
adds on a list of 1,000,000: ~50 ms more, every other batch). The server's Checkpointer does it
instead, on its own connection, right after the commits (PASSIVE: it never holds up a reader or a
writer). The connections keep an autocheckpoint too, much larger (SAFETY_CAP_PAGES): a log the
thread cannot keep up with is still checkpointed. Durability is unchanged: commits still append to
the log (synchronous=NORMAL) as before; only who copies it back, and when, differs.
"""

import logging
import sqlite3
import threading

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("stoplist")

# The checkpointer copies the log as soon as a commit is in it, then rests this long (so at most
# 20 checkpoints a second, each of what was committed meanwhile). Soon, so that it has caught up
# before the next write: only then does that write start the log over from its beginning.
# Waiting a quarter of a second first let a stream of batches outrun it: the log grew until a
# request hit the cap and checkpointed 64 MB itself (~175 ms).
DELAY_SECONDS = 0.05
# Where the write path checkpoints itself while a checkpointer runs: 64 MB of log (4 KB pages).
SAFETY_CAP_PAGES = 16_000
# A checkpoint that could not copy the whole log (another worker's ran, or a reader still needed frames) is tried
# again after each rest, this many times (two seconds), or what was committed last waits in the log for the next write.
RETRIES = 40


class Checkpointer:
    """Checkpoints a SQLite file's write-ahead log after the commits of `sessions`, at most every DELAY_SECONDS."""

    def __init__(self, engine: Engine, sessions: sessionmaker[Session], *, delay: float = DELAY_SECONDS) -> None:
        self._path = engine.url.database
        self._sessions = sessions
        self._delay = delay
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stoplist-wal-checkpoint", daemon=True)
        self.checkpoints = 0  # completed, for tests and logs

    def start(self) -> "Checkpointer":
        # After the commit (the Session's event, not the engine's, which fires before it): what it wrote is in the log.
        event.listen(self._sessions, "after_commit", self._committed)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread after a last checkpoint of what was committed before (once: again does nothing)."""
        if self._stop.is_set():
            return
        event.remove(self._sessions, "after_commit", self._committed)
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def _committed(self, _session: Session) -> None:
        self._wake.set()

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        retries = 0
        try:
            while not self._stop.is_set():
                self._wake.wait()
                self._wake.clear()
                if self._checkpoint(connection):
                    retries = 0
                elif retries < RETRIES:
                    retries += 1
                    self._wake.set()  # after the rest, whether or not another commit comes
                self._stop.wait(self._delay)
            self._checkpoint(connection)  # what was committed since the last one
        finally:
            connection.close()

    def _checkpoint(self, connection: sqlite3.Connection) -> bool:
        """One PASSIVE checkpoint: whether it copied the whole log (or failed, which the next commit tries again)."""
        try:
            busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # the next commit tries again; the write path's cap stays meanwhile
            log.warning("checkpoint of the SQLite log failed: %s", exc)
            return True
        if not busy:
            self.checkpoints += 1
        return not busy and copied >= frames


def background_checkpoints(url: str) -> bool:
    """Whether a server on `url` checkpoints on a thread of its own: SQLite in a file (in memory there is no log)."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
