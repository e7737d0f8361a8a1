"""The events' canonical form and their hash chain. Pure: nothing here touches the database.

An event is stored and served as its canonical JSON (keys sorted, no spaces, ASCII only), and
its hash is SHA-256 over the previous event's hash (of the same account), a newline, and that
JSON. Changing, deleting or reordering any stored event therefore breaks the chain from that
point on, which `verify` finds. The format is part of every proof already given out: change it
only with a new `v`.
"""

import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

VERSION = 1
GENESIS = ""  # the "previous hash" of an account's first event
# What happened to an entry (or, `import`, the summary of an import job), on the chain of the account that owns it.
ENTRY_OPS = ("add", "update", "remove", "expire", "import")
# What happened to an account's tokens and subusers, on the chain of the top-level account: a token
# granted or revoked, a subuser added, changed (name, mode) or deleted. Their address, list and entry_id are null.
ACCOUNT_OPS = ("grant", "revoke", "sub_add", "sub_edit", "sub_del")
OPS = ENTRY_OPS + ACCOUNT_OPS
SOURCES = ("api", "import", "cli", "system")
# The fields of an entry that an event's before and after carry.
FIELDS = ("expire_at", "reason", "note")


def canonical(fields: dict) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def link(previous: str, body: str) -> str:
    return hashlib.sha256(f"{previous}\n{body}".encode()).hexdigest()


@functools.lru_cache(maxsize=4096)
def stamp(moment: datetime | None) -> str | None:
    """A moment as events show it ('2026-11-25T10:00:00Z'); remembered: an import's rows share a few expiries."""
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Shared:
    """The fields that every event of one write shares, with their canonical JSON made once."""

    fields: dict
    fragments: dict


def common(account_id: int, at: str, *, source: str, token_id: int | None = None, actor_account_id: int | None = None, job_id: str | None = None,
           request_id: str | None = None, evidence: str | None = None, received_at: str | None = None) -> Shared:
    """The fields that every event of one write shares: `account_id` owns the chain, the actor (account
    and token) made the change (the owner itself when no other account is named: the CLI, the system)."""
    actor = {"account_id": account_id if actor_account_id is None else actor_account_id, "token_id": token_id}
    fields = {
        "v": VERSION, "account_id": account_id, "at": at, "source": source, "actor": actor,
        "job_id": job_id, "request_id": request_id, "evidence": evidence, "received_at": received_at,
    }
    return Shared(fields, {name: canonical(value) for name, value in fields.items()})


_text = json.encoder.encode_basestring_ascii  # what canonical() writes for a str, in C


def _value(value: str | None) -> str:
    return "null" if value is None else _text(value)


def _state(state: dict | None) -> str:
    if state is None:
        return "null"
    if len(state) == 3:
        try:
            return _known_state((state["expire_at"], state["note"], state["reason"]))
        except (KeyError, TypeError):  # not an entry's state, or a value that cannot be a key
            pass
    return canonical(state)


@functools.lru_cache(maxsize=4096)
def _known_state(key: tuple) -> str:
    """An entry's (expire_at, note, reason) as canonical JSON: the rows of one import mostly share a few."""
    expire_at, note, reason = key
    if not all(value is None or type(value) is str for value in key):
        return canonical({"expire_at": expire_at, "note": note, "reason": reason})
    return f'{{"expire_at":{_value(expire_at)},"note":{_value(note)},"reason":{_value(reason)}}}'



def body(shared: Shared, seq: int, op: str, *, address: str | None, address_kind: str | None, scope: tuple[str, str, str] | None,
         entry_id: int | None, before: dict | None, after: dict | None) -> str:
    """An event's canonical JSON: exactly canonical() of all its fields (tests/unit/test_chain.py),
    written field by field in sorted order, since an import or a delete-all writes millions."""
    f = shared.fragments
    scope_text = "null" if scope is None else f'{{"channel":{_value(scope[1] or None)},"kind":{_text(scope[0])},"sender":{_value(scope[2] or None)}}}'
    return (
        f'{{"account_id":{f["account_id"]},"actor":{f["actor"]},"address":{_value(address)},"address_kind":{_value(address_kind)},'
        f'"after":{_state(after)},"at":{f["at"]},"before":{_state(before)},"entry_id":{"null" if entry_id is None else _text(str(entry_id))},'
        f'"evidence":{f["evidence"]},"job_id":{f["job_id"]},"list":{scope_text},"op":{_text(op)},"received_at":{f["received_at"]},'
        f'"request_id":{f["request_id"]},"seq":{int(seq)},"source":{f["source"]},"v":{f["v"]}}}'
    )


def fields_of(shared: Shared, seq: int, op: str, *, address, address_kind, scope, entry_id, before, after) -> dict:
    """Every field of an event, as body() writes them (for tests, and for anyone checking the format)."""
    return {
        **shared.fields, "seq": seq, "op": op, "address": address, "address_kind": address_kind,
        "list": None if scope is None else {"kind": scope[0], "channel": scope[1] or None, "sender": scope[2] or None},
        "entry_id": None if entry_id is None else str(entry_id), "before": before, "after": after,
    }


@dataclass(frozen=True)
class Broken:
    """The first link of an account's chain that does not hold."""

    account_id: int
    seq: int
    problem: str

    def describe(self) -> str:
        return f"account {self.account_id}, event {self.seq}: {self.problem}"


@dataclass(frozen=True)
class Stored:
    """An event as read back for verification: every column of entry_events, as the database holds it
    (`at` too: RFC 3339 text on SQLite, a naive UTC timestamp on PostgreSQL)."""

    account_id: int
    seq: int
    at: datetime | str
    op: str
    address: str | None
    entry_id: int | None
    job_id: str | None
    body: str
    hash: str


# The columns that repeat a field of the body: each must hold exactly that field (`body` and `hash`
# are checked by the link itself).
REPEATED = ("account_id", "seq", "at", "op", "address", "entry_id", "job_id")


def verify(account_id: int, events: Iterable[Stored], *, base_seq: int, base_hash: str, head_seq: int, head_hash: str,
           head_at: datetime | str | None) -> tuple[int, Broken | None]:
    """Check one account's events, read in seq order, against the chain and its head: (events checked, the first broken link or None)."""
    previous, expected, checked, last_at = base_hash, base_seq + 1, 0, None
    for event in events:
        broken = _problem(account_id, event, previous, expected)
        if broken is not None:
            return checked, broken
        previous, expected, checked, last_at = event.hash, expected + 1, checked + 1, event.at
    if expected - 1 != head_seq:
        return checked, Broken(account_id, expected, f"the chain ends at event {expected - 1} but the account's head says {head_seq}: events were deleted")
    if previous != head_hash:
        return checked, Broken(account_id, head_seq, "the last event's hash is not the one the account's head recorded")
    # The head moves with the last event, at its time; when retention dropped every event, there is nothing left to compare.
    if checked and not _same(written("at", head_at), written("at", last_at)):
        return checked, Broken(account_id, head_seq, f"the account's head says its last event was at {written('at', head_at)!r}, the event says {written('at', last_at)!r}")
    return checked, None


def written(column: str, value):
    """A column's value as the body writes its field: `at` as stamp() does, `entry_id` as a string."""
    if column == "at" and isinstance(value, datetime):
        # A fraction of a second is in no body: it is shown, so that it disagrees.
        return stamp(value) if value.microsecond == 0 else value.isoformat()
    if column == "entry_id" and type(value) is int:
        return str(value)
    return value


def _same(one, other) -> bool:
    """Equal and of one type: SQLite keeps whatever a column is given, and 3 == 3.0 in Python."""
    return type(one) is type(other) and one == other


def _problem(account_id: int, event: Stored, previous: str, expected: int) -> Broken | None:
    """What is wrong with the event read where event `expected` should be, if anything."""
    if type(event.seq) is not int:
        return Broken(account_id, expected, f"its seq is not a number ({event.seq!r})")
    if event.seq > expected:
        return Broken(account_id, expected, f"event {expected} is missing (the next one stored is {event.seq})")
    if event.seq < expected:
        return Broken(account_id, event.seq, f"event {event.seq} is out of order")
    problem = _content_problem(event, previous)
    return None if problem is None else Broken(account_id, event.seq, problem)


def _content_problem(event: Stored, previous: str) -> str | None:
    if link(previous, event.body) != event.hash:
        return "its hash does not match its content and the previous event's hash: it was changed, or an event before it was"
    try:
        fields = json.loads(event.body)
    except ValueError:
        return "its body is not JSON"
    if not isinstance(fields, dict):
        return "its body is not a JSON object"
    for column in REPEATED:
        stored, said = written(column, getattr(event, column)), fields.get(column)
        if not _same(stored, said):
            return f"its column {column} ({stored!r}) disagrees with its body ({said!r})"
    return None
