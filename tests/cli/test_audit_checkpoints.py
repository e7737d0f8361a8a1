"""`stoplist audit checkpoint`, `public-key` and `verify --checkpoint`: a checkpoint kept outside the
database catches what verification alone cannot, a rewrite of the whole chain by the documented
formula; a checkpoint that was changed, or signed by another key, is refused; so are removed events,
and retention says what it can no longer confirm."""

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, select, text, update

from stoplist.audit import chain, retention, signing
from stoplist.db import create_db_engine, transaction
from tests.api.helpers import URL
from tests.cli.test_import_export_cli import bearer, stoplist


def _add(api, auth, *numbers: str) -> None:
    for number in numbers:
        assert api.post(URL, json={"phone_number": number}, headers=auth).status_code == 201


def _keep(path: Path, checkpoint: str) -> None:
    """What a daily `stoplist audit checkpoint >> FILE` does."""
    with path.open("a") as kept:
        kept.write(checkpoint.strip() + "\n")


def _checkpoint(account: str = "default") -> str:
    result = stoplist("audit", "checkpoint", "--account", account)
    assert result.exit_code == 0, result.output
    return result.stdout


def _account(database: str, name: str) -> int:
    return _rows(database, "SELECT id FROM accounts WHERE name = :name", name=name)[0][0]


def _rows(database: str, sql: str, **parameters) -> list[tuple]:
    engine = create_db_engine(database)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql), parameters)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def rewrite_chain(database: str, account: int, seq: int, address: str) -> None:
    """What someone with the database and the README can do: change one event (column and body), and its entry
    to match (verify holds the entries to their trail), then recompute every body's hash by the documented
    formula, and the head."""
    engine = create_db_engine(database)
    try:
        events = Table("entry_events", MetaData(), autoload_with=engine)
        heads = Table("audit_heads", MetaData(), autoload_with=engine)
        with engine.begin() as connection:
            previous = connection.execute(select(heads.c.base_hash).where(heads.c.account_id == account)).scalar_one()
            for row in connection.execute(select(events.c.seq, events.c.body).where(events.c.account_id == account).order_by(events.c.seq)).all():
                fields = json.loads(row.body)
                if row.seq == seq:
                    fields["address"] = address
                    connection.execute(text("UPDATE blacklist_entries SET address = :a WHERE id = :id"), {"a": address, "id": int(fields["entry_id"])})
                body = chain.canonical(fields)
                previous = chain.link(previous, body)
                key = (events.c.account_id == account) & (events.c.seq == row.seq)
                connection.execute(update(events).where(key).values(body=body, hash=previous, address=fields["address"]))
            connection.execute(update(heads).where(heads.c.account_id == account).values(hash=previous))
    finally:
        engine.dispose()


def _verify(*args) -> object:
    return stoplist("audit", "verify", *[str(arg) for arg in args])


def test_checkpoints_kept_elsewhere_catch_a_rewrite_of_the_whole_chain(database, api, tmp_path):
    auth = bearer(database, "default")
    kept = tmp_path / "checkpoints.jsonl"
    _keep(kept, _checkpoint())  # before any event: seq 0
    _add(api, auth, "+48500000001", "+48500000002", "+48500000003")
    _keep(kept, _checkpoint())
    _keep(kept, api.get("/blacklist/audit/checkpoint", headers=auth).text)  # the API's are the same
    _add(api, auth, "+48500000004", "+48500000005")
    assert [json.loads(line)["seq"] for line in kept.read_text().splitlines()] == [0, 3, 3]

    passed = _verify("--checkpoint", kept)
    assert passed.exit_code == 0, passed.output
    assert passed.stdout.strip() == "ok: 5 events of 1 account(s) verified, 5 listed entries agree with them, 3 checkpoint(s) confirmed"

    rewrite_chain(database, _account(database, "default"), 2, "48999999999")
    alone = _verify()
    assert alone.exit_code == 0, alone.output  # nothing in the database can tell: the chain is consistent, the entry agrees
    caught = _verify("--checkpoint", kept)
    assert caught.exit_code == 1
    assert f"BROKEN: checkpoint 2 of {kept} (account " in caught.stderr
    assert "event 3's hash is not the checkpoint's: the chain was rewritten at or before event 3" in caught.stderr
    assert "checkpoint 1 of" not in caught.stderr  # seq 0: nothing before it to rewrite


@pytest.mark.parametrize(("field", "value"), [
    ("seq", 2), ("hash", "0" * 64), ("at", "2099-01-01T00:00:00Z"), ("account", 99), ("key_id", "0" * 16), ("signature", "AAAA"),
])
def test_a_checkpoint_changed_after_it_was_signed_is_refused(database, api, tmp_path, field, value):
    _add(api, bearer(database, "default"), "+48500000001", "+48500000002", "+48500000003")
    changed = {**json.loads(_checkpoint()), field: value}
    kept = tmp_path / "changed.json"
    kept.write_text(json.dumps(changed, indent=2))  # pretty-printed, as someone may keep one
    result = _verify("--checkpoint", kept)
    assert result.exit_code == 1
    assert f"BROKEN: checkpoint 1 of {kept}" in result.stderr and "signature" in result.stderr, result.stderr


@pytest.mark.parametrize(("content", "reason"), [
    ("", "the file holds no checkpoint"), ("not json", "not JSON"), ('{"seq": 1}', "missing account, at, hash, key_id, signature"),
    ("[]", "not a JSON object"),
])
def test_what_is_not_a_checkpoint_is_refused(database, tmp_path, content, reason):
    kept = tmp_path / "kept.json"
    kept.write_text(content)
    result = _verify("--checkpoint", kept)
    assert result.exit_code == 1 and reason in result.stderr, result.stderr


def test_a_key_swapped_in_the_database_is_caught_with_the_public_key_saved_elsewhere(database, api, tmp_path):
    auth = bearer(database, "default")
    _add(api, auth, "+48500000001", "+48500000002")
    saved_key = tmp_path / "stoplist.pem"
    saved_key.write_text(stoplist("audit", "public-key").stdout)
    genuine = tmp_path / "genuine.jsonl"
    _keep(genuine, _checkpoint())

    # Someone rewrites the chain, puts a key of their own in the database and signs for the rewrite.
    rewrite_chain(database, _account(database, "default"), 1, "48999999999")
    forged_key = signing.generate()
    _rows(database, "UPDATE signing_keys SET private_key = :private, public_key = :public", private=forged_key.private_pem, public=forged_key.public_pem)
    forged = tmp_path / "forged.jsonl"
    _keep(forged, _checkpoint())

    assert _verify("--checkpoint", forged).exit_code == 0  # the database vouches for itself
    with_key = _verify("--checkpoint", forged, "--public-key", saved_key)
    assert with_key.exit_code == 1
    assert f"its signature is not by key {signing.key_id(saved_key.read_text())}" in with_key.stderr, with_key.stderr
    assert _verify("--checkpoint", genuine).exit_code == 1  # the officer's own checkpoint fails against the swapped key
    assert "its signature is not by key" in _verify("--checkpoint", genuine).stderr
    assert _verify("--checkpoint", genuine, "--public-key", saved_key).exit_code == 1  # and against the chain


def test_a_checkpoint_of_another_database_says_so_beside_the_rewrite(database, api, tmp_path):
    """Verified against the wrong database (with the other server's key, under which its signature holds), a checkpoint
    was reported as a rewrite and nothing else: a false alarm of tampering, with nothing to tell the operator why."""
    _add(api, bearer(database, "default"), "+48500000001")
    assert stoplist("audit", "public-key").exit_code == 0  # this database's key, made
    other = signing.generate()
    (tmp_path / "other.pem").write_text(other.public_pem)
    kept = tmp_path / "other.jsonl"
    _keep(kept, signing.sign(other.private_pem, account=_account(database, "default"), seq=1, hash_="ab" * 32, at="2026-12-01T00:00:00Z").line())

    result = _verify("--checkpoint", kept, "--public-key", tmp_path / "other.pem")

    assert result.exit_code == 1
    assert "event 1's hash is not the checkpoint's: the chain was rewritten at or before event 1 (the checkpoint is signed by key" in result.stderr
    # Of another database whose chain is longer: past this chain's end, said with the same hint.
    longer = tmp_path / "longer.jsonl"
    _keep(longer, signing.sign(other.private_pem, account=_account(database, "default"), seq=1000, hash_="ab" * 32, at="2026-12-01T00:00:00Z").line())
    past = _verify("--checkpoint", longer, "--public-key", tmp_path / "other.pem")
    assert "before the checkpoint's event 1000: events were removed (the checkpoint is signed by key" in past.stderr, past.stderr
    assert f"this database's key is {signing.key_id(stoplist('audit', 'public-key').stdout)}: the checkpoint is of another database, or the key here was replaced)" in result.stderr


def test_removed_events_and_retention_are_named(database, api, tmp_path):
    auth = bearer(database, "default")
    account = _account(database, "default")
    _add(api, auth, *(f"+4850000000{index}" for index in range(1, 6)))
    at_five = tmp_path / "five.jsonl"
    _keep(at_five, _checkpoint())

    # Events 4 and 5 removed, the head moved back to 3: the chain alone still verifies, but their entries are
    # listed with no event to account for them; taken away with their entries, only the checkpoint tells.
    last = _rows(database, "SELECT hash, at FROM entry_events WHERE account_id = :a AND seq = 3", a=account)[0]
    removed = [entry_id for (entry_id,) in _rows(database, "SELECT entry_id FROM entry_events WHERE account_id = :a AND seq > 3 ORDER BY seq", a=account)]
    _rows(database, "DELETE FROM entry_events WHERE account_id = :a AND seq > 3", a=account)
    _rows(database, "UPDATE audit_heads SET seq = 3, hash = :h, at = :at WHERE account_id = :a", h=last[0], at=last[1], a=account)
    unaccounted = _verify()
    assert unaccounted.exit_code == 1
    assert f"entry {removed[0]}: it is listed, but no event records it: it was added behind the service's back" in unaccounted.stderr, unaccounted.stderr
    _rows(database, "DELETE FROM blacklist_entries WHERE account_id = :a AND id > :id", a=account, id=removed[0] - 1)
    assert _verify().exit_code == 0
    result = _verify("--checkpoint", at_five)
    assert result.exit_code == 1 and "the chain ends at event 3, before the checkpoint's event 5: events were removed" in result.stderr, result.stderr

    at_three = tmp_path / "three.jsonl"
    _keep(at_three, _checkpoint())
    at_two = tmp_path / "two.jsonl"
    _keep(at_two, _signed_at(database, account, 2))
    _add(api, auth, "+48500000009")
    # Retention drops events 1 to 3 (recorded in an old month).
    old = "2026-01-15T00:00:00Z" if database.startswith("sqlite") else "2026-01-15 00:00:00"
    _rows(database, "UPDATE entry_events SET at = :old WHERE account_id = :a AND seq <= 3", old=old, a=account)
    with transaction(api.app.state.session_factory) as session:
        assert retention.drop_expired(session, now=datetime(2026, 12, 1, tzinfo=timezone.utc), months=3) == 3
    assert _verify("--checkpoint", at_three).exit_code == 0  # where the chain now starts: its base
    dropped = _verify("--checkpoint", at_two)
    assert dropped.exit_code == 1
    assert (
        "cannot be confirmed: the chain now starts after event 3, the checkpoint's event 2 before it (retention drops old events;"
        " if STOPLIST_AUDIT_RETENTION_MONTHS did not drop events 1 to 3, they were removed)"
    ) in dropped.stderr, dropped.stderr


def _signed_at(database: str, account: int, seq: int) -> str:
    """A checkpoint of event `seq`, signed by the server's key (as one taken when seq was the head)."""
    private_pem = _rows(database, "SELECT private_key FROM signing_keys")[0][0]
    hash_ = _rows(database, "SELECT hash FROM entry_events WHERE account_id = :a AND seq = :s", a=account, s=seq)[0][0]
    return signing.sign(private_pem, account=account, seq=seq, hash_=hash_, at="2026-12-01T00:00:00Z").line()


def test_checkpoints_of_another_account_than_the_one_verified_are_refused(database, api, tmp_path):
    _add(api, bearer(database, "acme"), "+48500000001")
    kept = tmp_path / "acme.jsonl"
    _keep(kept, _checkpoint("acme"))
    assert _verify("--checkpoint", kept, "--account", "acme").exit_code == 0
    result = _verify("--checkpoint", kept, "--account", "default")
    assert result.exit_code == 1 and "this run verified account" in result.stderr


def test_a_public_key_file_that_holds_no_key_is_a_usage_error(database, tmp_path):
    kept = tmp_path / "kept.jsonl"
    _keep(kept, _checkpoint())
    not_a_key = tmp_path / "key.pem"
    not_a_key.write_text("hello")
    result = _verify("--checkpoint", kept, "--public-key", not_a_key)
    assert result.exit_code == 2 and "--public-key" in result.output and "Invalid value" in result.output, result.output


def test_the_commands_print_what_the_routes_answer(database, api):
    auth = bearer(database, "default")
    _add(api, auth, "+48500000001")
    from_cli, from_api = json.loads(_checkpoint()), api.get("/blacklist/audit/checkpoint", headers=auth).json()
    assert list(from_cli) == list(from_api) and {key: from_cli[key] for key in ("account", "seq", "hash", "key_id")} == {
        key: from_api[key] for key in ("account", "seq", "hash", "key_id")
    }
    printed = stoplist("audit", "checkpoint").stdout
    assert printed.count("\n") == 1 and printed.endswith("}\n")  # one line, for `>>`
    pem = stoplist("audit", "public-key").stdout
    assert pem == api.get("/blacklist/audit/public-key", headers=auth).json()["pem"]
    assert "PRIVATE" not in pem + printed


def test_a_pretty_printed_checkpoint_and_several_files_are_read(database, api, tmp_path):
    _add(api, bearer(database, "default"), "+48500000001")
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(json.loads(_checkpoint()), indent=2) + "\n")
    lines = tmp_path / "lines.jsonl"
    _keep(lines, _checkpoint())
    _keep(lines, _checkpoint())
    result = _verify("--checkpoint", pretty, "--checkpoint", lines)
    assert result.exit_code == 0 and result.stdout.strip().endswith("3 checkpoint(s) confirmed"), result.output


def test_a_shared_subusers_checkpoint_is_confirmed_by_verifying_that_subuser_whose_trail_is_its_parents(database, api, tmp_path):
    """`audit checkpoint --account SUB` signs its parent's trail (as its tokens read it): `audit verify --account SUB`
    walks that trail too, and confirms the checkpoint, not 'verified account N only'."""
    _add(api, bearer(database, "acme"), "+48500000001", "+48500000002")
    assert stoplist("account", "create", "acme-shop", "--parent", "acme", "--mode", "shared").exit_code == 0
    kept = tmp_path / "shop.jsonl"
    _keep(kept, _checkpoint("acme-shop"))

    result = _verify("--checkpoint", kept, "--account", "acme-shop")

    assert result.exit_code == 0, result.output
    assert "1 checkpoint(s) confirmed" in result.stdout and "0 events" not in result.stdout
    assert "shared subuser" in result.stderr


def test_a_checkpoint_file_saved_with_a_byte_order_mark_is_read(database, api, tmp_path):
    """As a Windows editor saves UTF-8: the mark is not part of the JSON."""
    _add(api, bearer(database, "default"), "+48500000001")
    kept = tmp_path / "bom.jsonl"
    kept.write_bytes(b"\xef\xbb\xbf" + _checkpoint().encode())

    result = _verify("--checkpoint", kept)

    assert result.exit_code == 0 and result.stdout.strip().endswith("1 checkpoint(s) confirmed"), result.output


def test_verifying_a_shared_subuser_walks_its_own_chain_too(database, api, tmp_path):
    """A subuser that had lists of its own before it shared its parent's keeps their chain: verifying the subuser
    walks that chain as well as its parent's, and names a change made to it."""
    assert stoplist("account", "create", "acme-shop", "--parent", "acme").exit_code == 0
    _add(api, bearer(database, "acme-shop"), "+48500000001")
    _add(api, bearer(database, "acme"), "+48500000002")
    shop = _account(database, "acme-shop")
    engine = create_db_engine(database)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE accounts SET list_mode = 'shared' WHERE id = :id"), {"id": shop})
            connection.execute(text("UPDATE entry_events SET address = '48500000009' WHERE account_id = :id AND op = 'add'"), {"id": shop})
    finally:
        engine.dispose()

    result = _verify("--account", "acme-shop")

    assert result.exit_code == 1 and "BROKEN" in result.stderr, result.output
