"""What resolving a token means, defined once: the ORM path runs these statements, the check path's
raw drivers (checks/repository.py) run the SQL that `stoplist.db.raw` compiles from them."""

from sqlalchemy import Select, bindparam, or_, select

from stoplist.auth.models import AccessToken, Account

# The parameters, in the order the raw paths pass them.
TOKEN_ORDER = ("hash", "now")
SUBUSER_ORDER = ("account", "parent")


def live_token() -> Select:
    """A token that opens something at `now`: not revoked, not expired, its account not deleted;
    with what makes its principal (see auth.principal.TokenRow)."""
    return (
        select(AccessToken.id, AccessToken.account_id, AccessToken.scopes, AccessToken.expires_at, Account.parent_id, Account.list_mode)
        .join(Account, Account.id == AccessToken.account_id)
        .where(
            AccessToken.token_hash == bindparam("hash"),
            AccessToken.revoked_at.is_(None),
            or_(AccessToken.expires_at.is_(None), AccessToken.expires_at > bindparam("now", type_=AccessToken.expires_at.type)),
            Account.deleted_at.is_(None),
        )
    )


def subuser() -> Select:
    """A subuser of `parent`, deleted or not (see auth.principal.SubuserRow)."""
    return select(Account.id, Account.list_mode, Account.deleted_at.is_not(None)).where(
        Account.id == bindparam("account"), Account.parent_id == bindparam("parent")
    )
