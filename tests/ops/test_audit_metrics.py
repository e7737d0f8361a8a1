"""/metrics on the audit trail (issue 11): events written, the feed's freshness, and how long after
its receipt each opt-out was recorded. Event counts are the process's, so tests read differences."""

from datetime import datetime, timedelta, timezone

from tests.api.helpers import URL

EVENTS = "stoplist_audit_events_total"
HONOURED = "stoplist_optout_honoured_seconds"


def test_events_are_counted_by_op_and_source_once_committed(client, auth, scrape):
    before = scrape()
    added = before.value(EVENTS, op="add", source="api") or 0
    removed = before.value(EVENTS, op="remove", source="api") or 0
    entry = client.post(URL, json={"phone_number": "+48500000001"}, headers=auth).json()
    client.post(URL, json={"phone_number": "+48500000002"}, headers=auth)
    client.delete(f"{URL}/{entry['id']}", headers=auth)
    # Refused: nothing written, nothing counted.
    assert client.post(URL, json={"phone_number": "+48500000003", "received_at": "soon"}, headers=auth).status_code == 400

    after = scrape()
    assert after.value(EVENTS, op="add", source="api") == added + 2
    assert after.value(EVENTS, op="remove", source="api") == removed + 1


def test_the_newest_event_age_is_the_feeds_freshness(client, auth, scrape):
    assert scrape().value("stoplist_audit_newest_event_age_seconds") == 0
    client.post(URL, json={"phone_number": "+48500000001"}, headers=auth)
    assert 0 <= scrape().value("stoplist_audit_newest_event_age_seconds") < 5


def test_received_at_feeds_the_honoured_within_histogram(client, auth, scrape):
    before = scrape()
    day = before.value(f"{HONOURED}_bucket", le="86400.0") or 0
    hour = before.value(f"{HONOURED}_bucket", le="3600.0") or 0
    count = before.value(f"{HONOURED}_count") or 0
    received = (datetime.now(timezone.utc) - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.post(URL, json={"phone_number": "+48500000001", "received_at": received}, headers=auth).status_code == 201

    after = scrape()
    assert after.value(f"{HONOURED}_count") == count + 1
    assert after.value(f"{HONOURED}_bucket", le="86400.0") == day + 1
    assert after.value(f"{HONOURED}_bucket", le="3600.0") == hour


def test_an_imports_summary_event_is_counted_too_but_is_no_opt_out_of_its_own(app, client, auth, scrape):
    from stoplist.composition import create_worker
    from tests.api.helpers import IMPORTS, wait_for_import

    before = scrape()
    summaries = before.value(EVENTS, op="import", source="import") or 0
    added = before.value(EVENTS, op="add", source="import") or 0
    honoured = before.value(f"{HONOURED}_count") or 0
    received = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    job = client.post(IMPORTS, content=b"48500000001\n48500000002\n", headers={**auth, "Content-Type": "text/csv"}, params={"received_at": received}).json()
    create_worker(app.state.session_factory, app.state.settings).run_once()
    assert wait_for_import(client, auth, job["id"])["status"] == "done"

    after = scrape()
    assert after.value(EVENTS, op="import", source="import") == summaries + 1
    assert after.value(EVENTS, op="add", source="import") == added + 2
    assert after.value(f"{HONOURED}_count") == honoured + 2
