"""Who is calling: the owner of the lists a request acts on, the actor (account and token) who acts,
and what the token may do. Pure: resolving needs the rows of auth.queries, read by the caller."""

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import NamedTuple

from stoplist.auth.models import SHARED

BLACKLIST = "blacklist"
READ = "blacklist:read"
CHECK = "blacklist:check"
ACCOUNTS = "accounts"
# The scopes Stoplist checks, each with what it opens. Other well-formed names (SMSAPI's "sms",
# "contacts", ...) may be granted so a token can mirror one from SMSAPI, but they open nothing here.
SCOPES = {
    BLACKLIST: "everything on the lists: read, check, add, change, delete, import",
    READ: "listings, exports, history, the change feed, checkpoints and checks",
    CHECK: "the check routes only",
    ACCOUNTS: "subusers and access tokens",
}
# A wider scope includes the narrower.
IMPLIED = {BLACKLIST: (READ, CHECK), READ: (CHECK,)}
# What a parent may do on a deleted subuser's lists: read what is left of them and their trail.
DELETED_SUBUSER_SCOPES = frozenset({READ, CHECK})
# The request header by which a parent acts on a subuser's lists.
ACCOUNT_HEADER = "Stoplist-Account"


def granted(scopes: str | frozenset[str] | list[str]) -> frozenset[str]:
    """The scopes a token holds, with those its wider scopes include."""
    names = scopes.split() if isinstance(scopes, str) else scopes
    return frozenset(names).union(*(IMPLIED.get(name, ()) for name in names))


class TokenRow(NamedTuple):
    """A live token as auth.queries.live_token reads it."""

    token_id: int
    account_id: int
    scopes: str
    expires_at: datetime | str | None  # aware (ORM), naive UTC (asyncpg) or RFC 3339 text (sqlite3)
    parent_id: int | None
    list_mode: str


class SubuserRow(NamedTuple):
    """A subuser as auth.queries.subuser reads it."""

    id: int
    list_mode: str
    deleted: bool


@dataclass(frozen=True)
class Principal:
    """Whose lists a request acts on (`owner_id`), who acts (`actor_account_id`, `token_id`), and what it may do."""

    owner_id: int
    actor_account_id: int
    token_id: int | None
    scopes: frozenset[str]
    # The actor's parent: None for a top-level account (only those have subusers).
    parent_id: int | None = None
    expires_at: datetime | None = field(default=None, compare=False)
    # The owner is a deleted subuser, which its parent may only read (its scopes are cut to DELETED_SUBUSER_SCOPES).
    owner_deleted: bool = False

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    def refusal(self, scope: str) -> str:
        """Why a route that needs `scope` is refused: what a 403 says."""
        if self.owner_deleted and scope not in DELETED_SUBUSER_SCOPES:
            return f"Account {self.owner_id} is a deleted subuser: its lists and trail are kept to be read ('{READ}' at most), not written."
        return f"This access token lacks the '{scope}' scope."

    def sees_account_events(self) -> bool:
        """Whether the trail it reads shows the changes to tokens and subusers on it: not to a shared
        subuser reading its parent's trail (they are the parent's business: its other subusers, its tokens)."""
        return self.owner_id != self.parent_id


def principal_of(row: TokenRow) -> Principal:
    """The principal of a live token: a shared subuser's lists are its parent's."""
    token_id, account_id, scopes, expires_at, parent_id, list_mode = row
    owner = parent_id if parent_id is not None and list_mode == SHARED else account_id
    return Principal(owner, account_id, token_id, granted(scopes), parent_id, aware(expires_at))


def acting_on(principal: Principal, subuser: SubuserRow | None) -> Principal | None:
    """The principal of a parent acting on one of its subusers' lists, or None when the account
    named is not a subuser of the caller's (a subuser has none: one level)."""
    if subuser is None or principal.parent_id is not None:
        return None
    if subuser.deleted:  # what is kept of it: its own lists (emptied) and its own trail, to read
        return Principal(
            subuser.id, principal.actor_account_id, principal.token_id, principal.scopes & DELETED_SUBUSER_SCOPES, None, principal.expires_at,
            owner_deleted=True,
        )
    owner = principal.actor_account_id if subuser.list_mode == SHARED else subuser.id
    scopes = principal.scopes
    return Principal(owner, principal.actor_account_id, principal.token_id, scopes, None, principal.expires_at)


def aware(moment: datetime | str | None) -> datetime | None:
    """An expiry as any of the three paths reads it, as an aware UTC moment."""
    if moment is None:
        return None
    if isinstance(moment, str):
        return datetime.strptime(moment, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
