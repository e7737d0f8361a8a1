"""The server's signing key in the database: made on first use, then the same for every instance."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from stoplist.audit import signing
from stoplist.audit.models import SigningKey

# The one key's row. Rows for later keys (a rotation) would take the next ids.
KEY_ID = 1


class SigningKeys:
    def __init__(self, session: Session) -> None:
        self.session = session

    def current(self, *, now: datetime) -> signing.KeyPair:
        """The server's key, made and stored now if there is none yet. Two processes making it at
        once both insert if absent and read back what was stored: both sign with one key."""
        found = self.stored()
        if found is not None:
            return found
        made = signing.generate()
        dialect = postgresql if self.session.get_bind().dialect.name != "sqlite" else sqlite
        values = {"id": KEY_ID, "algorithm": signing.ALGORITHM, "private_key": made.private_pem, "public_key": made.public_pem, "created_at": now}
        self.session.execute(dialect.insert(SigningKey).values(values).on_conflict_do_nothing(index_elements=[SigningKey.id]))
        stored = self.stored()
        if stored is None:  # the insert and the read are in one transaction: only a bug gets here
            raise RuntimeError("the signing key just stored cannot be read back")
        return stored

    def stored(self) -> signing.KeyPair | None:
        """The server's key, if it has one."""
        row = self.session.execute(select(SigningKey.private_key, SigningKey.public_key).where(SigningKey.id == KEY_ID)).one_or_none()
        return None if row is None else signing.KeyPair(row.private_key, row.public_key)
