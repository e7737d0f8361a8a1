"""Which list entry decides a check: scopes, and the precedence between block and allow lists.

A list is scoped by (kind, channel, sender). "Every channel" and "every sender" are the empty
string, as the database stores them (so that UNIQUE(owner, kind, channel, sender) also holds
for "every"); None is read as the same thing. Pure: nothing here touches the database.
"""

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

BLOCK = "block"
ALLOW = "allow"
KINDS = (BLOCK, ALLOW)
CHANNELS = ("sms", "rcs", "whatsapp", "voice", "email")
# Every channel, or every sender. Stored as '' (not NULL), so that the unique scope of a list holds on
# every database: NULLs are never equal in a UNIQUE constraint.
EVERY = ""

# A tuple, or anything indexed like one (a database row).
Candidate = TypeVar("Candidate", bound=Sequence[Any])


def applies(list_channel: str | None, list_sender: str | None, channel: str | None, sender: str | None) -> bool:
    """Whether a list scoped (list_channel, list_sender) answers a check for (channel, sender).

    A list applies when its channel is every channel or the asked one, and its sender is every
    sender or the asked one. A check that names no channel ('' or None) asks about any message
    at all, so only lists of every channel answer it: a list for WhatsApp alone says nothing
    about that. Likewise for a check that names no sender.
    """
    return (not list_channel or list_channel == channel) and (not list_sender or list_sender == sender)


def specificity(list_channel: str | None, list_sender: str | None) -> int:
    """The rank of a scope: channel and sender 3, sender only 2, channel only 1, every 0."""
    return (2 if list_sender else 0) + (1 if list_channel else 0)


def decide(candidates: Iterable[Candidate]) -> Candidate | None:
    """The candidate that decides a check, or None when there is none.

    Each candidate is a tuple `(kind, list_channel, list_sender, ...)` (anything after the third
    item is the caller's, e.g. the entry row), already known to apply and to be live. The most
    specific scope decides; at equal specificity block beats allow, so an allow entry never
    hides a block entry as specific or more. Of exact ties (duplicates), the first wins.
    """
    if type(candidates) is not list and type(candidates) is not tuple:
        candidates = tuple(candidates)
    # A bulk check calls this for up to 10,000 addresses, nearly all with 0 or 1 candidate.
    if len(candidates) < 2:  # type: ignore[arg-type]
        return candidates[0] if candidates else None  # type: ignore[index]
    best = None
    best_rank = -1
    for candidate in candidates:
        # specificity * 2, plus 1 for block: one integer orders scope first, then kind.
        rank = (4 if candidate[2] else 0) + (2 if candidate[1] else 0) + (candidate[0] == BLOCK)
        if rank > best_rank:  # strictly greater: the first of exact ties stays
            best = candidate
            best_rank = rank
    return best


def blocked(decision: Sequence[Any] | None) -> bool:
    """Whether a decision (what decide returned) blocks the message."""
    return decision is not None and decision[0] == BLOCK
