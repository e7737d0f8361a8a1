"""The isolation matrix, generated from the OpenAPI document: for every operation, every caller
(parent, own subuser, shared subuser, sibling, stranger, and the parent acting on its own subuser by
the Stoplist-Account header), every scope, and two owners of what is asked for (the parent, its own
subuser), the documented answer:

- a token without the operation's scope gets 403 `forbidden` (nothing is looked up, so a 403 tells
  nothing of anyone's data);
- with the scope, what is the caller's (its owner's lists, or its family's tokens and subusers)
  answers as the route documents; anything else answers 404 by id, and a listing, search, check,
  history, feed or checkpoint shows none of it (no address, id, token, event or hash of another
  owner), and what a write names of another owner is still there afterwards, unchanged; a write
  that acts on lists rather than on an id (a batch, a delete by filter) acts on the caller's own.

A new operation without a row in REQUESTS fails test_every_operation_has_a_request_builder, so none
escapes. The whole matrix runs in one test per database (a few seconds each)."""

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from stoplist.auth.principal import ACCOUNTS, BLACKLIST, CHECK, READ, granted
from tests.accounts.helpers import ALL, bearer, mint, subuser

SCOPES = [BLACKLIST, READ, CHECK, ACCOUNTS]
HEADER = "Stoplist-Account"
SUBUSERS = {"own", "shared", "sibling"}


@dataclass
class Owner:
    """Whose data is asked for: its full headers, and what it holds (each made by fresh())."""

    name: str
    headers: dict
    number: str = ""
    entry_id: str = ""
    native_id: str = ""
    email: str = ""
    import_id: str = ""
    file_id: str = ""
    markers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    kwargs: dict = field(default_factory=dict)
    by_id: bool = False  # what another caller gets: 404, rather than an answer of its own that shows nothing
    survivor: Callable | None = None  # after another caller's request: what must still be there, checked by the owner
    foreign: Callable | None = None  # another caller's answer (a write acting on its own lists): what it must say


def _fresh_number() -> str:
    return f"485{uuid.uuid4().int % 10**8:08d}"


def _add(client, headers: dict, number: str | None = None) -> dict:
    response = client.post("/blacklist/phone_numbers", json={"phone_number": number or _fresh_number()}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _still_listed(entry_id: str):
    return lambda client, owner: client.get(f"/blacklist/phone_numbers/{entry_id}", headers=owner.headers).status_code == 200


def _unchanged(client, owner: Owner, entry_id: str):
    """The entry as its owner reads it now; the survivor check: it still reads exactly so."""
    before = client.get(f"/blacklist/entries/{entry_id}", headers=owner.headers).json()
    return lambda client, owner: client.get(f"/blacklist/entries/{entry_id}", headers=owner.headers).json() == before


# One builder per operation of the document: (client, owner) -> the request asking for the owner's data.
def _requests() -> dict[tuple[str, str], Callable]:
    def delete_by_id(client, owner):
        entry = _add(client, owner.headers)
        return Request("DELETE", f"/blacklist/phone_numbers/{entry['id']}", by_id=True, survivor=_still_listed(entry["id"]))

    def delete_native(client, owner):
        entry = _add(client, owner.headers)
        return Request("DELETE", f"/blacklist/entries/{entry['id']}", by_id=True, survivor=_still_listed(entry["id"]))

    def delete_by_number(client, owner):
        entry = _add(client, owner.headers)
        return Request("DELETE", "/blacklist/phone_numbers", {"params": {"phone_number": entry["phone_number"]}}, survivor=_still_listed(entry["id"]))

    def edit(client, owner):
        entry = _add(client, owner.headers)
        body = {"json": {"list": "allow", "note": "moved by someone"}}
        return Request("PATCH", f"/blacklist/entries/{entry['id']}", body, by_id=True, survivor=_unchanged(client, owner, entry["id"]))

    def put_number(client, owner):
        entry = _add(client, owner.headers)
        body = {"json": {"phone_number": _fresh_number(), "expire_at": "2031-01-01"}}
        return Request("PUT", f"/blacklist/phone_numbers/{entry['id']}", body, by_id=True, survivor=_unchanged(client, owner, entry["id"]))

    def replace(client, owner):
        # The owner's number is on none of another caller's lists: 404, as for an id.
        entry = _add(client, owner.headers)
        body = {"json": {"old": entry["phone_number"], "new": _fresh_number()}}
        return Request("POST", "/blacklist/entries/replace", body, by_id=True, survivor=_unchanged(client, owner, entry["id"]))

    def batch(client, owner):
        # Another caller listing the owner's number creates an entry on its own list and leaves the owner's alone.
        entry = _add(client, owner.headers)
        body = {"json": {"items": [entry["phone_number"]], "note": "batched by someone", "expire_at": "2031-01-01"}}
        created = lambda response: [result["outcome"] for result in response.json()["results"]] == ["created"]  # noqa: E731
        return Request("POST", "/blacklist/entries/batch", body, survivor=_unchanged(client, owner, entry["id"]), foreign=created)

    def delete_by_filter(client, owner):
        entry = _add(client, owner.headers)
        none = lambda response: response.json() == {"count": 0}  # noqa: E731
        return Request("DELETE", "/blacklist/entries", {"params": {"address": entry["phone_number"]}}, survivor=_unchanged(client, owner, entry["id"]), foreign=none)

    def revoke(client, owner):
        made = mint(client, owner.headers, [CHECK])
        still = lambda client, owner: client.get("/blacklist/check", params={"phone_number": "+48500000000"}, headers=bearer(made["token"])).status_code == 200  # noqa: E731
        return Request("DELETE", f"/accounts/tokens/{made['id']}", by_id=True, survivor=still)

    def subuser_change(method: str):
        def build(client, owner):
            if owner.name != "parent":
                return None  # only a top-level account has subusers
            found = subuser(client, owner.headers, f"sub-{uuid.uuid4().hex[:12]}")
            still = lambda client, owner: found in [s["id"] for s in client.get("/accounts/subusers", headers=owner.headers).json()["collection"]]  # noqa: E731
            kwargs = {"json": {"mode": "shared"}} if method == "PATCH" else {}
            unchanged = still if method == "DELETE" else (lambda client, owner: {s["id"]: s["mode"] for s in client.get("/accounts/subusers", headers=owner.headers).json()["collection"]}.get(found) == "own")
            return Request(method, f"/accounts/subusers/{found}", kwargs, by_id=True, survivor=unchanged)

        return build

    return {
        ("GET", "/blacklist/check"): lambda c, o: Request("GET", "/blacklist/check", {"params": {"phone_number": o.number}}),
        ("POST", "/blacklist/check"): lambda c, o: Request("POST", "/blacklist/check", {"json": {"phone_numbers": [o.number]}}),
        ("POST", "/blacklist/phone_numbers/imports"): lambda c, o: Request(
            "POST", "/blacklist/phone_numbers/imports", {"content": f"phone_number\n{_fresh_number()}\n", "headers": {"Content-Type": "text/csv"}}
        ),
        ("GET", "/blacklist/phone_numbers/imports/{import_id}"): lambda c, o: Request("GET", f"/blacklist/phone_numbers/imports/{o.import_id}", by_id=True),
        ("GET", "/blacklist/phone_numbers/imports/{import_id}/errors"): lambda c, o: Request("GET", f"/blacklist/phone_numbers/imports/{o.import_id}/errors", by_id=True),
        ("GET", "/blacklist/phone_numbers"): lambda c, o: Request("GET", "/blacklist/phone_numbers"),
        ("POST", "/blacklist/phone_numbers"): lambda c, o: Request("POST", "/blacklist/phone_numbers", {"json": {"phone_number": _fresh_number()}}),
        ("DELETE", "/blacklist/phone_numbers"): delete_by_number,
        ("GET", "/blacklist/phone_numbers/{entry_id}"): lambda c, o: Request("GET", f"/blacklist/phone_numbers/{o.entry_id}", by_id=True),
        ("DELETE", "/blacklist/phone_numbers/{entry_id}"): delete_by_id,
        ("POST", "/blacklist/entries"): lambda c, o: Request("POST", "/blacklist/entries", {"json": {"address": f"{uuid.uuid4().hex[:8]}@example.com"}}),
        ("GET", "/blacklist/entries"): lambda c, o: Request("GET", "/blacklist/entries"),
        ("GET", "/blacklist/entries/{entry_id}"): lambda c, o: Request("GET", f"/blacklist/entries/{o.native_id}", by_id=True),
        ("DELETE", "/blacklist/entries/{entry_id}"): delete_native,
        ("PATCH", "/blacklist/entries/{entry_id}"): edit,
        ("PUT", "/blacklist/phone_numbers/{entry_id}"): put_number,
        ("POST", "/blacklist/entries/replace"): replace,
        ("POST", "/blacklist/entries/batch"): batch,
        ("DELETE", "/blacklist/entries"): delete_by_filter,
        ("GET", "/blacklist/history"): lambda c, o: Request("GET", "/blacklist/history", {"params": {"address": o.number}}),
        ("GET", "/blacklist/entries/{entry_id}/history"): lambda c, o: Request("GET", f"/blacklist/entries/{o.native_id}/history", by_id=True),
        ("GET", "/blacklist/phone_numbers/{entry_id}/history"): lambda c, o: Request("GET", f"/blacklist/phone_numbers/{o.entry_id}/history", by_id=True),
        ("GET", "/blacklist/changes"): lambda c, o: Request("GET", "/blacklist/changes"),
        ("GET", "/blacklist/audit/checkpoint"): lambda c, o: Request("GET", "/blacklist/audit/checkpoint"),
        ("GET", "/blacklist/audit/public-key"): lambda c, o: Request("GET", "/blacklist/audit/public-key"),
        ("GET", "/files/{file_id}"): lambda c, o: Request("GET", f"/files/{o.file_id}", by_id=True),
        ("GET", "/accounts/tokens"): lambda c, o: Request("GET", "/accounts/tokens"),
        ("POST", "/accounts/tokens"): lambda c, o: Request("POST", "/accounts/tokens", {"json": {"scopes": [ACCOUNTS]}}),
        ("DELETE", "/accounts/tokens/{token_id}"): revoke,
        ("GET", "/accounts/subusers"): lambda c, o: Request("GET", "/accounts/subusers"),
        ("POST", "/accounts/subusers"): lambda c, o: Request("POST", "/accounts/subusers", {"json": {"name": f"sub-{uuid.uuid4().hex[:12]}"}}),
        ("PATCH", "/accounts/subusers/{subuser_id}"): subuser_change("PATCH"),
        ("DELETE", "/accounts/subusers/{subuser_id}"): subuser_change("DELETE"),
    }


REQUESTS = _requests()


def _operations(app) -> list[tuple[str, str, str]]:
    """(method, path template, scope) of every operation the document lists, its scope from its security requirement."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            (requirement,) = operation["security"]
            (scopes,) = requirement.values()
            assert len(scopes) == 1, f"{method} {path} declares {scopes}"
            found.append((method.upper(), path, scopes[0]))
    return found


def test_every_operation_has_a_request_builder_and_declares_one_scope(app):
    operations = {(method, path) for method, path, _scope in _operations(app)}
    assert operations - set(REQUESTS) == set(), "add a row to REQUESTS for each new operation"
    assert set(REQUESTS) - operations == set()


@dataclass
class Caller:
    name: str
    tokens: dict[str, dict]  # scope -> headers (a token with that scope alone), and "all"
    header: dict = field(default_factory=dict)

    def headers(self, scope: str) -> dict:
        return {**self.tokens[scope], **self.header}


def _caller(client, name: str, full: dict, header: dict | None = None, account: int | None = None, minter: dict | None = None) -> Caller:
    tokens = {scope: bearer(mint(client, minter or full, [scope], account)["token"]) for scope in SCOPES}
    return Caller(name, {**tokens, "all": full}, header or {})


def _hold(client, owner: Owner, seed_headers: dict) -> Owner:
    """The owner's data: an entry of SMSAPI's list, a native e-mail entry, an import, an x-async export."""
    entry = _add(client, seed_headers)
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    native = client.post("/blacklist/entries", json={"address": email}, headers=seed_headers).json()
    upload = client.post("/blacklist/phone_numbers/imports", content="phone_number\nnot-a-number\n", headers={**seed_headers, "Content-Type": "text/csv"})
    export = client.get("/blacklist/phone_numbers", headers={**seed_headers, "Accept": "text/csv", "x-async": "true"})
    assert upload.status_code == 202 and export.status_code == 202, upload.text + export.text
    owner.number, owner.entry_id, owner.native_id, owner.email = entry["phone_number"], entry["id"], native["id"], email
    owner.import_id, owner.file_id = upload.json()["id"], export.json()["file_id"]
    events = client.get("/blacklist/changes", headers=seed_headers).json()["events"]
    owner.markers = [owner.number, email, events[-1]["hash"]]
    return owner


def _leaks(response, owner: Owner) -> str | None:
    text = response.text
    found = [marker for marker in owner.markers if marker in text and not (response.request.method != "GET" and marker == owner.number)]
    if response.request.url.path == "/blacklist/check" and response.status_code == 200:
        body = response.json()
        results = body.get("results", [body])
        return "blacklisted" if any(result.get("blacklisted") for result in results) else None
    return ", ".join(found) or None


def _expected(request: Request, scope: str, needed: str, mine: bool, response, caller: str) -> str | None:
    """What is wrong with the answer, if anything."""
    status = response.status_code
    refused = needed not in granted(scope if scope != "all" else ALL) or (request.method, request.path) == ("POST", "/accounts/subusers") and caller in SUBUSERS
    if refused:  # no scope; or a subuser asking for a subuser of its own (one level)
        return None if status == 403 and response.json()["error"] == "forbidden" else f"{status} where 403 forbidden was due"
    if mine:
        return None if 200 <= status < 300 else f"{status} where the owner's answer was due: {response.text[:200]}"
    if request.by_id:
        return None if status == 404 else f"{status} where 404 was due: {response.text[:200]}"
    return None if 200 <= status < 300 else f"{status} where an answer of the caller's own was due: {response.text[:200]}"


@pytest.fixture
def world(client, make_token):
    parent_full = bearer(make_token("parent", ALL))
    stranger_full = bearer(make_token("stranger", ALL))
    own_id, shared_id = subuser(client, parent_full, "own-sub"), subuser(client, parent_full, "shared-sub", "shared")
    sibling_id = subuser(client, stranger_full, "sibling-sub")
    own_full = bearer(mint(client, parent_full, ALL, own_id)["token"])
    callers = {
        "parent": _caller(client, "parent", parent_full),
        "own": _caller(client, "own", own_full),
        "shared": _caller(client, "shared", bearer(mint(client, parent_full, ALL, shared_id)["token"])),
        "sibling": _caller(client, "sibling", bearer(mint(client, stranger_full, ALL, sibling_id)["token"])),
        "stranger": _caller(client, "stranger", stranger_full),
    }
    callers["parent->own"] = Caller("parent->own", callers["parent"].tokens, {HEADER: str(own_id)})
    owners = {
        "parent": _hold(client, Owner("parent", parent_full), parent_full),
        "own": _hold(client, Owner("own", own_full), own_full),
    }
    return callers, owners


# Whose lists each caller's /blacklist requests act on, and whose tokens and subusers its /accounts requests manage.
LISTS_OF = {"parent": "parent", "shared": "parent", "own": "own", "parent->own": "own", "sibling": None, "stranger": None}
MANAGES = {"parent": {"parent", "own"}, "own": {"own"}}


def _mine(caller: str, owner: str, path: str) -> bool:
    if path.startswith("/accounts"):
        return owner in MANAGES.get(caller, set())
    return LISTS_OF[caller] == owner


def test_every_route_answers_each_caller_and_scope_as_documented(app, client, world):
    callers, owners = world
    problems = []
    for (method, path, needed), caller_name, scope, owner_name in itertools.product(_operations(app), callers, [*SCOPES, "all"], owners):
        caller = callers[caller_name]
        if path.startswith("/accounts") and caller.header:
            continue  # the header is refused there (400), tested in test_accounts_api
        owner = owners[owner_name]
        request = REQUESTS[(method, path)](client, owner)
        if request is None:
            continue
        kwargs = dict(request.kwargs)
        headers = {**kwargs.pop("headers", {}), **caller.headers(scope)}
        response = client.request(request.method, request.path, headers=headers, **kwargs)
        mine = _mine(caller_name, owner_name, path)
        problem = _expected(request, scope, needed, mine, response, caller_name)
        if problem is None and not mine:
            leaked = _leaks(response, owner)
            if leaked:
                problem = f"shows the owner's {leaked}"
            elif request.survivor is not None and not request.survivor(client, owner):
                problem = "changed what the owner holds"
            elif request.foreign is not None and 200 <= response.status_code < 300 and not request.foreign(response):
                problem = f"acted beyond the caller's own lists: {response.text[:200]}"
        if problem is not None:
            problems.append(f"{method} {path} by {caller_name} ({scope}) on {owner_name}'s: {problem}")
    assert problems == []
