"""Single checks that arrive together are looked up together.

Under load, one turn of the event loop starts many checks. Asked one statement each, PostgreSQL
and the driver pay a statement's fixed work for each (protocol, executor start, a wake-up of the
loop per answer): more than the index probe itself. On SQLite, inside the process, a probe alone
under load costs three times what it costs among others (most likely the processor's caches:
between two checks the rest of each request evicts SQLite's code and pages). Checks that reach their
lookup in the same turn go as one statement instead (queries.scoped_entries_unnest on
PostgreSQL, queries.scoped_entries_each on SQLite), each still one index probe.

Nothing waits for company: no timer, the statement leaves at the end of the turn that gathered it
(or as soon as it holds MOST_CHECKS), and a check that comes alone goes alone, as the single
statement. Nothing is cached either: every check reads what was committed before its statement
ran, as it would on its own. A statement of several that fails is tried again as single statements,
so that a check fails on its own error only, never on another's.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Generic, TypeVar

# Checks in one statement at most: a bulk check's 1,000 addresses, about a millisecond of PostgreSQL's
# work. A turn that gathers more sends several statements, each as soon as it is full.
MOST_CHECKS = 1000

# A check's key: (account id, address, channel, sender).
Asked = tuple[int, str, str, str]
# What a lookup answers (the repository's candidates of a check).
Answer = TypeVar("Answer")


class Together(Generic[Answer]):
    """Gathers the lookups asked in one turn of the loop: `one` answers a lone one, `many` the others,
    in their order, at the latest `now` among them (each was taken when its check began)."""

    def __init__(
        self, one: Callable[[Asked, datetime], Awaitable[Answer]], many: Callable[[list[Asked], datetime], Awaitable[list[Answer]]]
    ) -> None:
        self._one, self._many = one, many
        self._gathered: list[tuple[Asked, datetime, asyncio.Future]] | None = None
        self._sending: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks

    async def entries(self, asked: Asked, now: datetime) -> Answer:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        gathered = self._gathered
        if gathered is None:
            gathered = self._gathered = []
            loop.call_soon(self._send, gathered)
        gathered.append((asked, now, future))
        if len(gathered) >= MOST_CHECKS:
            self._send(gathered)
        return await future

    def _send(self, gathered: list[tuple[Asked, datetime, asyncio.Future]]) -> None:
        """Send what `gathered` holds, once: at the end of its turn, or as soon as it is full."""
        if self._gathered is not gathered:
            return  # sent already, full
        self._gathered = None
        waiting = [item for item in gathered if not item[2].cancelled()]
        if waiting:
            task = asyncio.ensure_future(self._answer(waiting))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _answer(self, waiting: list[tuple[Asked, datetime, asyncio.Future]]) -> None:
        """One statement for all of `waiting`; each alone when there is one, or when that statement fails."""
        try:
            if len(waiting) > 1:
                try:
                    answers = await self._many([asked for asked, _now, _future in waiting], max(now for _asked, now, _future in waiting))
                except Exception:
                    pass
                else:
                    for (_asked, _now, future), answer in zip(waiting, answers):
                        if not future.done():
                            future.set_result(answer)
                    return
            if len(waiting) == 1:
                await self._alone(*waiting[0])  # no task of its own: a lone check is the common case at low load
            else:
                await asyncio.gather(*(self._alone(*item) for item in waiting))
        except asyncio.CancelledError:
            for _asked, _now, future in waiting:
                future.cancel()
            raise

    async def _alone(self, asked: Asked, now: datetime, future: asyncio.Future) -> None:
        """One check as the single statement: its answer, or its own error."""
        try:
            answer = await self._one(asked, now)
        except Exception as error:
            if not future.done():
                future.set_exception(error)
            return
        if not future.done():
            future.set_result(answer)
