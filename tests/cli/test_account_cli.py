"""`stoplist account create` (top-level and subusers) and `stoplist token create --expires --name`."""

from sqlalchemy import select

from stoplist.auth.models import AccessToken, Account
from stoplist.db import create_db_engine, create_session_factory
from stoplist.audit.models import Event
from tests.cli.test_cli import database, stoplist

__all__ = ["database"]


def _rows(url: str, statement):
    engine = create_db_engine(url)
    try:
        with create_session_factory(engine)() as session:
            return list(session.execute(statement))
    finally:
        engine.dispose()


def test_account_create_makes_a_top_level_account_and_subusers_in_either_mode(database):
    stoplist("migrate")
    assert stoplist("account", "create", "agency").exit_code == 0
    own = stoplist("account", "create", "brand-a", "--parent", "agency")
    shared = stoplist("account", "create", "brand-b", "--parent", "agency", "--mode", "shared")

    assert own.exit_code == 0 and shared.exit_code == 0, own.output + shared.output
    assert "subuser of 'agency'" in shared.stderr and shared.stdout.strip().isdigit()
    rows = _rows(database, select(Account.name, Account.parent_id, Account.list_mode).order_by(Account.id))
    assert [tuple(row) for row in rows] == [("agency", None, "own"), ("brand-a", 1, "own"), ("brand-b", 1, "shared")]
    events = _rows(database, select(Event.op).order_by(Event.seq))
    assert [row[0] for row in events] == ["sub_add", "sub_add"]


def test_account_create_refuses_a_taken_name_a_nested_subuser_and_an_unknown_parent(database):
    stoplist("migrate")
    stoplist("account", "create", "agency")
    stoplist("account", "create", "brand-a", "--parent", "agency")

    assert stoplist("account", "create", "agency").exit_code == 2
    alike = stoplist("account", "create", "AGENCY")
    assert alike.exit_code == 2 and "'agency' exists already" in alike.output
    assert stoplist("account", "create", "line\nbreak").exit_code == 2
    # A token for a name another account holds in another case is refused, not given to a new account.
    assert stoplist("token", "create", "--account", "Agency").exit_code == 2
    nested = stoplist("account", "create", "deeper", "--parent", "brand-a")
    assert nested.exit_code == 2 and "one level" in nested.output
    assert stoplist("account", "create", "x", "--parent", "nobody").exit_code == 1
    assert stoplist("account", "create", "solo", "--mode", "shared").exit_code == 2


def test_token_create_takes_an_expiry_and_a_name_and_token_list_shows_the_expiry(database):
    stoplist("migrate")
    made = stoplist("token", "create", "--account", "acme", "--expires", "2099-01-01T00:00:00+01:00", "--name", "crm")

    assert made.exit_code == 0, made.output
    assert "until 2098-12-31T23:00:00Z" in made.stderr
    rows = _rows(database, select(AccessToken.name, AccessToken.expires_at))
    assert [(name, moment.isoformat()) for name, moment in rows] == [("crm", "2098-12-31T23:00:00+00:00")]
    assert stoplist("token", "list").stdout.splitlines()[1].endswith("expires 2098-12-31T23:00:00Z  crm")
    assert stoplist("token", "create", "--expires", "2020-01-01").exit_code == 2


def test_tokens_made_and_revoked_on_the_command_line_are_on_the_trail(database):
    import json

    stoplist("migrate")
    stoplist("account", "create", "agency")
    stoplist("account", "create", "brand-a", "--parent", "agency")
    assert stoplist("token", "create", "--account", "agency", "--name", "crm").exit_code == 0
    assert stoplist("token", "create", "--account", "brand-a", "--scope", "blacklist:check").exit_code == 0
    assert stoplist("token", "revoke", "2").exit_code == 0
    assert stoplist("token", "revoke", "2").exit_code == 0  # revoked already: nothing more to record
    assert stoplist("token", "create", "--account", "acme").exit_code == 0  # a new account: its own trail

    events = [(account, json.loads(body)) for account, body in _rows(database, select(Event.account_id, Event.body).order_by(Event.account_id, Event.seq))]
    # A subuser's tokens are on its parent's trail, as over HTTP; the operator acts, with no token.
    assert [(account, body["op"], body["source"], body["actor"]) for account, body in events] == [
        (1, "sub_add", "cli", {"account_id": 1, "token_id": None}),
        (1, "grant", "cli", {"account_id": 1, "token_id": None}),
        (1, "grant", "cli", {"account_id": 1, "token_id": None}),
        (1, "revoke", "cli", {"account_id": 1, "token_id": None}),
        (3, "grant", "cli", {"account_id": 3, "token_id": None}),
    ]
    assert events[1][1]["after"] == {"token_id": 1, "account": 1, "name": "crm", "scopes": ["blacklist"], "expires_at": None}
    assert events[3][1]["before"]["token_id"] == 2 and events[3][1]["before"]["account"] == 2
    assert stoplist("audit", "verify").exit_code == 0


def test_token_names_and_ids_are_checked_and_a_second_revoke_says_it_was_done(database):
    stoplist("migrate")
    for name in ("line\nbreak", "\x1b[2Jclear", "n" * 101):
        made = stoplist("token", "create", "--name", name)
        assert made.exit_code == 2 and "a token's name" in made.output
    assert stoplist("token", "revoke", str(2**64)).exit_code == 2  # no id: refused before the database is asked
    assert stoplist("token", "create", "--name", "crm").exit_code == 0
    assert stoplist("token", "revoke", "1").stderr.strip() == "revoked token 1"
    again = stoplist("token", "revoke", "1")
    assert again.exit_code == 0 and "was revoked already" in again.stderr


def test_token_list_shows_a_stored_names_control_characters_as_escapes(database):
    from sqlalchemy import update

    stoplist("migrate")
    stoplist("token", "create", "--name", "crm")
    engine = create_db_engine(database)
    try:
        with create_session_factory(engine)() as session, session.begin():
            # A name stored before names were checked.
            session.execute(update(AccessToken).values(name="\x1b[2Jfake\nrow"))
    finally:
        engine.dispose()
    listed = stoplist("token", "list").stdout
    assert "\x1b" not in listed and "\\x1b[2Jfake\\nrow" in listed and len(listed.splitlines()) == 2


def test_the_audit_commands_read_a_shared_subusers_trail_where_its_tokens_do(database):
    import json

    stoplist("migrate")
    stoplist("token", "create", "--account", "agency")
    stoplist("account", "create", "brand-s", "--parent", "agency", "--mode", "shared")
    made = stoplist("audit", "checkpoint", "--account", "brand-s")
    assert made.exit_code == 0 and "parent's lists and trail" in made.stderr
    assert json.loads(made.stdout)["account"] == 1 and json.loads(made.stdout)["seq"] == 2
    assert stoplist("audit", "export", "--since", "2000-01-01", "--account", "brand-s").stdout.count("\n") == 3  # the header, grant, sub_add
    hinted = stoplist("account", "create", "kid", "--parent", "AGENCY")
    assert hinted.exit_code == 1 and "did you mean 'agency'?" in hinted.stderr


def test_import_for_a_shared_subuser_lands_on_its_parents_lists_and_a_deleted_subuser_takes_none(database, tmp_path):
    from stoplist.lists.models import Entry

    stoplist("migrate")
    stoplist("account", "create", "agency")
    stoplist("account", "create", "brand-s", "--parent", "agency", "--mode", "shared")
    stoplist("account", "create", "brand-x", "--parent", "agency")
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("phone_number\n+48500000001\n")

    shared = stoplist("import", str(numbers), "--account", "brand-s")
    assert shared.exit_code == 0, shared.output
    assert "shared subuser" in shared.stderr
    # The entry is where the shared subuser's checks look: its parent's lists (account 1), not its own unused ones.
    assert [tuple(row) for row in _rows(database, select(Entry.account_id, Entry.address))] == [(1, "48500000001")]

    engine = create_db_engine(database)
    try:
        with create_session_factory(engine)() as session, session.begin():
            session.get(Account, 3).deleted_at = session.get(Account, 1).created_at
    finally:
        engine.dispose()
    deleted = stoplist("import", str(numbers), "--account", "brand-x")
    assert deleted.exit_code == 1 and "deleted subuser" in deleted.stderr
    assert len(_rows(database, select(Entry.id))) == 1
