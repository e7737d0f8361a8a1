"""Lists: an account's block and allow lists per channel and sender; entries move onto them.

Every account gets its default list, (block, every channel, every sender), and each of its
entries moves onto it: the number becomes the entry's `address` (kind `phone`), reason `manual`,
source `api`, updated_at = created_at. "Every" is stored as '' so that the unique scope of a list
holds (NULLs are never equal in a UNIQUE constraint). An entry is unique per list now, not per
account: UNIQUE(account_id, address, list_id), in that order so that one probe of (account,
address) finds the address on every list of the account; the covering index of 0004 follows (SQLite).

The downgrade is exact for what 0004 could hold: phone numbers on default lists (their reasons,
notes, sources and updated_at go: 0004 has no columns for them). It refuses, changing nothing,
while any entry sits on another list or is an e-mail address: those would have to be lost to go
back, and that must be somebody's decision, not a side effect.

One transaction holds the table throughout (the UPDATE of every row, the constraint and index
builds): checks wait for it, some 30 s per million entries (README, Backups and upgrades).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
EntryTimestamp = sa.DateTime(timezone=False).with_variant(sa.String(length=20), "sqlite")


def _now(dialect: str):
    moment = datetime.now(timezone.utc).replace(microsecond=0)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if dialect == "sqlite" else moment.replace(tzinfo=None)


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    op.create_table(
        "lists",
        sa.Column("id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=5), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("created_at", EntryTimestamp, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_lists_account_id_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lists")),
        sa.UniqueConstraint("account_id", "kind", "channel", "sender", name=op.f("uq_lists_account_id_kind_channel_sender")),
        sqlite_autoincrement=True,
    )
    bind.execute(
        sa.text("INSERT INTO lists (account_id, kind, channel, sender, created_at) SELECT id, 'block', '', '', :now FROM accounts"),
        {"now": _now(dialect)},
    )
    if dialect == "sqlite":
        op.drop_index("ix_blacklist_entries_account_phone_expire", table_name="blacklist_entries")
    with op.batch_alter_table("blacklist_entries", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("list_id", Id, nullable=True))
        batch.add_column(sa.Column("address_kind", sa.String(length=5), nullable=False, server_default="phone"))
        batch.add_column(sa.Column("reason", sa.String(length=20), nullable=False, server_default="manual"))
        batch.add_column(sa.Column("note", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("source", sa.String(length=10), nullable=False, server_default="api"))
        batch.add_column(sa.Column("updated_at", EntryTimestamp, nullable=True))
        batch.alter_column("phone_number", new_column_name="address", type_=sa.String(length=320), existing_nullable=False)
        batch.drop_constraint("uq_blacklist_entries_account_id_phone_number", type_="unique")
    bind.execute(
        sa.text(
            "UPDATE blacklist_entries SET updated_at = created_at, list_id = (SELECT id FROM lists"
            " WHERE lists.account_id = blacklist_entries.account_id AND kind = 'block' AND channel = '' AND sender = '')"
        )
    )
    with op.batch_alter_table("blacklist_entries", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("list_id", existing_type=Id, nullable=False)
        batch.alter_column("updated_at", existing_type=EntryTimestamp, nullable=False)
        for column in ("address_kind", "reason", "source"):
            batch.alter_column(column, existing_type=sa.String(), server_default=None)
        batch.create_foreign_key(op.f("fk_blacklist_entries_list_id_lists"), "lists", ["list_id"], ["id"], ondelete="CASCADE")
        batch.create_unique_constraint(op.f("uq_blacklist_entries_account_id_address_list_id"), ["account_id", "address", "list_id"])
    if dialect == "sqlite":
        op.create_index("ix_blacklist_entries_account_address_expire", "blacklist_entries", ["account_id", "address", "list_id", "expire_at"])
    # SMSAPI's listing reads one list newest first: in index order, with no sort of the whole list
    # (a planner without statistics, after a bulk load, would otherwise sort it for every page).
    op.drop_index("ix_blacklist_entries_account_expire", table_name="blacklist_entries")
    op.create_index("ix_blacklist_entries_account_list_created", "blacklist_entries", ["account_id", "list_id", "created_at", "id"])


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    others = bind.execute(
        sa.text(
            "SELECT count(*) FROM blacklist_entries e JOIN lists l ON l.id = e.list_id"
            " WHERE NOT (l.kind = 'block' AND l.channel = '' AND l.sender = '') OR e.address_kind <> 'phone'"
        )
    ).scalar_one()
    if others:
        raise RuntimeError(
            f"{others} entries are on lists other than the default ones, or are e-mail addresses: revision 0004 cannot hold them."
            " Delete them (or export them) first, then downgrade."
        )
    op.drop_index("ix_blacklist_entries_account_list_created", table_name="blacklist_entries")
    op.create_index("ix_blacklist_entries_account_expire", "blacklist_entries", ["account_id", "expire_at"])
    if dialect == "sqlite":
        op.drop_index("ix_blacklist_entries_account_address_expire", table_name="blacklist_entries")
    with op.batch_alter_table("blacklist_entries", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint("uq_blacklist_entries_account_id_address_list_id", type_="unique")
        batch.drop_constraint("fk_blacklist_entries_list_id_lists", type_="foreignkey")
        batch.drop_column("list_id")
        batch.drop_column("address_kind")
        batch.drop_column("reason")
        batch.drop_column("note")
        batch.drop_column("source")
        batch.drop_column("updated_at")
        batch.alter_column("address", new_column_name="phone_number", type_=sa.String(length=15), existing_nullable=False)
    with op.batch_alter_table("blacklist_entries", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.create_unique_constraint("uq_blacklist_entries_account_id_phone_number", ["account_id", "phone_number"])
    op.drop_table("lists")
    if dialect == "sqlite":
        op.create_index("ix_blacklist_entries_account_phone_expire", "blacklist_entries", ["account_id", "phone_number", "expire_at"])
