"""On PostgreSQL, entries' addresses compared byte by byte, and checks answered from the index alone.

An address is an identifier (E.164 digits, an e-mail address), not text in a language. Under the
database's default collation (en_US.UTF-8, C.UTF-8: anything but "C") every comparison in the
unique index goes through the locale's rules: of the 4.6 ms PostgreSQL spent probing 1,000
addresses in a list of a million, 1.5 ms was that. Under "C" it compares bytes, as SQLite does,
so both databases also sort the listing by address in the same order (code point order, the order
Python sorts strings in). Equality is unchanged: no two different addresses were equal before.

The unique index also carries the entry's id and expiry (INCLUDE), so that a check, which needs
no more than that, reads no table page per listed address (PostgreSQL's index-only scan; SQLite
has had its covering index since 0004). The key, and so what the index enforces, is unchanged.

PostgreSQL rebuilds the entries' indexes on the address (the unique one and the trigram one) in
one transaction: some seconds per million entries, during which writes to entries wait (README,
Backups and upgrades). SQLite already compares bytes and has its covering index: nothing to do.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_UNIQUE = "uq_blacklist_entries_account_id_address_list_id"


def upgrade() -> None:
    _rebuild(collation='"C"', unique="UNIQUE (account_id, address, list_id) INCLUDE (id, expire_at)")


def downgrade() -> None:
    _rebuild(collation='"default"', unique="UNIQUE (account_id, address, list_id)")


def _rebuild(*, collation: str, unique: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # One statement: the unique index is dropped before the column changes, so it is built once.
    op.execute(
        f"ALTER TABLE blacklist_entries DROP CONSTRAINT {_UNIQUE}, "
        f"ALTER COLUMN address TYPE VARCHAR(320) COLLATE {collation}, "
        f"ADD CONSTRAINT {_UNIQUE} {unique}"
    )
