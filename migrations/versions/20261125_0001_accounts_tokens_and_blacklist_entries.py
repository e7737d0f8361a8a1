"""Accounts, access tokens and blacklist entries.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere ids are BIGINT.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Timestamps are naive UTC (stoplist.db.UTCDateTime).
Timestamp = sa.DateTime(timezone=False)
# Entry timestamps, to the second: RFC 3339 text on SQLite, naive UTC elsewhere (stoplist.db.Rfc3339Timestamp).
EntryTimestamp = sa.DateTime(timezone=False).with_variant(sa.String(length=20), "sqlite")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", Id, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_accounts_name")),
    )
    op.create_table(
        "access_tokens",
        sa.Column("id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("revoked_at", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_access_tokens_account_id_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_access_tokens_token_hash")),
    )
    op.create_index(op.f("ix_access_tokens_account_id"), "access_tokens", ["account_id"])
    op.create_table(
        "blacklist_entries",
        sa.Column("id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("phone_number", sa.String(length=15), nullable=False),
        sa.Column("expire_at", EntryTimestamp, nullable=True),
        sa.Column("created_at", EntryTimestamp, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_blacklist_entries_account_id_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_entries")),
        # Lookups by number; also covers `q` scans of one account's numbers.
        sa.UniqueConstraint("account_id", "phone_number", name=op.f("uq_blacklist_entries_account_id_phone_number")),
        # SQLite would otherwise reuse the largest id after a delete; a stale DELETE /{id} must never hit another number.
        sqlite_autoincrement=True,
    )
    op.create_index("ix_blacklist_entries_account_created", "blacklist_entries", ["account_id", "created_at", "id"])
    op.create_index("ix_blacklist_entries_account_expire", "blacklist_entries", ["account_id", "expire_at"])


def downgrade() -> None:
    op.drop_index("ix_blacklist_entries_account_expire", table_name="blacklist_entries")
    op.drop_index("ix_blacklist_entries_account_created", table_name="blacklist_entries")
    op.drop_table("blacklist_entries")
    op.drop_index(op.f("ix_access_tokens_account_id"), table_name="access_tokens")
    op.drop_table("access_tokens")
    op.drop_table("accounts")
