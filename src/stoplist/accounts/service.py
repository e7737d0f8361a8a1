"""The rules of subusers and tokens over HTTP: who may see and change what, and the events that say so.

Every change here is an event on the trail of the family's top-level account (the parent): `grant` and
`revoke` for tokens (its own and its subusers'), `sub_add`, `sub_edit` and `sub_del` for subusers.
The actor is the token that asked. A subuser's own entries, removed when it is deleted, are `remove`
events on its own chain (actor: the parent), which stays, as does the account, deleted.
"""

from datetime import datetime

from sqlalchemy.orm import Session

from stoplist.accounts.repository import list_ids_of
from stoplist.accounts.schemas import SubuserCreate, SubuserList, SubuserPublic, SubuserUpdate, TokenCreate, TokenCreated, TokenList, TokenPublic
from stoplist.audit.chain import stamp
from stoplist.audit.trail import Fact, Origin, Trail
from stoplist.auth import service as auth_service
from stoplist.auth.models import AccessToken, Account
from stoplist.auth.names import InvalidName, valid_name
from stoplist.auth.principal import Principal, granted
from stoplist.auth.repository import AuthRepository
from stoplist.errors import AccountNotFound, Forbidden, NameTaken, TokenNotFound, ValidationFailed
from stoplist.lists.expiry import parse_moment
from stoplist.lists.schemas import format_timestamp
from stoplist.lists.writer import EntryWriter

GRANT, REVOKE, SUB_ADD, SUB_EDIT, SUB_DEL = "grant", "revoke", "sub_add", "sub_edit", "sub_del"


# Tokens


def create_token(session: Session, *, principal: Principal, body: TokenCreate, origin: Origin, now: datetime) -> TokenCreated:
    """A token for the caller's account or one of its subusers, with at most the caller's scopes."""
    repository = AuthRepository(session)
    account = _own(repository, principal) if body.account is None else _subuser(repository, principal, body.account)
    beyond = sorted(granted(body.scopes) - principal.scopes)
    if beyond:
        raise Forbidden(f"This access token cannot grant scope(s) it does not hold: {', '.join(beyond)}.")
    expires_at = _expiry(body.expires_at, now=now)
    try:
        name = None if body.name is None else valid_name(body.name, what="a token's name")
    except InvalidName as exc:
        raise ValidationFailed(str(exc), path="name") from None
    secret, record = auth_service.create_token(repository=repository, scopes=list(body.scopes), name=name, expires_at=expires_at, account=account)
    _record(session, _top(account), Fact(GRANT, after=_token_fields(record)), origin, now)
    return TokenCreated(id=record.id, token=secret, name=record.name, scopes=record.scopes.split(), account=account.id, expires_at=_shown(expires_at))


def list_tokens(session: Session, *, principal: Principal) -> TokenList:
    """The caller's tokens and its subusers' (deleted ones' too), revoked ones too; never a token itself."""
    repository = AuthRepository(session)
    accounts = [principal.actor_account_id]
    if principal.parent_id is None:
        accounts += [account.id for account in repository.subusers(principal.actor_account_id)]
    tokens = [_public(record) for record in repository.tokens_of(accounts)]
    return TokenList(size=len(tokens), collection=tokens)


def revoke_token(session: Session, *, principal: Principal, token_id: str, origin: Origin, now: datetime) -> None:
    """Revoke a token of the caller's or of one of its subusers': refused from the next request on."""
    repository = AuthRepository(session)
    number = _id(token_id)
    record = None
    if number is not None:
        record = repository.token_by_id(number) if principal.parent_id is not None else repository.family_token(principal.actor_account_id, number)
    if record is None or (principal.parent_id is not None and record.account_id != principal.actor_account_id):
        raise TokenNotFound()
    _revoke(session, record, origin, now)


# The operator's: tokens made and revoked on the command line (and the first one `stoplist serve` prints).
# The same events as over HTTP; the actor is the chain's owner, with no token (source `cli`).
OPERATOR = Origin("cli")


def grant_operator_token(
    session: Session, *, account_name: str = auth_service.DEFAULT_ACCOUNT, scopes: list[str] | None = None, name: str | None = None,
    expires_at: datetime | None = None, now: datetime,
) -> tuple[str, AccessToken]:
    """A token for the account named (created if new), recorded as `grant`: the secret, shown once, and its record."""
    secret, record = auth_service.create_token(repository=AuthRepository(session), account_name=account_name, scopes=scopes, name=name, expires_at=expires_at)
    _record(session, _top(record.account), Fact(GRANT, after=_token_fields(record)), OPERATOR, now)
    return secret, record


def revoke_operator_token(session: Session, *, token_id: int, now: datetime) -> tuple[AccessToken, bool]:
    """Revoke any token by its id, recorded as `revoke` (once: a token revoked already stays as it was):
    the token, and whether this revoked it."""
    record = AuthRepository(session).token_by_id(token_id)
    if record is None:
        raise auth_service.TokenNotFound()
    live = record.revoked_at is None
    _revoke(session, record, OPERATOR, now)
    return record, live


def _revoke(session: Session, record: AccessToken, origin: Origin, now: datetime) -> None:
    if record.revoked_at is None:
        record.revoked_at = now
        _record(session, _top(record.account), Fact(REVOKE, before=_token_fields(record)), origin, now)


# Subusers


def list_subusers(session: Session, *, principal: Principal) -> SubuserList:
    """The caller's subusers (a subuser has none), oldest first, deleted ones too (with when)."""
    found = [] if principal.parent_id is not None else AuthRepository(session).subusers(principal.actor_account_id)
    return SubuserList(size=len(found), collection=[_subuser_public(account) for account in found])


def create_subuser(session: Session, *, principal: Principal, body: SubuserCreate, origin: Origin, now: datetime) -> SubuserPublic:
    """A new subuser of the caller's account, `own` or `shared`."""
    repository = AuthRepository(session)
    parent = _own(repository, principal)
    if parent.parent_id is not None:
        raise Forbidden("A subuser has no subusers: subusers are one level deep.")
    return _subuser_public(add_subuser(session, parent=parent, name=_free_name(repository, body.name), mode=body.mode, origin=origin, now=now))


def add_subuser(session: Session, *, parent: Account, name: str, mode: str, origin: Origin, now: datetime) -> Account:
    """A new subuser of `parent`, recorded as `sub_add` on its trail (the API's way and the command line's).
    Raises auth.service.InvalidTokenRequest for a parent that is a subuser, or a mode that is none."""
    account = auth_service.create_account(repository=AuthRepository(session), name=name, parent=parent, mode=mode)
    _record(session, parent.id, Fact(SUB_ADD, after=_subuser_fields(account)), origin, now)
    return account


def update_subuser(session: Session, *, principal: Principal, subuser_id: str, body: SubuserUpdate, origin: Origin, now: datetime) -> SubuserPublic:
    """Rename a subuser or switch its mode; a switch keeps its own entries (unused while it shares)."""
    repository = AuthRepository(session)
    account = _subuser(repository, principal, _id(subuser_id))
    before = _subuser_fields(account)
    if body.name is not None and body.name.strip() != account.name:
        repository.rename(account, _free_name(repository, body.name, renaming=account))
    if body.mode is not None:
        account.list_mode = body.mode
    after = _subuser_fields(account)
    if after != before:
        session.flush()
        _record(session, principal.actor_account_id, Fact(SUB_EDIT, before=before, after=after), origin, now)
    return _subuser_public(account)


def delete_subuser(session: Session, *, principal: Principal, subuser_id: str, origin: Origin, now: datetime) -> None:
    """Delete a subuser: its tokens are revoked, its own entries removed (one `remove` each, on its
    chain), and the account kept, deleted, so that its trail stays readable and verifiable."""
    repository = AuthRepository(session)
    account = _subuser(repository, principal, _id(subuser_id))
    # The parent's head first, then the subuser's: the order every write holding both takes.
    Trail(session).hold(principal.actor_account_id)
    for record in repository.tokens_of([account.id]):
        _revoke(session, record, origin, now)
    writer = EntryWriter(session, origin)
    for list_id in list_ids_of(session, account.id):
        writer.delete_all(account_id=account.id, list_id=list_id, now=now)
    fields = _subuser_fields(account)
    account.deleted_at = now
    _record(session, principal.actor_account_id, Fact(SUB_DEL, before=fields), origin, now)


# Helpers


def _own(repository: AuthRepository, principal: Principal) -> Account:
    account = repository.account_by_id(principal.actor_account_id)
    if account is None or account.deleted_at is not None:
        raise AccountNotFound()
    return account


def _subuser(repository: AuthRepository, principal: Principal, account_id: int | None) -> Account:
    """A live subuser of the caller's; 404 for any other id (a subuser has none), saying so for one it deleted."""
    found = None if account_id is None or principal.parent_id is not None else repository.subuser(principal.actor_account_id, account_id)
    if found is None:
        deleted = account_id is not None and principal.parent_id is None and repository.deleted_subuser(principal.actor_account_id, account_id)
        raise AccountNotFound(f"Subuser {account_id} was deleted: it keeps its trail, to be read, and changes no more." if deleted else None)
    return found


def _free_name(repository: AuthRepository, name: str, *, renaming: Account | None = None) -> str:
    """`name`, valid and no other account's in any case or form (the account `renaming` may change its own's case).
    The answer names no other account: it may be another tenant's."""
    try:
        name = auth_service.valid_account_name(name)
    except auth_service.InvalidTokenRequest as exc:
        raise ValidationFailed(str(exc), path="name") from None
    alike = repository.account_alike(name)
    if alike is not None and alike is not renaming:
        raise NameTaken(f"An account named {name!r}, in this or another case or form, exists already: account names are unique on the server.")
    return name


def _id(text: str | None) -> int | None:
    """A path's id, or None when it cannot be one (answered as not found)."""
    if text is None or not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def _expiry(text: str | None, *, now: datetime) -> datetime | None:
    if text is None:
        return None
    moment = parse_moment(text.strip())
    if moment is None:
        raise ValidationFailed(f"expires_at {text!r} is neither a date nor an RFC 3339 date-time (2099-06-30T00:00:00Z).", path="expires_at")
    moment = moment.replace(microsecond=0)
    if moment <= now:
        raise ValidationFailed(f"expires_at {text!r} is not in the future.", path="expires_at")
    return moment


def _top(account: Account) -> int:
    """The account whose trail records changes to `account`'s tokens and subusers: its parent, or itself."""
    return account.parent_id if account.parent_id is not None else account.id


def _record(session: Session, chain_account: int, fact: Fact, origin: Origin, now: datetime) -> None:
    trail = Trail(session)
    trail.hold(chain_account)
    trail.record(chain_account, [fact], origin, now)


def _shown(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def _token_fields(record: AccessToken) -> dict:
    return {"token_id": record.id, "account": record.account_id, "name": record.name, "scopes": record.scopes.split(), "expires_at": stamp(record.expires_at)}


def _subuser_fields(account: Account) -> dict:
    return {"account": account.id, "name": account.name, "mode": account.list_mode}


def _public(record: AccessToken) -> TokenPublic:
    return TokenPublic(
        id=record.id, name=record.name, scopes=record.scopes.split(), account=record.account_id, prefix=record.prefix + "…",
        created_at=format_timestamp(record.created_at), expires_at=_shown(record.expires_at), revoked_at=_shown(record.revoked_at),
    )


def _subuser_public(account: Account) -> SubuserPublic:
    return SubuserPublic(id=account.id, name=account.name, mode=account.list_mode, deleted_at=_shown(account.deleted_at))  # type: ignore[arg-type]
