"""The audit trail: one event per change to an entry, chained per account, never edited."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from stoplist.auth.models import Id
from stoplist.db import Base, Rfc3339Timestamp


# The predicate of the index of import summaries, which a query must repeat literally to use it.
SUMMARY = "op = 'import'"


class Event(Base):
    """One change, as `body` (the event's canonical JSON, what the API serves) and the `hash` that
    chains it to the account's previous event. The other columns repeat fields of the body so that
    history and feed reads find events by index; `stoplist audit verify` checks that every one of
    them agrees with the body. No surrogate id (gone in migration 0011): a column that is in no body
    could be changed without a trace."""

    __tablename__ = "entry_events"
    __table_args__ = (
        # History of an address (in any spelling: normalised first), and of an entry id.
        Index("ix_entry_events_account_address_seq", "account_id", "address", "seq"),
        Index("ix_entry_events_account_entry_seq", "account_id", "entry_id", "seq"),
        # Retention drops whole months, oldest first.
        Index("ix_entry_events_account_at", "account_id", "at"),
        # Whether an import job has its summary already: one row per job, not a scan of the trail.
        Index("ix_entry_events_job_summary", "job_id", sqlite_where=text(SUMMARY), postgresql_where=text(SUMMARY)),
        # An event's account exists, and cannot be deleted: every account with events has its head
        # (written in the same transaction as its first event), whose key to accounts says both. On
        # PostgreSQL the events' own key is gone (migration 0009): it was checked row by row, 3-7 µs
        # per event of an import; on SQLite it costs a lookup in the accounts' primary key, and stays.
        ForeignKeyConstraint(["account_id"], ["accounts.id"]).ddl_if(dialect="sqlite"),
    )

    # The key is the feed's order: an account's events in commit order, seq gap-free per account (audit_heads).
    # Nothing may take an account's events away with it: no ON DELETE CASCADE, here or on the head.
    account_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(Rfc3339Timestamp())
    op: Mapped[str] = mapped_column(String(8))
    address: Mapped[str | None] = mapped_column(String(320), nullable=True)
    entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64))


class Head(Base):
    """Where each account's chain stands: its last seq and hash, locked by every write of the account
    so that seq is assigned in commit order, without gaps.

    `base_seq`/`base_hash`: the last event that retention dropped (0 and '' while none was), where
    verification starts."""

    __tablename__ = "audit_heads"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime | None] = mapped_column(Rfc3339Timestamp(), nullable=True)
    base_seq: Mapped[int] = mapped_column(BigInteger)
    base_hash: Mapped[str] = mapped_column(String(64))


class SigningKey(Base):
    """The server's key for signing checkpoints of the trail: made on first use, one row, shared by
    every instance on this database. Its private half is read by the signer only, and no route or
    command shows it."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    algorithm: Mapped[str] = mapped_column(String(16))
    private_key: Mapped[str] = mapped_column(Text)  # PKCS #8, PEM
    public_key: Mapped[str] = mapped_column(Text)  # SubjectPublicKeyInfo, PEM
    created_at: Mapped[datetime] = mapped_column(Rfc3339Timestamp())
