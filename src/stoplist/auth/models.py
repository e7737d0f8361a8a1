"""Accounts own blacklists; tokens let clients act for an account. An account may have subusers (one level)."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, ForeignKeyConstraint, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from stoplist.db import Base, Rfc3339Timestamp, UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Id = BigInteger().with_variant(Integer(), "sqlite")

OWN = "own"
SHARED = "shared"
LIST_MODES = (OWN, SHARED)


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        # SQLite cannot drop a column that a key names (migration 0014's way down), and the service
        # checks the parent itself; PostgreSQL keeps the key.
        ForeignKeyConstraint(["parent_id"], ["accounts.id"], name="fk_accounts_parent_id_accounts").ddl_if(dialect="postgresql"),
        Index("ux_accounts_name_key", "name_key", unique=True),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # What names are unique on: the name in NFKC, case-folded (auth.names.name_key; migration 0015).
    # Casefolding may lengthen a name (ß -> ss); nullable only because SQLite could not add it otherwise.
    name_key: Mapped[str | None] = mapped_column(String(400), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A subuser's parent (one level: a parent has none); null for a top-level account.
    parent_id: Mapped[int | None] = mapped_column(Id, nullable=True, index=True)
    # own: the subuser's lists are its own; shared: it acts on its parent's lists (its own are kept, unused).
    list_mode: Mapped[str] = mapped_column(String(8), server_default=text(f"'{OWN}'"))
    # A deleted subuser stays, so that its trail stays readable and verifiable.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AccessToken(Base):
    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, shown by `token list` so people can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # To the second, as SQLite's raw check path compares it (RFC 3339 text there).
    expires_at: Mapped[datetime | None] = mapped_column(Rfc3339Timestamp(), nullable=True)

    account: Mapped[Account] = relationship(lazy="joined")

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())
