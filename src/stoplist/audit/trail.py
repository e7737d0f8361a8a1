"""The one writer of the audit trail: events are appended here, in the transaction of the change
they record, and nothing else inserts, updates or deletes them (tests/code/test_one_writer.py).

Every write of an account first takes the account's head row (`hold`): on PostgreSQL it stays
locked until the transaction ends, on SQLite the write lock is the database's. So an account's
events get their seq in commit order, without gaps, and a reader of the feed that saw seq n has
seen every event up to n. Taken first, before any entry row, so that two writers cannot each
hold what the other waits for.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple
from datetime import datetime

from sqlalchemy import bindparam, delete, event, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from stoplist.audit import chain
from stoplist.audit.models import SUMMARY, Event, Head
from stoplist.db import naive_utc, raw, sqlite_stamp
from stoplist.audit.counters import COUNTERS


@dataclass(frozen=True)
class Origin:
    """Who made a change and on what grounds: carried by every event the change writes."""

    source: str  # api | import | cli | system
    token_id: int | None = None
    job_id: str | None = None
    request_id: str | None = None
    evidence: str | None = None
    received_at: datetime | None = None


SYSTEM = Origin("system")


class Fact(NamedTuple):
    """One change to one entry (or, for op `import`, the summary of an import job). A tuple: an
    import or a delete-all makes one per entry."""

    op: str
    address: str | None = None
    address_kind: str | None = None
    scope: tuple[str, str, str] | None = None  # the list's (kind, channel, sender); '' = every
    entry_id: int | None = None
    before: dict | None = None
    after: dict | None = None


def state(expire_at: datetime | None, reason: str | None, note: str | None) -> dict:
    """The fields of an entry that before and after show."""
    return {"expire_at": chain.stamp(expire_at), "reason": reason, "note": note}


class Trail:
    def __init__(self, session: Session) -> None:
        self.session = session

    def hold(self, account_id: int) -> None:
        """Take the account's head for this transaction (creating it on the account's first write)."""
        dialect = postgresql if self.session.get_bind().dialect.name != "sqlite" else sqlite
        start = dialect.insert(Head).values(account_id=account_id, seq=0, hash=chain.GENESIS, at=None, base_seq=0, base_hash=chain.GENESIS)
        self.session.execute(start.on_conflict_do_nothing(index_elements=[Head.account_id]))
        self.session.execute(select(Head.seq).where(Head.account_id == account_id).with_for_update())

    def record(self, account_id: int, facts: Sequence[Fact], origin: Origin, now: datetime) -> int:
        """Append one event per fact to the account's chain; answers the last seq. The caller holds the head."""
        if not facts:
            return 0
        seq, previous = self.session.execute(select(Head.seq, Head.hash).where(Head.account_id == account_id).with_for_update()).one()
        shared = chain.common(
            account_id, chain.stamp(now), source=origin.source, token_id=origin.token_id, job_id=origin.job_id,
            request_id=origin.request_id, evidence=origin.evidence, received_at=chain.stamp(origin.received_at),
        )
        rows = []
        body_of, link = chain.body, chain.link
        for op, address, address_kind, scope, entry_id, before, after in facts:
            seq += 1
            body = body_of(shared, seq, op, address=address, address_kind=address_kind, scope=scope, entry_id=entry_id, before=before, after=after)
            previous = link(previous, body)
            rows.append((seq, op, address, entry_id, body, previous))
        self._insert(account_id, now, origin.job_id, rows)
        self.session.execute(update(Head).where(Head.account_id == account_id).values(seq=seq, hash=previous, at=now))
        _written(self.session, facts, origin, now)
        return seq

    def _insert(self, account_id: int, now: datetime, job_id: str | None, rows: list[tuple]) -> None:
        """Insert events straight through the driver (a delete-all or an import writes millions):
        SQLite, executemany of SQL compiled from `_insert_statement`; PostgreSQL, COPY."""
        cursor = self.session.connection().connection.dbapi_connection.cursor()
        try:
            if self.session.get_bind().dialect.name == "sqlite":
                sql, names = raw(_insert_statement, "sqlite")
                assert names == _COLUMNS, names  # the tuples below are built in this order
                at = sqlite_stamp(now)
                cursor.executemany(sql, [(account_id, seq, at, op, address, entry_id, job_id, body, hash_) for seq, op, address, entry_id, body, hash_ in rows])
            else:
                # COPY: psycopg writes its rows in C, where an array parameter's text would be
                # escaped element by element (every quote of every body) in Python.
                at = naive_utc(now)
                with cursor.copy(_COPY) as copy:
                    for seq, op, address, entry_id, body, hash_ in rows:
                        copy.write_row((account_id, seq, at, op, address, entry_id, job_id, body, hash_))
        finally:
            cursor.close()

    def has_summary(self, account_id: int, job_id: str | None) -> bool:
        """Whether the job's `import` event is recorded already (a job rerun after its last commit)."""
        found = select(Event.id).where(Event.job_id == job_id, text(SUMMARY), Event.account_id == account_id).limit(1)
        return self.session.scalar(found) is not None

    def drop_before(self, account_id: int, before: datetime) -> int:
        """Retention: drop the account's events recorded before `before` (a month's first moment),
        keeping where the chain now starts so that it still verifies. Answers how many went."""
        self.hold(account_id)
        last = self.session.execute(
            select(Event.seq, Event.hash).where(Event.account_id == account_id, Event.at < before).order_by(Event.seq.desc()).limit(1)
        ).one_or_none()
        if last is None:
            return 0
        dropped = self.session.execute(delete(Event).where(Event.account_id == account_id, Event.seq <= last.seq)).rowcount
        self.session.execute(update(Head).where(Head.account_id == account_id).values(base_seq=last.seq, base_hash=last.hash))
        return dropped


_COLUMNS = ("account_id", "seq", "at", "op", "address", "entry_id", "job_id", "body", "hash")


def _insert_statement():
    return insert(Event).values({name: bindparam(name) for name in _COLUMNS})


# The same columns for PostgreSQL's COPY (a table and its columns: there is no query to compile).
_COPY = f"COPY {Event.__tablename__} ({', '.join(_COLUMNS)}) FROM STDIN"


# Metrics count events once their transaction commits.
_PENDING = "stoplist.audit.pending"


def _written(session: Session, facts: Sequence[Fact], origin: Origin, now: datetime) -> None:
    ops = [fact.op for fact in facts if fact.op != "import"]
    session.info.setdefault(_PENDING, []).append((ops, origin, now))


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    for ops, origin, now in session.info.pop(_PENDING, ()):
        COUNTERS.committed(ops, origin.source, origin.received_at, now)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
