"""`q` on SQLite from a trigram index: the FTS5 table that migration 0016 makes, and the FROM of a search;
and, on both databases, the statement that counts a search's matches and takes its page at once (counted_page).

`q` means what `queries.matching` says (LIKE '%text%', A-Z in any case), on both databases. PostgreSQL
answers it from its pg_trgm index as it stands. On SQLite the index is an FTS5 table over the entries'
addresses (tokenizer `trigram`, every three consecutive characters; external content: it stores no
address of its own; `detail=none`: rowids only, the cheapest to keep), which triggers keep in step with
`blacklist_entries` on every insert, delete and change of address, in the writing transaction.

A search of three characters or more reads the rowids holding every trigram of the text first, then
their entries, on which matching's own conditions (LIKE included) still decide: the index only narrows
the rows, so the answer is the scan's, whatever it folds (it folds case beyond A-Z, and an entry holding
the trigrams apart passes it too). Shorter text has no trigram: it scans, as before.
"""

from sqlalchemy import Integer, Select, column, func, select, table, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.selectable import Join

from stoplist.lists.models import Entry, List
from stoplist.lists.queries import ENTRY_COLUMNS, ORDERS, EntryFilter, beyond, order_by
from stoplist.lists.schemas import EntryOrder

# The FTS5 table (FTS5 keeps it in SEARCH_INDEX_data, _idx and _config beside it).
SEARCH_INDEX = "blacklist_entries_fts"
TRIGRAM = 3
_index = table(SEARCH_INDEX, column("rowid", Integer), column(SEARCH_INDEX))


def is_search_index_table(name: str) -> bool:
    """Whether a table is the search index or one FTS5 keeps for it (which the models do not declare)."""
    return name == SEARCH_INDEX or name.startswith(f"{SEARCH_INDEX}_")


def trigram_query(text: str) -> str:
    """The FTS5 query that matches the rows holding every trigram of `text` (at least TRIGRAM characters).

    One phrase per trigram, ANDed: a phrase of several tokens, which would also keep them in order, needs
    `detail=full`, whose positions cost half as much again per row written (2.5 µs against 1.7 on a million)."""
    trigrams = dict.fromkeys(text[start : start + TRIGRAM] for start in range(len(text) - TRIGRAM + 1))
    return " AND ".join('"' + trigram.replace('"', '""') + '"' for trigram in trigrams)


class _Searched(Join):
    """The entries whose addresses hold every trigram of a text, joined to the index's matches."""

    inherit_cache = True


def indexed(where: EntryFilter) -> bool:
    """Whether `where` searches (`where.digits`, a `q`) with text of TRIGRAM characters or more: one the index answers."""
    return where.digits is not None and len(where.digits) >= TRIGRAM


def searched_entries(where: EntryFilter) -> FromClause:
    """What a query of the entries `where` selects (with queries.matching) reads FROM: on SQLite, for a `q`
    (`where.digits`) of TRIGRAM characters or more, the index's matches, then their entries; otherwise the entries."""
    if not indexed(where):
        return Entry.__table__
    matches = _index.c[SEARCH_INDEX].match(trigram_query(where.digits))
    return _Searched(_index, Entry.__table__, (Entry.id == _index.c.rowid) & matches)


def kept_columns(order: EntryOrder) -> list:
    """What counted_page keeps of each match: its id and its key in `order`."""
    return list({column.key: column for column in (Entry.id, *(key.column for key in ORDERS[order]))}.values())


def counted_page(kept: Select, order: EntryOrder, *, after: tuple | None, offset, limit) -> Select:
    """A search's count and page in one statement, from `kept` (the matches' kept_columns): the matches are read
    once and kept (MATERIALIZED), then counted and sorted for the page, and only the page's entries are read whole.
    Its rows: ENTRY_COLUMNS, the order's key, `place` in the page and `size`; an empty page is one row, `place` null.
    `offset` and `limit` are values or bound parameters."""
    matches = kept.cte("matches").prefix_with("MATERIALIZED")
    ordered = order_by(order, on=matches.c)
    page = select(matches.c.id, func.row_number().over(order_by=ordered).label("place")).order_by(*ordered)
    if after is not None:
        page = page.where(beyond(order, after, on=matches.c))
    page = page.limit(limit).offset(offset).subquery("page")
    size = select(func.count().label("size")).select_from(matches).subquery("size")
    # Every match's count, and beside it the page's entries, if any (a LEFT JOIN: the count comes without them).
    shown = Entry.__table__.join(page, page.c.id == Entry.id).join(List, List.id == Entry.list_id)
    keys = [key.column for key in ORDERS[order]]
    return select(*ENTRY_COLUMNS, *keys, page.c.place, size.c.size).select_from(size.outerjoin(shown, true())).order_by(page.c.place)


def one_trigram(where: EntryFilter) -> bool:
    """Whether `where` searches text of exactly TRIGRAM characters: one list of rowids in the index."""
    return where.digits is not None and len(where.digits) == TRIGRAM


def index_matches(where: EntryFilter) -> Select:
    """How many rows of the index hold every trigram of `where.digits` (an indexed() search), of every account: an upper
    bound of the matches, read from the index alone."""
    return select(func.count()).select_from(_index).where(_index.c[SEARCH_INDEX].match(trigram_query(where.digits)))


@compiles(_Searched)
def _entries_alone(element: _Searched, compiler, asfrom=True, **kw) -> str:
    # PostgreSQL: its trigram index serves matching's ILIKE by itself.
    return compiler.process(element.right, asfrom=True, **kw)


@compiles(_Searched, "sqlite")
def _index_first(element: _Searched, compiler, asfrom=True, from_linter=None, **kw) -> str:
    # CROSS JOIN: SQLite's planner keeps its left table outer. Otherwise it walks an index of the
    # account's entries (in the order asked for, or to count) and probes the FTS table per entry, or
    # tests `id IN (matches)` per entry: a scan of every entry, 100-400 ms on a million.
    if from_linter is not None:
        from_linter.edges.add((element.left, element.right))
    return (
        f"{compiler.process(element.left, asfrom=True, from_linter=from_linter, **kw)} CROSS JOIN "
        f"{compiler.process(element.right, asfrom=True, from_linter=from_linter, **kw)} "
        f"ON {compiler.process(element.onclause, from_linter=from_linter, **kw)}"
    )
