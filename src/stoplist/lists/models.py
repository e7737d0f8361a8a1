"""Lists and their entries: an account's block and allow lists, each for a channel and a sender (or every one)."""

from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, synonym

from stoplist.auth.models import Id
from stoplist.db import Base, Rfc3339Timestamp



class List(Base):
    __tablename__ = "lists"
    __table_args__ = (
        # One list per scope; also serves a check's search for the lists that apply to it.
        UniqueConstraint("account_id", "kind", "channel", "sender"),
        # What an entry's one foreign key refers to: its list, of its account (migration 0007).
        Index("ix_lists_account_id_id", "account_id", "id", unique=True),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(5))
    channel: Mapped[str] = mapped_column(String(10))
    # The sender's key (lists.senders.sender_key), which lists are unique on and checks match: folding
    # can lengthen a sender of 64 characters (ß -> ss) up to three times. SQLite holds any length.
    sender: Mapped[str] = mapped_column(String(64).with_variant(String(192), "postgresql"))
    # The sender as first given, where it differs from the key (NULL where it does not): what is shown (migration 0012).
    sender_display: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(Rfc3339Timestamp())


class Entry(Base):
    __tablename__ = "blacklist_entries"
    __table_args__ = (
        # One entry per address on a list (a list belongs to one account, so this is UNIQUE(list_id,
        # address)), ordered so that one probe finds an address on every list of the account: a check
        # costs one index probe however many lists there are. Also serves `q` scans of an account's addresses.
        # On PostgreSQL it carries the entry's id and expiry, so that a check reads the index alone, no
        # table page per address (migration 0008; SQLite's checks have the covering index below).
        UniqueConstraint("account_id", "address", "list_id", postgresql_include=["id", "expire_at"]),
        # Serves the default listing, newest first, and its tie-breaker; `account_id` is the list's
        # owner, kept on the entry so that no query can reach another account's entries by a list id.
        # expire_at last: a date-filtered listing's count tells live entries from the index alone (migration 0013).
        Index("ix_blacklist_entries_account_created", "account_id", "created_at", "id", "expire_at"),
        # SMSAPI's listing: one list, newest first, read in order (no sort of the whole list), and its count.
        Index("ix_blacklist_entries_account_list_created", "account_id", "list_id", "created_at", "id"),
        # Checks on SQLite: live or not from the index alone, no table read per address (migration 0005).
        Index("ix_blacklist_entries_account_address_expire", "account_id", "address", "list_id", "expire_at").ddl_if(dialect="sqlite"),
        # The expiry sweep: the entries whose expire_at has passed, longest lapsed first (migration 0010).
        # Only entries that expire are in it: most never do, and a write of one that does not costs nothing more.
        Index(
            "ix_blacklist_entries_expire_at", "expire_at",
            sqlite_where=text("expire_at IS NOT NULL"), postgresql_where=text("expire_at IS NOT NULL"),
        ),
        # `q` (LIKE '%text%') on PostgreSQL: trigrams (migration 0003; SQLite's are an FTS5 table, lists.search, migration 0016).
        Index("ix_blacklist_entries_phone_trgm", "address", postgresql_using="gin", postgresql_ops={"address": "gin_trgm_ops"}).ddl_if(
            dialect="postgresql"
        ),
        # An entry's list, of the entry's account: one key checked per insert, not two (migration 0007).
        ForeignKeyConstraint(["account_id", "list_id"], ["lists.account_id", "lists.id"], ondelete="CASCADE"),
        # Never reuse the id of a deleted entry: a stale DELETE /{id} must not hit another address.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(Id)
    list_id: Mapped[int] = mapped_column(Id)
    # E.164 digits without the '+' (at most 15), or an e-mail address's key (at most 320 characters): its
    # local part case-folded (lists.addresses.email_key), what entries are unique on and checks match.
    # Compared byte by byte on PostgreSQL, as on SQLite (migration 0008): an address is an identifier,
    # not text in a language, so the same order on both databases and no locale's rules in every probe.
    address: Mapped[str] = mapped_column(String(320).with_variant(String(320, collation="C"), "postgresql"))
    address_kind: Mapped[str] = mapped_column(String(5))
    # The e-mail address as first given, where it differs from the key (NULL for phone numbers and
    # addresses given in folded form): what is shown (migration 0012).
    address_display: Mapped[str | None] = mapped_column(String(320), nullable=True)
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    source: Mapped[str] = mapped_column(String(10))
    expire_at: Mapped[datetime | None] = mapped_column(Rfc3339Timestamp(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(Rfc3339Timestamp())
    updated_at: Mapped[datetime] = mapped_column(Rfc3339Timestamp())

    # SMSAPI's name for the address: its routes hold phone numbers only.
    phone_number: Mapped[str] = synonym("address")
