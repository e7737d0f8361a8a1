"""`q` on SQLite from an index: an FTS5 trigram table over the entries' addresses, kept in step by triggers.

`q` (part of an address) scanned every entry of the account on SQLite (LIKE '%text%': 200-430 ms on a
million). `blacklist_entries_fts` indexes every three consecutive characters of each address
(tokenizer `trigram`), so that a search of three characters or more reads the rowids holding its
trigrams first (stoplist.lists.search); the entries' own conditions still decide. External content
(`content=`): the table stores no copy of the addresses, only its index; `detail=none` and
`columnsize=0`: rowids only, no positions or lengths (the search needs neither), the least work per
row written.

Three triggers keep it in step with `blacklist_entries` on every write, whoever makes it (the writer,
imports, restores, a cascade from a deleted list or account), in the writing transaction: an insert
adds the row's trigrams, a delete removes them (FTS5 is handed the old address, which external content
needs), a change of address or id does both. A later migration that rebuilds `blacklist_entries`
(SQLite's copy-and-rename ALTER) drops the triggers with the table: it must make them again, and
`rebuild` the index.

PostgreSQL is untouched: its pg_trgm index (migration 0003) serves `q`.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_INDEX = "blacklist_entries_fts"
_TRIGGERS = {
    "blacklist_entries_fts_insert": f"""
        CREATE TRIGGER blacklist_entries_fts_insert AFTER INSERT ON blacklist_entries BEGIN
            INSERT INTO {_INDEX} (rowid, address) VALUES (new.id, new.address);
        END""",
    "blacklist_entries_fts_delete": f"""
        CREATE TRIGGER blacklist_entries_fts_delete AFTER DELETE ON blacklist_entries BEGIN
            INSERT INTO {_INDEX} ({_INDEX}, rowid, address) VALUES ('delete', old.id, old.address);
        END""",
    "blacklist_entries_fts_update": f"""
        CREATE TRIGGER blacklist_entries_fts_update AFTER UPDATE OF id, address ON blacklist_entries
        WHEN old.id IS NOT new.id OR old.address IS NOT new.address BEGIN
            INSERT INTO {_INDEX} ({_INDEX}, rowid, address) VALUES ('delete', old.id, old.address);
            INSERT INTO {_INDEX} (rowid, address) VALUES (new.id, new.address);
        END""",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        f"CREATE VIRTUAL TABLE {_INDEX} USING fts5(address, content='blacklist_entries', content_rowid='id',"
        " tokenize='trigram', detail=none, columnsize=0)"
    )
    for trigger in _TRIGGERS.values():
        op.execute(trigger)
    # The entries already stored, read from the content table.
    op.execute(f"INSERT INTO {_INDEX} ({_INDEX}) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(f"DROP TABLE IF EXISTS {_INDEX}")
