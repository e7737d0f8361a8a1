"""A family of accounts made over HTTP, for the accounts tests and the isolation matrix."""

from dataclasses import dataclass

ALL = ["blacklist", "accounts"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Family:
    """A parent with an own and a shared subuser, a sibling (another top-level account's subuser) and a stranger."""

    parent: dict
    own: dict
    shared: dict
    sibling: dict
    stranger: dict
    own_id: int
    shared_id: int
    sibling_id: int


def subuser(client, headers: dict, name: str, mode: str = "own") -> int:
    response = client.post("/accounts/subusers", json={"name": name, "mode": mode}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def mint(client, headers: dict, scopes: list[str], account: int | None = None, **fields) -> dict:
    body = {"scopes": scopes, **fields} | ({} if account is None else {"account": account})
    response = client.post("/accounts/tokens", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def family(client, make_token) -> Family:
    parent = bearer(make_token("parent", ALL))
    stranger = bearer(make_token("stranger", ALL))
    own_id, shared_id = subuser(client, parent, "own-sub"), subuser(client, parent, "shared-sub", "shared")
    sibling_id = subuser(client, stranger, "sibling-sub")
    return Family(
        parent=parent,
        own=bearer(mint(client, parent, ALL, own_id)["token"]),
        shared=bearer(mint(client, parent, ALL, shared_id)["token"]),
        sibling=bearer(mint(client, stranger, ALL, sibling_id)["token"]),
        stranger=stranger, own_id=own_id, shared_id=shared_id, sibling_id=sibling_id,
    )
