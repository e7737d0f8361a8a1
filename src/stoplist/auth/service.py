"""Creating, checking and revoking access tokens."""

import hashlib
import re
import secrets
from dataclasses import dataclass

from stoplist.auth.models import AccessToken
from stoplist.auth.repository import AuthRepository
from stoplist.db import utcnow

# Scopes Stoplist checks. Other well-formed names (SMSAPI's "sms", "contacts", ...) may be granted
# so a token can mirror one from SMSAPI, but they open nothing here.
SCOPES = {"blacklist": "read and change the account's blacklist"}
_SCOPE_NAME = re.compile(r"^[a-z][a-z0-9_.:-]{0,39}$")
DEFAULT_SCOPES = ["blacklist"]
DEFAULT_ACCOUNT = "default"
TOKEN_PREFIX = "sl_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account a token acts for, and what it may do."""

    account_id: int
    token_id: int
    scopes: frozenset[str]


class InvalidTokenRequest(ValueError):
    """A token request that cannot be granted: a malformed scope or account name."""


class TokenNotFound(LookupError):
    """`stoplist token revoke` of an id no token has (the API has no token routes)."""


def hash_token(token: str) -> str:
    """The stored form of a token: tokens are random, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(*, repository: AuthRepository, account_name: str = DEFAULT_ACCOUNT, scopes: list[str] | None = None) -> tuple[str, AccessToken]:
    """Create a token (and its account, if new); return the secret, shown only once, and its record."""
    account_name = account_name.strip()
    if not 1 <= len(account_name) <= 100:
        raise InvalidTokenRequest("an account name must have 1 to 100 characters")
    scopes = sorted(set(scopes or DEFAULT_SCOPES))
    malformed = [scope for scope in scopes if not _SCOPE_NAME.match(scope)]
    if malformed:
        raise InvalidTokenRequest(f"malformed scope name(s) {', '.join(map(repr, malformed))}: use lower-case letters, digits and _ . : -")
    now = utcnow()
    account = repository.account_by_name(account_name) or repository.add_account(account_name, created_at=now)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = repository.add_token(account, token_hash=hash_token(secret), prefix=secret[:10], scopes=scopes, created_at=now)
    return secret, record


def revoke_token(*, repository: AuthRepository, token_id: int) -> AccessToken:
    """Revoke a token; it is refused from the next request on."""
    record = repository.token_by_id(token_id)
    if record is None:
        raise TokenNotFound()
    if record.revoked_at is None:
        record.revoked_at = utcnow()
    return record
