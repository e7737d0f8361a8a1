"""Every SQLite connection Stoplist opens is set up the same way, whoever opens it (requests,
checks' raw driver aside, the worker, downloads, the CLI)."""

from pathlib import Path

from sqlalchemy import text

from stoplist.db import WAL_AUTOCHECKPOINT_PAGES, create_db_engine


def test_a_sqlite_connection_logs_ahead_waits_for_writers_and_checkpoints_every_16_mb(tmp_path: Path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'stoplist.db'}")
    try:
        with engine.connect() as connection:
            settings = {name: connection.execute(text(f"PRAGMA {name}")).scalar() for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous", "wal_autocheckpoint")}
    finally:
        engine.dispose()
    # synchronous 1 is NORMAL: in WAL mode a commit survives a crash of the process, not of the machine.
    assert settings == {"journal_mode": "wal", "busy_timeout": 10000, "foreign_keys": 1, "synchronous": 1, "wal_autocheckpoint": WAL_AUTOCHECKPOINT_PAGES}


def test_an_engine_makes_the_directory_of_its_file_and_of_nothing_else(tmp_path: Path, monkeypatch):
    """A fresh clone has no var/: the engine makes it. A URL that names no file (memory, a `file:` URI, which
    sqlite3 reads itself) makes no directory: a URI's text is no path (it made `./file:…/` before)."""
    monkeypatch.chdir(tmp_path)
    create_db_engine(f"sqlite:///{tmp_path / 'var' / 'stoplist.db'}").dispose()
    assert (tmp_path / "var").is_dir()
    create_db_engine("sqlite:///file:elsewhere/stoplist.db?mode=ro&uri=true").dispose()
    create_db_engine("sqlite://").dispose()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["var"]
