"""`q` on SQLite from the trigram index (migration 0016, stoplist.lists.search): the same entries as the scan
(matching's LIKE alone) for any text and any addresses; the index equal to the table after every write path;
and the plans of the statements the code runs driven from the index, never a scan of the account's entries."""

import sqlite3
import string
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from sqlalchemy import delete, event, func, insert, make_url, select, update
from sqlalchemy.dialects import sqlite

from stoplist.audit.trail import SYSTEM, Origin
from stoplist.config import Settings
from stoplist.auth.repository import AuthRepository
from stoplist.db import create_db_engine, create_session_factory, transaction, utcnow
from stoplist.lists.addresses import EMAIL, PHONE
from stoplist.lists.models import Entry, List
from stoplist.lists.queries import EntryFilter, matching
from stoplist.lists.repository import EntryRepository
from stoplist.lists.schemas import EntryOrder
from stoplist.lists.search import SEARCH_INDEX, searched_entries
from stoplist.lists.writer import Change, EntryWriter, Row


@pytest.fixture
def backend(databases) -> str:
    """SQLite only: PostgreSQL has no such index (its pg_trgm index serves the same LIKE)."""
    databases.require("sqlite")
    return "sqlite"


@pytest.fixture
def settings(database_url) -> Settings:
    """The app's, with its worker polling often (an import runs in the test)."""
    return Settings(database_url=database_url, worker_poll_interval=0.02)


@pytest.fixture
def engine(database_url):
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


def _account(session_factory, name: str = "default") -> tuple[int, int]:
    """(account, its default list)."""
    now = utcnow()
    with transaction(session_factory) as session:
        account = AuthRepository(session).add_account(name, created_at=now).id
        return account, EntryWriter(session, Origin("api")).list_id(account_id=account, now=now)


def _ids(connection, where: EntryFilter, account: int, *, indexed: bool) -> set[int]:
    entries = searched_entries(where) if indexed else Entry.__table__
    return set(connection.scalars(select(Entry.id).select_from(entries).where(*matching(where, account_id=account, now=None))))


# --- the same answers as the scan -------------------------------------------------------------------

# What LIKE and the index may read differently: A-Z against other cases (É, İ, the Kelvin sign K, ß/ẞ),
# LIKE's wildcards and escape characters (% _ \ /), FTS5's quote and operators (" * ^ : ( ) -), a combining
# accent, a character beyond the BMP, white space; and digits.
_TEXT = string.digits + "aAbBzZ@.-+" + "%_\\/\"*^:() '" + "ÉéİiKkßẞ\u0301🛑\t"
_PHONE = st.text(string.digits, min_size=1, max_size=15)
_EMAILISH = st.text(_TEXT, min_size=1, max_size=14)


@st.composite
def _addresses_and_queries(draw):
    addresses = draw(st.lists(st.one_of(_PHONE, _EMAILISH), min_size=1, max_size=20, unique=True))
    queries = []
    for _ in range(4):
        source = draw(st.sampled_from(addresses))
        start = draw(st.integers(0, len(source) - 1))
        part = source[start : start + draw(st.integers(1, 7))]
        # A part of an address, in the case of its ASCII letters turned, or text of its own; of any length.
        queries.append(draw(st.one_of(st.just(part), st.just(part.swapcase()), st.just(part.upper()), _EMAILISH, _PHONE)))
    return addresses, queries


@pytest.fixture
def account_and_list(session_factory) -> tuple[int, int]:
    return _account(session_factory)


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_addresses_and_queries())
def test_q_from_the_index_finds_exactly_the_entries_the_scan_finds(account_and_list, engine, case):
    addresses, queries = case
    account, list_id = account_and_list
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(delete(Entry))
        connection.execute(insert(Entry), [
            {"account_id": account, "list_id": list_id, "address": address, "address_kind": PHONE if address.isdigit() else EMAIL,
             "reason": "manual", "source": "api", "created_at": now, "updated_at": now}
            for address in addresses
        ])
        for q in queries:
            where = EntryFilter(digits=q)
            assert _ids(connection, where, account, indexed=True) == _ids(connection, where, account, indexed=False), (q, addresses)


@pytest.mark.parametrize("q", ["1", "12", "é", "%_"])
def test_q_of_fewer_than_three_characters_scans(q):
    assert searched_entries(EntryFilter(digits=q)) is Entry.__table__


def test_q_of_three_characters_or_more_reads_the_index_and_joins_it_first():
    sql = str(select(func.count()).select_from(searched_entries(EntryFilter(digits="a\"*"))).compile(dialect=sqlite.dialect()))
    assert f"FROM {SEARCH_INDEX} CROSS JOIN blacklist_entries" in sql, sql


# --- every write path keeps the index equal to the table ---------------------------------------------


def _assert_in_step(database_url: str) -> int:
    """Fail unless the index holds exactly what one rebuilt from the table now would; answers the entries' count."""
    connection = sqlite3.connect(make_url(database_url).database, isolation_level=None)
    try:
        connection.execute("BEGIN")
        options = "content='blacklist_entries', content_rowid='id', tokenize='trigram', detail=none, columnsize=0"
        connection.execute(f"CREATE VIRTUAL TABLE rebuilt USING fts5(address, {options})")
        connection.execute("INSERT INTO rebuilt (rebuilt) VALUES ('rebuild')")
        connection.execute(f"CREATE VIRTUAL TABLE temp.kept USING fts5vocab(main, {SEARCH_INDEX}, instance)")
        connection.execute("CREATE VIRTUAL TABLE temp.made USING fts5vocab(main, rebuilt, instance)")
        kept, made = (set(connection.execute(f"SELECT term, doc FROM temp.{name}").fetchall()) for name in ("kept", "made"))
        connection.execute("ROLLBACK")
        entries = connection.execute("SELECT count(*) FROM blacklist_entries").fetchone()[0]
        assert kept == made, (sorted(kept - made)[:10], sorted(made - kept)[:10])
        # FTS5's own check of the index against the table (SQLITE_CORRUPT_VTAB, "malformed", where they differ).
        connection.execute(f"INSERT INTO {SEARCH_INDEX} ({SEARCH_INDEX}, rank) VALUES ('integrity-check', 1)")
    finally:
        connection.close()
    return entries


def test_every_write_path_keeps_the_index_equal_to_the_table(database_url, session_factory):
    account, default = _account(session_factory)
    now = utcnow()
    later = now + timedelta(seconds=5)
    api = Origin("api")

    def write(action):
        with transaction(session_factory) as session:
            writer = EntryWriter(session, api)
            result = action(writer, session)
            writer.wait()
        _assert_in_step(database_url)
        return result

    email = write(lambda writer, session: writer.list_id(account_id=account, channel="email", now=now))
    entry, _new = write(lambda w, s: w.add(account_id=account, list_id=default, change=Change(address="48500000001", address_kind=PHONE, source="api"), now=now))
    first = entry.id
    # An add that changes an entry in place, an edit in place, a move to another list, a move to another address.
    write(lambda w, s: w.add(account_id=account, list_id=default, change=Change(address="48500000001", address_kind=PHONE, source="api", note="again"), now=now))
    write(lambda w, s: w.edit(account_id=account, entry_id=first, change=Change(source="api", note="edited"), now=now))
    moved = write(lambda w, s: w.edit(account_id=account, entry_id=first, change=Change(source="api"), to_list_id=email, now=now)).entry_id
    replaced = write(lambda w, s: w.edit(account_id=account, entry_id=moved, change=Change(source="api", address="48600000002", address_kind=PHONE), now=now)).entry_id
    # A batch, an import (new entries, changed ones, a lapsed one listed anew), a restore.
    items = [(default, Change(address=f"4850000001{n}", address_kind=PHONE, source="api")) for n in range(5)]
    items += [(email, Change(address="jan.kowalski@example.com", address_kind=EMAIL, source="api", expire_at=now + timedelta(seconds=1)))]
    write(lambda w, s: w.add_each(account_id=account, items=items, now=now))
    rows = [Row(default, f"4850000002{n}", PHONE, None, None) for n in range(5)] + [Row(default, "48500000010", PHONE, None, "manual", "imported")]
    write(lambda w, s: w.upsert_many(account_id=account, rows=rows, source="import", now=now, per_write=2, background=True))
    write(lambda w, s: w.upsert_many(account_id=account, rows=[Row(email, "jan.kowalski@example.com", EMAIL, None, "manual")], source="import", now=later))
    restored = [Row(default, "48500000030", PHONE, None, "manual", created_at=now - timedelta(days=3), updated_at=now - timedelta(days=2), source="cli")]
    write(lambda w, s: w.upsert_many(account_id=account, rows=restored, source="import", now=now))
    # Deletes: by id, by address, by filter (by q, through the index itself, in batches of 2), all of a list.
    write(lambda w, s: w.delete_live(account_id=account, entry_id=replaced, now=now))
    write(lambda w, s: w.delete_address(account_id=account, list_id=default, address="48500000011", now=now))
    write(lambda w, s: w.delete_matching(account_id=account, where=EntryFilter(digits="500000002"), now=now, batch=2))
    # The expiry purge.
    write(lambda w, s: w.add(account_id=account, list_id=email, change=Change(address="ola@example.com", address_kind=EMAIL, source="api", expire_at=now + timedelta(seconds=1)), now=now))
    with transaction(session_factory) as session:
        assert EntryWriter(session, SYSTEM).purge_expired(now=later) == 1
    assert _assert_in_step(database_url) > 0
    write(lambda w, s: w.delete_all(account_id=account, list_id=default, now=now))
    # Behind the writer's back: a change of address (no write path makes one in place today), a cascade from a list.
    with transaction(session_factory) as session:
        session.execute(update(Entry).where(Entry.account_id == account).values(address=Entry.address + "9"))
    _assert_in_step(database_url)
    with transaction(session_factory) as session:
        session.execute(delete(List).where(List.id == email))
    assert _assert_in_step(database_url) == 0


def test_deleting_a_subuser_and_importing_through_the_api_keep_the_index_in_step(client, make_token, database_url):
    from tests.accounts.helpers import ALL, bearer, subuser
    from tests.api.helpers import IMPORTS, wait_for_import

    parent = bearer(make_token("parent", ALL))
    own = parent | {"Stoplist-Account": str(subuser(client, parent, "own-sub"))}
    for number in ("+48500000001", "+48500000002"):
        assert client.post("/blacklist/phone_numbers", json={"phone_number": number}, headers=own).status_code == 201
    upload = client.post(IMPORTS, content=b"+48500000003\n+48500000004\n", headers=parent | {"Content-Type": "text/csv"})
    assert upload.status_code == 202, upload.text
    assert wait_for_import(client, parent, upload.json()["id"])["status"] == "done"
    assert _assert_in_step(database_url) == 4

    assert client.delete(f"/accounts/subusers/{own['Stoplist-Account']}", headers=parent).status_code == 204
    assert _assert_in_step(database_url) == 2
    assert client.get("/blacklist/phone_numbers", params={"q": "0000"}, headers=parent).json()["size"] == 2


# --- the plans -------------------------------------------------------------------------------------


def test_every_search_of_the_code_is_driven_from_the_index(database_url, session_factory, engine):
    account, default = _account(session_factory)
    now = utcnow()
    with transaction(session_factory) as session:
        writer = EntryWriter(session, Origin("api"))
        writer.upsert_many(account_id=account, rows=[Row(default, f"485000{n:05d}", PHONE, None, None) for n in range(50)], source="import", now=now)
    seen: list[tuple[str, tuple]] = []

    def record(_connection, _cursor, statement, parameters, _context, _many):
        if "MATCH" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    where = EntryFilter(digits="50000")
    factory = create_session_factory(engine)
    with transaction(factory) as session:
        repository = EntryRepository(session)
        assert repository.count_found(account_id=account, now=now, where=where) == 50
        assert len(repository.find(account_id=account, now=now, where=where, order=EntryOrder.created_at_desc, limit=10)) == 10
        for statement in (
            repository.smsapi_export(account_id=account, now=now, where=where, order=EntryOrder.created_at_desc, offset=0, limit=None),
            repository.native_export(account_id=account, now=now, where=where),
        ):
            session.execute(statement).all()
        assert EntryWriter(session, Origin("api")).delete_matching(account_id=account, where=where, now=now) == 50

    assert len(seen) == 6  # the count, the page, two exports, two batches of the delete (the last one finds none)
    connection = sqlite3.connect(make_url(database_url).database)
    try:
        for statement, parameters in seen:
            plan = [row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()]
            # The index's matches, then each one's entry by id (a delete then takes those ids, by id too);
            # never a walk of the entries or of one of their indexes.
            at = next(index for index, step in enumerate(plan) if step.startswith(f"SCAN {SEARCH_INDEX} VIRTUAL TABLE"))
            assert plan[at + 1] == "SEARCH blacklist_entries USING INTEGER PRIMARY KEY (rowid=?)", plan
            entries = [step for step in plan if step.split()[:2] in (["SCAN", "blacklist_entries"], ["SEARCH", "blacklist_entries"])]
            assert set(entries) == {"SEARCH blacklist_entries USING INTEGER PRIMARY KEY (rowid=?)"}, plan
    finally:
        connection.close()


def test_a_page_from_the_index_is_the_scans_page_in_every_order_offset_and_cursor(session_factory, monkeypatch):
    account, default = _account(session_factory)
    now = utcnow()
    with transaction(session_factory) as session:
        writer = EntryWriter(session, Origin("api"))
        sms = writer.list_id(account_id=account, channel="sms", now=now)
        rows = [Row(list_id, f"4850{n % 7}{n:05d}", PHONE, now + timedelta(days=n % 3) if n % 4 else None, None) for n in range(40) for list_id in (default, sms)]
        writer.upsert_many(account_id=account, rows=rows, source="import", now=now)

    def pages(**kw):
        with session_factory() as session:
            repository = EntryRepository(session)
            return [
                repository.find(account_id=account, now=now, where=EntryFilter(digits="850"), order=order, limit=7, **kw)
                for order in EntryOrder
            ]

    for kw in ({}, {"offset": 5}, {"offset": 55}):  # of the 60 live entries
        indexed = pages(**kw)
        with monkeypatch.context() as patched:
            patched.setattr("stoplist.lists.repository.searched_entries", lambda where: Entry.__table__)
            scanned = pages(**kw)
        assert indexed == scanned and any(indexed)
    with session_factory() as session:
        repository = EntryRepository(session)
        for order in EntryOrder:
            first = repository.find(account_id=account, now=now, where=EntryFilter(digits="850"), order=order, limit=7)
            after = repository.find(account_id=account, now=now, where=EntryFilter(digits="850"), order=order, limit=7, after=first[-1].key)
            whole = repository.find(account_id=account, now=now, where=EntryFilter(digits="850"), order=order, limit=14)
            assert first + after == whole


def test_a_batch_writes_the_index_once_whatever_the_order_of_its_addresses(database_url, session_factory):
    """FTS5 writes out what it holds whenever a rowid comes below the last one: inserted in key order, a
    batch of new entries in any other order wrote the index piece by piece (a segment, and merges, every
    second entry: ~15 ms more for 1,000 on a list of 1,000,000). In id order, a few pages in all."""
    account, default = _account(session_factory)
    now = utcnow()
    addresses = [f"48{(n * 7_919) % 1_000:03d}{n:06d}" for n in range(400)]  # neither in key order nor against it
    assert addresses != sorted(addresses) and addresses != sorted(addresses, reverse=True)
    connection = sqlite3.connect(make_url(database_url).database, isolation_level=None)
    writes: list[str] = []
    try:
        before = connection.execute(f"SELECT count(*) FROM {SEARCH_INDEX}_data").fetchone()[0]
        with transaction(session_factory) as session:
            driver = session.connection().connection.driver_connection
            driver.set_trace_callback(lambda statement: writes.append(statement) if f"{SEARCH_INDEX}_data" in statement else None)
            items = [(default, Change(address=address, address_kind=PHONE, source="api")) for address in addresses]
            EntryWriter(session, Origin("api")).add_each(account_id=account, items=items, now=now)
            driver.set_trace_callback(None)
        after = connection.execute(f"SELECT count(*) FROM {SEARCH_INDEX}_data").fetchone()[0]
    finally:
        connection.close()
    # A handful of the index's pages written in all (4 here), not some for every second entry (245 here in key order).
    assert len(writes) <= 10, (len(writes), writes[:3])
    assert after - before <= 3, (before, after)
    assert _assert_in_step(database_url) == 400
