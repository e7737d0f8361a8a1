"""`stoplist audit verify` and `stoplist audit export` (issue 11), on a real database."""

import csv
import io

import pytest

from sqlalchemy import text

from stoplist.db import create_db_engine
from tests.api.helpers import URL
from tests.cli.test_import_export_cli import bearer, stoplist, stoplist_as_set


def test_verify_says_ok_then_names_the_first_broken_link(database, api):
    auth = bearer(database, "default")
    for number in ("+48500000001", "+48500000002", "+48500000003"):
        assert api.post(URL, json={"phone_number": number}, headers=auth).status_code == 201
    result = stoplist("audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "ok: 3 events of 1 account(s) verified, 3 listed entries agree with them"

    engine = create_db_engine(database)
    with engine.begin() as connection:
        connection.execute(text("UPDATE entry_events SET body = replace(body, '\"manual\"', '\"legal\"') WHERE seq = 2"))
    engine.dispose()
    broken = stoplist("audit", "verify", "--account", "default")
    assert broken.exit_code == 1
    assert "BROKEN: account" in broken.stderr and "event 2:" in broken.stderr


def test_export_writes_an_address_history_or_everything_since_a_moment(database, api):
    auth = bearer(database, "default")
    entry = api.post(URL, json={"phone_number": "+48500000001", "evidence": "STOP by SMS"}, headers=auth).json()
    api.post(URL, json={"phone_number": "+48500000002"}, headers=auth)
    api.delete(f"{URL}/{entry['id']}", headers=auth)

    by_address = list(csv.reader(io.StringIO(stoplist("audit", "export", "--address", "0048 500 000 001").stdout)))
    assert by_address[0][:3] == ["seq", "at", "op"]
    assert [(row[0], row[2], row[3]) for row in by_address[1:]] == [("1", "add", "48500000001"), ("3", "remove", "48500000001")]
    assert by_address[1][by_address[0].index("evidence")] == "STOP by SMS"

    since = list(csv.reader(io.StringIO(stoplist("audit", "export", "--since", "2000-01-01").stdout)))
    assert [row[0] for row in since[1:]] == ["1", "2", "3"]
    assert len(list(csv.reader(io.StringIO(stoplist("audit", "export", "--since", "2999-01-01").stdout)))) == 1


def test_export_needs_exactly_one_of_address_and_since(database):
    assert stoplist("audit", "export").exit_code == 2
    assert stoplist("audit", "export", "--address", "+48500000001", "--since", "2000-01-01").exit_code == 2
    assert stoplist("audit", "export", "--address", "nonsense").exit_code == 2


def test_a_command_on_a_database_that_is_not_migrated_says_so_instead_of_a_traceback(empty_database_url, monkeypatch):
    from stoplist import migrate
    from stoplist.config import get_settings

    monkeypatch.setenv("STOPLIST_DATABASE_URL", empty_database_url)
    get_settings.cache_clear()
    create_db_engine(empty_database_url).connect().close()  # there, without tables (SQLite: an empty file)
    try:
        for command in (("audit", "verify"), ("token", "list"), ("export", "out.csv")):
            result = stoplist(*command)
            assert result.exit_code == 1, (command, result.output)
            assert "has no tables yet: run `stoplist migrate`" in result.stderr and "Traceback" not in result.output
        migrate.upgrade(empty_database_url, "0011")
        behind = stoplist("audit", "verify")
        assert behind.exit_code == 1 and "is at revision 0011" in behind.stderr
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("command", [("audit", "verify"), ("audit", "export", "--since", "2000"), ("token", "list"), ("export", "-"), ("account", "create", "crm")])
def test_a_command_run_where_there_is_no_sqlite_database_says_where_it_looked_and_makes_no_file(command, tmp_path, monkeypatch):
    """Run from another directory, the default `sqlite:///var/stoplist.db` names a file that is not there: said, with its
    full path, and not made (opening it would leave an empty database behind, which `stoplist serve` would then use)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STOPLIST_DATABASE_URL", raising=False)
    result = stoplist_as_set(*command)

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: there is no database at {tmp_path / 'var' / 'stoplist.db'} (STOPLIST_DATABASE_URL=sqlite:///var/stoplist.db)")
    assert "`stoplist migrate`" in result.stderr and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", [("token", "list"), ("migrate",)])
def test_a_sqlite_file_name_longer_than_the_file_system_takes_is_one_line_not_a_traceback(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STOPLIST_DATABASE_URL", f"sqlite:///{'a' * 300}.db")
    result = stoplist_as_set(*command)

    assert result.exit_code == 1, result.output
    said = "there is no database at" if command == ("token", "list") else "cannot use the database"
    assert result.stderr.startswith(f"error: {said}") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output


def test_the_cli_exports_a_period_with_since_and_until_in_any_date_form(database, api):
    auth = bearer(database, "default")
    for number in ("+48500000001", "+48500000002"):
        assert api.post(URL, json={"phone_number": number}, headers=auth).status_code == 201

    def exported(*options: str) -> list[str]:
        result = stoplist("audit", "export", *options)
        assert result.exit_code == 0, result.output
        return [row[0] for row in csv.reader(io.StringIO(result.stdout))][1:]

    assert exported("--since", "2 hours ago") == ["1", "2"]
    assert exported("--until", "yesterday") == []
    assert exported("--since", "2000-01-01", "--until", "tomorrow") == ["1", "2"]
    assert exported("--until", "2999-01-01") == ["1", "2"]
    bad = stoplist("audit", "export", "--until", "whenever")
    assert bad.exit_code == 2 and "--until 'whenever' is not a date" in bad.stderr
    assert stoplist("audit", "export", "--address", "+48500000001", "--until", "2999-01-01").exit_code == 2
