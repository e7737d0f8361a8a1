import pytest

from stoplist.auth.repository import AuthRepository
from stoplist.accounts.service import revoke_operator_token
from stoplist.auth.service import hash_token
from stoplist.db import transaction, utcnow
from tests.api.helpers import URL, add, assert_error

ROUTES = [("GET", URL), ("POST", URL), ("DELETE", URL), ("GET", f"{URL}/1"), ("DELETE", f"{URL}/1")]


def _body(method: str) -> dict:
    # Only POST takes a body: on the others one is refused (400) before the token is read.
    return {"json": {"phone_number": "+48500000000"}} if method == "POST" else {}


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic dXNlcjpwYXNz", "sl_abc"])
def test_every_blacklist_route_needs_a_known_bearer_token(client, method, path, header):
    headers = {} if header is None else {"Authorization": header}

    response = client.request(method, path, headers=headers, **_body(method))

    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_token_without_the_blacklist_scope_is_forbidden(client, make_token, method, path):
    token = make_token(scopes=["sms"])

    response = client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **_body(method))

    body = assert_error(response, 403, "forbidden")
    assert "blacklist" in body["message"]


def test_a_revoked_token_is_refused(client, app, make_token):
    token = make_token()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(URL, headers=headers).status_code == 200

    with transaction(app.state.session_factory) as session:
        repository = AuthRepository(session)
        revoke_operator_token(session, token_id=repository.live_token(hash_token(token), utcnow()).token_id, now=utcnow())

    assert_error(client.get(URL, headers=headers), 401, "unauthorized")


def test_only_a_hash_of_each_token_is_stored(app, make_token):
    token = make_token()

    with transaction(app.state.session_factory) as session:
        stored = AuthRepository(session).all_tokens()[0]

    assert stored.token_hash == hash_token(token)
    assert token not in (stored.token_hash, stored.prefix)


def test_accounts_never_see_change_or_delete_each_others_entries(client, make_token):
    alice = {"Authorization": f"Bearer {make_token('alice')}"}
    bob = {"Authorization": f"Bearer {make_token('bob')}"}
    alice_entry = add(client, alice, "+48500000001", expire_at="2030-01-01")

    assert client.get(URL, headers=bob).json() == {"size": 0, "collection": []}
    assert client.get(URL, params={"q": "500000001"}, headers=bob).json()["size"] == 0
    assert_error(client.get(f"{URL}/{alice_entry['id']}", headers=bob), 404, "entry_not_found")
    assert_error(client.delete(f"{URL}/{alice_entry['id']}", headers=bob), 404, "entry_not_found")
    assert client.delete(URL, headers=bob).status_code == 204
    assert client.delete(URL, params={"phone_number": "+48500000001"}, headers=bob).status_code == 204

    bob_entry = add(client, bob, "+48500000001")
    assert bob_entry["id"] != alice_entry["id"]
    assert bob_entry["expire_at"] is None

    assert client.get(f"{URL}/{alice_entry['id']}", headers=alice).json() == alice_entry
    assert client.get(URL, headers=alice).json()["size"] == 1


def test_two_tokens_of_one_account_share_its_list(client, make_token):
    first = {"Authorization": f"Bearer {make_token('acme')}"}
    second = {"Authorization": f"Bearer {make_token('acme')}"}
    entry = add(client, first, "+48500000001")

    assert client.get(f"{URL}/{entry['id']}", headers=second).json() == entry
