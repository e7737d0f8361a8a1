"""The native listing's filter parameters, which its exports and its delete by filter share, read at the boundary."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request

from stoplist.db import storable
from stoplist.declared import replaced_by
from stoplist.errors import InvalidListScope, InvalidSearch
from stoplist.lists import service
from stoplist.lists.addresses import ADDRESS_KINDS, normalize_address
from stoplist.lists.folding import folded
from stoplist.lists.phone import MAX_QUERY_CHARS, search_digits
from stoplist.lists.precedence import CHANNELS, KINDS
from stoplist.lists.queries import EntryFilter
from stoplist.lists.ranges import DateRanges, DateRangesDep
from stoplist.lists.schemas import CHANNEL, LIST_KIND, REASON, REASONS, SENDER


@dataclass(frozen=True)
class NativeFilter:
    """What a request's filter parameters select, read at the boundary: all but the date ranges, which are read
    against a moment (the first page's, for a walk by cursor)."""

    where: EntryFilter
    ranges: DateRanges

    def at(self, now: datetime) -> EntryFilter:
        return self.ranges.applied(self.where, now)


def native_filter(
    request: Request,
    *,
    address: Annotated[str | None, Query(max_length=320, description="Only this address (any spelling), on every list.")] = None,
    q: Annotated[str | None, Query(max_length=MAX_QUERY_CHARS, description="Part of an address: digits of a number, or text of an e-mail address.")] = None,
    # Values are read in any case and between white space: their schemas say so with patterns made from the domain's tuples.
    channel: Annotated[str | None, Query(json_schema_extra=CHANNEL, description=f"Only lists of this channel ({', '.join(CHANNELS)}; any case); empty: lists of every channel.")] = None,
    sender: Annotated[str | None, Query(json_schema_extra=SENDER, description="Only lists of this sender (in any case and spelling); empty: lists of every sender.")] = None,
    list_kind: Annotated[str | None, Query(alias="list", json_schema_extra=LIST_KIND, description=f"{' or '.join(KINDS)} (any case).")] = None,
    reason: Annotated[str | None, Query(json_schema_extra=REASON, description=f"Only entries with this reason ({', '.join(REASONS)}; any case).")] = None,
    address_kind: Annotated[str | None, Query(description="`phone` or `email`.", json_schema_extra=replaced_by({"type": "string", "enum": list(ADDRESS_KINDS)}))] = None,
    ranges: DateRangesDep,
) -> NativeFilter:
    """The filter parameters the native listing, its exports and its delete by filter share."""
    if address_kind is not None and address_kind not in ADDRESS_KINDS:
        raise InvalidListScope("address_kind", f"address_kind {address_kind!r} is not one of {', '.join(ADDRESS_KINDS)}.")
    region = request.app.state.settings.default_region
    where = EntryFilter(
        address=None if address is None else normalize_address(address, default_region=region)[1],
        digits=_search_text(q),
        channel=None if channel is None else service.channel_of(channel, every=service.EVERY_IN_FILTER),
        sender=None if sender is None else service.sender_of(sender, default_region=region, every=service.EVERY_IN_FILTER).key,
        kind=None if list_kind is None else service.kind_of(list_kind),
        reason=service.reason_of(reason),
        address_kind=address_kind,
    )
    return NativeFilter(where, ranges)


NativeFilterDep = Annotated[NativeFilter, Depends(native_filter)]


def _search_text(q: str | None) -> str | None:
    """What `q` looks for in addresses: the digits of a number (`500 00`, `+48500`), or text of an e-mail address:
    text with a letter, `@` or `_`, or with no digit at all (`+`, `.`, `%`: no number holds it, an e-mail address may)."""
    if q is None or not q.strip():
        return None
    text = q.strip()
    if any(character.isalpha() or character in "@_" for character in text) or not any(character.isdigit() for character in text):
        if not storable(text):
            raise InvalidSearch(q, reason="it holds a NUL character or an unpaired surrogate, which no address does")
        # Folded as e-mail keys are (lists.addresses.email_key), so that `Straße` finds `strasse@…`.
        return folded(text)
    return search_digits(q)
