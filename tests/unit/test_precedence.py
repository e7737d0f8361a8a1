"""Unit tests for stoplist.lists.precedence: which list entry decides a scoped check."""

import itertools

import pytest

from stoplist.lists.precedence import ALLOW, BLOCK, CHANNELS, KINDS, applies, blocked, decide, specificity

CHANNEL, SENDER = "whatsapp", "ACME"
# The four scopes that can apply to a check naming (CHANNEL, SENDER), "every" written as ''.
SCOPES = [("", ""), (CHANNEL, ""), ("", SENDER), (CHANNEL, SENDER)]
ALL_CANDIDATES = [(kind, channel, sender) for channel, sender in SCOPES for kind in KINDS]


def reference_decision(candidates: list[tuple]) -> tuple | None:
    """The rule written independently: rank scopes by hand, then block before allow; stable."""
    rank = {("every", "every"): 0, ("channel", "every"): 1, ("every", "sender"): 2, ("channel", "sender"): 3}

    def key(candidate: tuple) -> tuple[int, bool]:
        kind, channel, sender = candidate[:3]
        scope = ("channel" if channel else "every", "sender" if sender else "every")
        return (-rank[scope], kind != BLOCK)

    ordered = sorted(candidates, key=key)
    return ordered[0] if ordered else None


def test_constants_are_the_documented_values() -> None:
    assert (BLOCK, ALLOW) == ("block", "allow") and KINDS == (BLOCK, ALLOW)
    assert CHANNELS == ("sms", "rcs", "whatsapp", "voice", "email")


@pytest.mark.parametrize("size", range(len(ALL_CANDIDATES) + 1))
def test_decide_agrees_with_the_reference_on_every_set_of_candidates(size: int) -> None:
    """All 2^8 subsets of (4 scopes x 2 kinds), each in two orders, with a payload carried."""
    for subset in itertools.combinations(ALL_CANDIDATES, size):
        for order in (list(subset), list(reversed(subset))):
            with_payload = [(*candidate, f"entry-{i}") for i, candidate in enumerate(order)]
            expected = reference_decision(with_payload)
            decision = decide(with_payload)
            assert decision is expected, (order, decision, expected)
            assert blocked(decision) == (expected is not None and expected[0] == BLOCK)


def test_decide_over_every_set_of_lists_filtered_by_applies() -> None:
    """From lists of other channels and senders too: applies filters, decide picks the same as the reference."""
    lists = [(kind, channel, sender) for kind in KINDS for channel in ("", CHANNEL, "sms") for sender in ("", SENDER, "OTHER")]
    assert len(lists) == 18
    # Every subset of the 10 lists that could matter (the 8 that apply plus two that do not) is checked exhaustively.
    relevant = [item for item in lists if applies(item[1], item[2], CHANNEL, SENDER)]
    assert sorted(relevant) == sorted(ALL_CANDIDATES)
    strangers = [(BLOCK, "sms", ""), (BLOCK, CHANNEL, "OTHER")]
    for size in range(len(relevant) + len(strangers) + 1):
        for subset in itertools.combinations(relevant + strangers, size):
            applying = [item for item in subset if applies(item[1], item[2], CHANNEL, SENDER)]
            assert decide(applying) == reference_decision([item for item in subset if item not in strangers])


# Named cases: what a user reads in the README.
def test_whatsapp_allow_for_acme_beats_an_every_channel_block() -> None:
    block_everything = (BLOCK, "", "", "entry 1")
    allow_acme_on_whatsapp = (ALLOW, "whatsapp", "ACME", "entry 2")
    decision = decide([block_everything, allow_acme_on_whatsapp])
    assert decision is allow_acme_on_whatsapp and not blocked(decision)


def test_block_for_acme_on_every_channel_beats_an_allow_for_whatsapp_on_every_sender() -> None:
    """Sender only (2) is more specific than channel only (1): the allow does not hide the block."""
    allow_whatsapp = (ALLOW, "whatsapp", "", "entry 1")
    block_acme = (BLOCK, "", "ACME", "entry 2")
    for order in ([allow_whatsapp, block_acme], [block_acme, allow_whatsapp]):
        decision = decide(order)
        assert decision is block_acme and blocked(decision)


def test_block_beats_allow_on_the_same_scope() -> None:
    for channel, sender in SCOPES:
        allow, block = (ALLOW, channel, sender, 1), (BLOCK, channel, sender, 2)
        assert decide([allow, block]) is block
        assert decide([block, allow]) is block


def test_an_allow_never_hides_a_block_as_specific_or_more() -> None:
    for (allow_scope, block_scope) in itertools.product(SCOPES, repeat=2):
        if specificity(*block_scope) >= specificity(*allow_scope):
            assert blocked(decide([(ALLOW, *allow_scope), (BLOCK, *block_scope)]))
            assert blocked(decide([(BLOCK, *block_scope), (ALLOW, *allow_scope)]))


def test_no_candidates_decide_nothing() -> None:
    assert decide([]) is None
    assert decide(()) is None
    assert decide(iter([])) is None
    assert blocked(None) is False


def test_a_single_candidate_decides_whatever_its_kind() -> None:
    block, allow = (BLOCK, "", "", "row"), (ALLOW, "sms", "ACME", "row")
    assert decide([block]) is block and blocked(decide([block]))
    assert decide((allow,)) is allow and not blocked(decide((allow,)))


def test_decide_reads_any_iterable() -> None:
    candidates = [(ALLOW, "", "ACME"), (BLOCK, "", "")]
    assert decide(iter(candidates)) is candidates[0]
    assert decide(candidate for candidate in candidates) is candidates[0]


def test_exact_ties_go_to_the_first() -> None:
    first, second = (BLOCK, "sms", "", "first"), (BLOCK, "sms", "", "second")
    assert decide([first, second]) is first
    assert decide([(ALLOW, "", "", 0), first, second]) is first


def test_none_is_every_channel_and_every_sender() -> None:
    narrow = (ALLOW, "sms", "ACME")
    every_as_none = (BLOCK, None, None)
    assert decide([every_as_none, narrow]) is narrow
    assert decide([(ALLOW, None, None), (BLOCK, "", "")])[0] == BLOCK
    assert specificity(None, None) == 0 and specificity("sms", None) == 1 and specificity(None, "ACME") == 2


def test_specificity_ranks_channel_and_sender_over_sender_over_channel_over_every() -> None:
    assert specificity("sms", "ACME") == 3
    assert specificity("", "ACME") == 2
    assert specificity("sms", "") == 1
    assert specificity("", "") == 0


# applies over a grid: list scope x checked scope, '' and None both meaning every / not named.
LIST_CHANNELS = ["", None, "sms", "whatsapp"]
LIST_SENDERS = ["", None, "ACME", "OTHER"]
CHECK_CHANNELS = ["", None, "sms", "whatsapp"]
CHECK_SENDERS = ["", None, "ACME"]


def expected_applies(list_channel, list_sender, channel, sender) -> bool:
    channel_ok = list_channel in ("", None) or (channel not in ("", None) and list_channel == channel)
    sender_ok = list_sender in ("", None) or (sender not in ("", None) and list_sender == sender)
    return channel_ok and sender_ok


@pytest.mark.parametrize("list_channel", LIST_CHANNELS)
@pytest.mark.parametrize("list_sender", LIST_SENDERS)
def test_applies_over_the_grid(list_channel, list_sender) -> None:
    for channel, sender in itertools.product(CHECK_CHANNELS, CHECK_SENDERS):
        assert applies(list_channel, list_sender, channel, sender) == expected_applies(list_channel, list_sender, channel, sender)


def test_applies_named_cases() -> None:
    assert applies("", "", "whatsapp", "ACME")  # the default list answers every check
    assert applies("", "", None, None)
    assert applies("whatsapp", "", "whatsapp", "ACME")
    assert applies("", "ACME", "sms", "ACME")
    assert not applies("whatsapp", "", "sms", "ACME")  # another channel's list
    assert not applies("", "ACME", "sms", "OTHER")  # another sender's list
    # A check that names no channel asks about any message: a WhatsApp-only list says nothing about that.
    assert not applies("whatsapp", "", None, None)
    assert not applies("whatsapp", "", "", "ACME")
    assert not applies("", "ACME", "sms", None)
    # Names are compared exactly: normalising case is the caller's job, before it asks.
    assert not applies("", "ACME", "sms", "acme")
