"""Senders and e-mail local parts matched folded: lists and entries hold a key, and the spelling first given.

`lists.sender` becomes the sender's key (stoplist.lists.senders.sender_key: a phone number's E.164
digits, otherwise the text case-folded; PostgreSQL's column grows to 192 characters, since folding
can lengthen a sender), with `lists.sender_display` keeping the spelling where it differs.
`blacklist_entries.address` becomes an e-mail address's key (stoplist.lists.addresses.email_key:
the local part case-folded), with `blacklist_entries.address_display` keeping the spelling where it
differs. The app's own folding functions make the keys, with the server's STOPLIST_DEFAULT_REGION,
so the stored keys are exactly what the code matches.

Lists of one account, kind and channel whose senders fold to one key become one: the oldest list
stays (its id and its spelling), the others' entries move onto it and they go. Entries that then
share their account, list and address key (from such a merge, or e-mail addresses differing only in
case) become one entry: the oldest stays (its id, created_at and spelling) and takes the latest
instruction (expire_at, reason, note, source and updated_at of the entry updated last), and the
others go. Entries still live come first, both as the one that stays and as the latest instruction:
a lapsed entry is off its list already, and must not take an opt-out that still holds with it. Each
merge is on the audit trail, chained onto the account's head as audit.trail appends (source
`system`, the evidence naming the migration and the entry merged into): a `remove` for each entry
that goes (`expire` for one that had lapsed), and an `update` for the one that stays when its expiry,
reason or note changes.

The downgrade writes the spellings back into `sender` and `address` and drops the two columns;
merged lists and entries stay merged (README, Backups and upgrades).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

from stoplist.audit import chain
from stoplist.config import get_settings
from stoplist.lists.addresses import email_key
from stoplist.lists.senders import is_scope_word, sender_key

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

LOG = logging.getLogger("alembic.runtime.migration")
BATCH = 5_000  # entries read per statement
LOOKUP = 500  # addresses per IN (...) of the occupants' look-up
RFC3339 = "%Y-%m-%dT%H:%M:%SZ"


class Stored(NamedTuple):
    """An entry as read, its timestamps as the database gives them (RFC 3339 text on SQLite, naive UTC on PostgreSQL)."""

    id: int
    account_id: int
    list_id: int
    address: str
    address_display: str | None
    address_kind: str
    created_at: object
    updated_at: object
    expire_at: object
    reason: str
    note: str | None
    source: str


_FIELDS = "id, account_id, list_id, address, address_display, address_kind, created_at, updated_at, expire_at, reason, note, source"
_ENTRY = f"SELECT {_FIELDS} FROM blacklist_entries"
# The entries of some addresses of an account: an IN list on SQLite; on PostgreSQL one probe of the unique index per
# address (as stoplist.lists.queries._probed does), whatever the planner's statistics say: after a bulk load they can
# be so stale that it scans every entry for each look-up (300,000 entries took 27 minutes instead of 10 seconds).
_AT_SQLITE = sa.text(f"{_ENTRY} WHERE account_id = :account AND address IN :keys").bindparams(sa.bindparam("keys", expanding=True))
_AT_POSTGRESQL = sa.text(
    f"SELECT e.* FROM unnest(CAST(:keys AS text[])) AS n(address) CROSS JOIN LATERAL"
    f" (SELECT {_FIELDS} FROM blacklist_entries b WHERE b.account_id = :account AND b.address = n.address OFFSET 0) AS e"
)


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.add_column("lists", sa.Column("sender_display", sa.String(length=64), nullable=True))
    op.add_column("blacklist_entries", sa.Column("address_display", sa.String(length=320), nullable=True))
    if not sqlite:
        op.alter_column("lists", "sender", type_=sa.String(length=192), existing_type=sa.String(length=64), existing_nullable=False)
    region = get_settings().default_region
    now = datetime.now(timezone.utc).replace(microsecond=0)
    lists = _Lists(bind, region)
    _Merger(bind, sqlite, now, lists).run()
    lists.finish()


class _Lists:
    """The lists, folded: which list each one becomes (the oldest of its key), and each one's scope as events name it."""

    def __init__(self, bind, region: str | None) -> None:
        self.bind = bind
        self.into: dict[int, int] = {}  # list id -> the id of the list it becomes (itself when it stays)
        self.scopes: dict[int, tuple[str, str, str]] = {}  # list id -> (kind, channel, sender key)
        self._renamed: list[dict] = []  # lists that stay but change: their key and their spelling
        oldest: dict[tuple, int] = {}
        rows = bind.execute(sa.text("SELECT id, account_id, kind, channel, sender FROM lists ORDER BY created_at, id")).all()
        worded = 0
        for list_id, account_id, kind, channel, sender in rows:
            worded += is_scope_word(sender)
            key = sender_key(sender, region)
            stays = oldest.setdefault((account_id, kind, channel, key), list_id)
            self.into[list_id] = stays
            self.scopes[list_id] = (kind, channel, key)
            if stays == list_id and key != sender:
                self._renamed.append({"id": list_id, "sender": key, "display": sender})
        if worded:
            # Earlier releases took these words for names. What the lists meant is not this migration's to guess
            # (on a block list, every sender; on an allow list, that would allow more): they stay, and no check matches them.
            LOG.warning(
                "migration 0012: %d list(s) have 'every', 'all' or '*' as their sender, which no check names: put their entries"
                " on the list of every sender (no sender) if that is what was meant, then delete them (README, Backups and upgrades)", worded,
            )

    @property
    def going(self) -> list[int]:
        return [list_id for list_id, stays in self.into.items() if stays != list_id]

    def finish(self) -> None:
        """Delete the lists merged into others (their entries moved already), then give the others their keys."""
        going = self.going
        for start in range(0, len(going), LOOKUP):
            chunk = going[start : start + LOOKUP]
            count = sa.text("SELECT count(*) FROM blacklist_entries WHERE list_id IN :ids").bindparams(sa.bindparam("ids", expanding=True))
            left = self.bind.execute(count, {"ids": chunk}).scalar_one()
            if left:  # deleting the list would take them with it (ON DELETE CASCADE)
                raise RuntimeError(f"migration 0012: {left} entries are still on lists merged into others; nothing was changed")
            self.bind.execute(sa.text("DELETE FROM lists WHERE id IN :ids").bindparams(sa.bindparam("ids", expanding=True)), {"ids": chunk})
        if self._renamed:
            self.bind.execute(sa.text("UPDATE lists SET sender = :sender, sender_display = :display WHERE id = :id"), self._renamed)


class _Merger:
    """One pass over the entries that fold to another key or list, in id order, batch by batch."""

    # Who merged, and why, as the merge events' evidence says (a later migration that folds further names itself).
    NAME = "migration 0012"
    WHY = "once senders and e-mail local parts are compared without regard to case"

    def __init__(self, bind, sqlite: bool, now: datetime, lists: _Lists) -> None:
        self.bind, self.sqlite, self.now, self.lists = bind, sqlite, now, lists
        self.at = now.strftime(RFC3339) if sqlite else now.replace(tzinfo=None)
        self.heads: dict[int, list] = {}  # account id -> [seq, hash] of its chain, as appended so far

    def run(self) -> None:
        going = self.lists.going
        moving = " OR list_id IN :going" if going else ""
        statement = sa.text(f"{_ENTRY} WHERE id > :after AND (address_kind = 'email'{moving}) ORDER BY id LIMIT :batch")
        if going:
            statement = statement.bindparams(sa.bindparam("going", expanding=True))
        after = 0
        while True:
            rows = [Stored(*row) for row in self.bind.execute(statement, {"after": after, "batch": BATCH, "going": going}).all()]
            if not rows:
                break
            after = rows[-1].id
            self._fold(rows)
        for account_id, (seq, hash_) in self.heads.items():
            self.bind.execute(
                sa.text("UPDATE audit_heads SET seq = :seq, hash = :hash, at = :at WHERE account_id = :account"),
                {"seq": seq, "hash": hash_, "at": self.at, "account": account_id},
            )

    def _fold(self, rows: list[Stored]) -> None:
        """Move a batch's entries to their keys and lists, merging each with whatever entry is there already."""
        groups: dict[tuple[int, int, str], list[Stored]] = {}
        for row in rows:
            target = self.lists.into[row.list_id], email_key(row.address) if row.address_kind == "email" else row.address
            if target != (row.list_id, row.address):
                groups.setdefault((row.account_id, *target), []).append(row)
        for occupant in self._occupants(groups):
            groups[(occupant.account_id, occupant.list_id, occupant.address)].append(occupant)
        moved, gone, updated = [], [], []
        for (account_id, list_id, key), group in groups.items():
            if len(group) == 1:
                moved.append(self._moved(group[0], list_id, key, group[0]))
                continue
            stays, latest = _choose(group, self._moment, self.now)
            goes = sorted((row for row in group if row is not stays), key=lambda row: row.id)
            gone.extend(row.id for row in goes)
            values = self._moved(stays, list_id, key, latest)
            updated.append(values)
            self._record(account_id, stays, latest, goes, (*self.lists.scopes[list_id],), key)
        # Those that go first, so that the one staying can take the key where one of them was.
        for start in range(0, len(gone), LOOKUP):
            delete = sa.text("DELETE FROM blacklist_entries WHERE id IN :ids").bindparams(sa.bindparam("ids", expanding=True))
            self.bind.execute(delete, {"ids": gone[start : start + LOOKUP]})
        if moved or updated:
            self.bind.execute(
                sa.text(
                    "UPDATE blacklist_entries SET list_id = :list_id, address = :address, address_display = :display, expire_at = :expire_at,"
                    " reason = :reason, note = :note, source = :source, updated_at = :updated_at WHERE id = :id"
                ),
                moved + updated,
            )

    def _occupants(self, groups: dict) -> Iterable[Stored]:
        """The entries already where the batch's entries go: on their list, under their key."""
        wanted: dict[int, set[tuple[int, str]]] = {}
        for account_id, list_id, key in groups:
            wanted.setdefault(account_id, set()).add((list_id, key))
        statement = _AT_SQLITE if self.sqlite else _AT_POSTGRESQL
        for account_id, places in wanted.items():
            keys = sorted({key for _list_id, key in places})
            for start in range(0, len(keys), LOOKUP):
                for row in self.bind.execute(statement, {"account": account_id, "keys": keys[start : start + LOOKUP]}).all():
                    if (row.list_id, row.address) in places:
                        yield Stored(*row)

    @staticmethod
    def _moved(row: Stored, list_id: int, key: str, latest: Stored) -> dict:
        """The UPDATE's values: `row` under its key on its list, with `latest`'s instruction (its own when it is the one)."""
        shown = row.address_display or row.address
        return {
            "id": row.id, "list_id": list_id, "address": key, "display": None if shown == key else shown, "expire_at": latest.expire_at,
            "reason": latest.reason, "note": latest.note, "source": latest.source, "updated_at": latest.updated_at,
        }

    def _moment(self, value) -> datetime | None:
        """A stored timestamp as a datetime in UTC (SQLite stores RFC 3339 text, PostgreSQL naive UTC)."""
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.strptime(value, RFC3339).replace(tzinfo=timezone.utc)
        return value.replace(tzinfo=timezone.utc)

    def _state(self, row: Stored) -> dict:
        return {"expire_at": chain.stamp(self._moment(row.expire_at)), "reason": row.reason, "note": row.note}

    def _record(self, account_id: int, stays: Stored, latest: Stored, goes: list[Stored], scope: tuple[str, str, str], key: str) -> None:
        """The merge's events, chained onto the account's head: a `remove` per entry that goes (`expire` for one
        that had lapsed), an `update` if the one that stays changed."""
        head = self._head(account_id)
        stamp = self.now.strftime(RFC3339)
        events = []
        for row in goes:
            evidence = (
                f"{self.NAME}: {row.address_display or row.address} merged into entry {stays.id}, the same address on the same list"
                f" {self.WHY}"
            )
            # One that had lapsed was off its list already: its end is an `expire`, as the sweep would record it.
            lapsed = row.expire_at is not None and self._moment(row.expire_at) <= self.now
            events.append(("expire" if lapsed else "remove", row.id, evidence, self._state(row), None))
        before, after = self._state(stays), self._state(latest)
        if before != after:
            merged = ", ".join(str(row.id) for row in goes)
            evidence = f"{self.NAME}: entries {merged} merged into entry {stays.id}, which takes the latest instruction (entry {latest.id}'s)"
            events.append(("update", stays.id, evidence, before, after))
        records = []
        for op_name, entry_id, evidence, before_state, after_state in events:
            head[0] += 1
            shared = chain.common(account_id, stamp, source="system", evidence=evidence)
            body = chain.body(
                shared, head[0], op_name, address=key, address_kind=stays.address_kind, scope=scope, entry_id=entry_id,
                before=before_state, after=after_state,
            )
            head[1] = chain.link(head[1], body)
            records.append({
                "account_id": account_id, "seq": head[0], "at": self.at, "op": op_name, "address": key, "entry_id": entry_id, "body": body, "hash": head[1],
            })
        self.bind.execute(
            sa.text(
                "INSERT INTO entry_events (account_id, seq, at, op, address, entry_id, job_id, body, hash)"
                " VALUES (:account_id, :seq, :at, :op, :address, :entry_id, NULL, :body, :hash)"
            ),
            records,
        )

    def _head(self, account_id: int) -> list:
        """[seq, hash] where the account's chain stands, its head created if it has none (as Trail.hold does)."""
        head = self.heads.get(account_id)
        if head is None:
            found = self.bind.execute(sa.text("SELECT seq, hash FROM audit_heads WHERE account_id = :account"), {"account": account_id}).one_or_none()
            if found is None:
                self.bind.execute(
                    sa.text("INSERT INTO audit_heads (account_id, seq, hash, at, base_seq, base_hash) VALUES (:account, 0, :genesis, NULL, 0, :genesis)"),
                    {"account": account_id, "genesis": chain.GENESIS},
                )
                found = (0, chain.GENESIS)
            head = self.heads[account_id] = [found[0], found[1]]
        return head


def _choose(group: list[Stored], moment, now: datetime) -> tuple[Stored, Stored]:
    """(the entry that stays: the oldest, the latest instruction: the entry updated last), of the live ones if any is."""
    live = [row for row in group if row.expire_at is None or moment(row.expire_at) > now]
    pool = live or group
    stays = min(pool, key=lambda row: (moment(row.created_at), row.id))
    latest = max(pool, key=lambda row: (moment(row.updated_at), row.id))
    return stays, latest


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE blacklist_entries SET address = address_display WHERE address_display IS NOT NULL"))
    bind.execute(sa.text("UPDATE lists SET sender = sender_display WHERE sender_display IS NOT NULL"))
    op.drop_column("blacklist_entries", "address_display")
    op.drop_column("lists", "sender_display")
    if bind.dialect.name != "sqlite":
        op.alter_column("lists", "sender", type_=sa.String(length=64), existing_type=sa.String(length=192), existing_nullable=False)
