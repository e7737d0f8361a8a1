"""Account names are one whatever their case or Unicode form: accounts gain `name_key`, unique.

`name_key` is the name in Unicode's NFKC form, case-folded (`Brand-B`, `brand-b` and `ＢRAND-B` have
one key), so that two requests naming an account alike at the same moment cannot both make one: the
database refuses the second, where the service's look at the names before it could not. Names made
before this revision that share a key keep their names; the later ones' keys carry their id after a
separator no name holds (U+001F), so no account is lost, and no more of them can be made.

The column stays nullable in the schema (SQLite would rebuild `accounts`, which every table's keys
name, to make it NOT NULL); every account this release writes has one.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_INDEX = "ux_accounts_name_key"


def _key(name: str) -> str:
    """This revision's key of a name (stoplist.auth.service.name_key as it was written here)."""
    return unicodedata.normalize("NFKC", name).casefold()


def upgrade() -> None:
    op.add_column("accounts", sa.Column("name_key", sa.String(length=400), nullable=True))
    bind = op.get_bind()
    taken: set[str] = set()
    for account_id, name in bind.execute(sa.text("SELECT id, name FROM accounts ORDER BY id")).all():
        key = _key(name)
        if key in taken:
            key = f"{key}\x1f{account_id}"
        taken.add(key)
        bind.execute(sa.text("UPDATE accounts SET name_key = :key WHERE id = :id"), {"key": key, "id": account_id})
    op.create_index(_INDEX, "accounts", ["name_key"], unique=True)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="accounts")
    op.drop_column("accounts", "name_key")
