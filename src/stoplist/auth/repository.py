"""All SQL about accounts and tokens."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stoplist.auth.models import AccessToken, Account


class AuthRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def account_by_name(self, name: str) -> Account | None:
        return self.session.scalar(select(Account).where(Account.name == name))

    def add_account(self, name: str, *, created_at: datetime) -> Account:
        account = Account(name=name, created_at=created_at)
        self.session.add(account)
        self.session.flush()
        return account

    def add_token(self, account: Account, *, token_hash: str, prefix: str, scopes: list[str], created_at: datetime) -> AccessToken:
        token = AccessToken(account=account, token_hash=token_hash, prefix=prefix, scopes=" ".join(scopes), created_at=created_at)
        self.session.add(token)
        self.session.flush()
        return token

    def active_token_by_hash(self, token_hash: str) -> AccessToken | None:
        return self.session.scalar(
            select(AccessToken).where(AccessToken.token_hash == token_hash, AccessToken.revoked_at.is_(None))
        )

    def token_by_id(self, token_id: int) -> AccessToken | None:
        return self.session.get(AccessToken, token_id)

    def all_tokens(self) -> list[AccessToken]:
        return list(self.session.scalars(select(AccessToken).order_by(AccessToken.id)))

    def count_tokens(self) -> int:
        return self.session.scalar(select(func.count()).select_from(AccessToken)) or 0
