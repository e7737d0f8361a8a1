"""`stoplist audit verify` holds the entries to their trail: a change made to them behind the service's back (a row
deleted, an expiry shortened and then swept, a row inserted or put back) is named, though every event still chains;
what the service itself writes always agrees, even while writers go on as verify reads."""

from datetime import datetime, timezone

from sqlalchemy import delete, insert, select, text, update

from stoplist.audit import retention
from stoplist.composition import purge_expired_entries
from stoplist.db import transaction
from stoplist.history import service as history
from stoplist.history.repository import EventRepository
from stoplist.auth.repository import AuthRepository
from stoplist.lists.models import Entry, List
from tests.api.helpers import URL, add


def verified(app):
    with app.state.session_factory() as session:
        return history.verify(session)


def _sql(app, statement, **values):
    with transaction(app.state.session_factory) as session:
        session.execute(statement if not isinstance(statement, str) else text(statement), values)


def _listed(client, auth, *numbers):
    return [add(client, auth, number)["id"] for number in numbers]


def test_the_services_own_writes_agree_with_the_trail(app, client, auth):
    first, second, third = _listed(client, auth, "+48500000001", "+48500000002", "+48500000003")
    assert client.post(URL, json={"phone_number": "+48500000001", "expire_at": "2099-01-01"}, headers=auth).status_code == 200
    assert client.patch(f"/blacklist/entries/{second}", json={"note": "by phone", "list": "allow"}, headers=auth).status_code == 200
    assert client.delete(f"{URL}/{third}", headers=auth).status_code == 204

    result = verified(app)

    assert result.broken is None and result.entries == 2  # the first, and the second moved to the allow list


def test_a_row_deleted_behind_the_services_back_is_named(app, client, auth):
    first, second = _listed(client, auth, "+48500000001", "+48500000002")
    _sql(app, delete(Entry).where(Entry.id == int(second)))

    broken = verified(app).broken

    assert broken.entry_id == int(second)
    assert "leaves it listed, but it is not: it was deleted behind the service's back" in broken.describe()


def test_an_expiry_shortened_behind_the_services_back_is_named_before_and_after_the_sweep(app, client, auth):
    (entry,) = _listed(client, auth, "+48500000001")
    _sql(app, update(Entry).where(Entry.id == int(entry)).values(expire_at=datetime(2020, 1, 1, tzinfo=timezone.utc)))

    broken = verified(app).broken
    assert broken.entry_id == int(entry) and "it holds" in broken.problem and "changed behind the service's back" in broken.problem
    assert '"expire_at": "2020-01-01T00:00:00Z"' in broken.problem

    # The sweep records an expire whose before is the row it found, not what the trail left: the gap is named.
    assert purge_expired_entries(app.state.session_factory) == 1
    broken = verified(app).broken
    assert broken.entry_id == int(entry) and "a change between them is not on the trail" in broken.problem


def test_an_address_or_a_list_changed_behind_the_services_back_is_named(app, client, auth):
    """Another address, or the allow list, lifts the opt-out as surely as a delete: the checks answered not blacklisted."""
    first, second = _listed(client, auth, "+48500000001", "+48500000002")
    allowed = client.post("/blacklist/entries", json={"address": "+48500000003", "list": "allow"}, headers=auth).json()
    with app.state.session_factory() as session:
        allow_list = session.scalar(select(Entry.list_id).where(Entry.id == int(allowed["id"])))

    _sql(app, update(Entry).where(Entry.id == int(first)).values(address="48999999999"))
    broken = verified(app).broken
    assert broken.entry_id == int(first) and "it holds the address '48999999999'" in broken.problem and "changed behind" in broken.problem

    _sql(app, update(Entry).where(Entry.id == int(first)).values(address="48500000001"))
    _sql(app, update(Entry).where(Entry.id == int(second)).values(list_id=allow_list))
    broken = verified(app).broken
    assert broken.entry_id == int(second) and "it is on the list allow (channel every, sender every)" in broken.problem


def test_a_row_inserted_or_put_back_behind_the_services_back_is_named(app, client, auth):
    kept, removed = _listed(client, auth, "+48500000001", "+48500000002")
    with app.state.session_factory() as session:
        row = {column: value for column, value in session.execute(select(Entry.__table__).where(Entry.id == int(removed))).one()._mapping.items()}
    assert client.delete(f"{URL}/{removed}", headers=auth).status_code == 204
    assert verified(app).broken is None

    _sql(app, insert(Entry).values(row))  # put back as it was
    broken = verified(app).broken
    assert broken.entry_id == int(removed) and "it was put back behind the service's back" in broken.problem

    _sql(app, delete(Entry).where(Entry.id == int(removed)))
    _sql(app, insert(Entry).values({**row, "id": int(removed) + 100, "address": "48500000099"}))  # never listed through the service
    broken = verified(app).broken
    assert broken.entry_id == int(removed) + 100 and "no event records it: it was added behind the service's back" in broken.problem


def test_an_entry_of_an_account_without_a_trail_is_named_verifying_that_account_alone_too(app, client, auth, make_token):
    _listed(client, auth, "+48500000001")
    make_token("quiet")  # an account that never wrote: no trail
    with app.state.session_factory() as session:
        quiet = AuthRepository(session).account_by_name("quiet").id
        row = {column: value for column, value in session.execute(select(Entry.__table__)).one()._mapping.items()}
        list_row = {column: value for column, value in session.execute(select(List.__table__).where(List.id == row["list_id"])).one()._mapping.items()}
    _sql(app, insert(List).values({**list_row, "id": list_row["id"] + 100, "account_id": quiet}))
    _sql(app, insert(Entry).values({**row, "id": row["id"] + 100, "account_id": quiet, "list_id": list_row["id"] + 100}))

    for account_id in (None, quiet):
        with app.state.session_factory() as session:
            broken = history.verify(session, account_id=account_id).broken
        assert (broken.account_id, broken.entry_id) == (quiet, row["id"] + 100) and "its account has no trail at all" in broken.problem


def test_entries_whose_events_retention_dropped_are_not_mistaken_for_tampering(app, client, auth):
    _listed(client, auth, "+48500000001", "+48500000002")
    old = "2026-01-15T00:00:00Z" if app.state.session_factory.kw["bind"].dialect.name == "sqlite" else "2026-01-15 00:00:00"
    _sql(app, "UPDATE entry_events SET at = :old", old=old)
    with transaction(app.state.session_factory) as session:
        assert retention.drop_expired(session, now=datetime(2026, 12, 1, tzinfo=timezone.utc), months=3) == 2

    result = verified(app)

    assert result.broken is None and result.entries == 2


def test_writes_committed_while_verify_reads_the_entries_are_not_mistaken_for_tampering(app, client, auth, monkeypatch):
    """The events and the entries are read in one snapshot: an entry added, and one removed, after the events were read
    and before the entries were would otherwise be an entry without events and an event without its entry."""
    _listed(client, auth, "+48500000001", "+48500000002")
    listed = EventRepository.listed

    def writing_meanwhile(self, account_id):
        add(client, auth, "+48500000003")
        assert client.delete(URL, params={"phone_number": "+48500000001"}, headers=auth).status_code == 204
        yield from listed(self, account_id)

    monkeypatch.setattr(EventRepository, "listed", writing_meanwhile)
    result = verified(app)

    assert result.broken is None and result.entries == 2
