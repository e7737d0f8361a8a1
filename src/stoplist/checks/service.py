"""May I message this number? One number with its entry, or up to 10,000 at once."""

import json

from stoplist.lists.phone import normalize_phone_number, number_input
from stoplist.checks.repository import EntryRow, Lookup
from stoplist.db import utcnow
from stoplist.errors import InvalidPhoneNumber



def entry_json(row: EntryRow) -> dict:
    return {"id": str(row[0]), "phone_number": row[1], "expire_at": row[2], "created_at": row[3]}


async def check_one(*, lookup: Lookup, account_id: int, raw: str, default_region: str | None) -> dict:
    """Whether a number is on the account's list right now, with its entry."""
    number = normalize_phone_number(raw, default_region=default_region)
    row = await lookup.entry(account_id, number, utcnow())
    return {"phone_number": number, "blacklisted": row is not None, "entry": None if row is None else entry_json(row)}


async def check_many(*, lookup: Lookup, account_id: int, inputs: list, default_region: str | None) -> str:
    """The JSON answer: one result per input, in input order; unreadable inputs are `valid: false` and never blacklisted."""
    numbers = [_readable(item, default_region) for item in inputs]
    listed = await lookup.listed(account_id, list(set(numbers) - {None}), utcnow())
    # Written by hand: for 10,000 results this is a good part of the request's cost.
    parts = []
    append = parts.append
    for item, number in zip(inputs, numbers):
        if number is None:
            append(f'{{"input":{_json_value(item)},"phone_number":null,"valid":false,"blacklisted":false}}')
            continue
        # Input already in E.164 ('+48…' or '48…') is plain ASCII digits: no escaping to decide.
        echo = f'"{item}"' if type(item) is str and (item == number or (item[0] == "+" and item[1:] == number)) else _json_value(item)
        append(f'{{"input":{echo},"phone_number":"{number}","valid":true,"blacklisted":{"true" if number in listed else "false"}}}')
    return '{"results":[' + ",".join(parts) + "]}"


def _json_value(item: object) -> str:
    if type(item) is str and item.isascii() and item.isprintable() and '"' not in item and "\\" not in item:
        return f'"{item}"'
    # ASCII escapes keep unpaired surrogates and control characters valid in the answer.
    return json.dumps(item, ensure_ascii=True)


def _readable(item: object, default_region: str | None) -> str | None:
    """The E.164 digits POST /blacklist/phone_numbers would store for `item`, or None where it would refuse it."""
    # Text, nearly always: the one test on the hot path.
    spelling = item if type(item) is str else number_input(item)
    if spelling is None:
        return None
    try:
        return normalize_phone_number(spelling, default_region=default_region)
    except InvalidPhoneNumber:
        return None
