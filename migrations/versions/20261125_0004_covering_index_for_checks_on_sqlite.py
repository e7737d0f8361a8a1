"""A covering index so that bulk checks never read the table on SQLite.

A check asks which of up to 10,000 numbers are live on the account's list: the
number and its expiry. The unique (account_id, phone_number) index finds the number,
but SQLite then reads the row from the table for `expire_at`, a random page per
listed number, which doubled the cost of a bulk check on a list of a million. With
`expire_at` in an index of its own SQLite answers from the index alone.
PostgreSQL's checks probe the unique index and read few, cached heap pages; it
gets no extra index to maintain on every import.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.create_index("ix_blacklist_entries_account_phone_expire", "blacklist_entries", ["account_id", "phone_number", "expire_at"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index("ix_blacklist_entries_account_phone_expire", table_name="blacklist_entries")
