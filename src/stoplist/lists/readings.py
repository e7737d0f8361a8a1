"""Digits that name two numbers where a default region reads them as national (lists.phone.international_reading):
a delete of them is refused where the other number is listed, since deleting the one read would unblock nobody
asked for, or leave the one meant listed while the client believes it gone."""

from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from stoplist.errors import InvalidAddress, InvalidPhoneNumber
from stoplist.lists.phone import international_reading
from stoplist.lists.queries import EntryFilter
from stoplist.lists.repository import EntryRepository


def refuse_a_delete_of_two_numbers(
    session: Session, *, account_id: int, raw: object, key: str, default_region: str | None, where: EntryFilter, now: datetime,
    error: type[InvalidPhoneNumber | InvalidAddress],
) -> None:
    """Raise `error` (invalid_phone_number on SMSAPI's `phone_number`, invalid_address on the native `address`, each
    naming its own parameter) when `raw`, read as `key`, is also another number that `where`, naming that one, selects
    live entries of; else nothing."""
    other = international_reading(raw, key, default_region)
    if other is None or not EntryRepository(session).count_found(account_id=account_id, now=now, where=replace(where, address=other)):
        return
    message = (
        f"{raw!r} names two numbers with STOPLIST_DEFAULT_REGION={default_region}: {key} (read as national) and {other} (read as"
        f" international), which is listed. Write it with + or 00 and its country code to say which; nothing was deleted."
    )
    raise error(str(raw), "it names two numbers", message=message)
