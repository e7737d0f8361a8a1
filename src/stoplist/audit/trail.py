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
from stoplist.db import driver_connection, naive_utc, raw, rows_json, sqlite_json_rows, sqlite_stamp
from stoplist.audit.counters import COUNTERS


@dataclass(frozen=True)
class Origin:
    """Who made a change and on what grounds: carried by every event the change writes."""

    source: str  # api | import | cli | system
    token_id: int | None = None
    # The account that acted (the token's account); None: the owner of the chain (the CLI, the system).
    actor_account_id: int | None = None
    job_id: str | None = None
    request_id: str | None = None
    evidence: str | None = None
    received_at: datetime | None = None


SYSTEM = Origin("system")
# Events per statement on SQLite: each statement's JSON text, and what SQLite makes of it, stays
# small. A delete-all of 300,000 entries (in-process) grew the process by 44 MB with its batches of
# 10,000 events in one statement each, by 28 MB with 5,000 a statement and by 11 MB with 2,000.
JSON_ROWS = 2_000


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
        appending = self.append(account_id, origin, now)
        appending.insert(appending.link(facts))
        appending.finish()
        return appending.seq

    def append(self, account_id: int, origin: Origin, now: datetime) -> "Appending":
        """Start appending events to the account's chain, from where its head stands. The caller holds the head."""
        seq, previous = self.session.execute(select(Head.seq, Head.hash).where(Head.account_id == account_id).with_for_update()).one()
        dbapi = driver_connection(self.session)
        return Appending(self.session, dbapi, account_id, origin, now, seq, previous)

    def has_summary(self, account_id: int, job_id: str | None) -> bool:
        """Whether the job's `import` event is recorded already (a job rerun after its last commit)."""
        found = select(Event.seq).where(Event.job_id == job_id, text(SUMMARY), Event.account_id == account_id).limit(1)
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


class Appending:
    """Events being appended to one account's chain, in the transaction that holds its head.

    `link` makes the rows of the next facts (seq, body, hash: Python only), `insert` writes rows
    and `finish` moves the head to the last one linked, both straight through the driver. Apart,
    so that a bulk write (an import) can link the next rows while the database inserts the last:
    `insert` and `finish` touch only the driver connection, from any one thread at a time."""

    def __init__(self, session: Session, dbapi, account_id: int, origin: Origin, now: datetime, seq: int, previous: str) -> None:
        self._dbapi = dbapi
        self._sqlite = session.get_bind().dialect.name == "sqlite"
        self._session = session
        self.account_id, self.origin, self.now = account_id, origin, now
        self.seq, self.hash = seq, previous
        self._shared = chain.common(
            account_id, chain.stamp(now), source=origin.source, token_id=origin.token_id, actor_account_id=origin.actor_account_id, job_id=origin.job_id,
            request_id=origin.request_id, evidence=origin.evidence, received_at=chain.stamp(origin.received_at),
        )

    def link(self, facts: Sequence[Fact]) -> list[tuple]:
        """The rows of one event per fact, chained after those linked before."""
        rows = []
        seq, previous, shared = self.seq, self.hash, self._shared
        body_of, link = chain.body, chain.link
        for op, address, address_kind, scope, entry_id, before, after in facts:
            seq += 1
            body = body_of(shared, seq, op, address=address, address_kind=address_kind, scope=scope, entry_id=entry_id, before=before, after=after)
            previous = link(previous, body)
            rows.append((seq, op, address, entry_id, body, previous))
        self.seq, self.hash = seq, previous
        _written(self._session, facts, self.origin, self.now)
        return rows

    def insert(self, rows: list[tuple]) -> None:
        """Insert linked rows (a delete-all or an import writes millions): SQLite, a statement per
        JSON_ROWS over one JSON text (`_insert_json_statement`), which sqlite3 runs as one step without the
        interpreter's lock, where an executemany would wait for that lock again after every row;
        PostgreSQL, COPY."""
        cursor = self._dbapi.cursor()
        account_id, job_id = self.account_id, self.origin.job_id
        try:
            if self._sqlite:
                sql, names = raw(_insert_json_statement, "sqlite")
                values = {"account_id": account_id, "at": sqlite_stamp(self.now), "job_id": job_id}
                for start in range(0, len(rows), JSON_ROWS):
                    values["rows"] = rows_json(rows[start : start + JSON_ROWS])
                    cursor.execute(sql, tuple(values[name] for name in names))
            else:
                # COPY: psycopg writes its rows in C, where an array parameter's text would be
                # escaped element by element (every quote of every body) in Python.
                at = naive_utc(self.now)
                with cursor.copy(_COPY) as copy:
                    for seq, op, address, entry_id, body, hash_ in rows:
                        copy.write_row((account_id, seq, at, op, address, entry_id, job_id, body, hash_))
        finally:
            cursor.close()

    def finish(self) -> None:
        """Move the account's head to the last event linked."""
        dialect = "sqlite" if self._sqlite else "psycopg"
        at = sqlite_stamp(self.now) if self._sqlite else naive_utc(self.now)
        sql, names = raw(_head_statement, dialect)
        values = {"seq": self.seq, "hash": self.hash, "at": at, "account": self.account_id}
        cursor = self._dbapi.cursor()
        try:
            cursor.execute(sql, tuple(values[name] for name in names) if self._sqlite else values)
        finally:
            cursor.close()


_COLUMNS = ("account_id", "seq", "at", "op", "address", "entry_id", "job_id", "body", "hash")


def _insert_json_statement():
    """SQLite: events from one JSON array of Appending.link's rows, [seq, op, address, entry_id, body, hash]."""
    _rows, field = sqlite_json_rows()
    source = select(bindparam("account_id"), field(0), bindparam("at"), field(1), field(2), field(3), bindparam("job_id"), field(4), field(5))
    return insert(Event).from_select(_COLUMNS, source)


def _head_statement():
    values = {"seq": bindparam("seq"), "hash": bindparam("hash"), "at": bindparam("at")}
    return update(Head).where(Head.account_id == bindparam("account")).values(values)


# The same columns for PostgreSQL's COPY (a table and its columns: there is no query to compile).
_COPY = f"COPY {Event.__tablename__} ({', '.join(_COLUMNS)}) FROM STDIN"


# Metrics count events once their transaction commits.
_PENDING = "stoplist.audit.pending"


def _written(session: Session, facts: Sequence[Fact], origin: Origin, now: datetime) -> None:
    session.info.setdefault(_PENDING, []).append(([fact.op for fact in facts], origin, now))


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    for ops, origin, now in session.info.pop(_PENDING, ()):
        COUNTERS.committed(ops, origin.source, origin.received_at, now)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
