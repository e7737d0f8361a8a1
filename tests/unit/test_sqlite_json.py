"""Rows handed to SQLite's JSON functions: what they cannot carry is refused, never cut short."""

import json
import sqlite3

import pytest

from stoplist.db import require_json_functions, rows_json


def stored(text: str) -> list:
    """What SQLite's json_each and json_extract make of `text`, as a bulk write reads it."""
    with sqlite3.connect(":memory:") as connection:
        return [row[0] for row in connection.execute("SELECT json_extract(value, '$[0]') FROM json_each(?)", (text,))]


@pytest.mark.parametrize("value", ["48500000001", 'a "quoted" \\ note', "Zażółć ✉ 🛑", "line\nbreak\ttab", "text \\u0000 that merely looks escaped", "\\\\u0000"])
def test_every_other_text_reaches_sqlite_whole(value):
    assert stored(rows_json([[value]])) == [value]


@pytest.mark.parametrize("value", ["nul \x00 inside", "\x00", "\\\x00"])
def test_a_nul_is_refused_before_sqlite_would_end_the_text_there(value):
    with pytest.raises(ValueError, match="NUL"):
        rows_json([[value]])


def test_without_json_functions_sqlite_is_refused_with_the_version_to_upgrade():
    class OldSqlite:
        def execute(self, _sql):
            raise sqlite3.OperationalError("no such function: json_each")

    with pytest.raises(RuntimeError, match=rf"SQLite's JSON functions .* SQLite {sqlite3.sqlite_version}"):
        require_json_functions(OldSqlite())


def test_this_pythons_sqlite_has_them():
    with sqlite3.connect(":memory:") as connection:
        require_json_functions(connection.cursor())


@pytest.mark.parametrize(
    "rows",
    [[(1, "48500000001", None, "Zażółć\u2028", 2**63 - 1)], [(2**64, "beyond 64 bits")], [("unpaired \ud800",)]],
    ids=["plain", "big-int", "lone-surrogate"],
)
def test_rows_are_the_json_text_of_their_values_whoever_writes_it(rows):
    # orjson writes most; json what orjson refuses. Either way the same values.
    assert json.loads(rows_json(rows)) == [list(row) for row in rows]
