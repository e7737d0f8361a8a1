"""On SQLite the server checkpoints the write-ahead log on a thread of its own (stoplist.wal): what a
request commits reaches the database file without that request (or any) checkpointing it."""

import shutil
import sqlite3
import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from stoplist import wal
from stoplist.app import create_app
from stoplist.auth import service as auth_service
from stoplist.auth.repository import AuthRepository
from stoplist.config import Settings
from stoplist.db import create_db_engine, create_session_factory, transaction

NUMBERS = [f"+4850000{index:04d}" for index in range(200)]
ENTRY = (
    "INSERT INTO blacklist_entries (account_id, list_id, address, address_kind, reason, source, created_at, updated_at)"
    " VALUES (1, 1, '{address}', 'phone', 'other', 'cli', '2026-11-25T10:00:00Z', '2026-11-25T10:00:00Z')"
)


def entries_in_the_file_alone(database: Path, copy: Path) -> int:
    """Entries the database file holds without its log: a copy of the file alone (no -wal) shows only what was checkpointed."""
    shutil.copyfile(database, copy)
    connection = sqlite3.connect(copy)
    try:
        return connection.execute("SELECT count(*) FROM blacklist_entries").fetchone()[0]
    finally:
        connection.close()


def eventually(probe, expected, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while (found := probe()) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_the_server_checkpoints_what_requests_commit_on_a_thread_of_its_own(databases, tmp_path: Path):
    url = databases.migrated("sqlite")
    database = Path(make_url(url).database)
    app = create_app(Settings(database_url=url))
    with TestClient(app) as client:
        with transaction(app.state.session_factory) as session:
            secret, _ = auth_service.create_token(repository=AuthRepository(session), account_name="default")
        with app.state.engine.connect() as connection:
            pragmas = {name: connection.execute(text(f"PRAGMA {name}")).scalar() for name in ("synchronous", "wal_autocheckpoint")}
        # Durability as before (NORMAL); the write path checkpoints only past the cap, far beyond these few pages.
        assert pragmas == {"synchronous": 1, "wal_autocheckpoint": wal.SAFETY_CAP_PAGES}
        checkpoints = app.state.checkpointer.checkpoints

        response = client.post("/blacklist/entries/batch", json={"items": NUMBERS}, headers={"Authorization": f"Bearer {secret}"})

        assert response.status_code == 200
        assert eventually(lambda: entries_in_the_file_alone(database, tmp_path / "copy.db"), len(NUMBERS)) == len(NUMBERS)
        assert app.state.checkpointer.checkpoints > checkpoints


def test_a_checkpointer_copies_a_commit_at_once_the_next_after_its_rest_and_a_last_time_when_stopped(databases, tmp_path: Path):
    url = databases.migrated("sqlite")
    database = Path(make_url(url).database)
    engine = create_db_engine(url, wal_autocheckpoint=wal.SAFETY_CAP_PAGES)
    sessions = create_session_factory(engine)
    # A rest no test waits out: a second commit is copied only by the checkpoint at stop.
    checkpointer = wal.Checkpointer(engine, sessions, delay=3600).start()
    try:
        with transaction(sessions) as session:
            session.execute(text("INSERT INTO accounts (name, created_at) VALUES ('default', '2026-11-25T10:00:00Z')"))
            session.execute(text("INSERT INTO lists (account_id, kind, channel, sender, created_at) VALUES (1, 'block', '', '', '2026-11-25T10:00:00Z')"))
            session.execute(text(ENTRY.format(address="48500000001")))
        assert eventually(lambda: entries_in_the_file_alone(database, tmp_path / "copy.db"), 1) == 1
        assert eventually(lambda: checkpointer.checkpoints, 1) == 1
        with transaction(sessions) as session:
            session.execute(text(ENTRY.format(address="48500000002")))
        time.sleep(0.2)
        assert entries_in_the_file_alone(database, tmp_path / "copy.db") == 1
        checkpointer.stop()
        # Before the engine closes its connections (the last to close a database checkpoints it too).
        assert entries_in_the_file_alone(database, tmp_path / "copy.db") == 2
        assert checkpointer.checkpoints == 2
    finally:
        checkpointer.stop()
        engine.dispose()


def test_a_checkpoint_a_reader_held_back_is_tried_again_without_another_commit(databases, tmp_path: Path):
    """A reader that still needs the log's frames (or another worker's checkpoint running) leaves a PASSIVE checkpoint
    short; the checkpointer tries again after its rest, so the last commit does not wait in the log for the next write."""
    url = databases.migrated("sqlite")
    database = Path(make_url(url).database)
    engine = create_db_engine(url, wal_autocheckpoint=wal.SAFETY_CAP_PAGES)
    sessions = create_session_factory(engine)
    with transaction(sessions) as session:
        session.execute(text("INSERT INTO accounts (name, created_at) VALUES ('default', '2026-11-25T10:00:00Z')"))
        session.execute(text("INSERT INTO lists (account_id, kind, channel, sender, created_at) VALUES (1, 'block', '', '', '2026-11-25T10:00:00Z')"))
    reader = sqlite3.connect(database, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM lists").fetchone()  # a read transaction on the log as it was
    checkpointer = wal.Checkpointer(engine, sessions, delay=0.05).start()
    try:
        with transaction(sessions) as session:
            session.execute(text(ENTRY.format(address="48500000001")))
        time.sleep(0.3)
        assert entries_in_the_file_alone(database, tmp_path / "copy.db") == 0  # held back by the reader
        reader.execute("COMMIT")
        assert eventually(lambda: entries_in_the_file_alone(database, tmp_path / "copy.db"), 1, seconds=1.5) == 1
    finally:
        reader.close()
        checkpointer.stop()
        engine.dispose()


def test_only_a_server_on_a_sqlite_file_checkpoints_on_its_own():
    assert wal.background_checkpoints("sqlite:///var/stoplist.db")
    assert not wal.background_checkpoints("sqlite://")
    assert not wal.background_checkpoints("sqlite:///:memory:")
    assert not wal.background_checkpoints("postgresql+psycopg://stoplist@localhost/stoplist")


def test_the_checkpointers_of_several_workers_on_one_file_neither_fail_nor_stall_its_writes(databases, tmp_path: Path, caplog):
    """`stoplist serve --workers N` on SQLite: each worker's checkpointer runs on the one file. A
    PASSIVE checkpoint that finds another running gives way (busy) instead of waiting or failing."""
    url = databases.migrated("sqlite")
    database = Path(make_url(url).database)
    workers = []
    for _ in range(2):
        engine = create_db_engine(url, wal_autocheckpoint=wal.SAFETY_CAP_PAGES)
        sessions = create_session_factory(engine)
        workers.append((engine, sessions, wal.Checkpointer(engine, sessions, delay=0.001).start()))
    with transaction(workers[0][1]) as session:
        session.execute(text("INSERT INTO accounts (name, created_at) VALUES ('default', '2026-11-25T10:00:00Z')"))
        session.execute(text("INSERT INTO lists (account_id, kind, channel, sender, created_at) VALUES (1, 'block', '', '', '2026-11-25T10:00:00Z')"))
    slowest = 0.0

    def write(worker: int) -> None:
        nonlocal slowest
        for number in NUMBERS[worker::2]:
            started = time.monotonic()
            with transaction(workers[worker][1]) as session:
                session.execute(text(ENTRY.format(address=number.lstrip("+"))))
            slowest = max(slowest, time.monotonic() - started)

    try:
        with caplog.at_level("WARNING", logger="stoplist"):
            writers = [threading.Thread(target=write, args=(worker,)) for worker in range(2)]
            for writer in writers:
                writer.start()
            for writer in writers:
                writer.join()
            assert eventually(lambda: entries_in_the_file_alone(database, tmp_path / "copy.db"), len(NUMBERS)) == len(NUMBERS)
    finally:
        for engine, _, checkpointer in workers:
            checkpointer.stop()
            engine.dispose()

    assert [record.getMessage() for record in caplog.records if "checkpoint" in record.getMessage()] == []
    assert all(checkpointer.checkpoints > 0 for _, _, checkpointer in workers)
    # A checkpoint that waited would hold writes up to busy_timeout (10 s); 3 s leaves room for a loaded machine.
    assert slowest < 3.0, f"a write waited {slowest:.2f} s"
