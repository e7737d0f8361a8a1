"""The audit trail: entry_events, chained per account, and audit_heads, where each chain stands.

Every entry that exists when this runs gets one `add` event, so that the trail accounts for
every entry from the start: source `system`, recorded at the entry's created_at (what is known
of when it arrived), in created_at order, and the evidence says the event was written by this
migration. Each account's chain starts here.

The downgrade drops both tables, and with them the trail: nothing else can hold it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

from stoplist.audit import chain

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=False).with_variant(sa.String(length=20), "sqlite")
EVIDENCE = "Listed before the audit trail began: recorded by migration 0006 at the entry's created_at."
BATCH = 5_000


def upgrade() -> None:
    events = op.create_table(
        "entry_events",
        sa.Column("id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=True),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_entry_events_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry_events")),
        sa.UniqueConstraint("account_id", "seq", name=op.f("uq_entry_events_account_id_seq")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_entry_events_account_address_seq", "entry_events", ["account_id", "address", "seq"])
    op.create_index("ix_entry_events_account_entry_seq", "entry_events", ["account_id", "entry_id", "seq"])
    op.create_index("ix_entry_events_account_at", "entry_events", ["account_id", "at"])
    op.create_index(
        "ix_entry_events_job_summary", "entry_events", ["job_id"],
        sqlite_where=sa.text("op = 'import'"), postgresql_where=sa.text("op = 'import'"),
    )
    heads = op.create_table(
        "audit_heads",
        sa.Column("account_id", Id, nullable=False, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", Timestamp, nullable=True),
        sa.Column("base_seq", sa.BigInteger(), nullable=False),
        sa.Column("base_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_audit_heads_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_audit_heads")),
    )
    bind = op.get_bind()
    for (account_id,) in bind.execute(sa.text("SELECT DISTINCT account_id FROM blacklist_entries ORDER BY account_id")).all():
        seq, previous, at = _record_entries(bind, events, account_id)
        bind.execute(heads.insert().values(account_id=account_id, seq=seq, hash=previous, at=at, base_seq=0, base_hash=chain.GENESIS))


def _record_entries(bind, events: sa.Table, account_id: int) -> tuple[int, str, object]:
    """One `add` event per entry of the account, in created_at order, batch by batch: (last seq, last hash, last at)."""
    sqlite = bind.dialect.name == "sqlite"
    seq, previous, at = 0, chain.GENESIS, None
    after: tuple | None = None
    select = (
        "SELECT e.created_at, e.id, e.address, e.address_kind, l.kind, l.channel, l.sender, e.expire_at, e.reason, e.note"
        " FROM blacklist_entries e JOIN lists l ON l.id = e.list_id WHERE e.account_id = :account {keyset}"
        " ORDER BY e.created_at, e.id LIMIT :batch"
    )
    while True:
        keyset = "" if after is None else "AND (e.created_at > :created OR (e.created_at = :created AND e.id > :id))"
        parameters = {"account": account_id, "batch": BATCH}
        if after is not None:
            parameters.update(created=after[0], id=after[1])
        rows = bind.execute(sa.text(select.format(keyset=keyset)), parameters).all()
        if not rows:
            return seq, previous, at
        records = []
        for created, entry_id, address, address_kind, kind, channel, sender, expire_at, reason, note in rows:
            seq += 1
            stamp = _stamp(created, sqlite)
            shared = chain.common(account_id, stamp, source="system", evidence=EVIDENCE)
            body = chain.body(
                shared, seq, "add", address=address, address_kind=address_kind, scope=(kind, channel, sender), entry_id=entry_id,
                before=None, after={"expire_at": _stamp(expire_at, sqlite), "reason": reason, "note": note},
            )
            previous = chain.link(previous, body)
            at = created
            records.append({
                "account_id": account_id, "seq": seq, "at": created, "op": "add", "address": address, "entry_id": entry_id,
                "job_id": None, "body": body, "hash": previous,
            })
        bind.execute(events.insert(), records)
        after = (rows[-1][0], rows[-1][1])


def _stamp(value, sqlite: bool) -> str | None:
    """A stored timestamp as events show it: SQLite holds it as that text already."""
    if value is None:
        return None
    return value if sqlite else chain.stamp(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


def downgrade() -> None:
    op.drop_table("audit_heads")
    op.drop_index("ix_entry_events_job_summary", table_name="entry_events")
    op.drop_index("ix_entry_events_account_at", table_name="entry_events")
    op.drop_index("ix_entry_events_account_entry_seq", table_name="entry_events")
    op.drop_index("ix_entry_events_account_address_seq", table_name="entry_events")
    op.drop_table("entry_events")
