"""Subusers and token expiry: accounts gain a parent (one level), a list mode and a deletion time;
tokens gain a name and an expiry.

`accounts.parent_id` names a subuser's parent (null for a top-level account; a key to accounts on
PostgreSQL only: SQLite cannot drop a column a key names, and the service checks the parent).
`accounts.list_mode` is `own` (the account's own lists) or `shared` (a subuser acting on its
parent's lists); every existing account is `own`. `accounts.deleted_at` marks a deleted subuser,
kept so that its trail stays readable and verifiable. `access_tokens.name` labels a token;
`access_tokens.expires_at` (to the second, RFC 3339 text on SQLite like the entries' times) is when
it stops opening anything.

The way down drops the five columns: subusers become top-level accounts with their own lists, and
token names and expiries are forgotten (tokens that had expired work again: revoke them first).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=False)


def _expiry_type():
    return sa.String(length=20) if op.get_bind().dialect.name == "sqlite" else sa.DateTime(timezone=False)


def upgrade() -> None:
    op.add_column("accounts", sa.Column("parent_id", Id, nullable=True))
    op.add_column("accounts", sa.Column("list_mode", sa.String(length=8), nullable=False, server_default=sa.text("'own'")))
    op.add_column("accounts", sa.Column("deleted_at", Timestamp, nullable=True))
    op.create_index("ix_accounts_parent_id", "accounts", ["parent_id"])
    if op.get_bind().dialect.name != "sqlite":
        op.create_foreign_key("fk_accounts_parent_id_accounts", "accounts", "accounts", ["parent_id"], ["id"])
    op.add_column("access_tokens", sa.Column("name", sa.String(length=100), nullable=True))
    op.add_column("access_tokens", sa.Column("expires_at", _expiry_type(), nullable=True))


def downgrade() -> None:
    op.drop_column("access_tokens", "expires_at")
    op.drop_column("access_tokens", "name")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_accounts_parent_id_accounts", "accounts", type_="foreignkey")
    op.drop_index("ix_accounts_parent_id", table_name="accounts")
    op.drop_column("accounts", "deleted_at")
    op.drop_column("accounts", "list_mode")
    op.drop_column("accounts", "parent_id")
