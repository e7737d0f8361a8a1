"""Delete by filter (issue 25): `DELETE /blacklist/entries?<any listing filter>` deletes exactly what the same filter
lists, one event each, counts the live ones, and with `dry_run=true` deletes nothing; no filter at all is refused."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select, update

from stoplist.audit.models import Event
from stoplist.db import transaction
from stoplist.lists.models import Entry
from tests.api.helpers import URL, add, assert_error, set_expiry

ENTRIES = "/blacklist/entries"
PAST = datetime(2020, 1, 1, tzinfo=timezone.utc)


def put(client, auth, **body) -> dict:
    response = client.post(ENTRIES, json=body, headers=auth)
    assert response.status_code in (200, 201), response.text
    return response.json()


def listed(client, auth, **params) -> list[str]:
    response = client.get(ENTRIES, params={"limit": 1000, **params}, headers=auth)
    assert response.status_code == 200, response.text
    return sorted(entry["id"] for entry in response.json()["collection"])


def delete(client, auth, **params):
    return client.delete(ENTRIES, params=params, headers=auth)


def events(client, auth) -> list[dict]:
    response = client.get("/blacklist/changes", params={"limit": 10_000}, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["events"]


def event_count(app) -> int:
    with app.state.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Event))


@pytest.fixture
def spread(client, auth) -> dict[str, dict]:
    return {
        "default": put(client, auth, address="+48500000001"),
        "sms": put(client, auth, address="+48500000001", channel="sms", reason="stop_keyword"),
        "wa_acme": put(client, auth, address="+48500000001", channel="whatsapp", sender="ACME", list="allow"),
        "other": put(client, auth, address="+48600111222", channel="sms"),
        "email": put(client, auth, address="Jan@Example.com", channel="email", reason="bounce"),
    }


@pytest.mark.parametrize(
    "params",
    [
        {"address": "0048 500 000 001"}, {"channel": "sms"}, {"channel": "", "address": "+48500000001"}, {"sender": "", "channel": "sms"},
        {"sender": "acme"}, {"list": "allow"}, {"reason": "BOUNCE"},
        {"address_kind": "email"}, {"q": "111 222"}, {"q": "example"}, {"created_after": "yesterday"}, {"created_before": "2000-01-01"},
        {"address": "+48500000001", "channel": "sms"}, {"expire_before": "2999-01-01"}, {"expire_after": "2999-01-01"},
    ],
)
def test_it_deletes_exactly_what_the_same_filter_lists_and_a_dry_run_counts_it(client, app, auth, spread, params):
    selected = listed(client, auth, **params)
    everything = listed(client, auth)
    before = event_count(app)

    dry = delete(client, auth, dry_run="true", **params)
    assert dry.status_code == 200 and dry.json() == {"count": len(selected)}
    assert listed(client, auth) == everything and event_count(app) == before

    real = delete(client, auth, **params)
    assert real.status_code == 200 and real.json() == {"count": len(selected)}
    assert listed(client, auth) == sorted(set(everything) - set(selected))
    assert listed(client, auth, **params) == []
    assert event_count(app) == before + len(selected)


def test_each_entry_gets_one_remove_event_with_the_requests_evidence(client, auth, spread):
    response = delete(client, {**auth, "X-Request-Id": "sweep-7"}, address="+48500000001", evidence="STOP to every list", received_at="2026-11-30T10:00:00Z")

    assert response.json() == {"count": 3}
    removed = [event for event in events(client, auth) if event["op"] == "remove"]
    assert sorted(event["entry_id"] for event in removed) == sorted(spread[name]["id"] for name in ("default", "sms", "wa_acme"))
    assert {(event["evidence"], event["received_at"], event["request_id"], event["source"]) for event in removed} == {
        ("STOP to every list", "2026-11-30T10:00:00Z", "sweep-7", "api")
    }
    assert [event["entry_id"] for event in removed] == sorted((event["entry_id"] for event in removed), key=int)


def test_a_lapsed_entry_that_matches_goes_with_its_expire_event_and_is_not_counted(client, app, auth, spread):
    set_expiry(app, spread["sms"]["id"], PAST)

    assert delete(client, auth, address="+48500000001", dry_run="1").json() == {"count": 2}
    assert delete(client, auth, address="+48500000001").json() == {"count": 2}

    last = events(client, auth)[-3:]
    assert sorted((event["op"], event["entry_id"]) for event in last) == sorted(
        [("remove", spread["default"]["id"]), ("expire", spread["sms"]["id"]), ("remove", spread["wa_acme"]["id"])]
    )
    with app.state.session_factory() as session:
        assert session.get(Entry, int(spread["sms"]["id"])) is None


@pytest.mark.parametrize("query", ["", "?", "?q=", "?q=%20%20", "?dry_run=true", "?evidence=all%20of%20them", "?limit=10"])
def test_no_filter_at_all_is_refused_and_nothing_goes(client, app, auth, spread, query):
    before = event_count(app)

    response = client.delete(ENTRIES + query, headers=auth)

    code = "validation_error" if "limit" in query else "filter_required"
    assert_error(response, 400, code)
    assert len(listed(client, auth)) == len(spread) and event_count(app) == before


@pytest.mark.parametrize(
    "query",
    ["?created_before=9999", "?created_after=1000", "?start=1000-01-01T00:00:00Z&dry_run=true", "?expire_after=1000&expire_before=9999", "?updated_after=1000-01"],
)
def test_a_date_range_that_takes_in_every_date_is_no_filter_and_nothing_goes(client, app, auth, spread, query):
    """From the calendar's first second or to its last: no entry holds a time beyond either, so such a range deletes all."""
    before = event_count(app)

    response = client.delete(ENTRIES + query, headers=auth)

    assert_error(response, 400, "filter_required")
    assert "every date" in response.json()["message"]
    assert len(listed(client, auth)) == len(spread) and event_count(app) == before


@pytest.mark.parametrize("query", ["?list=block&q=", "?channel=sms&q=%20", "?q=&address=%2B48500000001&dry_run=true"])
def test_a_blank_search_is_refused_whatever_else_the_delete_names(client, app, auth, spread, query):
    """A listing reads a blank q as no search; a delete refuses it: a template's blank search beside `list=block` would
    take every block entry."""
    before = event_count(app)

    response = client.delete(ENTRIES + query, headers=auth)

    assert_error(response, 400, "filter_required")
    assert "q is empty" in response.json()["message"]
    assert len(listed(client, auth)) == len(spread) and event_count(app) == before


@pytest.mark.parametrize("query", ["?channel=", "?sender=", "?channel=&sender=", "?sender=%20&dry_run=true", "?channel=&sender=%20"])
def test_an_empty_channel_or_sender_alone_is_no_filter_and_nothing_goes(client, app, auth, spread, query):
    """A template's blank value (`?channel=`) would name every list for every channel, the default list among them:
    it narrows another filter, and alone it is refused as no filter."""
    before = event_count(app)

    response = client.delete(ENTRIES + query, headers=auth)

    assert_error(response, 400, "filter_required")
    assert "empty channel or sender" in response.json()["message"]
    assert len(listed(client, auth)) == len(spread) and event_count(app) == before


@pytest.mark.parametrize(
    ("params", "code"),
    [({"chanel": "sms"}, "validation_error"), ({"channel": "fax"}, "invalid_scope"), ({"address": "nonsense"}, "invalid_address"),
     ({"created_after": "whenever"}, "invalid_date"), ({"start": "2020-01-01", "created_after": "2020-01-01"}, "conflicting_parameters"),
     ({"channel": "sms", "dry_run": "maybe"}, "validation_error"), ({"channel": "sms", "received_at": "2999-01-01T00:00:00Z"}, "invalid_evidence")],
)
def test_a_delete_that_says_something_it_cannot_mean_deletes_nothing(client, app, auth, spread, params, code):
    before = event_count(app)

    assert_error(delete(client, auth, **params), 400, code)
    assert len(listed(client, auth)) == len(spread) and event_count(app) == before


def test_another_accounts_entries_are_never_deleted(client, auth, make_token, spread):
    other = {"Authorization": f"Bearer {make_token('other')}"}
    theirs = put(client, other, address="+48500000001", channel="sms")

    assert delete(client, auth, address="+48500000001").json() == {"count": 3}
    assert listed(client, other) == [theirs["id"]]
    assert delete(client, other, channel="sms", dry_run="true").json() == {"count": 1}


def test_smsapis_delete_all_still_empties_its_list_without_a_filter(client, auth, spread):
    add(client, auth, "+48500000002")

    assert client.delete(URL, headers=auth).status_code == 204
    assert listed(client, auth) == sorted(spread[name]["id"] for name in ("sms", "wa_acme", "other", "email"))


def test_entries_created_in_a_period_go_and_the_rest_stay(client, app, auth, spread):
    with transaction(app.state.session_factory) as session:
        session.execute(update(Entry).where(Entry.id.in_([int(spread["sms"]["id"]), int(spread["other"]["id"])])).values(created_at=PAST))

    assert delete(client, auth, created_before="2020-01-01").json() == {"count": 2}
    assert listed(client, auth) == sorted(spread[name]["id"] for name in ("default", "wa_acme", "email"))
