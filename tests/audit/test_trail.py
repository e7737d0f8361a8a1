"""The audit trail (issue 11): one event per change from every write path, in the change's
transaction; history that outlives the entry; the feed; evidence; the chain and its verification."""

import threading
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import delete, func, select, update

from stoplist.audit import chain
from stoplist.audit.models import Event, Head
from stoplist.audit.trail import Origin
from stoplist.composition import create_worker, purge_expired_entries
from stoplist.db import transaction
from stoplist.history import service as history
from stoplist.lists import service as lists
from tests.api.helpers import IMPORTS, URL, add, assert_error, set_expiry, wait_for_import

ENTRIES = "/blacklist/entries"
FIELDS = {
    "v", "seq", "at", "op", "account_id", "address", "address_kind", "list", "entry_id", "before", "after",
    "source", "actor", "job_id", "request_id", "evidence", "received_at", "hash",
}


@pytest.fixture
def account_id(app, auth) -> int:
    """The id of the account `auth` acts for."""
    from stoplist.auth.repository import AuthRepository

    with app.state.session_factory() as session:
        return AuthRepository(session).account_by_name("default").id


def feed(client, auth, after: str | int | None = None, **params) -> dict:
    if after is not None:
        params["after"] = after
    response = client.get("/blacklist/changes", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def events(client, auth) -> list[dict]:
    return feed(client, auth, limit=10_000)["events"]


def ops(client, auth) -> list[tuple[str, str | None]]:
    return [(event["op"], event["address"]) for event in events(client, auth)]


def event_count(app) -> int:
    with app.state.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Event))


def verified(app) -> chain.Broken | None:
    with app.state.session_factory() as session:
        return history.verify(session)[2]


# Every write path, one event per entry changed


def test_an_add_records_one_add_event_with_every_field(client, auth):
    entry = client.post(ENTRIES, json={"address": "+48 500 000 001", "channel": "sms", "sender": "ACME", "reason": "stop_keyword"}, headers=auth).json()

    [event] = events(client, auth)
    assert set(event) == FIELDS
    assert event["seq"] == 1 and event["op"] == "add" and event["v"] == 1
    assert event["address"] == "48500000001" and event["address_kind"] == "phone"
    assert event["list"] == {"kind": "block", "channel": "sms", "sender": "acme"}  # the sender's key, as checks match it
    assert event["entry_id"] == entry["id"]
    assert event["before"] is None
    assert event["after"] == {"expire_at": None, "reason": "stop_keyword", "note": None}
    assert event["source"] == "api" and event["actor"]["token_id"] is not None and event["job_id"] is None
    assert event["request_id"]
    assert event["at"] == entry["created_at"]


def test_a_re_add_records_an_update_with_before_and_after(client, auth):
    add(client, auth, "+48500000001")
    add(client, auth, "+48500000001", expire_at="2099-01-01", status=200)

    first, second = events(client, auth)
    assert (first["op"], second["op"]) == ("add", "update")
    assert second["before"] == {"expire_at": None, "reason": "manual", "note": None}
    assert second["after"] == {"expire_at": "2099-01-01T00:00:00Z", "reason": "manual", "note": None}
    assert second["entry_id"] == first["entry_id"]


def test_a_lapsed_entry_listed_again_is_expired_first_and_listed_anew_as_a_new_entry(app, client, auth):
    entry = add(client, auth, "+48500000001")
    set_expiry(app, entry["id"], datetime(2020, 1, 1, tzinfo=timezone.utc))
    again = add(client, auth, "+48500000001")
    first, expired, added = events(client, auth)
    assert [event["op"] for event in (first, expired, added)] == ["add", "expire", "add"]
    assert first["entry_id"] == expired["entry_id"] == entry["id"] != added["entry_id"] == again["id"]
    assert expired["before"]["expire_at"] == "2020-01-01T00:00:00Z" and expired["after"] is None


def test_every_delete_route_records_one_remove_per_entry(client, auth):
    one = add(client, auth, "+48500000001")
    add(client, auth, "+48500000002")
    add(client, auth, "+48500000003")
    native = client.post(ENTRIES, json={"address": "jan@example.com"}, headers=auth).json()

    assert client.delete(f"{URL}/{one['id']}", headers=auth).status_code == 204
    assert client.delete(URL, params={"phone_number": "+48500000002"}, headers=auth).status_code == 204
    assert client.delete(f"{ENTRIES}/{native['id']}", headers=auth).status_code == 204
    assert client.delete(URL, headers=auth).status_code == 204

    removed = [(event["op"], event["address"], event["before"]["reason"]) for event in events(client, auth)[4:]]
    assert removed == [
        ("remove", "48500000001", "manual"), ("remove", "48500000002", "manual"), ("remove", "jan@example.com", "manual"), ("remove", "48500000003", "manual"),
    ]


def test_a_delete_that_finds_nothing_records_nothing(client, auth):
    add(client, auth, "+48500000001")
    assert client.delete(f"{URL}/999999", headers=auth).status_code == 404
    assert client.delete(URL, params={"phone_number": "+48500000009"}, headers=auth).status_code == 204
    assert [event["op"] for event in events(client, auth)] == ["add"]


def test_delete_all_of_many_entries_records_one_remove_each_in_order(app, client, auth, account_id):
    from stoplist.testing.lists import fill

    numbers = {f"4850{index:07d}": None for index in range(25_000)}
    with transaction(app.state.session_factory) as session:
        fill(session, account_id, numbers, now=datetime.now(timezone.utc).replace(microsecond=0))
    assert client.delete(URL, headers=auth).status_code == 204

    every = feed(client, auth, after=25_000, limit=10_000)["events"] + feed(client, auth, after=35_000, limit=10_000)["events"] + feed(client, auth, after=45_000, limit=10_000)["events"]
    assert [event["seq"] for event in every] == list(range(25_001, 50_001))
    assert {event["op"] for event in every} == {"remove"}
    assert sorted(event["address"] for event in every) == sorted(numbers)
    assert verified(app) is None


def test_an_import_records_each_entry_and_one_summary_for_the_job(app, client, auth):
    add(client, auth, "+48500000001")
    body = "phone_number,expire_at\n+48500000001,2099-01-01\n+48500000002\nnot a number\n"
    job = client.post(IMPORTS, content=body, headers={**auth, "Content-Type": "text/csv"}, params={"evidence": "paper forms, batch 7"}).json()
    create_worker(app.state.session_factory, app.state.settings).run_once()
    assert wait_for_import(client, auth, job["id"])["status"] == "done"

    _first, *imported = events(client, auth)
    assert [(event["op"], event["address"]) for event in imported] == [("update", "48500000001"), ("add", "48500000002"), ("import", None)]
    assert {event["job_id"] for event in imported} == {job["id"]}
    assert {event["source"] for event in imported} == {"import"}
    assert {event["evidence"] for event in imported} == {"paper forms, batch 7"}
    assert imported[0]["before"]["expire_at"] is None and imported[0]["after"]["expire_at"] == "2099-01-01T00:00:00Z"
    assert imported[-1]["after"] == {"rows": 3, "added": 1, "updated": 1, "unchanged": 0, "invalid": 1}
    assert all(event["actor"]["token_id"] == imported[0]["actor"]["token_id"] is not None for event in imported)
    assert imported[1]["entry_id"] is not None


def test_an_import_keeps_every_character_of_its_addresses_notes_and_evidence(app, client, auth):
    # On SQLite an import's rows and events reach the database as one JSON text per write: quotes,
    # backslashes, line breaks and letters beyond ASCII must come out as they went in, and the
    # chain, hashed over the bodies before the write, must still verify.
    note = 'said "stop", C:\\path\\x \\u0000, ünïcödé ✉ 🛑\nsecond line'
    evidence = 'letter "7\\b" \u00e9 🛑'
    body = (
        "address,channel,list,reason,note\n"
        f'Zażółć.Jaźń@Przykład.PL,email,block,complaint,"{note.replace(chr(34), chr(34) * 2)}"\n'
        "+48500000001,,allow,,\n"
    )
    first = client.post(IMPORTS, content=body.encode(), headers={**auth, "Content-Type": "text/csv"}, params={"evidence": evidence}).json()
    create_worker(app.state.session_factory, app.state.settings).run_once()
    assert wait_for_import(client, auth, first["id"])["status"] == "done"
    # Again, with another reason: the second write updates the entry it changes, and leaves the other alone.
    again = client.post(IMPORTS, content=body.replace("complaint", "bounce").encode(), headers={**auth, "Content-Type": "text/csv"}).json()
    create_worker(app.state.session_factory, app.state.settings).run_once()
    report = wait_for_import(client, auth, again["id"])
    assert (report["status"], report["updated"], report["unchanged"]) == ("done", 1, 1)

    entries = client.get("/blacklist/entries", params={"address_kind": "email"}, headers=auth).json()["collection"]
    assert [(entry["address"], entry["note"], entry["reason"]) for entry in entries] == [("Zażółć.Jaźń@xn--przykad-rjb.pl", note, "bounce")]
    written = [event for event in events(client, auth) if event["op"] != "import"]
    # Events name the address by its key, its local part folded; the entry shows it as first given.
    assert [(event["op"], event["address"]) for event in written] == [
        ("add", "zażółć.jaźń@xn--przykad-rjb.pl"), ("add", "48500000001"), ("update", "zażółć.jaźń@xn--przykad-rjb.pl"),
    ]
    assert written[0]["after"]["note"] == note and written[0]["evidence"] == evidence
    assert written[2]["before"]["note"] == note
    assert verified(app) is None


def test_an_import_cut_off_between_commits_is_redone_from_its_last_one_with_one_event_per_entry(app, account_id, monkeypatch):
    """Rows are written a few at a time but committed a batch at a time, with the counts: what a
    crash (here, a failing commit) loses of a batch, the rerun from the last counts writes once."""
    import io

    from stoplist.imports import service as import_service

    monkeypatch.setattr(import_service, "WRITE_ROWS", 3)
    monkeypatch.setattr(import_service, "BATCH_ROWS", 6)
    body = ("phone_number\n" + "".join(f"+4850000{i:04d}\n" for i in range(20))).encode()
    committed: list[import_service.ImportCounts] = []

    def commit(session, counts, *, fail_at: int | None = None):
        if len(committed) + 1 == fail_at:
            session.rollback()
            raise RuntimeError("the server died before this commit")
        session.commit()
        committed.append(import_service.ImportCounts(**counts.as_progress()))

    def run(start, fail_at=None):
        with app.state.session_factory() as session:
            return import_service.import_rows(
                io.BytesIO(body), session=session, account_id=account_id, default_region=None, start=start,
                commit=lambda session, counts: commit(session, counts, fail_at=fail_at), reject=lambda session, rejections: None,
                origin=Origin("import", job_id="j" * 32),
            )

    with pytest.raises(RuntimeError):
        run(import_service.ImportCounts(), fail_at=2)
    assert [counts.line for counts in committed] == [7]  # six rows after the header: two writes, one commit
    assert event_count(app) == 6

    final = run(committed[-1])
    assert [counts.line for counts in committed] == [7, 13, 19, 21, 21]  # the last: the job's summary
    assert final.summary() == {"rows": 20, "added": 20, "updated": 0, "unchanged": 0, "invalid": 0}
    with app.state.session_factory() as session:
        recorded = session.execute(select(Event.op, Event.address).order_by(Event.seq)).all()
    assert recorded == [("add", f"4850000{i:04d}") for i in range(20)] + [("import", None)]
    assert verified(app) is None


def test_an_import_whose_write_fails_midway_commits_nothing_of_that_batch(app, account_id, monkeypatch):
    """A batch's writes run on a thread of their own while the next ones are made: a
    write that fails there fails the import, and nothing of its batch is committed, neither
    entries nor events; the rerun from the last counts completes the chain."""
    import io

    from stoplist.audit import trail as trail_module
    from stoplist.imports import service as import_service
    from stoplist.lists.models import Entry

    monkeypatch.setattr(import_service, "WRITE_ROWS", 3)
    monkeypatch.setattr(import_service, "BATCH_ROWS", 9)
    body = ("phone_number\n" + "".join(f"+4851000{i:04d}\n" for i in range(18))).encode()
    insert = trail_module.Appending.insert
    calls = {"n": 0}

    def failing_insert(self, rows):
        calls["n"] += 1
        if calls["n"] == 5:  # the second write of the second batch
            raise RuntimeError("the disk filled up")
        insert(self, rows)

    def run(start):
        with app.state.session_factory() as session:
            return import_service.import_rows(
                io.BytesIO(body), session=session, account_id=account_id, default_region=None, start=start,
                commit=lambda session, counts: (session.commit(), committed.append(counts)), reject=lambda session, rejections: None,
                origin=Origin("import", job_id="k" * 32),
            )

    committed: list = []
    monkeypatch.setattr(trail_module.Appending, "insert", failing_insert)
    with pytest.raises(RuntimeError, match="disk filled up"):
        run(import_service.ImportCounts())
    assert [counts.line for counts in committed] == [10]
    with app.state.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Entry)) == 9
    assert event_count(app) == 9 and verified(app) is None

    monkeypatch.setattr(trail_module.Appending, "insert", insert)
    final = run(committed[-1])
    assert final.summary() == {"rows": 18, "added": 18, "updated": 0, "unchanged": 0, "invalid": 0}
    with app.state.session_factory() as session:
        entries = dict(session.execute(select(Entry.address, Entry.id)).all())
        recorded = session.execute(select(Event.op, Event.address, Event.entry_id).where(Event.op != "import").order_by(Event.seq)).all()
    assert [(op, address) for op, address, _id in recorded] == [("add", f"4851000{i:04d}") for i in range(18)]
    assert all(entry_id == entries[address] for _op, address, entry_id in recorded)
    assert verified(app) is None


def test_an_imports_events_name_its_entries_while_another_account_adds_at_the_same_time(app, account_id):
    """An import takes the ids of its new entries from the sequence before writing them (so that its
    events are made meanwhile): another account's adds, drawing on the same sequence at the same
    time, get other ids, and every event names the entry its address has."""
    import io

    from stoplist.auth.repository import AuthRepository
    from stoplist.db import utcnow
    from stoplist.imports import service as import_service
    from stoplist.lists.models import Entry

    with transaction(app.state.session_factory) as session:
        other = AuthRepository(session).add_account("other", created_at=utcnow()).id
    body = ("phone_number\n" + "".join(f"+4852{i:07d}\n" for i in range(6_000))).encode()
    errors: list[BaseException] = []

    def adder() -> None:
        try:
            for index in range(150):
                with transaction(app.state.session_factory) as session:
                    lists.add(
                        session, account_id=other, scope=lists.Scope("block", "", ""), address=f"4853{index:07d}", address_kind="phone",
                        expire_at=None, reason=None, note=None, set_note=False, origin=Origin("api"),
                    )
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    thread = threading.Thread(target=adder)
    thread.start()
    with app.state.session_factory() as session:
        counts = import_service.import_rows(
            io.BytesIO(body), session=session, account_id=account_id, default_region=None, start=import_service.ImportCounts(),
            commit=lambda session, _counts: session.commit(), reject=lambda session, rejections: None, origin=Origin("cli"),
        )
    thread.join()
    assert not errors and counts.added == 6_000
    with app.state.session_factory() as session:
        entries = {(account, address): entry_id for account, address, entry_id in session.execute(select(Entry.account_id, Entry.address, Entry.id))}
        recorded = session.execute(select(Event.account_id, Event.address, Event.entry_id).where(Event.op == "add")).all()
    assert len(entries) == 6_150 and len(set(entries.values())) == 6_150
    assert len(recorded) == 6_150 and all(entries[account, address] == entry_id for account, address, entry_id in recorded)
    assert verified(app) is None


def test_the_writer_finishes_its_background_writes_before_it_does_anything_else(app, account_id, monkeypatch):
    """On PostgreSQL a bulk write may still be running when upsert_many returns: the writer's next
    change waits for it, so it sees every entry the bulk write made, and the commit holds both."""
    from stoplist.db import utcnow
    from stoplist.lists import writer as writer_module
    from stoplist.lists.addresses import PHONE
    from stoplist.lists.models import Entry

    from stoplist.audit import trail as trail_module

    def slowed(function):
        def slowly(self, *args):
            time.sleep(0.05)
            function(self, *args)

        return slowly

    monkeypatch.setattr(writer_module.EntryWriter, "_write_entries", slowed(writer_module.EntryWriter._write_entries))
    monkeypatch.setattr(trail_module.Appending, "insert", slowed(trail_module.Appending.insert))
    monkeypatch.setattr(trail_module.Appending, "finish", slowed(trail_module.Appending.finish))
    now = utcnow()
    with transaction(app.state.session_factory) as session:
        writer = writer_module.EntryWriter(session, Origin("cli"))
        list_id = writer.list_id(account_id=account_id, now=now)
        rows = [writer_module.Row(list_id, f"4854{i:07d}", PHONE, None, None) for i in range(30)]
        assert writer.upsert_many(account_id=account_id, rows=rows, source="cli", now=now, per_write=5, background=True) == (30, 0, 0)
        change = writer_module.Change(address="48540000029", address_kind=PHONE, expire_at=None, source="cli", reason="complaint")
        entry, created = writer.add(account_id=account_id, list_id=list_id, change=change, now=now)
        assert not created and entry.reason == "complaint"
    with app.state.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Entry)) == 30
        assert session.execute(select(Event.op).order_by(Event.seq)).scalars().all() == ["add"] * 30 + ["update"]
    assert verified(app) is None


def test_the_purge_records_one_expire_per_entry_as_the_system(app, client, auth):
    entry = add(client, auth, "+48500000001")
    add(client, auth, "+48500000002")
    set_expiry(app, entry["id"], datetime(2020, 1, 1, tzinfo=timezone.utc))

    assert purge_expired_entries(app.state.session_factory) == 1
    last = events(client, auth)[-1]
    assert (last["op"], last["address"], last["source"], last["actor"]["token_id"]) == ("expire", "48500000001", "system", None)
    assert last["before"]["expire_at"] == "2020-01-01T00:00:00Z" and last["after"] is None


def test_a_write_that_fails_records_nothing(app, account_id):
    """The event is in the change's transaction: what is rolled back leaves no trace."""
    with pytest.raises(RuntimeError):
        with transaction(app.state.session_factory) as session:
            lists.add(
                session, account_id=account_id, scope=lists.DEFAULT_SCOPE, address="48500000001", address_kind="phone", expire_at=None,
                reason=None, note=None, set_note=False, origin=Origin("api"),
            )
            raise RuntimeError("after the write, before the commit")
    assert event_count(app) == 0


def test_accounts_have_chains_of_their_own(client, auth, make_token):
    other = {"Authorization": f"Bearer {make_token('other')}"}
    add(client, auth, "+48500000001")
    add(client, other, "+48500000001")
    add(client, other, "+48500000002")
    assert [event["seq"] for event in events(client, auth)] == [1]
    assert [event["seq"] for event in events(client, other)] == [1, 2]
    assert client.get("/blacklist/history", params={"address": "+48500000002"}, headers=auth).json()["events"] == []


# Evidence, received_at, request ids


def test_evidence_and_received_at_are_kept_from_every_kind_of_write_route(client, auth):
    grounds = {"evidence": "SMS 'STOP' received, message id 123", "received_at": "2026-11-30T10:00:00+01:00"}
    add_smsapi = client.post(URL, json={"phone_number": "+48500000001", **grounds}, headers=auth)
    add_form = client.post(URL, data={"phone_number": "+48500000002", **grounds}, headers=auth)
    add_native = client.post(ENTRIES, json={"address": "jan@example.com", **grounds}, headers=auth)
    assert {add_smsapi.status_code, add_form.status_code, add_native.status_code} == {201}
    assert client.delete(f"{URL}/{add_smsapi.json()['id']}", params=grounds, headers=auth).status_code == 204
    assert client.delete(URL, params={"phone_number": "+48500000002", **grounds}, headers=auth).status_code == 204
    assert client.delete(f"{ENTRIES}/{add_native.json()['id']}", params=grounds, headers=auth).status_code == 204

    every = events(client, auth)
    assert len(every) == 6
    assert {event["evidence"] for event in every} == {grounds["evidence"]}
    assert {event["received_at"] for event in every} == {"2026-11-30T09:00:00Z"}


def test_received_at_is_kept_as_the_moment_it_names_in_utc_to_the_second(client, auth):
    """As the README says: the offset is not kept, nor a fraction of a second (the trail's times are whole seconds)."""
    grounds = {"evidence": "STOP, 11:00 Warsaw time", "received_at": "2026-11-30T10:00:00.9+01:00"}
    assert client.post(URL, json={"phone_number": "+48500000001", **grounds}, headers=auth).status_code == 201
    assert [event["received_at"] for event in events(client, auth)] == ["2026-11-30T09:00:00Z"]


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_empty_or_blank_evidence_is_none_on_the_trail(client, auth, blank):
    # as a blank note is no note: evidence nobody can read proves nothing
    entry = client.post(ENTRIES, json={"address": "+48500000001", "evidence": blank}, headers=auth)
    assert entry.status_code == 201, entry.text
    assert client.delete(f"{ENTRIES}/{entry.json()['id']}", params={"evidence": blank}, headers=auth).status_code == 204
    assert [event["evidence"] for event in events(client, auth)] == [None, None]


UNUSABLE = [
    ("evidence", "x" * 1001), ("evidence", "nul \x00 inside"), ("received_at", "yesterday"), ("received_at", "2026-11-30T10:00:00"),
    ("received_at", "2999-01-01T00:00:00Z"), ("received_at", ""), ("received_at", "2026-11-30T10:00:00Z" + " " * 40),
    ("received_at", "0001-01-01T00:00:00Z"), ("received_at", "1969-12-31T23:59:59Z"), ("received_at", "1970-01-01T00:59:59+01:00"),
]


@pytest.mark.parametrize(("field", "value"), UNUSABLE)
def test_unusable_evidence_is_refused_as_invalid_evidence_on_every_write_route_and_nothing_is_written(client, auth, field, value):
    entry = client.post(URL, json={"phone_number": "+48500000009"}, headers=auth).json()
    written = events(client, auth)
    query_routes = [("DELETE", f"{URL}/{entry['id']}"), ("DELETE", URL), ("DELETE", f"{ENTRIES}/{entry['id']}")]
    answers = [
        client.post(ENTRIES, json={"address": "+48500000001", field: value}, headers=auth),
        client.post(URL, json={"phone_number": "+48500000001", field: value}, headers=auth),
        client.post(URL, data={"phone_number": "+48500000001", field: value}, headers=auth),
        client.post(IMPORTS, content=b"48500000001\n", params={field: value}, headers={**auth, "Content-Type": "text/csv"}),
        *(client.request(method, path, params={field: value}, headers=auth) for method, path in query_routes),
    ]
    for response in answers:
        assert response.status_code == 400, (response.request.url, response.text)
        assert response.json()["error"] == "invalid_evidence", response.text
        assert response.json()["errors"][0]["path"] == field
    assert events(client, auth) == written
    assert client.get(ENTRIES, headers=auth).json()["size"] == 1


def test_a_sensible_request_id_is_kept_and_another_is_replaced(client, auth):
    add_with = client.post(URL, json={"phone_number": "+48500000001"}, headers={**auth, "X-Request-Id": "crm-sync-42"})
    add_bad = client.post(URL, json={"phone_number": "+48500000002"}, headers={**auth, "X-Request-Id": "has spaces in it"})
    assert add_with.status_code == add_bad.status_code == 201
    first, second = events(client, auth)
    assert first["request_id"] == "crm-sync-42"
    assert second["request_id"] != "has spaces in it" and len(second["request_id"]) == 32


# History


def test_history_survives_the_deletion_of_the_entry_in_any_spelling(client, auth):
    entry = add(client, auth, "+48 500 000 001")
    add(client, auth, "48500000001", expire_at="2099-01-01", status=200)
    client.delete(f"{URL}/{entry['id']}", headers=auth)
    assert client.get(f"{URL}/{entry['id']}", headers=auth).status_code == 404

    by_address = client.get("/blacklist/history", params={"address": "0048 500-000-001"}, headers=auth).json()
    by_entry = client.get(f"{ENTRIES}/{entry['id']}/history", headers=auth).json()
    by_smsapi = client.get(f"{URL}/{entry['id']}/history", headers=auth).json()
    assert [event["op"] for event in by_address["events"]] == ["add", "update", "remove"]
    assert by_address == by_entry == by_smsapi
    assert by_address["next"] is None


def test_history_pages_oldest_first(client, auth):
    for expiry in ("2091-01-01", "2092-01-01", "2093-01-01", "2094-01-01", "2095-01-01"):
        assert client.post(URL, json={"phone_number": "+48500000001", "expire_at": expiry}, headers=auth).status_code in (200, 201)
    first = client.get("/blacklist/history", params={"address": "+48500000001", "limit": 2}, headers=auth).json()
    second = client.get("/blacklist/history", params={"address": "+48500000001", "limit": 2, "after": first["next"]}, headers=auth).json()
    third = client.get("/blacklist/history", params={"address": "+48500000001", "limit": 2, "after": second["next"]}, headers=auth).json()
    assert [e["seq"] for e in first["events"] + second["events"] + third["events"]] == [1, 2, 3, 4, 5]
    assert third["next"] is None


def test_history_routes_refuse_what_they_cannot_read(client, auth, make_token):
    entry = client.post(ENTRIES, json={"address": "jan@example.com"}, headers=auth).json()
    other = {"Authorization": f"Bearer {make_token('other')}"}
    assert_error(client.get(f"{ENTRIES}/{entry['id']}/history", headers=other), 404, "entry_not_found")
    # SMSAPI's route knows only the default list's phone numbers.
    assert_error(client.get(f"{URL}/{entry['id']}/history", headers=auth), 404, "entry_not_found")
    assert_error(client.get(f"{ENTRIES}/123456789/history", headers=auth), 404, "entry_not_found")
    assert_error(client.get("/blacklist/history", params={"address": "no such thing"}, headers=auth), 400, "invalid_address")
    assert_error(client.get("/blacklist/history", params={"address": "+48500000001", "after": "x1"}, headers=auth), 400, "invalid_cursor")
    # Neither an address nor a period (since/until): whose events, or when, is required.
    assert_error(client.get("/blacklist/history", headers=auth), 400, "filter_required")


def test_history_as_csv_is_a_proof_a_spreadsheet_cannot_run(client, auth):
    client.post(URL, json={"phone_number": "+48500000001", "evidence": "=HYPERLINK(\"http://x\")"}, headers=auth)
    response = client.get("/blacklist/history", params={"address": "+48500000001"}, headers={**auth, "Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == ",".join(f'"{name}"' for name in history.CSV_HEADER)
    assert len(lines) == 2
    assert "\"'=HYPERLINK(\"\"http://x\"\")\"" in lines[1]
    assert lines[1].startswith('1,"')


# The feed


def test_the_feed_gives_every_event_once_to_a_client_that_keeps_its_cursor(client, auth):
    cursor = "0"
    seen = []
    for round_ in range(4):
        for index in range(3):
            add(client, auth, f"+4850000{round_}{index:03d}")
        while True:
            page = feed(client, auth, after=cursor, limit=2)
            seen += [event["seq"] for event in page["events"]]
            if page["next"] == cursor:
                break
            cursor = page["next"]
    assert seen == list(range(1, 13))
    assert feed(client, auth)["events"][0]["seq"] == 1
    # The newest event's cursor, given bare or as `next` names it: nothing new, and that same cursor again.
    assert feed(client, auth, after=12) == {"events": [], "next": cursor} == feed(client, auth, after=cursor)
    assert cursor.startswith("12-") and cursor[3:] == feed(client, auth, after=11)["events"][0]["hash"][:16]


def test_a_waiting_feed_read_answers_when_an_event_arrives(client, auth):
    add(client, auth, "+48500000001")
    threading.Timer(0.5, lambda: add(client, auth, "+48500000002")).start()
    started = time.monotonic()
    page = feed(client, auth, after=1, wait=30)
    waited = time.monotonic() - started
    assert [event["address"] for event in page["events"]] == ["48500000002"]
    # Answered when the event came (0.5 s), not at the end of its wait (30 s), even on a loaded machine.
    assert 0.3 < waited < 15


def test_a_waiting_feed_read_with_nothing_new_answers_empty_after_its_wait(client, auth):
    started = time.monotonic()
    assert feed(client, auth, after=0, wait=0.5) == {"events": [], "next": "0"}
    assert 0.4 < time.monotonic() - started < 10


def test_the_feed_refuses_bad_cursors_and_waits(client, auth):
    assert_error(client.get("/blacklist/changes", params={"after": "-1"}, headers=auth), 400, "invalid_cursor")
    assert_error(client.get("/blacklist/changes", params={"wait": 31}, headers=auth), 400, "validation_error")
    assert_error(client.get("/blacklist/changes", params={"limit": 10_001}, headers=auth), 400, "validation_error")


# The chain


def test_the_chain_verifies_and_each_hash_covers_the_previous(app, client, auth):
    add(client, auth, "+48500000001")
    add(client, auth, "+48500000002")
    first, second = events(client, auth)
    body = lambda event: chain.canonical({key: value for key, value in event.items() if key != "hash"})  # noqa: E731
    assert first["hash"] == chain.link(chain.GENESIS, body(first))
    assert second["hash"] == chain.link(first["hash"], body(second))
    assert verified(app) is None


@pytest.mark.parametrize("tamper", ["edit", "delete", "delete_last", "reorder", "edit_column"])
def test_verification_names_the_first_broken_link(app, client, auth, tamper):
    for index in range(5):
        add(client, auth, f"+4850000000{index}")
    with transaction(app.state.session_factory) as session:
        if tamper == "edit":
            body = session.scalar(select(Event.body).where(Event.seq == 3))
            session.execute(update(Event).where(Event.seq == 3).values(body=body.replace('"manual"', '"legal"')))
        elif tamper == "delete":
            session.execute(delete(Event).where(Event.seq == 3))
        elif tamper == "delete_last":
            session.execute(delete(Event).where(Event.seq == 5))
        elif tamper == "reorder":
            session.execute(update(Event).where(Event.seq == 3).values(seq=-3))
            session.execute(update(Event).where(Event.seq == 4).values(seq=3))
            session.execute(update(Event).where(Event.seq == -3).values(seq=4))
        else:
            session.execute(update(Event).where(Event.seq == 3).values(address="48999999999"))
    broken = verified(app)
    assert broken is not None
    assert broken.seq == {"edit": 3, "delete": 3, "delete_last": 5, "reorder": 3, "edit_column": 3}[tamper], broken
    assert broken.describe().startswith(f"account {broken.account_id}, event {broken.seq}:")


def test_retention_drops_whole_old_months_and_the_chain_still_verifies(app, client, auth, account_id):
    from stoplist.audit import retention

    for index in range(4):
        add(client, auth, f"+4850000000{index}")
    with transaction(app.state.session_factory) as session:
        session.execute(update(Event).where(Event.seq <= 2).values(at=datetime(2026, 1, 15, tzinfo=timezone.utc)))
    now = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
    assert retention.cutoff(now, 3) == datetime(2026, 9, 1, tzinfo=timezone.utc)
    assert retention.cutoff(datetime(2026, 2, 10, tzinfo=timezone.utc), 3) == datetime(2025, 11, 1, tzinfo=timezone.utc)
    with transaction(app.state.session_factory) as session:
        assert retention.drop_expired(session, now=now, months=3) == 2
    assert [event["seq"] for event in feed(client, auth, after=2)["events"]] == [3, 4]
    assert verified(app) is None
    with app.state.session_factory() as session:
        assert session.get(Head, account_id).base_seq == 2


def test_no_route_changes_or_deletes_events(app):
    """Reads only: the trail's routes are GETs (and every write route only appends)."""
    paths = {path: set(operations) for path, operations in app.openapi()["paths"].items() if "history" in path or "changes" in path}
    assert len(paths) == 4 and all(methods == {"get"} for methods in paths.values()), paths
