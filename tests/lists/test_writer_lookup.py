"""The writer's lookup of the entries a bulk write or a batch meets (BulkWrites._known): exactly the stored
entry of each (list, address) asked for, live or lapsed, whatever the address holds (quotes, backslashes,
characters beyond the BMP; no NUL, which no address holds: on SQLite the addresses travel as one JSON text),
across lookup batches."""

import itertools
from datetime import timedelta

from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from stoplist.audit.trail import Origin
from stoplist.auth.repository import AuthRepository
from stoplist.db import transaction, utcnow
from stoplist.lists.addresses import EMAIL, PHONE
from stoplist.lists.writer import EntryWriter, Row
from stoplist.lists.writer import bulk

NOW = utcnow()
_NAMES = itertools.count()  # an account of each example's own, on the test's one database
_ADDRESS = st.one_of(st.text("0123456789", min_size=1, max_size=12), st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), min_size=1, max_size=12))


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=st.lists(_ADDRESS, min_size=0, max_size=12, unique=True), asked=st.lists(_ADDRESS, max_size=12), batch=st.sampled_from([1, 3, 10_000]))
def test_the_lookup_finds_exactly_the_stored_entries_asked_for(session_factory, monkeypatch, stored, asked, batch):
    monkeypatch.setattr(bulk, "LOOKUP_BATCH", batch)
    with transaction(session_factory) as session:
        accounts = AuthRepository(session)
        account = accounts.add_account(f"account {next(_NAMES)}", created_at=NOW).id
        other = accounts.add_account(f"other-{account}", created_at=NOW).id
        writer = EntryWriter(session, Origin("api"))
        lists = (writer.list_id(account_id=account, now=NOW), writer.list_id(account_id=account, channel="sms", now=NOW))
        rows = [
            Row(lists[index % 2], address, EMAIL if not address.isdigit() else PHONE, NOW - timedelta(days=1) if index % 3 == 0 else None, "manual", f"n{index}")
            for index, address in enumerate(stored)
        ]
        writer.upsert_many(account_id=account, rows=rows, source="import", now=NOW - timedelta(days=2))
        # The same addresses on another account's list: never the account's.
        writer.upsert_many(account_id=other, rows=[row._replace(list_id=writer.list_id(account_id=other, now=NOW)) for row in rows], source="import", now=NOW)
        keys = sorted({(lists[index % 2], address) for index, address in enumerate(asked)} | {(row.list_id, row.address) for row in rows[::2]})

        found = writer._known(account, keys)

        expected = {(row.list_id, row.address): (row.expire_at, row.reason, row.note) for row in rows if (row.list_id, row.address) in set(keys)}
        assert {key: (stored_.expire_at, stored_.reason, stored_.note) for key, stored_ in found.items()} == expected
        assert len({stored_.id for stored_ in found.values()}) == len(found)
