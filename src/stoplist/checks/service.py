"""May I message this address? One address with the entry that decided, or up to 10,000 at once, for a channel and a sender."""

import asyncio
import itertools
import json
from collections.abc import Iterable
from typing import NamedTuple

from stoplist.checks.repository import Lookup
from stoplist.db import utcnow
from stoplist.errors import InvalidAddress
from stoplist.lists import render
from stoplist.lists.addresses import PHONE, normalize_address
from stoplist.lists.phone import e164_reader, international_reading, normalize_phone_number, number_input
from stoplist.lists.precedence import BLOCK, EVERY, decide


class Decision(NamedTuple):
    """What a check of one address found: the address as stored, its kind, and the live entry that decides
    (a row of queries.ENTRY_COLUMNS: list kind, channel, sender, id, ...), or None where no list applies."""

    address: str
    kind: str
    entry: tuple | None

    @property
    def blocked(self) -> bool:
        return self.entry is not None and self.entry[0] == BLOCK


async def check_one(
    *, lookup: Lookup, account_id: int, raw: str, by_address: bool, channel: str, sender: str, default_region: str | None,
    other_senders: tuple[str, ...] = (),
) -> Decision:
    """Whether an address may be messaged on (channel, sender) right now, and which entry decided.

    `phone_number=` (SMSAPI's spelling) takes phone numbers only; `address=` takes either kind. The lists of the
    sender's other readings (`other_senders`, lists.senders.other_sender_keys) add their blocks (see _decided).
    """
    if by_address:
        kind, address = normalize_address(raw, default_region=default_region)
    else:
        kind, address = PHONE, normalize_phone_number(raw, default_region=default_region)
    now = utcnow()
    decision = Decision(address, kind, await _decided(lookup, account_id, address, channel, sender, other_senders, now))
    other = None if kind != PHONE or decision.blocked else international_reading(raw, address, default_region)
    if other is not None:
        # Digits a default region reads as national may be the international number Stoplist answers bare: either
        # reading's block stops the message (a suppression list errs toward blocking).
        otherwise = Decision(other, kind, await _decided(lookup, account_id, other, channel, sender, other_senders, now))
        if otherwise.blocked:
            return otherwise
    return decision


async def _decided(lookup: Lookup, account_id: int, address: str, channel: str, sender: str, other_senders: tuple[str, ...], now):
    """The entry that decides a check of `address` for the sender as read (its key `sender`), unless a list of another
    reading of it (`other_senders`) blocks the address: then that block. Another reading only adds blocks (errs toward
    blocking): its allow list never lifts a block of the sender as read, nor of every sender."""
    if not other_senders:
        return decide(await lookup.entries(account_id, address, channel, sender, now))
    # Looked up together: the checks of one turn of the loop are one statement (checks.together).
    own, *others = await asyncio.gather(*(lookup.entries(account_id, address, channel, key, now) for key in (sender, *other_senders)))
    return _with_other_readings(decide(own), [candidate for found in others for candidate in found])


def _with_other_readings(decision, candidates: list):
    """`decision`, unless it lets the message through and one of `candidates` (of the lists that apply to another reading
    of the sender) is a block on a list of a sender: then the most specific such block. The lists of every sender among
    them were the sender's own candidates already."""
    if decision is not None and decision[0] == BLOCK:
        return decision
    blocks = [candidate for candidate in candidates if candidate[0] == BLOCK and candidate[2]]
    return decide(blocks) if blocks else decision


def rendered(decision: Decision) -> dict:
    """A decision as GET /blacklist/check answers it: SMSAPI's fields, and the native `decision`."""
    entry, blocked, phone = decision.entry, decision.blocked, decision.kind == PHONE
    return {
        "address": decision.address,
        "phone_number": decision.address if phone else None,
        "blacklisted": blocked,
        # SMSAPI's field: the blocking entry of a phone number, in SMSAPI's shape, when it is one of
        # SMSAPI's routes' (the default list); `decision` names any other.
        "entry": render.smsapi(entry) if blocked and phone and not entry[1] and not entry[2] else None,  # type: ignore[index]
        "decision": None if entry is None else {"list": entry[0], "entry": render.native(entry)},
    }


async def check_many(
    *, lookup: Lookup, account_id: int, inputs: list, by_address: bool, channel: str, sender: str, default_region: str | None,
    other_senders: tuple[str, ...] = (),
) -> str:
    """The JSON answer: one result per input, in input order; unreadable inputs are `valid: false` and never blacklisted."""
    kinds: Iterable[str]
    if by_address:
        read = [_address(item, default_region) for item in inputs]
        kinds, addresses = [kind for kind, _address in read], [address for _kind, address in read]
    else:
        kinds, addresses = itertools.repeat(PHONE), list(map(e164_reader(default_region), inputs))
    # Digits a default region read as national: also the international number they may be (see check_one).
    others = None if default_region is None else {
        index: other for index, (item, kind, address) in enumerate(zip(inputs, kinds, addresses))
        if address is not None and kind == PHONE and (other := international_reading(item, address, default_region)) is not None
    }
    wanted = set(addresses) | set((others or {}).values())
    wanted.discard(None)
    # Once each, in key order: the probes walk the index from one end to the other instead of jumping about.
    found = await lookup.scoped(account_id, sorted(wanted), channel, sender, utcnow(), other_senders)  # type: ignore[arg-type]
    if other_senders:  # the lists of the sender's other readings add their blocks (see check_one)
        found = {address: decided for address, candidates in found.items() if (decided := _as_decided(candidates, sender))}
    # Written by hand: for 10,000 results this is a good part of the request's cost.
    parts = []
    append = parts.append
    if others:  # the other reading where it blocks and the first does not; no cost per number without a region
        for index, other in others.items():
            if _blocks(found.get(other)) and not _blocks(found.get(addresses[index])):
                addresses[index] = other
    for item, kind, address in zip(inputs, kinds, addresses):
        if address is None:
            append(f'{{"input":{_json_value(item)},"address":null,"phone_number":null,"valid":false,"blacklisted":false,"decision":null}}')
            continue
        # Input already in E.164 ('+48…' or '48…') is plain ASCII digits: no escaping to decide.
        if kind == PHONE:
            echo = f'"{item}"' if type(item) is str and (item == address or (item[0] == "+" and item[1:] == address)) else _json_value(item)
            text = f'"{address}"'
            number = text
        else:
            echo = _json_value(item)
            text = json.dumps(address, ensure_ascii=True)
            number = "null"
        candidates = found.get(address)
        if candidates is None:
            append(f'{{"input":{echo},"address":{text},"phone_number":{number},"valid":true,"blacklisted":false,"decision":null}}')
            continue
        decision = decide(candidates)
        blocked = "true" if decision[0] == BLOCK else "false"  # type: ignore[index]
        append(
            f'{{"input":{echo},"address":{text},"phone_number":{number},"valid":true,"blacklisted":{blocked},'
            f'"decision":{{"list":"{decision[0]}","entry_id":"{decision[3]}"}}}}'  # type: ignore[index]
        )
    return '{"results":[' + ",".join(parts) + "]}"


def _as_decided(candidates: list, sender: str) -> list:
    """A bulk check's candidates of an address on the lists of every reading of the sender, as the one candidate that
    decides (see _with_other_readings): its own lists' (of its key `sender`, or of every sender), or another's block."""
    own = [candidate for candidate in candidates if candidate[2] in (EVERY, sender)]
    decision = _with_other_readings(decide(own), [candidate for candidate in candidates if candidate[2] not in (EVERY, sender)])
    return [] if decision is None else [decision]


def _blocks(candidates: list | None) -> bool:
    """Whether entries found for an address block it."""
    decision = decide(candidates) if candidates else None
    return decision is not None and decision[0] == BLOCK


def _json_value(item: object) -> str:
    if type(item) is str and item.isascii() and item.isprintable() and '"' not in item and "\\" not in item:
        return f'"{item}"'
    # ASCII escapes keep unpaired surrogates and control characters valid in the answer.
    return json.dumps(item, ensure_ascii=True)


def _address(item: object, default_region: str | None) -> tuple[str, str | None]:
    """(kind, the address POST /blacklist/entries would store for `item`), or (PHONE, None) where it would refuse it."""
    spelling = item if type(item) is str else number_input(item)
    if spelling is None:
        return PHONE, None
    try:
        return normalize_address(spelling, default_region=default_region)
    except InvalidAddress:
        return PHONE, None
