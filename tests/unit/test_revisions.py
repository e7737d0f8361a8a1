"""stoplist.revisions reads the head revision from the migration files, without Alembic (the server needs
it for /readyz and should not keep Alembic in memory for it): the same head as Alembic's, and a clear error
where there is no single one."""

from pathlib import Path

import pytest

from stoplist import migrate, revisions


def test_the_head_read_from_the_files_is_alembics():
    assert revisions.head() == migrate.head_revision("sqlite://")


def _versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.setattr(revisions, "VERSIONS", tmp_path)
    revisions.head.cache_clear()


@pytest.fixture(autouse=True)
def _forget_the_head():
    revisions.head.cache_clear()
    yield
    revisions.head.cache_clear()


def test_a_merge_and_annotated_names_are_read_as_alembic_writes_them(tmp_path, monkeypatch):
    _versions(tmp_path, monkeypatch, {
        "a.py": 'revision = "a"\ndown_revision = None\n',
        "b.py": 'revision: str = "b"\ndown_revision: str | None = "a"\n',
        "c.py": '"""A branch."""\nrevision = "c"\ndown_revision = "a"\n',
        "d.py": 'import sqlalchemy\nrevision = "d"\ndown_revision = ("b", "c")\nbranch_labels = None\n',
    })
    assert revisions.head() == "d"


def test_two_heads_are_an_error_naming_them(tmp_path, monkeypatch):
    _versions(tmp_path, monkeypatch, {"a.py": 'revision = "a"\ndown_revision = None\n', "b.py": 'revision = "b"\ndown_revision = "a"\n',
                                      "c.py": 'revision = "c"\ndown_revision = "a"\n'})
    with pytest.raises(RuntimeError, match=r"2 heads, not one: \['b', 'c'\]"):
        revisions.head()


def test_a_file_without_a_revision_is_an_error_naming_it(tmp_path, monkeypatch):
    _versions(tmp_path, monkeypatch, {"a.py": 'revision = "a"\ndown_revision = None\n', "b.py": 'down_revision = "a"\n'})
    with pytest.raises(RuntimeError, match=r"b\.py names no revision"):
        revisions.head()


def test_files_alembic_does_not_read_are_not_read(tmp_path, monkeypatch):
    """As alembic.script.base reads a versions directory: not __init__.py, not an editor's lock file (.#name.py,
    often a dangling link), not what is not a .py file."""
    _versions(tmp_path, monkeypatch, {"a.py": 'revision = "a"\ndown_revision = None\n', "__init__.py": "", "notes.txt": "revision = 'x'\n"})
    (tmp_path / ".#a.py").symlink_to(tmp_path / "gone")
    assert revisions.head() == "a"
