"""Migration 0005 with data in it, on SQLite and on PostgreSQL: every entry moves onto its account's
default list unchanged, comes back exactly on the way down, and the way down refuses (changing
nothing) while an entry sits where revision 0004 could not hold it."""

from datetime import datetime

import pytest
from sqlalchemy import text

from stoplist import migrate
from stoplist.db import create_db_engine

ACCOUNTS = [(1, "alice"), (2, "bob"), (3, "empty")]
# (id, account_id, phone_number, expire_at, created_at): live, expired and never expiring, on two accounts.
ENTRIES = [
    (1, 1, "48500000001", None, datetime(2026, 1, 2, 3, 4, 5)),
    (2, 1, "48500000002", datetime(2099, 12, 1), datetime(2026, 2, 1)),
    (3, 1, "48500000003", datetime(2021, 6, 1, 12), datetime(2021, 1, 1)),
    (5, 2, "48500000001", datetime(2020, 1, 1), datetime(2019, 5, 5, 23, 59, 59)),
    (9, 2, "12025550123", None, datetime(2026, 11, 25, 10)),
]


def _stamp(moment: datetime | None, dialect: str):
    """An entry timestamp as revision 0004 stores it: RFC 3339 text on SQLite, naive UTC on PostgreSQL."""
    if moment is None or dialect != "sqlite":
        return moment
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _run(url: str, sql: str, rows: list[dict] | None = None) -> list[tuple]:
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql), rows or {})
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def _dialect(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


@pytest.fixture
def at_0004(empty_database_url: str) -> str:
    """A database at revision 0004 holding ACCOUNTS and ENTRIES, written with raw SQL as 0004 knew them."""
    url = empty_database_url
    migrate.upgrade(url, "0004")
    dialect = _dialect(url)
    created = "2026-01-01 00:00:00" if dialect == "sqlite" else datetime(2026, 1, 1)
    _run(url, "INSERT INTO accounts (id, name, created_at) VALUES (:id, :name, :created)", [{"id": i, "name": n, "created": created} for i, n in ACCOUNTS])
    _run(
        url,
        "INSERT INTO blacklist_entries (id, account_id, phone_number, expire_at, created_at) VALUES (:id, :account, :number, :expire, :created)",
        [{"id": i, "account": a, "number": n, "expire": _stamp(e, dialect), "created": _stamp(c, dialect)} for i, a, n, e, c in ENTRIES],
    )
    if dialect == "postgresql":
        # Rows given their ids by hand leave the sequences behind; a real database's are past them.
        for table in ("accounts", "blacklist_entries"):
            _run(url, f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    return url


def _old_rows(url: str) -> list[tuple]:
    return _run(url, "SELECT id, account_id, phone_number, expire_at, created_at FROM blacklist_entries ORDER BY id")


def _new_rows(url: str) -> list[tuple]:
    return _run(
        url,
        "SELECT e.id, e.account_id, e.address, e.expire_at, e.created_at, e.updated_at, e.address_kind, e.reason, e.note, e.source,"
        " l.account_id, l.kind, l.channel, l.sender FROM blacklist_entries e JOIN lists l ON l.id = e.list_id ORDER BY e.id",
    )


def test_every_entry_moves_onto_its_accounts_default_list_and_back_exactly(at_0004: str):
    url = at_0004
    before = _old_rows(url)
    dialect = _dialect(url)
    assert [row[0] for row in before] == [entry[0] for entry in ENTRIES]

    migrate.upgrade(url)

    assert migrate.current_revision(url) == migrate.head_revision(url)
    moved = _new_rows(url)
    assert moved == [
        (i, a, n, _stamp(e, dialect), _stamp(c, dialect), _stamp(c, dialect), "phone", "manual", None, "api", a, "block", "", "")
        for i, a, n, e, c in ENTRIES
    ]
    # One default list per account, the account without entries too, and no other list.
    assert sorted(_run(url, "SELECT account_id, kind, channel, sender FROM lists")) == [(a, "block", "", "") for a, _ in ACCOUNTS]

    migrate.downgrade(url, "0004")

    assert migrate.current_revision(url) == "0004"
    assert _old_rows(url) == before
    assert "lists" not in _tables(url)

    migrate.upgrade(url)
    assert _new_rows(url) == moved
    # Ids keep counting past the moved entries: a new entry never takes an old one's id.
    _insert_entry(url, account_id=1, address="48500000099", kind="phone", scope=("block", "", ""))
    assert max(row[0] for row in _new_rows(url)) > max(entry[0] for entry in ENTRIES)


def _tables(url: str) -> set[str]:
    if _dialect(url) == "sqlite":
        return {row[0] for row in _run(url, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {row[0] for row in _run(url, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}


def _insert_entry(url: str, *, account_id: int, address: str, kind: str, scope: tuple[str, str, str]) -> None:
    """An entry on a list of that scope (created if missing), written with raw SQL at head."""
    dialect = _dialect(url)
    now = _stamp(datetime(2026, 12, 1), dialect)
    params = {"account": account_id, "kind": scope[0], "channel": scope[1], "sender": scope[2], "now": now, "address": address, "address_kind": kind}
    exists = _run(url, "SELECT id FROM lists WHERE account_id = :account AND kind = :kind AND channel = :channel AND sender = :sender", [params])
    if not exists:
        _run(url, "INSERT INTO lists (account_id, kind, channel, sender, created_at) VALUES (:account, :kind, :channel, :sender, :now)", [params])
    _run(
        url,
        "INSERT INTO blacklist_entries (account_id, list_id, address, address_kind, reason, source, created_at, updated_at)"
        " SELECT :account, id, :address, :address_kind, 'manual', 'api', :now, :now FROM lists"
        " WHERE account_id = :account AND kind = :kind AND channel = :channel AND sender = :sender",
        [params],
    )


@pytest.mark.parametrize(
    ("address", "kind", "scope"),
    [
        ("48500000001", "phone", ("block", "whatsapp", "ACME")),
        ("48500000007", "phone", ("allow", "", "")),
        ("48500000007", "phone", ("block", "sms", "")),
        ("jan@example.com", "email", ("block", "", "")),
    ],
)
def test_the_way_down_refuses_and_changes_nothing_while_an_entry_is_beyond_0004(at_0004: str, address, kind, scope):
    url = at_0004
    migrate.upgrade(url, "0005")
    _insert_entry(url, account_id=2, address=address, kind=kind, scope=scope)
    before = _new_rows(url)
    lists = sorted(_run(url, "SELECT id, account_id, kind, channel, sender FROM lists"))

    with pytest.raises(RuntimeError, match="0004 cannot hold them"):
        migrate.downgrade(url, "0004")

    assert migrate.current_revision(url) == "0005"
    assert _new_rows(url) == before
    assert sorted(_run(url, "SELECT id, account_id, kind, channel, sender FROM lists")) == lists

    # Once that entry is gone, the way down works and keeps the rest.
    # (The newest entry is the one put there above.)
    _run(url, "DELETE FROM blacklist_entries WHERE id = (SELECT max(id) FROM blacklist_entries)")
    migrate.downgrade(url, "0004")
    assert [row[0] for row in _old_rows(url)] == [entry[0] for entry in ENTRIES]
