"""The account's newest-first index carries expire_at: a date-filtered listing counts from the index alone.

`GET /blacklist/entries?created_after=X` answers `size`, a count of every live entry created since X:
up to the whole list. With (account_id, created_at, id), each match cost a read of its table row, only
to see whether it is live (expire_at). With expire_at in the index, the count and the page read the
index alone (SQLite: "USING COVERING INDEX"; PostgreSQL: an index-only scan). Measured on 1,000,000
entries created over a year, count and page for 30 moments drawn over it, bare: p50 50 -> 23 ms on
SQLite, 84 -> 37-44 ms on PostgreSQL; bench/filters.py's native listing then answered in 26.5 ms
(SQLite) and 32.5 ms (PostgreSQL) p50. It replaces the old index rather than adding one, so a write
still maintains one index: inserting a million rows took the same time with either (SQLite 5.1 s,
PostgreSQL 5.6 s), the PostgreSQL index 47 MB instead of 39 MB.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_INDEX = "ix_blacklist_entries_account_created"
_TABLE = "blacklist_entries"


def upgrade() -> None:
    op.drop_index(_INDEX, table_name=_TABLE)
    op.create_index(_INDEX, _TABLE, ["account_id", "created_at", "id", "expire_at"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name=_TABLE)
    op.create_index(_INDEX, _TABLE, ["account_id", "created_at", "id"])
