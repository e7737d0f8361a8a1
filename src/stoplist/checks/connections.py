"""The check path's PostgreSQL connections: a few asyncpg connections, each used by one query at a time."""

import asyncio

import asyncpg

from stoplist.errors import ServiceBusy, database_busy

# What asyncpg raises when PostgreSQL cannot serve a query just now (SQLAlchemy wraps the same in its
# OperationalError, which errors.py answers 503): the connection dropped, out of connections, the server
# shutting down or cancelling the statement. Only the check path uses asyncpg, so it answers them here.
UNAVAILABLE: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError, asyncpg.InsufficientResourcesError, asyncpg.OperatorInterventionError,
)


class TakenInTurn:
    """asyncpg connections behind one lock each, handed out in turn, free ones first; a broken one is reopened."""

    def __init__(self) -> None:
        self._slots: list[list] = []
        self._turn = 0
        self._dsn = ""

    async def open(self, dsn: str, size: int) -> None:
        self._dsn = dsn
        # [connection, its lock, how many queries hold or wait for it]
        self._slots = [[await asyncpg.connect(dsn), asyncio.Lock(), 0] for _ in range(size)]

    async def close(self) -> None:
        for connection, _lock, _users in self._slots:
            await connection.close()
        self._slots = []

    def idle(self) -> bool:
        """Whether a connection is free: none holds it or waits for it."""
        return any(not slot[2] for slot in self._slots)

    def _next(self) -> list:
        """The next free connection after the last one handed out, or the next one if none is free:
        a query never queues behind a bulk check's probes while another connection idles. Free means
        no query holds it or waits for it (a lock just released may still have a waiter queued)."""
        count = len(self._slots)
        for step in range(1, count + 1):
            turn = (self._turn + step) % count
            if not self._slots[turn][2]:
                break
        else:
            turn = (self._turn + 1) % count
        self._turn = turn
        return self._slots[turn]

    async def _connect(self):
        """A new connection; a server that cannot be reached just now (refused, unreachable, a name that does not
        resolve) is a 503 busy to retry, whatever the operating system's error for it. So is one that answers but
        refuses the connection (the database dropped or closed to connections while a backup is restored, a password
        changed): SQLAlchemy's path answers the same refusals, its OperationalError, 503, and a request must not
        get a 500 from one path and a 503 from the other."""
        try:
            return await asyncpg.connect(self._dsn)
        except OSError as error:
            raise _unreachable() from error
        except asyncpg.PostgresError as error:
            raise database_busy(error, error) from error

    async def fetchrow(self, query: str, *args):
        return await self._run("fetchrow", query, args)

    async def fetch(self, query: str, *args):
        return await self._run("fetch", query, args)

    async def fetchval(self, query: str, *args):
        return await self._run("fetchval", query, args)

    async def _run(self, method: str, query: str, args: tuple):
        slot = self._next()
        slot[2] += 1
        try:
            async with slot[1]:
                if slot[0].is_closed():
                    slot[0] = await self._connect()
                try:
                    return await getattr(slot[0], method)(query, *args)
                except (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError, OSError):
                    # The server restarted or dropped us: one fresh connection, one more try.
                    slot[0] = await self._connect()
                    try:
                        return await getattr(slot[0], method)(query, *args)
                    except OSError as error:
                        raise _unreachable() from error
        except UNAVAILABLE as error:
            raise database_busy(error, error) from error
        finally:
            slot[2] -= 1


def _unreachable() -> ServiceBusy:
    return ServiceBusy("The database could not be reached just now; retry in a moment.")
