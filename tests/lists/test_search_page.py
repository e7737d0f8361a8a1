"""A search's count and page in one statement (EntryRepository.search_page, through count_and_find): the same
size and the same page as counting and paging apart, for any entries, `q`, scope, order, offset, limit and
cursor, on both databases; on PostgreSQL, past SEARCH_KEPT_POSTGRESQL matches, counting and paging apart; and on
SQLite, past WALK_FROM rows of the index, the page read along the order's index (walk_page), or from the search
index when the walk gives up."""

import functools
import sqlite3
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from sqlalchemy import event, make_url, select

from stoplist.audit.trail import Origin
from stoplist.auth.repository import AuthRepository
from stoplist.db import transaction, utcnow
from stoplist.lists import repository as repository_module
from stoplist.lists.addresses import EMAIL, PHONE
from stoplist.lists.models import Entry
from stoplist.lists.queries import EntryFilter, order_by
from stoplist.lists.repository import EntryRepository
from stoplist.lists.schemas import EntryOrder
from stoplist.lists.writer import EntryWriter, Row

NOW = utcnow()


@pytest.fixture
def listed(session_factory):
    """An account with 60 entries over two lists: numbers sharing digits, a few e-mail addresses, some expiring
    later and some lapsed (which no listing shows), created and changed at different moments. (account, lists)."""
    with transaction(session_factory) as session:
        account = AuthRepository(session).add_account("default", created_at=NOW).id
        writer = EntryWriter(session, Origin("api"))
        lists = (writer.list_id(account_id=account, now=NOW), writer.list_id(account_id=account, channel="sms", now=NOW))
        rows = [
            Row(
                lists[n % 2], f"4850{n % 7}{n:05d}" if n % 10 else f"jan{n}@example.com", PHONE if n % 10 else EMAIL,
                None if n % 4 == 0 else NOW + timedelta(days=n % 3) if n % 5 else NOW - timedelta(days=1), None,
                created_at=NOW - timedelta(minutes=n % 9), updated_at=NOW - timedelta(minutes=n % 4),
            )
            for n in range(60)
        ]
        writer.upsert_many(account_id=account, rows=rows, source="import", now=NOW)
    return account, lists


# Text most entries hold (so that a cursor falls among them), text a few hold, and text of its own.
_COMMON = st.sampled_from(["850", "4850", "85", "0", "00", "jan", "JAN", "@example", "n1"])
_DIGITS = st.text("0123456789", min_size=1, max_size=6)
_TEXT = st.sampled_from(["xyz", "%", "_", "50%"])


@hypothesis_settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    q=st.one_of(_COMMON, _COMMON, _DIGITS, _TEXT), order=st.sampled_from(list(EntryOrder)), which_list=st.sampled_from([None, 0, 1]),
    kind=st.sampled_from([None, PHONE, EMAIL]), offset=st.integers(0, 70), limit=st.integers(1, 25), cursor_at=st.none() | st.integers(0, 12),
    kept=st.sampled_from([1000, 3, 0]), walk_from=st.sampled_from([20_000, 0]), walk_first=st.sampled_from([16, 1]), per_match=st.sampled_from([4, 1]),
)
def test_one_statement_answers_what_counting_and_paging_apart_answer(
    session_factory, listed, monkeypatch, q, order, which_list, kind, offset, limit, cursor_at, kept, walk_from, walk_first, per_match
):
    account, lists = listed
    monkeypatch.setattr(repository_module, "SEARCH_KEPT_POSTGRESQL", kept)
    # SQLite: a walk for every text of three characters, in steps of one entry per entry of the page, giving up early or late.
    monkeypatch.setattr(repository_module, "WALK_FROM", walk_from)
    monkeypatch.setattr(repository_module, "WALK_FIRST", walk_first)
    monkeypatch.setattr(repository_module, "WALK_PER_MATCH", per_match)
    where = EntryFilter(digits=q, list_id=None if which_list is None else lists[which_list], address_kind=kind)
    with session_factory() as session:
        repository = EntryRepository(session)
        after = None
        if cursor_at is not None:
            everything = repository.find(account_id=account, now=NOW, where=where, order=order, limit=100)
            after = everything[cursor_at].key if cursor_at < len(everything) else None
        size = repository.count_found(account_id=account, now=NOW, where=where)
        page = repository.find(account_id=account, now=NOW, where=where, order=order, after=after, offset=offset, limit=limit)
        assert repository.count_and_find(account_id=account, now=NOW, where=where, order=order, after=after, offset=offset, limit=limit) == (size, page)


def test_a_search_counts_and_pages_in_one_statement(session_factory, listed, backend):
    """One statement, not two, for a search from an index (PostgreSQL: of up to SEARCH_KEPT_POSTGRESQL matches); a listing
    without q, or SQLite's search of fewer than three characters, counts and pages apart."""
    account, _lists = listed
    engine = session_factory.kw["bind"]
    seen: list[str] = []

    def record(_connection, _cursor, statement, _parameters, _context, _many):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with session_factory() as session:
            repository = EntryRepository(session)
            size, page = repository.count_and_find(account_id=account, now=NOW, where=EntryFilter(digits="4850"), order=EntryOrder.created_at_desc, limit=5)
            assert (size, len(page)) == (repository.count_found(account_id=account, now=NOW, where=EntryFilter(digits="4850")), 5) and size > 5
            searched = len(seen) - 1  # the count just made to compare
            seen.clear()
            # Three characters, one trigram: SQLite first counts the index's rows for it (fewer than WALK_FROM here).
            repository.count_and_find(account_id=account, now=NOW, where=EntryFilter(digits="850"), order=EntryOrder.created_at_desc, limit=5)
            assert len(seen) == (2 if backend == "sqlite" else 1)
            seen.clear()
            repository.count_and_find(account_id=account, now=NOW, where=EntryFilter(address_kind=PHONE), order=EntryOrder.created_at_desc, limit=5)
            assert (searched, len(seen)) == (1, 2)
            seen.clear()
            # Two characters: SQLite scans, and the page alone stops after `limit` in the order's index; PostgreSQL
            # keeps at most SEARCH_KEPT_POSTGRESQL matches.
            repository.count_and_find(account_id=account, now=NOW, where=EntryFilter(digits="85"), order=EntryOrder.created_at_desc, limit=5)
            assert len(seen) == (2 if backend == "sqlite" else 1)
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_postgresql_counts_and_pages_apart_past_the_matches_it_keeps(session_factory, listed, backend, monkeypatch):
    if backend != "postgresql":
        pytest.skip("SQLite keeps every match: counting them apart reads each twice")
    account, _lists = listed
    monkeypatch.setattr(repository_module, "SEARCH_KEPT_POSTGRESQL", 3)
    with session_factory() as session:
        repository = EntryRepository(session)
        where = EntryFilter(digits="850")
        assert repository.search_page(account_id=account, now=NOW, where=where, order=EntryOrder.id, limit=5) is None
        size, page = repository.count_and_find(account_id=account, now=NOW, where=where, order=EntryOrder.id, limit=5)
        assert size == repository.count_found(account_id=account, now=NOW, where=where) > 3 and len(page) == 5


def _statements(engine):
    seen: list[tuple[str, tuple]] = []

    def record(_connection, _cursor, statement, parameters, _context, _many):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("order", sorted(repository_module.WALKS))
def test_sqlite_walks_the_orders_index_for_a_text_the_index_holds_often(session_factory, listed, backend, monkeypatch, order):
    """Past WALK_FROM rows of the index, the page comes from the order's index, in order, without the search index
    and without sorting; when the first entries do not hold it, from the search index as before: the same page."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL's planner walks an index by itself")
    account, _lists = listed
    engine = session_factory.kw["bind"]
    monkeypatch.setattr(repository_module, "WALK_FROM", 0)
    where = EntryFilter(digits="850")
    seen, stop = _statements(engine)
    try:
        with session_factory() as session:
            repository = EntryRepository(session)
            size, page = repository.count_and_find(account_id=account, now=NOW, where=where, order=order, offset=2, limit=5)
            walked = [(statement, parameters) for statement, parameters in seen if "ORDER BY" in statement and "LIMIT" in statement]
            # The index's rows for the text, then the count: the page is no search of the index.
            assert sum("MATCH" in statement for statement, _parameters in seen) == 2 and walked
            seen.clear()
            assert (size, page) == (repository.count_found(account_id=account, now=NOW, where=where),
                                    repository.find(account_id=account, now=NOW, where=where, order=order, offset=2, limit=5))
            assert len(page) == 5
            # The walk reads the account's entries in order (every list's, lapsed ones too) up to the page's last entry
            # and no further: one entry fewer, and it gives up (then the page is the search index's).
            everything = session.scalars(select(Entry.id).where(Entry.account_id == account).order_by(*order_by(order))).all()
            reach = everything.index(page[-1].entry[3]) + 1
            walk = functools.partial(repository.walk_page, account_id=account, now=NOW, where=where, order=order, offset=2, limit=5)
            assert (walk(most=reach), walk(most=reach - 1), walk(most=1)) == (page, None, None)
            monkeypatch.setattr(repository_module, "WALK_PER_MATCH", 0)
            assert repository.count_and_find(account_id=account, now=NOW, where=where, order=order, offset=2, limit=5) == (size, page)
    finally:
        stop()
    connection = sqlite3.connect(make_url(str(engine.url)).database)
    try:
        for statement, parameters in walked:
            assert "MATCH" not in statement
            plan = [row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()]
            assert not any("TEMP B-TREE" in step for step in plan), plan
            assert any(step.startswith("SEARCH blacklist_entries USING") for step in plan), plan
    finally:
        connection.close()
