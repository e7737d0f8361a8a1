"""The principal of a token, pure: scopes that include the narrower, owner and actor apart, a parent
acting on its subusers, and a cache whose principals never outlive their token's expiry."""

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from stoplist.auth.cache import TokenCache
from stoplist.auth.principal import SubuserRow, TokenRow, acting_on, granted, principal_of
from stoplist.errors import AccountNotFound, Forbidden, Unauthorized, ValidationFailed

PARENT, OWN, SHARED = 1, 2, 3


def test_a_wider_scope_includes_the_narrower_and_no_other():
    assert granted("blacklist") == {"blacklist", "blacklist:read", "blacklist:check"}
    assert granted("blacklist:read") == {"blacklist:read", "blacklist:check"}
    assert granted("blacklist:check accounts") == {"blacklist:check", "accounts"}
    assert granted("sms") == {"sms"}


def test_a_shared_subuser_owns_its_parents_lists_and_acts_as_itself():
    principal = principal_of(TokenRow(7, SHARED, "blacklist", None, PARENT, "shared"))
    assert (principal.owner_id, principal.actor_account_id, principal.token_id) == (PARENT, SHARED, 7)
    own = principal_of(TokenRow(8, OWN, "blacklist", None, PARENT, "own"))
    assert (own.owner_id, own.actor_account_id) == (OWN, OWN)


def test_a_parent_acts_on_its_subusers_lists_and_a_subuser_on_none():
    parent = principal_of(TokenRow(1, PARENT, "blacklist", None, None, "own"))
    assert acting_on(parent, SubuserRow(OWN, "own", False)).owner_id == OWN
    assert acting_on(parent, SubuserRow(SHARED, "shared", False)).owner_id == PARENT
    deleted = acting_on(parent, SubuserRow(OWN, "own", True))
    assert deleted.owner_id == OWN and deleted.scopes == {"blacklist:read", "blacklist:check"}
    assert acting_on(parent, None) is None
    subuser = principal_of(TokenRow(2, OWN, "blacklist", None, PARENT, "own"))
    assert acting_on(subuser, SubuserRow(SHARED, "shared", False)) is None


def _cache(rows: dict, ttl: float, calls: list) -> TokenCache:
    async def find(token_hash, now):
        calls.append(token_hash)
        return rows.get("row")

    async def find_subuser(account_id, parent_id):
        return (account_id, "own", False) if (account_id, parent_id) == (OWN, PARENT) else None

    return TokenCache(find, find_subuser, ttl=ttl)


def test_a_cached_principal_never_outlives_its_tokens_expiry(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("stoplist.auth.cache.time.monotonic", lambda: clock[0])
    calls: list = []
    expiry = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=2)
    rows = {"row": (1, PARENT, "blacklist", expiry.strftime("%Y-%m-%dT%H:%M:%SZ"), None, "own")}
    cache = _cache(rows, ttl=60, calls=calls)

    asyncio.run(cache.authenticate("Bearer sl_x", "blacklist"))
    asyncio.run(cache.authenticate("Bearer sl_x", "blacklist"))
    assert len(calls) == 1
    clock[0] += 2.5  # past the token's expiry, well within the cache's 60 seconds
    rows["row"] = None  # what the query answers once the expiry has passed
    with pytest.raises(Unauthorized):
        asyncio.run(cache.authenticate("Bearer sl_x", "blacklist"))
    assert len(calls) == 2


def test_the_cache_answers_401_then_403_then_404_and_remembers_each_subuser_apart():
    calls: list = []
    cache = _cache({"row": (1, PARENT, "blacklist:check", None, None, "own")}, ttl=60, calls=calls)

    with pytest.raises(Unauthorized):
        asyncio.run(cache.authenticate(None, "blacklist:check"))
    # Without the scope, 403 whatever the header names: nothing is looked up first (the README's promise).
    for named in (str(SHARED), "x1", str(OWN)):
        with pytest.raises(Forbidden, match="'blacklist'"):
            asyncio.run(cache.authenticate("Bearer sl_x", "blacklist", named))
    with pytest.raises(AccountNotFound):
        asyncio.run(cache.authenticate("Bearer sl_x", "blacklist:check", str(SHARED)))
    with pytest.raises(ValidationFailed):
        asyncio.run(cache.authenticate("Bearer sl_x", "blacklist:check", "x1"))
    assert asyncio.run(cache.authenticate("Bearer sl_x", "blacklist:check", str(OWN))).owner_id == OWN
    assert asyncio.run(cache.authenticate("Bearer sl_x", "blacklist:check")).owner_id == PARENT
