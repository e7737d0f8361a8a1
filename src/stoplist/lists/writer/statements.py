"""The statements of the writer's bulk path, built once from the models and compiled per dialect
(stoplist.db.raw), and the one JSON text a bulk write hands them."""

import functools
from collections.abc import Callable
from datetime import datetime
from operator import attrgetter, itemgetter

from sqlalchemy import BigInteger, DateTime, String, Text, bindparam, cast, column, delete, func, literal_column, select, table, true
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import JSONB, REGCLASS

from stoplist.db import rows_json, sqlite_json_rows, sqlite_stamp
from stoplist.lists.models import Entry

# The entries' unique key, on which an upsert arbitrates.
_KEY = [Entry.account_id, Entry.address, Entry.list_id]


def rows_json_of(part: list[tuple], stamp: Callable[[datetime], str], *, restored: bool) -> str:
    """_json_rows' one JSON text for (id, Row, reason, note) rows. With `restored` (new entries), when a row
    carries its created_at, updated_at or source, every row goes on with those three (null: the write's)."""
    if restored and any(map(_UNRECORDED.__ne__, map(_RECORDED, map(_ROW, part)))):
        return rows_json([
            (entry_id, row.list_id, row.address, row.address_kind, reason, note, None if row.expire_at is None else stamp(row.expire_at), row.address_display,
             None if row.created_at is None else stamp(row.created_at), None if row.updated_at is None else stamp(row.updated_at), row.source)
            for entry_id, row, reason, note in part
        ])
    return rows_json([
        (entry_id, row.list_id, row.address, row.address_kind, reason, note, None if row.expire_at is None else stamp(row.expire_at), row.address_display)
        for entry_id, row, reason, note in part
    ])


# Whether a part's rows carry a restore's times or source, asked in C (a test per row in Python cost an import of a million 0.3 s).
_ROW, _RECORDED, _UNRECORDED = itemgetter(1), attrgetter("created_at", "updated_at", "source"), (None, None, None)


# sqlite_stamp, remembered: an import formats the same few expiries again and again.
sqlite_stamp_cached = functools.lru_cache(maxsize=4096)(sqlite_stamp)


def _on_conflict(statement):
    """An import's write of a live entry: it takes the new expiry, reason, note and source, and keeps its created_at."""
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=_KEY,
        set_={"expire_at": excluded.expire_at, "reason": excluded.reason, "note": excluded.note, "source": excluded.source, "updated_at": excluded.updated_at},
    )


def delete_ids_statement(dialect):
    """The account's entries whose ids one JSON array lists (the lapsed entries an import lists anew)."""
    if dialect is sqlite:
        ids, value = sqlite_json_rows("ids")
        wanted = select(ids.c.value)
    else:
        wanted = select(cast(func.jsonb_array_elements_text(cast(bindparam("ids", type_=Text), JSONB)), BigInteger))
    return delete(Entry).where(Entry.account_id == bindparam("account_id"), Entry.id.in_(wanted))


COLUMNS = ("account_id", "list_id", "address", "address_kind", "reason", "note", "source", "expire_at", "created_at", "updated_at", "address_display")
# New entries on PostgreSQL, with their reserved ids (a table and its columns: there is no query to compile).
COPY = f"COPY {Entry.__tablename__} (id, {', '.join(COLUMNS)}) FROM STDIN"


def largest_id():
    """SQLite: the largest entry id ever given, which AUTOINCREMENT keeps in sqlite_sequence."""
    sequence = table("sqlite_sequence", column("name"), column("seq"))
    given = select(sequence.c.seq).where(sequence.c.name == literal_column(f"'{Entry.__tablename__}'")).scalar_subquery()
    zero = literal_column("0")
    return select(func.max(func.coalesce(given, zero), select(func.coalesce(func.max(Entry.id), zero)).scalar_subquery()))


def id_sequence():
    """PostgreSQL: the name of the entries' id sequence."""
    return select(func.pg_get_serial_sequence(literal_column(f"'{Entry.__tablename__}'"), literal_column("'id'")))


def reserved_ids():
    """PostgreSQL: `count` ids from the sequence named `sequence` (looked up per row, the name
    would cost six times what the ids do)."""
    sequence = cast(bindparam("sequence", type_=Text), REGCLASS)
    return select(func.nextval(sequence)).select_from(func.generate_series(literal_column("1"), bindparam("count", type_=BigInteger)))


def _json_rows(dialect):
    """The rows of a bulk insert or upsert, from one JSON array of [id, list_id, address,
    address_kind, reason, note, expire_at, address_display] rows, in the array's order (the caller's:
    key order). A row may go on with [created_at, updated_at, source] (a restore's): a missing or null
    one is `now`, or the write's `source`.

    One JSON text, not a parameter per value: psycopg writes array parameters element by element
    in Python (14% of the server's time on an import, py-spy), json.dumps in C; and sqlite3 runs
    the whole statement as one step (see EntryWriter._write_entries)."""
    if dialect is sqlite:
        rows, value = sqlite_json_rows()

        def field(index: int, _type):
            return value(index)
    else:
        # Read as jsonb, which PostgreSQL parses once per statement rather than once per field taken out.
        rows = func.jsonb_array_elements(cast(bindparam("rows", type_=Text), JSONB)).table_valued("value").render_derived(name="n")

        def field(index: int, type_):
            return cast(rows.c.value.op("->>")(literal_column(str(index))), type_)

    now = bindparam("now", type_=DateTime)
    source = select(
        field(0, BigInteger), bindparam("account_id", type_=BigInteger), field(1, BigInteger), field(2, String), field(3, String),
        field(4, String), field(5, String), func.coalesce(field(10, String), bindparam("source", type_=String)), field(6, DateTime),
        func.coalesce(field(8, DateTime), now), func.coalesce(field(9, DateTime), now), field(7, String),
    )
    # SQLite reads the ON CONFLICT of an INSERT ... SELECT as the SELECT's join clause unless the SELECT has a WHERE.
    return dialect.insert(Entry).from_select(["id", *COLUMNS], source.where(true()) if dialect is sqlite else source)


def insert_json_statement():
    """New entries on SQLite (PostgreSQL copies them in)."""
    return _json_rows(sqlite)


def upsert_json_statement(dialect):
    return _on_conflict(_json_rows(dialect))
