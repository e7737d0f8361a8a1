"""README promises held to the letter: the Settings table's defaults, the literal numbers the README
gives (page sizes, the 16 KB cell, the write-ahead log's figures, Retry-After), X-Request-Id, the
history's page sizes, names over HTTP and an empty evidence. Where a number is in the README, the
test reads it from there, so that neither the README nor the code can change alone."""

import math
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from stoplist import cli, servers, wal
from stoplist.app import create_app
from stoplist.config import Settings, get_settings
from stoplist.db import create_db_engine
from stoplist.downloads import downloads_of
from stoplist.history import service as history
from stoplist.imports.csv_lines import MAX_ROW_CHARS
from stoplist.lists import schemas as lists
from stoplist.supervisor import MAX_WORKERS
from tests.accounts.helpers import ALL, bearer, subuser
from tests.api.helpers import URL, assert_error
from tests.conftest import TestClient

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
PROSE = " ".join(README.split())  # the README as read: line breaks are spaces
BATCH = "/blacklist/entries/batch"
HISTORY = "/blacklist/history"
FEED = "/blacklist/changes"


def readme_says(pattern: str) -> re.Match:
    """The README's sentence matching `pattern` (on its text with line breaks as spaces): it must be there."""
    found = re.search(pattern, PROSE)
    assert found, f"the README no longer says {pattern!r}"
    return found


def number(written: str) -> int:
    """A number as the README writes it: `1,000`, `10,000`, `64`."""
    return int(written.replace(",", ""))


# The Settings table


def settings_table(column: int = 2) -> dict[str, str]:
    """`STOPLIST_X` -> the default column's text (or the meaning's, column 1), for every row of the README's Settings table."""
    section = README.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| `STOPLIST_"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            name = re.fullmatch(r"`(STOPLIST_[A-Z_]+)`", cells[0])
            assert name and len(cells) == 3, f"a Settings row of another shape: {line}"
            rows[name.group(1)] = cells[column]
    assert len(rows) >= 17, rows
    return rows


def literal(default: str) -> str:
    """The default column's value: its first `code` span."""
    found = re.match(r"`([^`]+)`", default)
    assert found, f"no literal default in {default!r}: compare that row by hand (BY_HAND)"
    return found.group(1)


# Rows whose default is not a Settings field's literal, each checked by hand in the tests named.
BY_HAND = {
    # "unset: numbers need their country code": no region (test_the_settings_tables_unset_region_is_no_region).
    "STOPLIST_DEFAULT_REGION",
    # Options of `stoplist serve`, not Settings fields (test_serve_runs_one_uvicorn_process_from_a_clean_environment).
    "STOPLIST_SERVER",
    "STOPLIST_WORKERS",
}
UNITS = {"hours": 3600, "MiB": 1024 * 1024, "KiB": 1024}


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No STOPLIST_* variable (in any case: the settings read them so), no .env file in the directory."""
    for name in list(os.environ):
        if name.upper().startswith("STOPLIST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def clean_settings() -> Settings:
    return Settings(_env_file=None)


def test_every_setting_of_the_readme_table_defaults_to_what_the_settings_build_from_a_clean_environment(clean_environment):
    table = settings_table()
    built = clean_settings()
    fields = {f"STOPLIST_{name.upper()}": name for name in Settings.model_fields}

    # Every row is a Settings field or checked by hand, and every field has a row.
    assert set(table) - set(fields) - BY_HAND == set(), "a README setting with no check: add it to BY_HAND and compare it by hand"
    assert set(fields) - set(table) == set(), "a setting the README's table does not list"
    assert BY_HAND <= set(table), "a hand-checked row the README no longer has"

    compared = []
    for variable, default in table.items():
        if variable in BY_HAND:
            continue
        value, shown = getattr(built, fields[variable]), literal(default)
        if isinstance(value, bool):
            assert shown in ("true", "false"), (variable, default)
            assert value is (shown == "true"), (variable, default, value)
        elif isinstance(value, timedelta):
            assert value.total_seconds() == float(shown), (variable, default, value)
        elif isinstance(value, (int, float)):
            assert value == float(shown), (variable, default, value)
        else:
            assert value == shown, (variable, default, value)
        compared.append(variable)
    assert len(compared) == len(table) - len(BY_HAND)


def test_the_settings_tables_defaults_say_the_same_number_in_their_parentheses():
    """`86400` (24 hours), `104857600` (100 MiB), `262144` (256 KiB): both halves of each are one number."""
    checked = []
    for variable, default in settings_table().items():
        for amount, unit in re.findall(r"\((\d+) (hours|MiB|KiB)\)", default):
            assert float(literal(default)) == int(amount) * UNITS[unit], (variable, default)
            checked.append(variable)
    assert {"STOPLIST_FILE_RETENTION", "STOPLIST_MAX_UPLOAD_BYTES", "STOPLIST_SEND_BUFFER_BYTES"} <= set(checked)


def test_the_settings_tables_unset_region_is_no_region(clean_environment):
    assert settings_table()["STOPLIST_DEFAULT_REGION"].startswith("unset: numbers need their country code")
    assert clean_settings().default_region is None


@pytest.mark.parametrize("written", ["P1D", "86400", "PT24H"])
def test_the_file_retention_reads_seconds_or_iso_8601(clean_environment, monkeypatch: pytest.MonkeyPatch, written: str):
    assert "seconds, or ISO 8601 (`P1D`)" in settings_table(1)["STOPLIST_FILE_RETENTION"]
    monkeypatch.setenv("STOPLIST_FILE_RETENTION", written)
    assert clean_settings().file_retention.total_seconds() == 86400


class Served:
    """What `stoplist serve` would have started, with nothing started: the servers, the migration and logging stubbed out."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started: list[tuple] = []
        served = self

        class Uvicorn:
            class Config:
                def __init__(self, app, **options) -> None:
                    self.app, self.options = app, options

            class Server:
                def __init__(self, config) -> None:
                    self.config = config

                def run(self, sockets) -> None:
                    served.started.append(("uvicorn", 1))

        monkeypatch.setattr(cli, "uvicorn", Uvicorn)
        monkeypatch.setattr(cli, "_migrate_apart", lambda url: None)
        monkeypatch.setattr(cli, "configure_logging", lambda log_format: None)
        monkeypatch.setattr(cli, "listen", lambda config, send_buffer: None)
        monkeypatch.setattr(cli, "run_workers", lambda workers, listen, **options: served.started.append(("uvicorn", workers)))
        monkeypatch.setattr(servers, "run_granian", lambda **options: served.started.append(("granian", options["workers"])))
        monkeypatch.setattr("stoplist.app.create_app", lambda settings, **options: "the app")

    def serve(self, *args: str) -> list[tuple]:
        self.started.clear()
        result = CliRunner().invoke(cli.app, ["serve", *args])
        assert result.exit_code == 0, result.output
        return list(self.started)


def test_serve_runs_one_uvicorn_process_from_a_clean_environment(clean_environment, monkeypatch: pytest.MonkeyPatch):
    table = settings_table()
    assert literal(table["STOPLIST_SERVER"]) == "uvicorn" and literal(table["STOPLIST_WORKERS"]) == "1"
    served = Served(monkeypatch)

    assert served.serve() == [("uvicorn", 1)]
    monkeypatch.setenv("STOPLIST_SERVER", "granian")
    assert served.serve() == [("granian", 1)]  # STOPLIST_WORKERS unset: one process there too


@pytest.mark.parametrize("written", ["GRANIAN", "Granian", "granian"])
def test_stoplist_server_names_granian_in_any_case(clean_environment, monkeypatch: pytest.MonkeyPatch, written: str):
    assert "`uvicorn` or `granian`, in any case" in settings_table(1)["STOPLIST_SERVER"]
    served = Served(monkeypatch)
    monkeypatch.setenv("STOPLIST_SERVER", written)

    assert served.serve() == [("granian", 1)]


def test_stoplist_workers_runs_up_to_the_readmes_64_processes(clean_environment, monkeypatch: pytest.MonkeyPatch):
    low, high = map(int, re.search(r": (\d+) to (\d+)$", settings_table(1)["STOPLIST_WORKERS"]).groups())
    assert (low, high) == (1, MAX_WORKERS)
    served = Served(monkeypatch)
    monkeypatch.setenv("STOPLIST_WORKERS", str(high))

    assert served.serve() == [("uvicorn", high)]


# Literal numbers of the README, against the constants the other tests use


def test_the_listings_page_size_is_the_readmes_100_and_at_most_1000():
    row = next(line for line in README.splitlines() if line.startswith("| `limit` | page size"))
    most, default = map(int, re.fullmatch(r"\| `limit` \| page size, from 1 to \*\*(\d+)\*\* \(more is a `400`\) \| \*\*(\d+)\*\* \|", row).groups())
    assert (default, most) == (lists.DEFAULT_LIMIT, lists.MAX_LIMIT) == (100, 1000)


def test_the_listing_answers_100_entries_by_default_and_refuses_a_limit_past_1000(client, auth):
    response = client.post(BATCH, json={"items": [f"+48500{n:06d}" for n in range(101)]}, headers=auth)
    assert response.status_code == 200, response.text

    page = client.get(URL, headers=auth).json()
    assert page["size"] == 101 and len(page["collection"]) == 100
    assert len(client.get(URL, params={"limit": 1000}, headers=auth).json()["collection"]) == 101
    body = assert_error(client.get(URL, params={"limit": 1001}, headers=auth), 400, "validation_error")
    assert [error["path"] for error in body["errors"]] == ["limit"]


def test_a_quoted_cell_may_span_lines_within_the_readmes_16_kb():
    kb = int(readme_says(r"in the native layout, in `note`, within (\d+) KB, and only while").group(1))
    readme_says(r"run past 16 KB, or reach the end of the file\) rejects that line alone")
    assert MAX_ROW_CHARS == kb * 1024


def test_the_write_ahead_logs_figures_are_the_readmes(tmp_path: Path):
    """20 checkpoints a second at most; a server's write checkpoints itself at 64 MB of log, the CLI's and
    the worker's at 16 MB. 'MB' of 4 KiB pages: 16,000 pages of 4,096 bytes are 64 MB within 3% whichever MB
    one reads (65.5 decimal MB, 62.5 MiB), and the test takes either, so that neither a cap of 64 MiB nor one
    of 64,000,000 bytes fails it, while a cap that is not about 64 MB does."""
    found = readme_says(
        r"right after the writes \(at most (\d+) times a second\).*?a write checkpoints the log itself once it holds (\d+) MB; "
        r"the CLI and `stoplist worker`, which have no such thread, do so at (\d+) MB\."
    )
    per_second, server_mb, cli_mb = map(int, found.groups())
    assert math.isclose(1 / wal.DELAY_SECONDS, per_second)

    url = f"sqlite:///{tmp_path / 'wal.db'}"
    app = create_app(Settings(database_url=url, serve_worker=False))
    assert app.state.engine.url.get_backend_name() == "sqlite"
    for engine, megabytes in ((app.state.engine, server_mb), (create_db_engine(url), cli_mb)):
        with engine.connect() as connection:
            pages = connection.execute(text("PRAGMA wal_autocheckpoint")).scalar()
            page_size = connection.execute(text("PRAGMA page_size")).scalar()
        engine.dispose()
        for unit in (10**6, 2**20):
            assert math.isclose(pages * page_size, megabytes * unit, rel_tol=0.03), (pages, page_size, megabytes)


@pytest.fixture
def one_download_app(database_url: str):
    return create_app(Settings(database_url=database_url, max_downloads=1))


def test_a_download_past_the_limit_answers_503_busy_with_the_readmes_retry_after(one_download_app, make_token):
    found = readme_says(r"At most `STOPLIST_MAX_DOWNLOADS` \((\d+)\) run at once in each `stoplist serve`; one more is refused at once with `503 busy` and `Retry-After: (\d+)`\.")
    limit, seconds = map(int, found.groups())
    assert limit == Settings.model_fields["max_downloads"].default
    with TestClient(one_download_app) as client:
        auth = bearer(make_token())
        assert client.post(URL, json={"phone_number": "+48500000001"}, headers=auth).status_code == 201
        downloads = downloads_of(one_download_app)
        taken = downloads.open()  # the one slot, as a running download holds it
        try:
            response = client.get(URL, headers={**auth, "Accept": "text/csv"})
            assert_error(response, 503, "busy")
            assert response.headers["Retry-After"] == str(seconds)
        finally:
            downloads.release(taken)
        assert client.get(URL, headers={**auth, "Accept": "text/csv"}).status_code == 200


# X-Request-Id

VISIBLE_ASCII = "".join(chr(code) for code in range(0x21, 0x7F))


def request_id_of(client, auth, number: str, sent: str) -> tuple[str, object]:
    """Add `number` with X-Request-Id: `sent`; the request id its event holds, and the answer's X-Request-Id header."""
    response = client.post(URL, json={"phone_number": number}, headers={**auth, "X-Request-Id": sent})
    assert response.status_code == 201, response.text
    events = client.get(HISTORY, params={"address": number}, headers=auth).json()["events"]
    assert [event["op"] for event in events] == ["add"]
    return events[0]["request_id"], response.headers.get("X-Request-Id")


def test_a_request_id_of_128_visible_ascii_characters_is_kept_on_the_event(client, auth):
    readme_says(r"`request_id` \(the request's `X-Request-Id` when it sends one of at most 128 visible ASCII characters,")
    sent = (VISIBLE_ASCII * 2)[:128]
    assert len(sent) == 128 and set(VISIBLE_ASCII) <= set(sent)

    kept, _ = request_id_of(client, auth, "+48500000001", sent)
    assert kept == sent
    feed = [event["request_id"] for event in client.get(FEED, headers=auth).json()["events"] if event["op"] == "add"]
    assert feed == [sent]


def test_a_request_id_of_129_characters_is_replaced_and_not_echoed(client, auth):
    readme_says(r"otherwise one the server makes up and does not answer: send your own to find your request's events\)")
    sent = (VISIBLE_ASCII * 2)[:129]

    made_up, answered = request_id_of(client, auth, "+48500000002", sent)
    assert made_up and made_up != sent and not sent.startswith(made_up)
    assert answered is None
    # A second such request gets another one: it is made up for the request, not derived from what was sent.
    again, _ = request_id_of(client, auth, "+48500000003", sent)
    assert again and again != made_up


# History and feed page sizes


def write_events(client, auth, address: str, batches: int) -> int:
    """1,000 events of one address per batch: its add, then updates (each item changes its note)."""
    for batch in range(batches):
        items = [{"address": address, "note": f"b{batch}n{n}"} for n in range(1000)]
        response = client.post(BATCH, json={"items": items}, headers=auth)
        assert response.status_code == 200, response.text
        assert {result["outcome"] for result in response.json()["results"]} <= {"created", "updated"}
    return batches * 1000


def test_history_pages_hold_1000_events_by_default_and_10000_at_most(client, auth):
    default, most = map(number, readme_says(r"Pages hold `limit` events \(default ([\d,]+), at most ([\d,]+)\); `next` is `null` on the last page").groups())
    assert (default, most) == (history.DEFAULT_LIMIT, history.MAX_LIMIT)
    address = "+48500000009"
    written = write_events(client, auth, address, 2)
    assert written > default
    entry_id = client.get(URL, params={"q": "500000009"}, headers=auth).json()["collection"][0]["id"]

    for path, params in ((HISTORY, {"address": address}), (f"/blacklist/entries/{entry_id}/history", {}), (f"{URL}/{entry_id}/history", {})):
        page = client.get(path, params=params, headers=auth).json()
        assert len(page["events"]) == default and page["next"] is not None, path
        whole = client.get(path, params={**params, "limit": most}, headers=auth)
        assert whole.status_code == 200 and len(whole.json()["events"]) == written and whole.json()["next"] is None, path
        body = assert_error(client.get(path, params={**params, "limit": most + 1}, headers=auth), 400, "validation_error")
        assert [error["path"] for error in body["errors"]] == ["limit"], path


def test_the_change_feed_answers_1000_events_by_default_and_10000_at_most(client, auth):
    default, most = map(number, readme_says(r"`limit` at a time \(default ([\d,]+), at most ([\d,]+)\), and keeps the answer's `next`").groups())
    assert (default, most) == (history.DEFAULT_LIMIT, history.MAX_LIMIT)
    written = write_events(client, auth, "+48500000008", 2)

    page = client.get(FEED, headers=auth).json()
    assert len(page["events"]) == default and page["next"] is not None
    everything = client.get(FEED, params={"limit": most}, headers=auth).json()["events"]
    assert len([event for event in everything if event["address"] == "48500000008"]) == written
    body = assert_error(client.get(FEED, params={"limit": most + 1}, headers=auth), 400, "validation_error")
    assert [error["path"] for error in body["errors"]] == ["limit"]


# Names over HTTP


def test_a_subusers_and_a_tokens_name_holds_1_to_100_characters_over_http(client, make_token):
    shortest, longest = map(int, readme_says(r"A name, an account's or a token's, holds (\d+) to (\d+) characters and no control characters").groups())
    parent = bearer(make_token("parent", ALL))
    kept = []

    for name in ("n" * longest, "ż" * longest, "x" * shortest):  # characters, not bytes
        response = client.post("/accounts/subusers", json={"name": name}, headers=parent)
        assert response.status_code == 201, response.text
        kept.append(response.json()["name"])
        token = client.post("/accounts/tokens", json={"scopes": ["blacklist:check"], "name": name}, headers=parent)
        assert token.status_code == 201, token.text
    assert kept == ["n" * longest, "ż" * longest, "x" * shortest]

    renamed = subuser(client, parent, "to-rename")
    for name in ("x" * (shortest - 1), "m" * (longest + 1), "ż" * (longest + 1)):
        assert_error(client.post("/accounts/subusers", json={"name": name}, headers=parent), 400, "validation_error")
        assert_error(client.patch(f"/accounts/subusers/{renamed}", json={"name": name}, headers=parent), 400, "validation_error")
        assert_error(client.post("/accounts/tokens", json={"scopes": ["blacklist:check"], "name": name}, headers=parent), 400, "validation_error")
    assert client.patch(f"/accounts/subusers/{renamed}", json={"name": "m" * longest}, headers=parent).status_code == 200


def test_a_deleted_subusers_name_stays_taken(client, make_token):
    readme_says(r"was deleted\)\. Its name stays taken\.")
    parent = bearer(make_token("parent", ALL))
    gone = subuser(client, parent, "brand-gone")
    other = subuser(client, parent, "brand-other")
    assert client.delete(f"/accounts/subusers/{gone}", headers=parent).status_code == 204
    listed = {sub["id"]: sub for sub in client.get("/accounts/subusers", headers=parent).json()["collection"]}
    assert listed[gone]["deleted_at"] is not None

    for name in ("brand-gone", "BRAND-GONE"):
        assert_error(client.post("/accounts/subusers", json={"name": name}, headers=parent), 409, "name_taken")
        assert_error(client.patch(f"/accounts/subusers/{other}", json={"name": name}, headers=parent), 409, "name_taken")
    stranger = bearer(make_token("stranger", ALL))
    assert_error(client.post("/accounts/subusers", json={"name": "brand-gone"}, headers=stranger), 409, "name_taken")


# Evidence


def test_an_empty_or_blank_evidence_is_recorded_as_none(client, auth):
    readme_says(r"An empty or blank `evidence` is none;")
    added = client.post(URL, json={"phone_number": "+48500000001", "evidence": ""}, headers=auth)
    assert added.status_code == 201, added.text
    assert client.delete(f"{URL}/{added.json()['id']}", params={"evidence": "   "}, headers=auth).status_code == 204
    batch = client.post(BATCH, json={"items": ["+48500000002"], "evidence": " \t "}, headers=auth)
    assert batch.status_code == 200, batch.text
    # The same route with some evidence keeps it: the field is read, and "" or blanks alone are none.
    assert client.post(URL, json={"phone_number": "+48500000003", "evidence": "STOP"}, headers=auth).status_code == 201

    events = [event for event in client.get(FEED, headers=auth).json()["events"] if event["address"]]
    assert [(event["op"], event["address"], event["evidence"]) for event in events] == [
        ("add", "48500000001", None), ("remove", "48500000001", None), ("add", "48500000002", None), ("add", "48500000003", "STOP"),
    ]
