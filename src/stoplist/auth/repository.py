"""All SQL about accounts and tokens."""

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stoplist.auth.models import OWN, AccessToken, Account
from stoplist.auth.names import name_key
from stoplist.auth.principal import TokenRow
from stoplist.auth.queries import live_token
from stoplist.errors import NameTaken


class AuthRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def account_by_name(self, name: str) -> Account | None:
        return self.session.scalar(select(Account).where(Account.name == name))

    def account_alike(self, name: str) -> Account | None:
        """The account whose name is `name` in any case or Unicode form."""
        return self.session.scalar(select(Account).where(Account.name_key == name_key(name)))

    def rename(self, account: Account, name: str) -> None:
        """Give `account` the name `name` (one no other account has alike: else NameTaken)."""
        account.name, account.name_key = name, name_key(name)
        self._flush_name(name)

    def account_by_id(self, account_id: int) -> Account | None:
        return self.session.get(Account, account_id)

    def add_account(self, name: str, *, created_at: datetime, parent_id: int | None = None, list_mode: str = OWN) -> Account:
        """A new account named `name` (one no other account has alike: else NameTaken)."""
        account = Account(name=name, name_key=name_key(name), created_at=created_at, parent_id=parent_id, list_mode=list_mode)
        self.session.add(account)
        self._flush_name(name)
        return account

    def _flush_name(self, name: str) -> None:
        """Write the pending account: the unique key on names decides between two requests naming one alike at once."""
        try:
            self.session.flush()
        except IntegrityError:
            raise NameTaken(f"An account named {name!r}, in this or another case or form, exists already: account names are unique on the server.") from None

    def subusers(self, parent_id: int) -> list[Account]:
        """A parent's subusers, deleted ones too (kept for their trails), oldest first."""
        return list(self.session.scalars(select(Account).where(Account.parent_id == parent_id).order_by(Account.id)))

    def subuser(self, parent_id: int, account_id: int) -> Account | None:
        """A subuser of `parent_id` still in use (for update, so that two changes of one subuser take turns)."""
        found = select(Account).where(Account.id == account_id, Account.parent_id == parent_id, Account.deleted_at.is_(None))
        return self.session.scalar(found.with_for_update())

    def deleted_subuser(self, parent_id: int, account_id: int) -> bool:
        """Whether `account_id` is a subuser `parent_id` deleted."""
        found = select(Account.id).where(Account.id == account_id, Account.parent_id == parent_id, Account.deleted_at.is_not(None))
        return self.session.scalar(found) is not None

    def add_token(
        self, account: Account, *, token_hash: str, prefix: str, scopes: list[str], created_at: datetime,
        name: str | None = None, expires_at: datetime | None = None,
    ) -> AccessToken:
        token = AccessToken(
            account=account, token_hash=token_hash, prefix=prefix, scopes=" ".join(scopes), created_at=created_at, name=name, expires_at=expires_at
        )
        self.session.add(token)
        self.session.flush()
        return token

    def live_token(self, token_hash: str, now: datetime) -> TokenRow | None:
        """What makes a live token's principal (auth.queries.live_token, as the check path reads it)."""
        row = self.session.execute(live_token(), {"hash": token_hash, "now": now}).one_or_none()
        return None if row is None else TokenRow(*row)

    def token_by_id(self, token_id: int) -> AccessToken | None:
        return self.session.get(AccessToken, token_id)

    def tokens_of(self, account_ids: list[int]) -> list[AccessToken]:
        """The tokens of these accounts, revoked ones too, oldest first."""
        return list(self.session.scalars(select(AccessToken).where(AccessToken.account_id.in_(account_ids)).order_by(AccessToken.id)))

    def family_token(self, parent_id: int, token_id: int) -> AccessToken | None:
        """A token of `parent_id` or of one of its subusers."""
        family = or_(Account.id == parent_id, Account.parent_id == parent_id)
        return self.session.scalar(select(AccessToken).join(Account, Account.id == AccessToken.account_id).where(AccessToken.id == token_id, family))

    def all_tokens(self) -> list[AccessToken]:
        return list(self.session.scalars(select(AccessToken).order_by(AccessToken.id)))

    def count_tokens(self) -> int:
        return self.session.scalar(select(func.count()).select_from(AccessToken)) or 0
