"""Bearer tokens checked without a query per request: known tokens are remembered briefly.

A revoked token is refused at the latest `ttl` seconds after `stoplist token revoke`
(STOPLIST_TOKEN_CACHE_SECONDS); unknown tokens are never remembered, so a new token works at once.
With `ttl` 0 nothing is remembered: every request reads its token.
"""

import time
from collections.abc import Awaitable, Callable

from stoplist.auth.service import Principal, hash_token
from stoplist.errors import Forbidden, Unauthorized

TokenFinder = Callable[[str], Awaitable[tuple[int, int, str] | None]]

MAX_ENTRIES = 10_000


class TokenCache:
    def __init__(self, find: TokenFinder, ttl: float) -> None:
        self._find = find
        self._ttl = ttl
        self._known: dict[str, tuple[float, Principal]] = {}

    async def authenticate(self, authorization: str | None, scope: str) -> Principal:
        """The principal behind an `Authorization: Bearer` header, if it carries `scope`."""
        if not authorization or authorization[:7].lower() != "bearer " or not authorization[7:].strip():
            raise Unauthorized()
        token = authorization[7:].strip()
        now = time.monotonic()
        cached = self._known.get(token)
        if cached is not None and cached[0] > now:
            principal = cached[1]
        else:
            row = await self._find(hash_token(token))
            if row is None:
                self._known.pop(token, None)
                raise Unauthorized("This access token is unknown or has been revoked.")
            token_id, account_id, scopes = row
            principal = Principal(account_id=account_id, token_id=token_id, scopes=frozenset(scopes.split()))
            if self._ttl > 0:
                if len(self._known) >= MAX_ENTRIES:
                    self._known.clear()
                self._known[token] = (now + self._ttl, principal)
        if scope not in principal.scopes:
            raise Forbidden(f"This access token lacks the '{scope}' scope.")
        return principal
