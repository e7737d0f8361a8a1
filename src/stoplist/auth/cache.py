"""Bearer tokens resolved to principals without a query per request: known tokens are remembered briefly.

A revoked token is refused at the latest `ttl` seconds after it is revoked (STOPLIST_TOKEN_CACHE_SECONDS),
an expired one from the second its `expires_at` passes (a remembered principal never outlives its
token); unknown tokens are never remembered, so a new token works at once. With `ttl` 0 nothing is
remembered: every request reads its token.
"""

import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

from starlette.datastructures import Headers

from stoplist.auth.principal import ACCOUNT_HEADER, Principal, SubuserRow, TokenRow, acting_on, principal_of
from stoplist.auth.service import hash_token
from stoplist.errors import AccountNotFound, Forbidden, Unauthorized, ValidationFailed

TokenFinder = Callable[[str, datetime], Awaitable[TokenRow | None]]
SubuserFinder = Callable[[int, int], Awaitable[SubuserRow | None]]

MAX_ENTRIES = 10_000
MAX_ACCOUNT_DIGITS = 19
MAX_ACCOUNT_ID = 2**63 - 1  # ids are BIGINT


class TokenCache:
    def __init__(self, find: TokenFinder, find_subuser: SubuserFinder, ttl: float) -> None:
        self._find = find
        self._find_subuser = find_subuser
        self._ttl = ttl
        self._known: dict[tuple[str, str | None], tuple[float, Principal]] = {}

    async def authenticate_headers(self, headers: Headers, scope: str) -> Principal:
        """authenticate() of a request's Authorization and Stoplist-Account headers, each refused when given twice."""
        return await self.authenticate(authorization_of(headers), scope, named_account(headers))

    async def authenticate(self, authorization: str | None, scope: str, account: str | None = None) -> Principal:
        """The principal behind an `Authorization: Bearer` header (acting on subuser `account`, when
        named), if it carries `scope`: 401, then 404 for an account not the caller's, then 403."""
        if not authorization or authorization[:7].lower() != "bearer " or not authorization[7:].strip():
            raise Unauthorized()
        token = authorization[7:].strip()
        key = (token, account)
        now = time.monotonic()
        cached = self._known.get(key)
        if cached is not None and cached[0] > now:
            principal = cached[1]
        else:
            principal = await self._resolve(token, account, scope)
            if self._ttl > 0:
                if len(self._known) >= MAX_ENTRIES:
                    self._known.clear()
                self._known[key] = (now + self._lifetime(principal), principal)
        if not principal.allows(scope):
            raise Forbidden(principal.refusal(scope))
        return principal

    async def _resolve(self, token: str, account: str | None, scope: str) -> Principal:
        wall = datetime.now(timezone.utc)
        row = await self._find(hash_token(token), wall.replace(microsecond=0))
        if row is None:
            self._forget(token)
            raise Unauthorized("This access token is unknown, expired or revoked.")
        principal = principal_of(TokenRow(*row))
        if account is None:
            return principal
        if not principal.allows(scope):  # before any lookup: a token without the scope learns nothing of subusers
            raise Forbidden(f"This access token lacks the '{scope}' scope.")
        subuser_id = account_id_of(account)
        found = None if principal.parent_id is not None else await self._find_subuser(subuser_id, principal.actor_account_id)
        acting = acting_on(principal, None if found is None else SubuserRow(*found))
        if acting is None:
            raise AccountNotFound(f"No subuser {subuser_id} of this token's account.")
        return acting

    def _lifetime(self, principal: Principal) -> float:
        """How long to remember a principal: `ttl`, and never past its token's expiry."""
        if principal.expires_at is None:
            return self._ttl
        return max(0.0, min(self._ttl, (principal.expires_at - datetime.now(timezone.utc)).total_seconds()))

    def forget_all(self) -> None:
        """Forget every remembered principal: after a change of tokens or subusers, this process sees it at once
        (other processes within `ttl`)."""
        self._known.clear()

    def _forget(self, token: str) -> None:
        for key in [key for key in self._known if key[0] == token]:
            del self._known[key]


def account_id_of(value: str) -> int:
    """The subuser id a Stoplist-Account header names."""
    text = value.strip()  # what HTTP itself would strip around a header's value
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_ACCOUNT_DIGITS or int(text) > MAX_ACCOUNT_ID:
        raise ValidationFailed(f"{ACCOUNT_HEADER} must be the id of one of your subusers (a positive integer).", path=ACCOUNT_HEADER)
    return int(text)


def authorization_of(headers: Headers) -> str | None:
    """The Authorization header's value; given twice (a proxy adding its own, say), which token acts would be a guess:
    refused, as a subuser named twice is."""
    values = headers.getlist("authorization")
    if len(values) > 1:
        raise ValidationFailed(f"Authorization is given {len(values)} times: send one token, once.", path="Authorization")
    return values[0] if values else None


def named_account(headers: Headers) -> str | None:
    """The Stoplist-Account header's value; given twice (a proxy adding one, say), the request is ambiguous: refused."""
    values = headers.getlist(ACCOUNT_HEADER)
    if len(values) > 1:
        raise ValidationFailed(f"{ACCOUNT_HEADER} is given {len(values)} times: name one subuser, once.", path=ACCOUNT_HEADER)
    return values[0] if values else None
