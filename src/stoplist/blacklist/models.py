"""A blacklist entry: one number on one account's list, maybe until a moment."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from stoplist.auth.models import Id
from stoplist.db import Base, Rfc3339Timestamp


class Entry(Base):
    __tablename__ = "blacklist_entries"
    __table_args__ = (
        # Serves lookups by number, and `q` scans of one account's numbers without touching the table.
        UniqueConstraint("account_id", "phone_number"),
        # Serves the default listing, newest first, and its tie-breaker.
        Index("ix_blacklist_entries_account_created", "account_id", "created_at", "id"),
        Index("ix_blacklist_entries_account_expire", "account_id", "expire_at"),
        # Checks on SQLite: live or not from the index alone, no table read per number (migration 0004).
        Index("ix_blacklist_entries_account_phone_expire", "account_id", "phone_number", "expire_at").ddl_if(dialect="sqlite"),
        # `q` (LIKE '%digits%') on PostgreSQL: trigrams (migration 0003; SQLite has no equivalent).
        Index(
            "ix_blacklist_entries_phone_trgm", "phone_number", postgresql_using="gin", postgresql_ops={"phone_number": "gin_trgm_ops"}
        ).ddl_if(dialect="postgresql"),
        # Never reuse the id of a deleted entry: a stale DELETE /{id} must not hit another number.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # E.164 digits without the '+': at most 15 digits.
    phone_number: Mapped[str] = mapped_column(String(15))
    expire_at: Mapped[datetime | None] = mapped_column(Rfc3339Timestamp(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(Rfc3339Timestamp())

    def is_live(self, now: datetime) -> bool:
        """Still on the list at `now`: never expires, or expires later."""
        return self.expire_at is None or self.expire_at > now
