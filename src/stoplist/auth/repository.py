"""All SQL about accounts and tokens."""

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from stoplist.auth.models import OWN, AccessToken, Account
from stoplist.auth.principal import TokenRow
from stoplist.auth.queries import live_token


class AuthRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def account_by_name(self, name: str) -> Account | None:
        return self.session.scalar(select(Account).where(Account.name == name))

    def account_names(self) -> list[str]:
        """Every account's name (accounts are few: tenants and their subusers)."""
        return list(self.session.scalars(select(Account.name)))

    def account_by_id(self, account_id: int) -> Account | None:
        return self.session.get(Account, account_id)

    def add_account(self, name: str, *, created_at: datetime, parent_id: int | None = None, list_mode: str = OWN) -> Account:
        account = Account(name=name, created_at=created_at, parent_id=parent_id, list_mode=list_mode)
        self.session.add(account)
        self.session.flush()
        return account

    def subusers(self, parent_id: int) -> list[Account]:
        """A parent's subusers, deleted ones too (kept for their trails), oldest first."""
        return list(self.session.scalars(select(Account).where(Account.parent_id == parent_id).order_by(Account.id)))

    def subuser(self, parent_id: int, account_id: int) -> Account | None:
        """A subuser of `parent_id` still in use (for update, so that two changes of one subuser take turns)."""
        found = select(Account).where(Account.id == account_id, Account.parent_id == parent_id, Account.deleted_at.is_(None))
        return self.session.scalar(found.with_for_update())

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
