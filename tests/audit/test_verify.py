"""Verification on a live trail: events appended while it reads are not mistaken for tampering, and
events that no chain accounts for (after the head, or of an account without one) are named."""

from datetime import timedelta

from sqlalchemy import insert, select

from stoplist.audit.models import Event
from stoplist.auth.repository import AuthRepository
from stoplist.db import transaction, utcnow
from stoplist.history import service as history
from stoplist.history.repository import EventRepository
from tests.api.helpers import add


def verified(app):
    with app.state.session_factory() as session:
        return history.verify(session)


def _forge(app, account_id: int, seq: int) -> None:
    """An event written straight into the table, as the trail's writer never would."""
    with transaction(app.state.session_factory) as session:
        session.execute(insert(Event).values(account_id=account_id, seq=seq, at=utcnow(), op="add", body="{}", hash="0" * 64))


def _default(app) -> int:
    with app.state.session_factory() as session:
        return AuthRepository(session).account_by_name("default").id


def test_events_appended_while_verification_reads_do_not_break_it(app, client, auth, monkeypatch):
    for index in range(3):
        add(client, auth, f"+4850000000{index}")
    stored = EventRepository.stored

    def appending_meanwhile(self, account_id, *, through, batch=5_000):
        add(client, auth, "+48500000009")  # committed on another connection, after the head was read
        yield from stored(self, account_id, through=through, batch=batch)

    monkeypatch.setattr(EventRepository, "stored", appending_meanwhile)
    assert verified(app) == (1, 3, None, 4)  # the entries are read after the chain, in a snapshot: the fourth agrees with its event
    with app.state.session_factory() as session:
        assert session.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1)) == 4


def test_an_event_after_the_last_one_the_head_recorded_is_named(app, client, auth):
    for index in range(3):
        add(client, auth, f"+4850000000{index}")
    _forge(app, _default(app), 7)
    _accounts, _checked, broken = verified(app)[:3]
    assert broken is not None and (broken.seq, broken.account_id) == (7, _default(app))
    assert "after the last one the account's head recorded" in broken.problem


def test_an_event_of_an_account_without_a_head_is_named(app, client, auth, make_token):
    add(client, auth, "+48500000001")
    make_token("quiet")  # an account that never wrote
    with app.state.session_factory() as session:
        quiet = AuthRepository(session).account_by_name("quiet").id
    _forge(app, quiet, 1)
    _accounts, _checked, broken = verified(app)[:3]
    assert broken is not None and (broken.account_id, broken.seq) == (quiet, 1) and "without a head" in broken.problem
    with app.state.session_factory() as session:
        assert history.verify(session, account_id=quiet)[2] == broken


def test_a_column_that_disagrees_with_the_body_is_named_with_both_values(app, client, auth):
    """The README's example of a broken link."""
    from sqlalchemy import update

    for index in range(3):
        add(client, auth, f"+4850000000{index}")
    with app.state.session_factory() as session:
        at = session.scalar(select(Event.at).where(Event.seq == 3))
    with transaction(app.state.session_factory) as session:
        session.execute(update(Event).where(Event.seq == 3).values(at=at + timedelta(seconds=1)))
    _accounts, _checked, broken = verified(app)[:3]
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    later = (at + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert broken.describe() == f"account {_default(app)}, event 3: its column at ({later!r}) disagrees with its body ({stamp!r})"
