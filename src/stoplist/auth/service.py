"""Creating, checking and revoking access tokens; creating accounts (top-level or subusers)."""

import hashlib
import re
import secrets
import unicodedata
from datetime import datetime

from stoplist.auth.models import LIST_MODES, OWN, AccessToken, Account
from stoplist.auth.principal import SCOPES, Principal
from stoplist.auth.repository import AuthRepository
from stoplist.db import utcnow

__all__ = ["SCOPES", "Principal", "create_account", "create_token", "hash_token", "revoke_token"]

_SCOPE_NAME = re.compile(r"^[a-z][a-z0-9_.:-]{0,39}$")
DEFAULT_SCOPES = ["blacklist"]
DEFAULT_ACCOUNT = "default"
TOKEN_PREFIX = "sl_"
MAX_NAME = 100


class InvalidTokenRequest(ValueError):
    """A token or account request that cannot be granted: a malformed scope, name, parent or mode."""


class TokenNotFound(LookupError):
    """`stoplist token revoke` of an id no token has."""


def hash_token(token: str) -> str:
    """The stored form of a token: tokens are random, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def valid_account_name(name: str) -> str:
    """An account's name as stored: trimmed, 1 to 100 characters, none of them a control character."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidTokenRequest("an account name must have 1 to 100 characters")
    if any(unicodedata.category(character).startswith("C") for character in name):
        raise InvalidTokenRequest("an account name must not hold control characters (line breaks, tabs, escapes, ...)")
    return name


def name_key(name: str) -> str:
    """What account names are unique on: two names that differ only in case or in Unicode form are one."""
    return unicodedata.normalize("NFKC", name).casefold()


def taken_name(repository: AuthRepository, name: str, *, besides: str | None = None) -> str | None:
    """The name of an account (other than the one named `besides`) whose name is `name` in any case or form, if there is one."""
    key = name_key(name)
    return next((taken for taken in repository.account_names() if taken != besides and name_key(taken) == key), None)


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
    now = utcnow()
    if account is None:
        named = valid_account_name(account_name)
        account = repository.account_by_name(named)
        if account is None:
            alike = taken_name(repository, named)
            if alike is not None:
                raise InvalidTokenRequest(f"account {alike!r} exists, and names differing only in case are one: name it {alike!r}")
            account = repository.add_account(named, created_at=now)
    if account.deleted_at is not None:
        raise InvalidTokenRequest(f"account {account.name!r} was deleted")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = repository.add_token(
        account, token_hash=hash_token(secret), prefix=secret[:10], scopes=scopes, created_at=now, name=name, expires_at=expires_at
    )
    return secret, record


def revoke_token(*, repository: AuthRepository, token_id: int) -> AccessToken:
    """Revoke a token; it is refused from the next request on."""
    record = repository.token_by_id(token_id)
    if record is None:
        raise TokenNotFound()
    if record.revoked_at is None:
        record.revoked_at = utcnow()
    return record
