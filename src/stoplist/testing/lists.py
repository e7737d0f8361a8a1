"""Filling lists in tests and benchmarks, through the one writer."""

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from stoplist.audit.trail import Origin
from stoplist.auth.repository import AuthRepository
from stoplist.db import transaction, utcnow
from stoplist.lists.addresses import PHONE
from stoplist.lists.writer import EntryWriter, Row, Written


def fill(session: Session, account_id: int, entries: dict[str, datetime | None], *, now: datetime, source: str = "import") -> Written:
    """Put E.164 numbers with their expiries on the account's default list, as an import would: (added, updated, unchanged)."""
    writer = EntryWriter(session, Origin("cli" if source == "cli" else "import"))
    list_id = writer.list_id(account_id=account_id, now=now)
    rows = [Row(list_id, number, PHONE, expire_at, None) for number, expire_at in entries.items()]
    return writer.upsert_many(account_id=account_id, rows=rows, source=source, now=now)


def numbered_account(factory: sessionmaker, name: str, count: int) -> int:
    """A new account named `name` with `count` numbers (48500000000, 48500000001, ...) on its default list: its id."""
    with transaction(factory) as session:
        account_id = AuthRepository(session).add_account(name, created_at=utcnow()).id
    with transaction(factory) as session:
        fill(session, account_id, {f"4850{index:07d}": None for index in range(count)}, now=utcnow())
    return account_id
