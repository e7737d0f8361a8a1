"""The change feed's invariant, as a property: a mirror that applies only what the feed returns
(following `next`, restarted now and then from its saved cursor) equals the live list at the end,
entry for entry, while several writers add, re-add, delete by id, by number and all at once,
import, add batches, move entries to other lists, replace addresses by others, add subusers
(account events, which the mirror tells apart by their op and skips), and entries lapse and are
swept meanwhile. And every entry's events read `add`, then any number of `update`, then at most
one `remove` or `expire`, nothing after it.

Hypothesis draws each writer's script; the writers run at once, on connections of their own (on
PostgreSQL their transactions really overlap). Each example works in an account of its own, so
one database serves them all. `STOPLIST_MIRROR_EXAMPLES` raises the number of examples (`make fuzz`
style runs); the suite runs a few on each database.
"""

import io
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from stoplist.accounts.service import add_subuser
from stoplist.audit import chain
from stoplist.audit.trail import Origin
from stoplist.auth.repository import AuthRepository
from stoplist.blacklist import service as blacklist
from stoplist.composition import purge_expired_entries
from stoplist.db import transaction, utcnow
from stoplist.errors import EntryExists, EntryNotFound, InvalidAddress
from stoplist.history import service as history
from stoplist.imports import service as imports
from stoplist.lists import batch, editing, service as lists
from stoplist.lists.models import Entry, List
from stoplist.lists.queries import live

EXAMPLES = int(os.environ.get("STOPLIST_MIRROR_EXAMPLES", "4"))
PHONES = [f"4850000{index:04d}" for index in range(6)]
EMAILS = ["ewa@example.com", "jan@example.org"]
ADDRESSES = PHONES + EMAILS
# (kind, channel, sender); '' is every. E-mail addresses go on the ones without a phone channel.
SCOPES = [("block", "", ""), ("block", "sms", ""), ("allow", "whatsapp", "ACME"), ("block", "email", "")]
EXPIRIES = [None, "soon", "later"]  # never; within a second or two (it lapses during the example); in a day

address = st.integers(0, len(ADDRESSES) - 1)
scope = st.integers(0, len(SCOPES) - 1)
expiry = st.sampled_from(EXPIRIES)
operation = st.one_of(
    st.tuples(st.just("add"), address, scope, expiry),
    st.tuples(st.just("delete_id"), address, scope),
    st.tuples(st.just("delete_number"), st.integers(0, len(PHONES) - 1)),
    st.tuples(st.just("delete_all")),
    st.tuples(st.just("import"), st.lists(st.tuples(address, scope, expiry), min_size=1, max_size=6)),
    st.tuples(st.just("batch"), st.lists(st.tuples(address, scope, expiry), min_size=1, max_size=6)),
    st.tuples(st.just("move"), address, scope, scope),
    st.tuples(st.just("replace"), address, address),
    st.tuples(st.just("pause")),
    st.tuples(st.just("subuser")),
)
scripts = st.lists(st.lists(operation, min_size=2, max_size=7), min_size=2, max_size=3)


def fits(address_index: int, scope_index: int) -> bool:
    channel = SCOPES[scope_index][1]
    return channel in ("", "email") if "@" in ADDRESSES[address_index] else channel != "email"


def expire_at(code: str | None):
    if code is None:
        return None
    return utcnow() + (timedelta(seconds=2) if code == "soon" else timedelta(days=1))


@dataclass
class Mirror:
    """What a CRM keeps: entries by id, built from the feed alone, and the cursor it saved."""

    entries: dict[str, tuple] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)
    cursor: str = "0"
    problems: list[str] = field(default_factory=list)

    def apply(self, event: dict) -> None:
        op, entry_id = event["op"], event["entry_id"]
        if op in chain.ACCOUNT_OPS:
            if entry_id is not None or event["address"] is not None:
                self.problems.append(f"event {event['seq']}: account event {op} names an entry")
            return
        if op == "import":
            return
        if entry_id in self.ended:
            self.problems.append(f"event {event['seq']}: {op} of entry {entry_id} after its remove or expire")
        elif op == "add":
            if entry_id in self.entries:
                self.problems.append(f"event {event['seq']}: a second add of entry {entry_id}")
            scope_ = event["list"]
            key = (event["address"], event["address_kind"], scope_["kind"], scope_["channel"] or "", scope_["sender"] or "")
            self.entries[entry_id] = (*key, event["after"]["expire_at"], event["after"]["reason"], event["after"]["note"])
        elif entry_id not in self.entries:
            self.problems.append(f"event {event['seq']}: {op} of entry {entry_id}, which was never added")
        elif op == "update":
            self.entries[entry_id] = (*self.entries[entry_id][:5], event["after"]["expire_at"], event["after"]["reason"], event["after"]["note"])
        else:  # remove, expire
            del self.entries[entry_id]
            self.ended.add(entry_id)


def follow(session_factory, account_id: int, mirror: Mirror, *, pages: int) -> int:
    """One run of a reader: up to `pages` pages from the mirror's cursor (then it "restarts"); answers how many events."""
    seen = 0
    for _ in range(pages):
        with session_factory() as session:
            page = history.feed(session, account_id=account_id, after=mirror.cursor, limit=7)
        for _seq, body, _hash in page.events:
            mirror.apply(json.loads(body))
        seen += len(page.events)
        mirror.cursor = page.next
        if not page.events:
            break
    return seen


def find(session_factory, account_id: int, address_index: int, scope_index: int) -> int | None:
    """The id of the entry of that address on the list of that scope, if any (live or not)."""
    with session_factory() as session:
        return session.scalar(
            select(Entry.id).join(List, List.id == Entry.list_id).where(
                Entry.account_id == account_id, Entry.address == ADDRESSES[address_index],
                List.kind == SCOPES[scope_index][0], List.channel == SCOPES[scope_index][1], List.sender == SCOPES[scope_index][2],
            )
        )


def kind_of(address_index: int) -> str:
    return "email" if "@" in ADDRESSES[address_index] else "phone"


def run_script(session_factory, account_id: int, script: list[tuple], errors: list) -> None:
    origin = Origin("api")
    try:
        for step in script:
            kind = step[0]
            if kind == "pause":
                time.sleep(0.6)
            elif kind == "subuser":
                with transaction(session_factory) as session:
                    parent = AuthRepository(session).account_by_id(account_id)
                    add_subuser(session, parent=parent, name=f"sub-{uuid.uuid4().hex}", mode="own", origin=origin, now=utcnow())
            elif kind == "add":
                _, address_index, scope_index, code = step
                if not fits(address_index, scope_index):
                    continue
                with transaction(session_factory) as session:
                    lists.add(
                        session, account_id=account_id, scope=lists.Scope(*SCOPES[scope_index]), address=ADDRESSES[address_index],
                        address_kind="email" if "@" in ADDRESSES[address_index] else "phone", expire_at=expire_at(code),
                        reason=None, note=None, set_note=False, origin=origin,
                    )
            elif kind == "delete_id":
                _, address_index, scope_index = step
                found = find(session_factory, account_id, address_index, scope_index)
                if found is not None:
                    try:
                        with transaction(session_factory) as session:
                            lists.delete(session, account_id=account_id, entry_id=str(found), origin=origin)
                    except EntryNotFound:
                        pass  # deleted meanwhile, or lapsed (its expire recorded)
            elif kind == "delete_number":
                with transaction(session_factory) as session:
                    blacklist.delete_entries(session, account_id=account_id, phone_number=PHONES[step[1]], spelled=PHONES[step[1]], default_region=None, origin=origin)
            elif kind == "move":
                _, address_index, scope_index, target_index = step
                found = find(session_factory, account_id, address_index, scope_index)
                target = SCOPES[target_index]
                move = editing.Move(kind=target[0], channel=target[1], sender=lists.sender_of(target[2], default_region=None))
                if found is not None:
                    try:
                        with transaction(session_factory) as session:
                            editing.edit(session, account_id=account_id, entry_id=str(found), move=move, origin=origin, now=utcnow())
                    except (EntryNotFound, EntryExists, InvalidAddress):
                        pass  # gone or lapsed meanwhile, its address on the target list already, or one the target cannot hold
            elif kind == "replace":
                _, old, new = step
                try:
                    with transaction(session_factory) as session:
                        editing.replace(
                            session, account_id=account_id, old=editing.Address(kind_of(old), ADDRESSES[old]),
                            new=editing.Address(kind_of(new), ADDRESSES[new]), new_raw=ADDRESSES[new], scope=None, origin=origin, now=utcnow(),
                        )
                except (EntryNotFound, EntryExists, InvalidAddress):
                    pass  # nothing to replace, the new address on one of the lists, or the same address (or one a list cannot hold)
            elif kind == "batch":
                items = []
                for address_index, scope_index, code in step[1]:
                    kind_, channel, sender = SCOPES[scope_index]
                    moment = expire_at(code)
                    items.append({"address": ADDRESSES[address_index], "list": kind_, "channel": channel, "sender": sender,
                                  "expire_at": None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")})
                with transaction(session_factory) as session:
                    now = utcnow()
                    batch.add_batch(session, account_id=account_id, items=items, defaults=batch.Defaults(), origin=origin, now=now, default_region=None)
            elif kind == "delete_all":
                with transaction(session_factory) as session:
                    blacklist.delete_entries(session, account_id=account_id, phone_number=None, spelled=None, default_region=None, origin=origin)
            else:  # import
                lines = ["address,channel,sender,list,expire_at"]
                for address_index, scope_index, code in step[1]:
                    kind_, channel, sender = SCOPES[scope_index]
                    moment = expire_at(code)
                    lines.append(f"{ADDRESSES[address_index]},{channel},{sender},{kind_},{'' if moment is None else moment.strftime('%Y-%m-%dT%H:%M:%SZ')}")
                with session_factory() as session:
                    imports.import_rows(
                        io.BytesIO(("\n".join(lines) + "\n").encode()), session=session, account_id=account_id, default_region=None,
                        start=imports.ImportCounts(), commit=lambda batch_session, _counts: batch_session.commit(),
                        reject=lambda _session, _rejections: None, origin=Origin("import", job_id=None),
                    )
    except BaseException as exc:  # noqa: BLE001 (reported by the test)
        errors.append(exc)


def live_list(session_factory, account_id: int) -> dict[str, tuple]:
    """The account's live entries, as the mirror keeps them."""
    columns = (Entry.id, Entry.address, Entry.address_kind, List.kind, List.channel, List.sender, Entry.expire_at, Entry.reason, Entry.note)
    with session_factory() as session:
        rows = session.execute(select(*columns).join(List, List.id == Entry.list_id).where(Entry.account_id == account_id, live(utcnow()))).all()
    return {
        str(entry_id): (address, kind, list_kind, channel, sender, None if expiry is None else expiry.strftime("%Y-%m-%dT%H:%M:%SZ"), reason, note)
        for entry_id, address, kind, list_kind, channel, sender, expiry, reason, note in rows
    }


@pytest.fixture
def new_account(session_factory):
    names = iter(range(1_000_000))

    def make() -> int:
        with transaction(session_factory) as session:
            return AuthRepository(session).add_account(f"mirror-{next(names)}", created_at=utcnow()).id

    return make


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], derandomize=False)
@given(scripts=scripts)
def test_a_mirror_fed_only_by_the_feed_equals_the_live_list(session_factory, new_account, scripts):
    account_id = new_account()
    mirror = Mirror()
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            follow(session_factory, account_id, mirror, pages=3)  # then it "restarts" from its saved cursor
            time.sleep(0.01)

    def sweeper() -> None:
        while not done.is_set():
            try:
                purge_expired_entries(session_factory)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
            time.sleep(0.25)

    writers = [threading.Thread(target=run_script, args=(session_factory, account_id, script, errors)) for script in scripts]
    helpers = [threading.Thread(target=reader), threading.Thread(target=sweeper)]
    for thread in writers + helpers:
        thread.start()
    for thread in writers:
        thread.join(120)
    done.set()
    for thread in helpers:
        thread.join(60)
    assert not errors, errors

    # Whatever lapses is live for nobody; once the sweep records its expiry, the mirror drops it too.
    if "soon" in repr(scripts):
        time.sleep(2.1)
    purge_expired_entries(session_factory)
    while follow(session_factory, account_id, mirror, pages=100):
        pass

    assert mirror.problems == []
    assert mirror.entries == live_list(session_factory, account_id)
    with session_factory() as session:
        assert history.verify(session, account_id=account_id)[2] is None
