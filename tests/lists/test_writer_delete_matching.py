"""The writer's delete by filter (issue 25): keyset batches in id order that take every entry the filter selects,
live or lapsed, one event each, whatever the batch size; and delete_all built on it."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from stoplist.audit.models import Event
from stoplist.audit.trail import Origin
from stoplist.auth.repository import AuthRepository
from stoplist.db import transaction, utcnow
from stoplist.lists.addresses import PHONE
from stoplist.lists.models import Entry
from stoplist.lists.queries import EntryFilter
from stoplist.lists.writer import Change, EntryWriter


def listed(session_factory, count: int, *, lapse: set[int] = frozenset()) -> tuple[int, int, int, list[int]]:
    """(account, default list, sms list, ids) with `count` numbers on each list; the `lapse` indexes of the sms list expire a second on."""
    now = utcnow()
    with transaction(session_factory) as session:
        account = AuthRepository(session).add_account("default", created_at=now).id
        writer = EntryWriter(session, Origin("api"))
        default = writer.list_id(account_id=account, now=now)
        sms = writer.list_id(account_id=account, channel="sms", now=now)
        ids = []
        for list_id in (default, sms):
            for index in range(count):
                expiry = now + timedelta(seconds=1) if list_id == sms and index in lapse else None
                change = Change(address=f"4850000{index:04d}", address_kind=PHONE, expire_at=expiry, source="api")
                ids.append(writer.add(account_id=account, list_id=list_id, change=change, now=now)[0].id)
    return account, default, sms, ids


@pytest.mark.parametrize("batch", [1, 2, 3, 10_000])
def test_every_batch_size_takes_exactly_the_selected_entries_once_each_in_id_order(session_factory, batch):
    account, _default, sms, ids = listed(session_factory, 7, lapse={1, 4})
    later = utcnow() + timedelta(seconds=5)

    with transaction(session_factory) as session:
        removed = EntryWriter(session, Origin("api")).delete_matching(account_id=account, where=EntryFilter(channel="sms"), now=later, batch=batch)

    with session_factory() as session:
        left = set(session.scalars(select(Entry.id)))
        facts = session.execute(select(Event.op, Event.entry_id).where(Event.op.in_(["remove", "expire"])).order_by(Event.seq)).all()
    assert removed == 5
    assert left == set(ids[:7])
    assert [entry_id for _op, entry_id in facts] == ids[7:]
    assert sorted(op for op, _entry in facts) == ["expire"] * 2 + ["remove"] * 5


def test_delete_all_is_a_delete_of_one_list_by_filter(session_factory):
    account, default, _sms, ids = listed(session_factory, 3)

    with transaction(session_factory) as session:
        assert EntryWriter(session, Origin("api")).delete_all(account_id=account, list_id=default, now=utcnow(), address_kind=PHONE) == 3

    with session_factory() as session:
        assert set(session.scalars(select(Entry.id))) == set(ids[3:])
