"""`stoplist audit verify` covers every stored column (issue: a changed `at` or `job_id` passed).

The columns come from the database itself, so a column added later is tampered with too, and fails
this test until verify covers it. Each column of each event of a trail holding every kind of event
(API adds and updates, an e-mail address, an import's rows and its summary with their job id, a
remove, an expire) is changed in turn, and verify must exit 1 naming that event; then each column
of the account's head."""

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Integer, MetaData, String, Table, and_, select, update

from stoplist.composition import purge_expired_entries
from stoplist.db import create_db_engine
from tests.api.helpers import IMPORTS, URL, wait_for_import
from tests.cli.test_import_export_cli import bearer, create_token, stoplist

# A realistic change where a generic one would still be caught but says less.
OPS = {"add": "remove", "update": "add", "remove": "add", "expire": "remove", "import": "add"}


def _trail(api, database: str) -> None:
    """Every kind of event on account `default`, and one event on `acme`."""
    auth = bearer(database, "default")
    assert api.post(URL, json={"phone_number": "+48500000001", "evidence": "STOP by SMS"}, headers=auth).status_code == 201
    # An expiry two seconds ahead, which the purge below meets (an expiry moved into the past behind the service's
    # back would be a change that verify names: the expire's before would not be what the update left).
    soon = (datetime.now(timezone.utc) + timedelta(seconds=2)).replace(microsecond=0)
    assert api.post(URL, json={"phone_number": "+48500000001", "expire_at": soon.isoformat()}, headers=auth).status_code == 200
    assert api.post("/blacklist/entries", json={"address": "jan@example.com"}, headers=auth).status_code == 201
    job = api.post(IMPORTS, content="phone_number\n+48500000002\n+48500000003\n", headers={**auth, "Content-Type": "text/csv"}).json()
    assert wait_for_import(api, auth, job["id"])["status"] == "done"
    assert api.delete(URL, params={"phone_number": "+48500000002"}, headers=auth).status_code == 204
    time.sleep(max(0.0, (soon - datetime.now(timezone.utc)).total_seconds()) + 0.1)
    assert purge_expired_entries(api.app.state.session_factory) == 1
    assert api.post(URL, json={"phone_number": "+48500000009"}, headers=bearer(database, "acme")).status_code == 201


def _changed(column: str, value, kind, *, nowhere: int):
    """Another value of the column's type, as someone editing the database would write."""
    if column == "account_id":
        return nowhere  # an account with no events, so that the key stays unique
    if column == "seq":
        return value + 1_000
    if column == "op":
        return OPS[value]
    if isinstance(value, datetime):
        return value + timedelta(seconds=1)
    if isinstance(value, int):
        return value + 1
    if value == "":
        return "0" * 64
    if isinstance(value, str):
        # The first letter or digit moved on by one: a timestamp stays one, a hash stays hex.
        index = next(i for i, char in enumerate(value) if char.isalnum())
        char = value[index]
        moved = str((int(char) + 1) % 10) if char.isdigit() else ("a" if char in "fzFZ" else chr(ord(char) + 1))
        return value[:index] + moved + value[index + 1 :]
    if value is None:
        return 7 if isinstance(kind, Integer) else "x" if isinstance(kind, String) else pytest.fail(f"no changed value for {column} of type {kind}")
    pytest.fail(f"no changed value for {column}={value!r}")


def _verify_names(account: int, seq: int, what: str) -> None:
    result = stoplist("audit", "verify")
    assert result.exit_code == 1, f"{what}: verify passed\n{result.output}"
    assert f"BROKEN: account {account}, event {seq}:" in result.stderr, f"{what}: {result.stderr}"


def test_verify_names_the_event_whatever_column_of_it_was_changed(database, api):
    _trail(api, database)
    ids = {name: id_ for name, id_ in _run_scalar(database, "SELECT name, id FROM accounts")}
    create_token(database, "nobody")  # an account with no events
    nowhere = dict(_run_scalar(database, "SELECT name, id FROM accounts"))["nobody"]
    assert stoplist("audit", "verify").exit_code == 0

    engine = create_db_engine(database)
    try:
        events = Table("entry_events", MetaData(), autoload_with=engine)
        heads = Table("audit_heads", MetaData(), autoload_with=engine)
        key = ("account_id", "seq")
        assert {column.name for column in events.primary_key.columns} == set(key)
        with engine.connect() as connection:
            stored = [row._asdict() for row in connection.execute(select(events).where(events.c.account_id == ids["default"]).order_by(events.c.seq))]
        ops = [event["op"] for event in stored]
        assert {"add", "update", "remove", "expire", "import"} <= set(ops) and any(event["job_id"] for event in stored), ops

        tampered = 0
        for column in events.columns:
            for event in stored:
                value = _changed(column.name, event[column.name], column.type, nowhere=nowhere)
                _set(engine, events, {name: event[name] for name in key}, column.name, value)
                moved = {**{name: event[name] for name in key}, column.name: value} if column.name in key else {name: event[name] for name in key}
                try:
                    _verify_names(ids["default"], event["seq"], f"{column.name} of event {event['seq']} set to {value!r}")
                finally:
                    _set(engine, events, {name: moved[name] for name in key}, column.name, event[column.name])
                tampered += 1
        assert tampered == len(events.columns) * len(stored)

        with engine.connect() as connection:
            head = connection.execute(select(heads).where(heads.c.account_id == ids["default"])).one()._asdict()
        for column in heads.columns:
            value = _changed(column.name, head[column.name], column.type, nowhere=nowhere)
            _set(engine, heads, {"account_id": head["account_id"]}, column.name, value)
            try:
                result = stoplist("audit", "verify")
                assert result.exit_code == 1 and "BROKEN: account" in result.stderr, f"head's {column.name} set to {value!r}: {result.output}"
            finally:
                _set(engine, heads, {"account_id": value if column.name == "account_id" else head["account_id"]}, column.name, head[column.name])
    finally:
        engine.dispose()
    assert stoplist("audit", "verify").exit_code == 0


def _set(engine, table: Table, where: dict, column: str, value) -> None:
    with engine.begin() as connection:
        changed = connection.execute(update(table).where(and_(*(table.c[name] == key for name, key in where.items()))).values({column: value}))
        assert changed.rowcount == 1, (table.name, where, column, value)


def _run_scalar(database: str, sql: str) -> list[tuple]:
    from sqlalchemy import text

    engine = create_db_engine(database)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()
