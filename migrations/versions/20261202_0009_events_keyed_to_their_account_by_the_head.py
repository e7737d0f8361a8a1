"""On PostgreSQL, events lose their own foreign key to accounts: the account's head says the same.

Every account with events has its row in audit_heads, written in the same transaction as its first
event and locked by every later one, and that row's foreign key to accounts (no ON DELETE CASCADE)
already makes sure the account exists and cannot be deleted while it has a trail. The events' own
key said it again, checked once per event: on PostgreSQL a trigger and a lookup per row, 3-7 µs
per event of an import (1-2 s of the server's CPU for 300,000 rows, in alternating runs). SQLite checks a foreign
key with a lookup in the accounts' primary key, and dropping it would rebuild the events' table:
it keeps it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_KEY = "fk_entry_events_account_id_accounts"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_constraint(_KEY, "entry_events", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_foreign_key(_KEY, "entry_events", "accounts", ["account_id"], ["id"])
