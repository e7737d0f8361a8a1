"""The native listing's cursor: which order and filter a page belongs to, and where it ended.

A cursor is base64url (unpadded) of a JSON array: [version, order, the filter's digest, when the filter's
dates were read, *the last entry's key in the order]. So it continues any order exactly (keyset paging:
entries added meanwhile are neither skipped nor repeated), and only the listing it came from.
"""

import base64
import binascii
import json
import re
from datetime import datetime, timezone
from typing import NamedTuple

from stoplist.db import RFC3339, storable
from stoplist.errors import InvalidCursor
from stoplist.lists.queries import ORDERS, key_kind
from stoplist.lists.schemas import CURSOR_PATTERN, EntryOrder

CURSOR_VERSION = 2
MAX_KEY_TEXT = 320  # an address's key
_CURSOR = re.compile(CURSOR_PATTERN)


class Cursor(NamedTuple):
    """Where a page of the native listing ended: its order, the filter's digest (None in a cursor of the
    first release, which carried neither), when the filter's dates were read (`base`, None: unknown), and
    the last entry's key in the order."""

    order: EntryOrder
    digest: str | None
    base: datetime | None
    key: tuple


def resume(cursor: str | None, now: datetime) -> tuple[Cursor | None, datetime]:
    """The cursor a page continues (None for a first page), and the moment its dates are read at: the first page's,
    so that `2 weeks ago` names the same moment on every page of one walk."""
    after = None if cursor is None else read_cursor(cursor)
    return after, (now if after is None or after.base is None else after.base)


def make_cursor(cursor: Cursor) -> str:
    """An opaque cursor: base64url (unpadded) of a JSON array [version, order, digest, base, *key]."""
    key = [value.strftime(RFC3339) if isinstance(value, datetime) else value for value in cursor.key]
    fields = [CURSOR_VERSION, cursor.order.value, cursor.digest, None if cursor.base is None else cursor.base.strftime(RFC3339), *key]
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def read_cursor(cursor: str) -> Cursor:
    """A cursor make_cursor gave out, checked value by value; anything else is InvalidCursor."""
    try:
        # Only the alphabet make_cursor writes in: the decoder would skip any other character.
        if not _CURSOR.fullmatch(cursor):
            raise ValueError(cursor)
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return _read_fields(text) if text.startswith("[") else _read_first_release(text)
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise InvalidCursor("cursor", "cursor is not one this service gave out: pass next_cursor from the previous page as it is.") from None


def _read_fields(text: str) -> Cursor:
    version, order, digest, base, *key = json.loads(text)
    order = EntryOrder(order)
    keys = ORDERS[order]
    if version != CURSOR_VERSION or type(digest) is not str or len(key) != len(keys):
        raise ValueError(text)
    values = tuple(_key_value(key_kind(sort), value, sort.null_last) for sort, value in zip(keys, key))
    return Cursor(order, digest, None if base is None else _moment(base), values)


def _read_first_release(text: str) -> Cursor:
    """A cursor of the first release, `created_at|id`: the newest-first order, continued as it was."""
    created, entry_id = text.split("|")
    return Cursor(EntryOrder.created_at_desc, None, None, (_moment(created), _key_value("id", entry_id, False)))


def _key_value(kind: str, value, nullable: bool):
    """A key's value as the order compares it: refused unless of its kind, within its column's range."""
    if value is None and nullable:
        return None
    if kind == "moment":
        return _moment(value)
    if kind == "id":
        # An id within a row id's range (and digits only): anything else would reach the database and fail there.
        key = entry_key(value) if type(value) is str else (value if type(value) is int and 0 <= value < 10**18 else None)
        if key is None:
            raise ValueError(value)
        return key
    if type(value) is not str or len(value) > MAX_KEY_TEXT or not storable(value):
        raise ValueError(value)
    return value


def _moment(text) -> datetime:
    if type(text) is not str:
        raise ValueError(text)
    return datetime.strptime(text, RFC3339).replace(tzinfo=timezone.utc)


def entry_key(entry_id: str) -> int | None:
    """Ids are opaque strings to clients; anything that is not one of ours is simply not found."""
    if entry_id.isascii() and entry_id.isdigit() and len(entry_id) <= 18:
        return int(entry_id)
    return None
