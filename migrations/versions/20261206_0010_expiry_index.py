"""An index for the expiry sweep: the entries whose expire_at has passed, found without a scan.

Every minute (STOPLIST_PURGE_INTERVAL) a worker records an `expire` event for each entry whose
expiry passed and deletes it. Migration 0005 dropped the (account_id, expire_at) index, so each
batch of that sweep read the whole entries table. This partial index holds only the entries that
expire (most never do, and writing one of those costs nothing more), in expiry order, so the
sweep reads exactly the lapsed ones, longest lapsed first.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_INDEX = "ix_blacklist_entries_expire_at"
_EXPIRING = sa.text("expire_at IS NOT NULL")


def upgrade() -> None:
    op.create_index(_INDEX, "blacklist_entries", ["expire_at"], sqlite_where=_EXPIRING, postgresql_where=_EXPIRING)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="blacklist_entries")
