"""A trigram index so that `q` (part of a number) stays fast on millions of entries (PostgreSQL).

`q` searches with LIKE '%digits%', which no B-tree can serve. On PostgreSQL a GIN index over
pg_trgm trigrams can (for `q` of three digits or more). pg_trgm is a trusted extension: the
database owner may create it. SQLite has no such index; its `q` scans one account's numbers
in the (account_id, phone_number) index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_blacklist_entries_phone_trgm ON blacklist_entries USING gin (phone_number gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The extension stays: other objects may use it, and it costs nothing unused.
    op.execute("DROP INDEX IF EXISTS ix_blacklist_entries_phone_trgm")
