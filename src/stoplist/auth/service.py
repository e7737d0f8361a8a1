"""Creating, checking and revoking access tokens; creating accounts (top-level or subusers)."""

import hashlib
import re
import secrets
from datetime import datetime

from stoplist.auth.models import LIST_MODES, OWN, AccessToken, Account
from stoplist.auth.names import InvalidName, valid_name
from stoplist.auth.principal import SCOPES, Principal
from stoplist.auth.repository import AuthRepository
from stoplist.db import utcnow

__all__ = ["SCOPES", "Principal", "create_account", "create_token", "hash_token"]

_SCOPE_NAME = re.compile(r"^[a-z][a-z0-9_.:-]{0,39}$")
DEFAULT_SCOPES = ["blacklist"]
DEFAULT_ACCOUNT = "default"
TOKEN_PREFIX = "sl_"


class InvalidTokenRequest(ValueError):
    """A token or account request that cannot be granted: a malformed scope, name, parent or mode."""


class TokenNotFound(LookupError):
    """`stoplist token revoke` of an id no token has."""


def hash_token(token: str) -> str:
    """The stored form of a token: tokens are random, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def valid_account_name(name: str) -> str:
    """An account's name as stored: trimmed, 1 to 100 characters, none of them invisible or a control."""
    try:
        return valid_name(name, what="an account name")
    except InvalidName as exc:
        raise InvalidTokenRequest(str(exc)) from None


def create_account(*, repository: AuthRepository, name: str, parent: Account | None = None, mode: str = OWN) -> Account:
    """A new account: top-level, or a subuser of `parent` (one level: a subuser has no subusers)."""
    name = valid_account_name(name)
    if mode not in LIST_MODES:
        raise InvalidTokenRequest(f"a subuser's mode is {' or '.join(LIST_MODES)}, not {mode!r}")
    if parent is not None and parent.parent_id is not None:
        raise InvalidTokenRequest(f"account {parent.name!r} is a subuser itself: subusers are one level deep")
    if parent is None and mode != OWN:
        raise InvalidTokenRequest("only a subuser can share its parent's lists (give a parent)")
    return repository.add_account(name, created_at=utcnow(), parent_id=None if parent is None else parent.id, list_mode=mode)


def create_token(
    *, repository: AuthRepository, account_name: str = DEFAULT_ACCOUNT, scopes: list[str] | None = None,
    name: str | None = None, expires_at: datetime | None = None, account: Account | None = None,
) -> tuple[str, AccessToken]:
    """Create a token for `account` (or the account named, created if new); return the secret, shown only once, and its record."""
    scopes = sorted(set(scopes or DEFAULT_SCOPES))
    malformed = [scope for scope in scopes if not _SCOPE_NAME.match(scope)]
    if malformed:
        raise InvalidTokenRequest(f"malformed scope name(s) {', '.join(map(repr, malformed))}: use lower-case letters, digits and _ . : -")
    if name is not None:
        try:
            name = valid_name(name, what="a token's name")
        except InvalidName as exc:
            raise InvalidTokenRequest(str(exc)) from None
    now = utcnow()
    if account is None:
        named = valid_account_name(account_name)
        account = repository.account_by_name(named)
        if account is None:
            alike = repository.account_alike(named)
            if alike is not None:
                gone = " (a deleted subuser)" if alike.deleted_at is not None else ""
                raise InvalidTokenRequest(f"account {alike.name!r}{gone} has this name in another case or form, and names are one whatever their case")
            account = repository.add_account(named, created_at=now)
    if account.deleted_at is not None:
        raise InvalidTokenRequest(f"account {account.name!r} was deleted")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = repository.add_token(
        account, token_hash=hash_token(secret), prefix=secret[:10], scopes=scopes, created_at=now, name=name, expires_at=expires_at
    )
    return secret, record
