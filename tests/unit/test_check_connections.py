"""The check path's PostgreSQL connections: a query takes a free one, never one busy with a bulk check's probes;
a server that cannot be reached is a 503 busy, however the operating system says so."""

import asyncio
import socket

import asyncpg
import pytest

from stoplist.checks.connections import TakenInTurn
from stoplist.errors import ServiceBusy


class Connection:
    """Stands in for an asyncpg connection: `fetch` answers its name once `release` is set."""

    def __init__(self, name: str, release: asyncio.Event | None = None) -> None:
        self.name, self.release, self.queries = name, release, 0

    def is_closed(self) -> bool:
        return False

    async def fetch(self, _query: str, *_args):
        self.queries += 1
        if self.release is not None:
            await self.release.wait()
        return self.name


def connections(*items: Connection) -> TakenInTurn:
    pool = TakenInTurn()
    pool._slots = [[item, asyncio.Lock(), 0] for item in items]
    return pool


def test_queries_go_round_the_free_connections_in_turn():
    async def scenario():
        pool = connections(Connection("a"), Connection("b"), Connection("c"))
        return [await pool.fetch("SELECT 1") for _ in range(6)]

    assert asyncio.run(scenario()) == ["b", "c", "a", "b", "c", "a"]


def test_a_query_passes_a_connection_busy_with_a_slow_one():
    async def scenario():
        release = asyncio.Event()
        slow = Connection("slow", release)
        pool = connections(Connection("a"), slow, Connection("b"))
        pool._turn = 0  # the next in turn is the slow one
        probes = asyncio.create_task(pool.fetch("the bulk check's probes"))
        await asyncio.sleep(0)  # the probes now hold `slow`
        quick = [await asyncio.wait_for(pool.fetch("SELECT 1"), timeout=5) for _ in range(4)]
        release.set()
        return quick, await probes, slow.queries

    quick, probes, slow_queries = asyncio.run(scenario())

    assert "slow" not in quick and set(quick) == {"a", "b"}
    assert (probes, slow_queries) == ("slow", 1)


def test_with_every_connection_busy_a_query_waits_for_the_next_in_turn():
    async def scenario():
        release = asyncio.Event()
        pool = connections(Connection("a", release), Connection("b", release))
        busy = [asyncio.create_task(pool.fetch("probes")) for _ in range(2)]
        await asyncio.sleep(0)
        waiting = asyncio.create_task(pool.fetch("SELECT 1"))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        release.set()
        return await waiting, await asyncio.gather(*busy)

    answer, busy = asyncio.run(scenario())

    assert answer in ("a", "b") and sorted(busy) == ["a", "b"]


class Closed(Connection):
    """A connection the server dropped: the next query opens another."""

    def is_closed(self) -> bool:
        return True


@pytest.mark.parametrize(
    "failure",
    [ConnectionRefusedError(111, "Connection refused"), socket.gaierror(-2, "Name or service not known"), OSError(113, "No route to host")],
    ids=["refused", "name unknown", "host unreachable"],
)
def test_a_connection_that_cannot_be_opened_again_is_busy_not_a_crash(monkeypatch, failure):
    async def connect(_dsn):
        raise failure

    monkeypatch.setattr(asyncpg, "connect", connect)

    async def scenario():
        pool = connections(Closed("dropped"))
        await pool.fetch("SELECT 1")

    with pytest.raises(ServiceBusy) as raised:
        asyncio.run(scenario())
    assert raised.value.__cause__ is failure


@pytest.mark.parametrize(
    "refusal",
    [asyncpg.InvalidCatalogNameError('database "stoplist" does not exist'),
     asyncpg.ObjectNotInPrerequisiteStateError('database "stoplist" is not currently accepting connections'),
     asyncpg.InvalidPasswordError('password authentication failed for user "stoplist"')],
    ids=["database dropped", "connections not allowed", "password changed"],
)
def test_a_server_that_refuses_a_new_connection_is_busy_not_a_crash(monkeypatch, refusal):
    """A restore's `dropdb --force` or `ALTER DATABASE ... ALLOW_CONNECTIONS false` on a live server: every request
    with a token answered 500 until it was over, where SQLAlchemy's path answers the same refusal 503."""
    async def connect(_dsn):
        raise refusal

    monkeypatch.setattr(asyncpg, "connect", connect)

    with pytest.raises(ServiceBusy) as raised:
        asyncio.run(connections(Closed("dropped")).fetch("SELECT 1"))
    assert raised.value.__cause__ is refusal


class Failing(Connection):
    """A connection on which every query fails with `error`."""

    def __init__(self, error: Exception) -> None:
        super().__init__("failing")
        self.error = error

    async def fetch(self, _query: str, *_args):
        raise self.error


@pytest.mark.parametrize(
    "error",
    [asyncpg.TooManyConnectionsError("sorry, too many clients already"), asyncpg.AdminShutdownError("terminating connection due to administrator command"),
     asyncpg.CannotConnectNowError("the database system is starting up"), asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
     asyncpg.PostgresConnectionError("connection failure")],
    ids=["too many connections", "shutting down", "starting up", "statement cancelled", "connection failure"],
)
def test_a_server_that_cannot_serve_the_query_just_now_is_busy(error):
    """PostgreSQL's own "not now" answers: 503 busy to retry (errors.py answers SQLAlchemy's wrapping of the same so)."""
    with pytest.raises(ServiceBusy) as raised:
        asyncio.run(connections(Failing(error)).fetch("SELECT 1"))
    assert raised.value.__cause__ is error


def test_a_mistaken_query_is_not_called_busy():
    """Another error of PostgreSQL's (a mistake no retry mends) stays what it is: a logged 500, not "retry later"."""
    error = asyncpg.UndefinedTableError('relation "blacklist_entries" does not exist')
    with pytest.raises(asyncpg.UndefinedTableError):
        asyncio.run(connections(Failing(error)).fetch("SELECT 1"))
