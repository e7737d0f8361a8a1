"""Every SQLite connection Stoplist opens is set up the same way, whoever opens it (requests,
checks' raw driver aside, the worker, downloads, the CLI)."""

from pathlib import Path

import pytest
from sqlalchemy import text

from stoplist.db import WAL_AUTOCHECKPOINT_PAGES, create_db_engine, sqlite_file


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
    """A fresh clone has no var/: the engine makes it. A `file:` URI's directory is its path's, not its text's (it made
    `./file:elsewhere/` before); memory makes none."""
    monkeypatch.chdir(tmp_path)
    create_db_engine(f"sqlite:///{tmp_path / 'var' / 'stoplist.db'}").dispose()
    assert (tmp_path / "var").is_dir()
    create_db_engine("sqlite:///file:elsewhere/stoplist.db?mode=ro&uri=true").dispose()
    create_db_engine("sqlite://").dispose()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["elsewhere", "var"]


@pytest.mark.parametrize(
    ("url", "file"),
    [
        ("sqlite:///var/stoplist.db", "var/stoplist.db"),
        ("sqlite:////srv/stoplist.db", "/srv/stoplist.db"),
        ("sqlite:////srv/stoplist.db?uri=false", "/srv/stoplist.db"),  # false is false, not a non-empty text
        ("sqlite:///file:/srv/stoplist.db?uri=true", "/srv/stoplist.db"),
        ("sqlite:///file:///srv/a%20b.db?uri=true&mode=ro", "/srv/a b.db"),
        ("sqlite:///file:/srv/stoplist.db", "file:/srv/stoplist.db"),  # without uri=true sqlite3 reads no URI: a name
        ("sqlite:///file::memory:?uri=true", None),
        ("sqlite:///file:shared?mode=memory&cache=shared&uri=true", None),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("postgresql://stoplist@db/stoplist", None),
    ],
)
def test_the_file_of_a_database_url_is_the_one_sqlite3_opens(url, file):
    """What a command guards from being overwritten (`--rejects`, `export`) and refuses when missing: the file itself."""
    assert sqlite_file(url) == (None if file is None else Path(file))
