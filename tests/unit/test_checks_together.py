"""Checks that reach their lookup in the same turn of the event loop are looked up in one statement;
a lone one goes alone, at once; each gets its own answer, or its statement's error."""

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from stoplist.checks.together import MOST_CHECKS, Together

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def run(scenario):
    """Run a scenario, failing rather than hanging when a check is never answered."""
    return asyncio.run(asyncio.wait_for(scenario(), timeout=10))


class Statements:
    """Stands in for the two statements: answers each check with its own address, and records every call.
    `fail` is raised by every statement that holds the address `bad` (by every one when it is None)."""

    def __init__(self, fail: Exception | None = None, release: asyncio.Event | None = None, bad: str | None = None) -> None:
        self.calls: list[tuple[str, list, datetime]] = []
        self.fail, self.release, self.bad = fail, release, bad

    async def one(self, asked, now):
        return (await self._answer("one", [asked], now))[0]

    async def many(self, asked, now):
        return await self._answer("many", list(asked), now)

    async def _answer(self, kind, asked, now):
        self.calls.append((kind, asked, now))
        if self.release is not None:
            await self.release.wait()
        if self.fail is not None and (self.bad is None or any(address == self.bad for _account, address, _channel, _sender in asked)):
            raise self.fail
        return [[("block", "", "", 1, address)] for _account, address, _channel, _sender in asked]


def asked(index: int) -> tuple[int, str, str, str]:
    return (1, f"4850000{index:04d}", "sms", "ACME")


def test_a_lone_check_goes_alone_as_the_single_statement():
    async def scenario():
        statements = Statements()
        together = Together(statements.one, statements.many)
        return await together.entries(asked(1), NOW), statements.calls

    answer, calls = run(scenario)

    assert answer == [("block", "", "", 1, "48500000001")]
    assert calls == [("one", [asked(1)], NOW)]


def test_checks_of_one_turn_go_as_one_statement_each_with_its_own_answer_at_the_latest_now():
    async def scenario():
        statements = Statements()
        together = Together(statements.one, statements.many)
        nows = [NOW + timedelta(microseconds=index) for index in range(20)]
        answers = await asyncio.gather(*(together.entries(asked(index), nows[index]) for index in range(20)))
        return answers, statements.calls

    answers, calls = run(scenario)

    assert answers == [[("block", "", "", 1, asked(index)[1])] for index in range(20)]
    assert calls == [("many", [asked(index) for index in range(20)], NOW + timedelta(microseconds=19))]


def test_checks_of_later_turns_are_not_held_back_for_company():
    async def scenario():
        statements = Statements()
        together = Together(statements.one, statements.many)
        first = await together.entries(asked(1), NOW)
        second = await asyncio.gather(together.entries(asked(2), NOW), together.entries(asked(3), NOW))
        third = await together.entries(asked(4), NOW)
        return (first, second, third), [kind for kind, _asked, _now in statements.calls]

    (first, second, third), kinds = run(scenario)

    assert first[0][4] == "48500000001" and [answer[0][4] for answer in second] == ["48500000002", "48500000003"]
    assert third[0][4] == "48500000004"
    assert kinds == ["one", "many", "one"]


def test_a_check_gathered_while_a_statement_runs_goes_in_the_next_one():
    async def scenario():
        release = asyncio.Event()
        statements = Statements(release=release)
        together = Together(statements.one, statements.many)
        early = asyncio.gather(together.entries(asked(1), NOW), together.entries(asked(2), NOW))
        await asyncio.sleep(0.01)  # the first statement is out, waiting for its answer
        late = asyncio.ensure_future(together.entries(asked(3), NOW))
        await asyncio.sleep(0.01)
        release.set()
        return await early, await late, statements.calls

    early, late, calls = run(scenario)

    assert [answer[0][4] for answer in early] == ["48500000001", "48500000002"] and late[0][4] == "48500000003"
    assert [(kind, len(items)) for kind, items, _now in calls] == [("many", 2), ("one", 1)]


def test_when_the_statement_fails_every_check_is_tried_alone_and_gets_its_own_error():
    async def scenario():
        statements = Statements(fail=ConnectionResetError("the server went away"))
        together = Together(statements.one, statements.many)
        outcomes = await asyncio.gather(*(together.entries(asked(index), NOW) for index in range(3)), return_exceptions=True)
        return outcomes, [kind for kind, _asked, _now in statements.calls]

    outcomes, kinds = run(scenario)

    assert [type(outcome) for outcome in outcomes] == [ConnectionResetError] * 3
    assert kinds == ["many", "one", "one", "one"]


def test_a_check_whose_value_fails_the_statement_fails_alone_and_the_others_are_answered():
    async def scenario():
        statements = Statements(fail=ValueError("a value the database refuses"), bad=asked(1)[1])
        together = Together(statements.one, statements.many)
        return await asyncio.gather(*(together.entries(asked(index), NOW) for index in range(3)), return_exceptions=True)

    outcomes = run(scenario)

    assert isinstance(outcomes[1], ValueError)
    assert outcomes[0][0][4] == asked(0)[1] and outcomes[2][0][4] == asked(2)[1]


def test_a_check_cancelled_before_its_statement_is_left_out_and_the_others_answered():
    async def scenario():
        statements = Statements()
        together = Together(statements.one, statements.many)
        tasks = [asyncio.ensure_future(together.entries(asked(index), NOW)) for index in range(3)]
        await asyncio.sleep(0)  # each has joined this turn's gathering
        tasks[1].cancel()
        done = await asyncio.gather(*tasks, return_exceptions=True)
        return done, statements.calls

    done, calls = run(scenario)

    assert isinstance(done[1], asyncio.CancelledError)
    assert done[0][0][4] == "48500000000" and done[2][0][4] == "48500000002"
    assert calls == [("many", [asked(0), asked(2)], NOW)]


def test_a_statement_cancelled_with_its_server_cancels_its_checks():
    async def scenario():
        release = asyncio.Event()
        statements = Statements(release=release)
        together = Together(statements.one, statements.many)
        checks = [asyncio.ensure_future(together.entries(asked(index), NOW)) for index in range(2)]
        await asyncio.sleep(0.01)
        for task in together._sending:
            task.cancel()
        return await asyncio.gather(*checks, return_exceptions=True)

    outcomes = run(scenario)

    assert all(isinstance(outcome, asyncio.CancelledError) for outcome in outcomes)


@pytest.mark.parametrize("count", [2, 64])
def test_answers_keep_the_order_of_the_checks(count):
    async def scenario():
        statements = Statements()
        together = Together(statements.one, statements.many)
        order = list(reversed(range(count)))
        return order, await asyncio.gather(*(together.entries(asked(index), NOW) for index in order))

    order, answers = run(scenario)

    assert [answer[0][4] for answer in answers] == [asked(index)[1] for index in order]


def test_a_turn_that_gathers_more_than_a_statement_takes_sends_several():
    async def scenario():
        statements = Statements()
        together = Together(statements.one, statements.many)
        count = MOST_CHECKS * 2 + 5
        answers = await asyncio.gather(*(together.entries(asked(index), NOW) for index in range(count)))
        return count, answers, statements.calls

    count, answers, calls = run(scenario)

    assert [answer[0][4] for answer in answers] == [asked(index)[1] for index in range(count)]
    assert [(kind, len(items)) for kind, items, _now in calls] == [("many", MOST_CHECKS), ("many", MOST_CHECKS), ("many", 5)]
