"""Events are keyed by (account_id, seq), without a surrogate id; signing_keys holds the key of checkpoints.

`entry_events.id` was in no event's body, so nothing could tell when it changed, and it meant
nothing: every read finds events by (account_id, seq), unique already. It goes, and (account_id,
seq) becomes the primary key (its unique constraint, which said the same, goes with it). Every
other column of an event is in its hashed body, and `stoplist audit verify` checks each against it.
On SQLite the table is rebuilt (SQLite cannot change a primary key in place): one transaction,
writes waiting meanwhile (README, Backups and upgrades); on PostgreSQL the column is dropped in
place and the key's index built once.

`signing_keys` holds the server's Ed25519 key, made on first use, for signed checkpoints of the
trail (GET /blacklist/audit/checkpoint).

The downgrade drops the keys and numbers the events' ids afresh, in (account_id, seq) order
(on SQLite in the order the table holds them, which is the old ids' order): ids never meant more.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=False).with_variant(sa.String(length=20), "sqlite")
EVENTS = "entry_events"
PRIMARY = "pk_entry_events"
UNIQUE = "uq_entry_events_account_id_seq"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(EVENTS, recreate="always") as batch:
            batch.drop_constraint(UNIQUE, type_="unique")
            batch.drop_column("id")
            batch.create_primary_key(PRIMARY, ["account_id", "seq"])
    else:
        op.drop_constraint(PRIMARY, EVENTS, type_="primary")
        op.drop_column(EVENTS, "id")  # and the sequence it owns
        op.drop_constraint(UNIQUE, EVENTS, type_="unique")
        op.create_primary_key(PRIMARY, EVENTS, ["account_id", "seq"])
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
    )


def downgrade() -> None:
    op.drop_table("signing_keys")
    if op.get_bind().dialect.name == "sqlite":
        # The rebuilt table's INTEGER PRIMARY KEY numbers the rows as they are copied, in the order
        # the table holds them.
        with op.batch_alter_table(EVENTS, recreate="always", table_kwargs={"sqlite_autoincrement": True}) as batch:
            batch.drop_constraint(PRIMARY, type_="primary")
            batch.add_column(sa.Column("id", Id, primary_key=True, nullable=False), insert_before="account_id")
            batch.create_unique_constraint(UNIQUE, ["account_id", "seq"])
        return
    op.drop_constraint(PRIMARY, EVENTS, type_="primary")
    op.add_column(EVENTS, sa.Column("id", Id, nullable=True))
    op.execute(f"CREATE SEQUENCE {EVENTS}_id_seq OWNED BY {EVENTS}.id")
    op.execute(
        f"UPDATE {EVENTS} SET id = numbered.id FROM (SELECT account_id, seq, row_number() OVER (ORDER BY account_id, seq) AS id FROM {EVENTS}) numbered"
        f" WHERE {EVENTS}.account_id = numbered.account_id AND {EVENTS}.seq = numbered.seq"
    )
    op.execute(f"SELECT setval('{EVENTS}_id_seq', coalesce((SELECT max(id) FROM {EVENTS}), 0) + 1, false)")
    op.execute(f"ALTER TABLE {EVENTS} ALTER COLUMN id SET NOT NULL, ALTER COLUMN id SET DEFAULT nextval('{EVENTS}_id_seq')")
    op.create_primary_key(PRIMARY, EVENTS, ["id"])
    op.create_unique_constraint(UNIQUE, EVENTS, ["account_id", "seq"])
