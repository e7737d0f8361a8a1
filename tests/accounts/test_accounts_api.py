"""Subusers (own and shared), tokens over HTTP, the Stoplist-Account header, and the trail naming who acted."""

from datetime import timedelta

import pytest

from sqlalchemy import update

from stoplist.accounts.schemas import Mode, Scope
from stoplist.auth.models import LIST_MODES, AccessToken
from stoplist.auth.principal import SCOPES
from stoplist.db import transaction, utcnow
from stoplist.history import service as history
from tests.accounts.helpers import ALL, bearer, family, mint, subuser
from tests.api.helpers import URL, assert_error

HEADER = "Stoplist-Account"


def _numbers(client, headers) -> list[str]:
    response = client.get(URL, headers=headers)
    assert response.status_code == 200, response.text
    return sorted(entry["phone_number"] for entry in response.json()["collection"])


def _add(client, headers, number: str) -> dict:
    response = client.post(URL, json={"phone_number": number}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _events(client, headers) -> list[dict]:
    response = client.get("/blacklist/changes", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["events"]


def test_the_documented_scopes_and_modes_are_the_ones_auth_knows():
    assert set(Scope.__args__) == set(SCOPES) and set(Mode.__args__) == set(LIST_MODES)


def test_an_own_subuser_has_lists_of_its_own_that_its_parent_reaches_by_the_header(client, make_token):
    f = family(client, make_token)
    _add(client, f.own, "+48500000001")
    _add(client, f.parent, "+48500000002")

    assert _numbers(client, f.own) == ["48500000001"]
    assert _numbers(client, f.parent) == ["48500000002"]
    assert _numbers(client, {**f.parent, HEADER: str(f.own_id)}) == ["48500000001"]
    _add(client, {**f.parent, HEADER: str(f.own_id)}, "+48500000003")
    assert _numbers(client, f.own) == ["48500000001", "48500000003"]

    # The subuser's trail: its own write, then its parent's, each naming who acted.
    events = [event for event in _events(client, f.own) if event["op"] == "add"]
    assert [event["account_id"] for event in events] == [f.own_id, f.own_id]
    parent_id = events[1]["actor"]["account_id"]
    assert events[0]["actor"]["account_id"] == f.own_id and parent_id != f.own_id


def test_a_shared_subuser_reads_and_writes_its_parents_lists_and_the_trail_names_it_as_the_actor(client, make_token):
    f = family(client, make_token)
    _add(client, f.parent, "+48500000001")
    _add(client, f.shared, "+48500000002")

    assert _numbers(client, f.shared) == _numbers(client, f.parent) == ["48500000001", "48500000002"]
    assert _numbers(client, {**f.parent, HEADER: str(f.shared_id)}) == ["48500000001", "48500000002"]
    check = client.get("/blacklist/check", params={"phone_number": "+48500000002"}, headers=f.shared)
    assert check.status_code == 200 and check.json()["blacklisted"] is True
    added = [event for event in _events(client, f.parent) if event["op"] == "add"]
    assert added[1]["actor"]["account_id"] == f.shared_id and added[1]["account_id"] == added[0]["account_id"] != f.shared_id


def test_a_shared_subuser_reads_its_parents_entry_events_but_not_its_token_and_subuser_events(client, make_token):
    f = family(client, make_token)
    _add(client, f.parent, "+48500000001")
    mint(client, f.parent, ["blacklist:read"], name="agency auditor")
    _add(client, f.shared, "+48500000002")
    assert client.patch(f"/accounts/subusers/{f.own_id}", json={"name": "brand-x"}, headers=f.parent).status_code == 200
    reader = bearer(mint(client, f.parent, ["blacklist:read"], f.shared_id)["token"])

    everything = _events(client, f.parent)
    assert {"sub_add", "grant", "sub_edit"} <= {event["op"] for event in everything}
    # The same trail as the shared subuser reads it: the entries' events alone, with their own seqs.
    entry_events = [event for event in everything if event["address"] is not None]
    for headers in (f.shared, reader):
        feed = client.get("/blacklist/changes", params={"limit": 3}, headers=headers)
        seen, after = feed.json()["events"], feed.json()["next"]
        # A page passes the events it leaves out: `next` goes on from the last event read, shown or not.
        assert int(after.split("-")[0]) == everything[2]["seq"]
        while True:
            page = client.get("/blacklist/changes", params={"after": after, "limit": 3}, headers=headers).json()
            seen += page["events"]
            if page["next"] == after:
                break
            after = page["next"]
        assert seen == entry_events and after.split("-")[0] == str(everything[-1]["seq"])
        period = client.get("/blacklist/history", params={"since": "2000-01-01"}, headers=headers)
        assert period.status_code == 200 and period.json()["events"] == entry_events
        proof = client.get("/blacklist/history", params={"since": "2000-01-01"}, headers={**headers, "Accept": "text/csv"})
        assert "agency auditor" not in proof.text and "brand-x" not in proof.text and "sub_add" not in proof.text
    # The parent, on its own trail and naming the shared subuser, reads every event.
    assert _events(client, {**f.parent, HEADER: str(f.shared_id)}) == everything


def test_the_period_proof_names_the_actors_account_and_holds_an_account_events_fields(client, make_token):
    import csv
    import json

    f = family(client, make_token)
    _add(client, f.shared, "+48500000002")
    proof = client.get("/blacklist/history", params={"since": "2000-01-01"}, headers={**f.parent, "Accept": "text/csv"})
    rows = list(csv.DictReader(proof.text.splitlines()))
    by_op: dict[str, dict] = {}
    for row in rows:
        by_op.setdefault(row["op"], row)  # the first of each
    # A row of an entry: its actor's account, no details; a subuser's and a token's: their fields in details.
    assert by_op["add"]["actor_account_id"] == str(f.shared_id) and by_op["add"]["details"] == ""
    assert json.loads(by_op["sub_add"]["details"]) == {"after": {"account": f.own_id, "name": "own-sub", "mode": "own"}}
    granted = [json.loads(row["details"])["after"] for row in rows if row["op"] == "grant"]
    assert [(token["account"], sorted(token["scopes"])) for token in granted] == [(f.own_id, sorted(ALL)), (f.shared_id, sorted(ALL))]


def test_the_header_opens_only_the_callers_own_subusers(client, make_token):
    f = family(client, make_token)
    for headers, named in [(f.parent, f.sibling_id), (f.stranger, f.own_id), (f.own, f.own_id), (f.own, f.shared_id), (f.parent, 10**9)]:
        assert_error(client.get(URL, headers={**headers, HEADER: str(named)}), 404, "account_not_found")
        assert_error(client.get("/blacklist/check", params={"phone_number": "+48500000001"}, headers={**headers, HEADER: str(named)}), 404, "account_not_found")
    assert_error(client.get(URL, headers={**f.parent, HEADER: "me"}), 400, "validation_error")
    assert_error(client.get("/accounts/tokens", headers={**f.parent, HEADER: str(f.own_id)}), 400, "validation_error")


def test_switching_a_subusers_mode_keeps_its_own_entries_and_is_on_the_parents_trail(client, make_token):
    f = family(client, make_token)
    _add(client, f.own, "+48500000001")
    _add(client, f.parent, "+48500000002")

    switched = client.patch(f"/accounts/subusers/{f.own_id}", json={"mode": "shared"}, headers=f.parent)
    assert switched.status_code == 200 and switched.json() == {"id": f.own_id, "name": "own-sub", "mode": "shared", "deleted_at": None}
    assert _numbers(client, f.own) == ["48500000002"]
    back = client.patch(f"/accounts/subusers/{f.own_id}", json={"mode": "own", "name": "brand-b"}, headers=f.parent)
    assert back.json() == {"id": f.own_id, "name": "brand-b", "mode": "own", "deleted_at": None}
    assert _numbers(client, f.own) == ["48500000001"]

    edits = [event for event in _events(client, f.parent) if event["op"] == "sub_edit"]
    assert [(event["before"]["mode"], event["after"]["mode"]) for event in edits] == [("own", "shared"), ("shared", "own")]
    assert edits[1]["after"]["name"] == "brand-b" and edits[0]["address"] is None and edits[0]["entry_id"] is None


def test_deleting_a_subuser_revokes_its_tokens_removes_its_entries_and_keeps_its_trail(client, make_token, session_factory):
    f = family(client, make_token)
    entry = _add(client, f.own, "+48500000001")

    assert client.delete(f"/accounts/subusers/{f.own_id}", headers=f.parent).status_code == 204
    assert_error(client.get(URL, headers=f.own), 401, "unauthorized")
    # Still listed, deleted, so that its trail stays within reach.
    listed = client.get("/accounts/subusers", headers=f.parent).json()["collection"]
    assert [(s["id"], s["deleted_at"] is None) for s in listed] == [(f.own_id, False), (f.shared_id, True)]
    # Its trail stays readable by the parent, read-only, and the chain verifies.
    gone = {**f.parent, HEADER: str(f.own_id)}
    events = client.get(f"/blacklist/entries/{entry['id']}/history", headers=gone).json()["events"]
    assert [event["op"] for event in events] == ["add", "remove"] and events[1]["actor"]["account_id"] != f.own_id
    assert _numbers(client, gone) == []
    body = assert_error(client.post(URL, json={"phone_number": "+48500000009"}, headers=gone), 403, "forbidden")
    assert body["message"] == f"Account {f.own_id} is a deleted subuser: its lists and trail are kept to be read ('blacklist:read' at most), not written."
    parent_ops = [event["op"] for event in _events(client, f.parent)]
    assert parent_ops[-2:] == ["revoke", "sub_del"]
    with session_factory() as session:
        assert history.verify(session)[2] is None
    body = assert_error(client.delete(f"/accounts/subusers/{f.own_id}", headers=f.parent), 404, "account_not_found")
    assert body["message"] == f"Subuser {f.own_id} was deleted: it keeps its trail, to be read, and changes no more."
    body = assert_error(client.post("/accounts/tokens", json={"scopes": ["blacklist:read"], "account": f.own_id}, headers=f.parent), 404, "account_not_found")
    assert "was deleted" in body["message"]
    assert_error(client.patch(f"/accounts/subusers/{f.own_id}", json={"mode": "shared"}, headers=f.parent), 404, "account_not_found")


def test_a_token_is_shown_once_listed_without_its_secret_and_refused_at_once_when_revoked(client, make_token):
    parent = bearer(make_token("parent", ALL))
    made = mint(client, parent, ["blacklist:read"], name="auditor", expires_at="2099-01-01T00:00:00+01:00")
    assert set(made) == {"id", "token", "name", "scopes", "account", "expires_at"}
    assert made["scopes"] == ["blacklist:read"] and made["expires_at"] == "2098-12-31T23:00:00Z" and made["name"] == "auditor"

    listed = client.get("/accounts/tokens", headers=parent).json()["collection"]
    assert made["token"] not in str(listed) and [token["name"] for token in listed] == [None, "auditor"]
    reader = bearer(made["token"])
    assert client.get(URL, headers=reader).status_code == 200
    assert_error(client.post(URL, json={"phone_number": "+48500000001"}, headers=reader), 403, "forbidden")

    assert client.delete(f"/accounts/tokens/{made['id']}", headers=parent).status_code == 204
    assert_error(client.get(URL, headers=reader), 401, "unauthorized")
    assert client.get("/accounts/tokens", headers=parent).json()["collection"][1]["revoked_at"] is not None
    assert [event["op"] for event in _events(client, parent)] == ["grant", "revoke"]


def test_a_token_grants_at_most_its_own_scopes_and_only_to_its_own_subusers(client, make_token):
    parent = bearer(make_token("parent", ["blacklist:read", "accounts"]))
    stranger = bearer(make_token("stranger", ALL))
    sibling = subuser(client, stranger, "sibling")

    body = assert_error(client.post("/accounts/tokens", json={"scopes": ["blacklist"]}, headers=parent), 403, "forbidden")
    assert "blacklist" in body["message"]
    assert client.post("/accounts/tokens", json={"scopes": ["blacklist:check"]}, headers=parent).status_code == 201
    assert_error(client.post("/accounts/tokens", json={"scopes": ["blacklist:check"], "account": sibling}, headers=parent), 404, "account_not_found")
    assert_error(client.post("/accounts/tokens", json={"scopes": ["sms"]}, headers=parent), 400, "validation_error")
    assert_error(client.post("/accounts/tokens", json={"scopes": ["accounts"], "expires_at": "2020-01-01"}, headers=parent), 400, "validation_error")
    theirs = client.get("/accounts/tokens", headers=stranger).json()["collection"][0]["id"]
    for token_id in (theirs, 10**9, "x"):
        assert_error(client.delete(f"/accounts/tokens/{token_id}", headers=parent), 404, "token_not_found")
    assert_error(client.post("/accounts/subusers", json={"name": "sibling"}, headers=parent), 409, "name_taken")


def test_account_names_are_one_whatever_their_case_or_form_and_hold_no_control_characters(client, make_token):
    parent = bearer(make_token("parent", ALL))
    brand = subuser(client, parent, "Brand-B")
    for alike in ("brand-b", "BRAND-B", "Ｂrand-B"):  # the last with a fullwidth B: NFKC makes it a B
        body = assert_error(client.post("/accounts/subusers", json={"name": alike}, headers=parent), 409, "name_taken")
        # The answer names no other account: the one holding the name may be another tenant's.
        assert repr(alike) in body["message"] and "'Brand-B'" not in body["message"]
    other = subuser(client, parent, "brand-c")
    assert_error(client.patch(f"/accounts/subusers/{other}", json={"name": "BRAND-B"}, headers=parent), 409, "name_taken")
    # A subuser may take its own name in another case.
    renamed = client.patch(f"/accounts/subusers/{brand}", json={"name": "BRAND-b"}, headers=parent)
    assert renamed.status_code == 200 and renamed.json()["name"] == "BRAND-b"
    refused = ("brand\nd", "brand\td", "brand\u001bd", "brand\u200bd", "a\u2028b", "p\u2029q", "x\u202ey", "\u2066z")
    for name in refused:
        body = assert_error(client.post("/accounts/subusers", json={"name": name}, headers=parent), 400, "validation_error")
        assert "control characters" in body["message"]
        body = assert_error(client.post("/accounts/tokens", json={"scopes": ["blacklist:check"], "name": name}, headers=parent), 400, "validation_error")
        assert "a token's name" in body["message"]
    # Zero-width joiners are letters' business (Persian, emoji sequences): names may hold them.
    for name in ("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "fam \U0001f468\u200d\U0001f469\u200d\U0001f467"):
        assert client.post("/accounts/subusers", json={"name": name}, headers=parent).status_code == 201


def test_the_database_holds_names_unique_whatever_their_case_not_only_the_service(session_factory):
    from stoplist.auth.repository import AuthRepository
    from stoplist.errors import NameTaken

    with session_factory() as session, session.begin():
        AuthRepository(session).add_account("Race", created_at=utcnow())
    # Straight to the repository, past the service's look at the names: two requests at once would both pass that.
    with session_factory() as session, session.begin(), pytest.raises(NameTaken):
        AuthRepository(session).add_account("RACE", created_at=utcnow())
    with session_factory() as session:
        assert AuthRepository(session).account_alike("rAcE").name == "Race" and AuthRepository(session).account_by_name("RACE") is None


def test_a_subuser_manages_only_its_own_tokens_and_has_no_subusers(client, make_token):
    f = family(client, make_token)
    assert client.get("/accounts/subusers", headers=f.own).json() == {"size": 0, "collection": []}
    assert_error(client.post("/accounts/subusers", json={"name": "nested"}, headers=f.own), 403, "forbidden")
    assert_error(client.patch(f"/accounts/subusers/{f.shared_id}", json={"mode": "own"}, headers=f.own), 404, "account_not_found")
    own_tokens = client.get("/accounts/tokens", headers=f.own).json()["collection"]
    assert {token["account"] for token in own_tokens} == {f.own_id}
    parents = {token["id"] for token in client.get("/accounts/tokens", headers=f.parent).json()["collection"] if token["account"] != f.own_id}
    for token_id in parents:
        assert_error(client.delete(f"/accounts/tokens/{token_id}", headers=f.own), 404, "token_not_found")


def test_a_token_is_refused_from_the_second_its_expiry_passes(client, app, make_token):
    parent = bearer(make_token("parent", ALL))
    made = mint(client, parent, ["blacklist"], expires_at="2099-01-01")
    token = bearer(made["token"])
    assert client.get(URL, headers=token).status_code == 200

    with transaction(app.state.session_factory) as session:
        session.execute(update(AccessToken).where(AccessToken.id == made["id"]).values(expires_at=utcnow() + timedelta(seconds=60)))
    assert client.get(URL, headers=token).status_code == 200
    with transaction(app.state.session_factory) as session:
        session.execute(update(AccessToken).where(AccessToken.id == made["id"]).values(expires_at=utcnow()))
    assert_error(client.get(URL, headers=token), 401, "unauthorized")
    assert_error(client.get("/blacklist/check", params={"phone_number": "+48500000001"}, headers=token), 401, "unauthorized")


def test_an_import_by_the_parent_into_a_subusers_list_names_the_parent_as_its_actor(client, make_token):
    from tests.api.test_imports import run_import

    f = family(client, make_token)
    result = run_import(client, {**f.parent, HEADER: str(f.own_id)}, "phone_number\n48500000001\n")

    assert result["status"] == "done" and result["added"] == 1
    assert _numbers(client, f.own) == ["48500000001"]
    events = [event for event in _events(client, f.own) if event["op"] in ("add", "import")]
    parent_id = [event for event in _events(client, f.parent) if event["op"] == "sub_add"][0]["actor"]["account_id"]
    assert [(event["op"], event["account_id"], event["actor"]["account_id"], event["source"]) for event in events] == [
        ("add", f.own_id, parent_id, "import"), ("import", f.own_id, parent_id, "import"),
    ]


def test_a_shared_subusers_edits_moves_batches_replacements_and_deletes_by_filter_name_it_and_its_token_as_the_actor(client, make_token):
    f = family(client, make_token)
    made = mint(client, f.parent, ALL, f.shared_id)
    shared = bearer(made["token"])
    first, second, _third = (_add(client, f.parent, f"+4850000000{n}") for n in (1, 2, 3))
    parent_id = _events(client, f.parent)[-1]["account_id"]
    after = client.get("/blacklist/changes", headers=f.parent).json()["next"]

    writes = [
        client.patch(f"/blacklist/entries/{first['id']}", json={"note": "edited"}, headers=shared),
        client.patch(f"/blacklist/entries/{first['id']}", json={"channel": "sms"}, headers=shared),
        client.post("/blacklist/entries/batch", json={"items": ["+48500000004", "+48500000002"], "note": "batched"}, headers=shared),
        client.post("/blacklist/entries/replace", json={"old": "+48500000003", "new": "+48500000005"}, headers=shared),
        client.delete("/blacklist/entries", params={"address": "+48500000004"}, headers=shared),
        client.put(f"/blacklist/phone_numbers/{second['id']}", json={"expire_at": "2031-01-01"}, headers=shared),
    ]

    assert [response.status_code for response in writes] == [200] * 6, [response.text for response in writes]
    events = client.get("/blacklist/changes", params={"after": after}, headers=f.parent).json()["events"]
    assert [event["op"] for event in events] == ["update", "remove", "add", "add", "update", "remove", "add", "remove", "update"]
    assert {(event["account_id"], event["actor"]["account_id"], event["actor"]["token_id"]) for event in events} == {(parent_id, f.shared_id, made["id"])}


def test_a_token_without_the_scope_gets_403_whatever_account_the_header_names(client, make_token):
    parent = bearer(make_token("parent", ALL))
    own_id = subuser(client, parent, "own-sub")
    check_only = bearer(mint(client, parent, ["blacklist:check"])["token"])

    # Nothing is looked up first: a real subuser and no subuser at all answer the same.
    for named in (str(own_id), "99999"):
        response = client.get("/blacklist/phone_numbers", headers=check_only | {"Stoplist-Account": named})
        assert response.status_code == 403, response.text
        assert "blacklist:read" in response.json()["message"]


@pytest.mark.parametrize("account", [2**63, 2**64, True, "3", 3.0])
def test_a_token_for_an_account_that_is_no_id_is_refused_as_invalid_not_a_server_error(client, make_token, account):
    parent = bearer(make_token("parent", ALL))

    response = client.post("/accounts/tokens", json={"scopes": ["blacklist:check"], "account": account}, headers=parent)

    assert response.status_code == 400 and response.json()["error"] == "validation_error", response.text


@pytest.mark.parametrize("path", ["/blacklist/phone_numbers", "/blacklist/check?phone_number=48500000001"])
def test_the_account_header_given_twice_is_refused_not_read_first_wins(client, make_token, path):
    parent = bearer(make_token("parent", ALL))
    own_id = subuser(client, parent, "own-sub")
    headers = [("Authorization", parent["Authorization"]), ("Stoplist-Account", str(own_id)), ("Stoplist-Account", "99")]

    response = client.get(path, headers=headers)

    assert response.status_code == 400 and response.json()["error"] == "validation_error", response.text
    assert "given 2 times" in response.json()["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/blacklist/phone_numbers"), ("GET", "/blacklist/phone_numbers?q=500"), ("HEAD", "/blacklist/phone_numbers?q=500"),
     ("GET", "/blacklist/check?phone_number=48500000001"), ("POST", "/blacklist/check"), ("GET", "/accounts/tokens")],
)
@pytest.mark.parametrize("second", ["valid", "bad"])
def test_the_authorization_header_given_twice_is_refused_not_read_first_wins(client, make_token, method, path, second):
    """Whichever token comes first, the request is refused: which of two tokens acts would be a guess (the app's routes and
    the ones answered in front of it alike)."""
    parent = bearer(make_token("parent", ALL))["Authorization"]
    other = parent if second == "valid" else "Bearer sl_0000000000000000000000000000"
    headers = [("Authorization", parent), ("Authorization", other)]
    body = {"json": {"phone_numbers": ["48500000001"]}} if method == "POST" else {}

    response = client.request(method, path, headers=headers, **body)

    assert response.status_code == 400, response.text
    if method != "HEAD":
        assert response.json()["error"] == "validation_error" and "Authorization is given 2 times" in response.json()["message"]


def test_the_largest_id_in_the_header_is_an_id_and_a_larger_one_is_not(client, make_token):
    parent = bearer(make_token("parent", ALL))

    assert client.get("/blacklist/phone_numbers", headers=parent | {"Stoplist-Account": str(2**63 - 1)}).status_code == 404
    assert client.get("/blacklist/phone_numbers", headers=parent | {"Stoplist-Account": str(2**63)}).status_code == 400


def test_a_feed_cursor_from_before_a_mode_switch_is_refused_as_from_another_trail(client, make_token):
    f = family(client, make_token)
    _add(client, f.own, "+48500000001")
    before = client.get("/blacklist/changes", params={"after": 0}, headers=f.own).json()["next"]

    client.patch(f"/accounts/subusers/{f.own_id}", json={"mode": "shared"}, headers=f.parent)

    assert_error(client.get("/blacklist/changes", params={"after": before}, headers=f.own), 400, "invalid_cursor")


def test_the_accounts_scope_alone_revokes_a_wider_token_and_a_deleted_subusers_tokens_stay_listed_revoked(client, make_token):
    parent = bearer(make_token("parent", ALL))
    own_id = subuser(client, parent, "own-sub")
    accounts_only = bearer(mint(client, parent, ["accounts"])["token"])
    wide = mint(client, parent, ALL)
    for_subuser = mint(client, parent, ["blacklist"], own_id)

    assert client.delete(f"/accounts/tokens/{wide['id']}", headers=accounts_only).status_code == 204
    assert_error(client.get(URL, headers=bearer(wide["token"])), 401, "unauthorized")
    assert client.delete(f"/accounts/subusers/{own_id}", headers=accounts_only).status_code == 204
    listed = {token["id"]: token for token in client.get("/accounts/tokens", headers=parent).json()["collection"]}
    assert listed[wide["id"]]["revoked_at"] is not None and listed[for_subuser["id"]]["revoked_at"] is not None
    assert listed[for_subuser["id"]]["account"] == own_id


def test_an_expiry_without_an_offset_is_utc(client, make_token):
    parent = bearer(make_token("parent", ALL))

    made = mint(client, parent, ["blacklist:check"], expires_at="2099-06-30T12:00:00")

    assert made["expires_at"] == "2099-06-30T12:00:00Z"
