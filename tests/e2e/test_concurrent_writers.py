"""Many clients adding and deleting the same numbers at once, against real servers: never a 5xx,
never two rows for a number, and the list ends as the last acknowledged operations left it."""

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from sqlalchemy import func, select

from stoplist.blacklist.models import Entry
from tests.e2e.conftest import LiveServer, running_server

URL = "/blacklist/phone_numbers"


@contextmanager
def servers_on(tmp_path: Path, database_url: str, backend: str) -> Iterator[list[LiveServer]]:
    """One server on SQLite (one file, one writer); two on PostgreSQL, sharing the database."""
    with ExitStack() as stack:
        started = []
        for name in ("a", "b")[: 1 if backend == "sqlite" else 2]:
            (tmp_path / name).mkdir()
            started.append(stack.enter_context(running_server(tmp_path / name, database_url=database_url)))
        yield started


def add(client: httpx.Client, number: str, expire_at: str | None = None) -> httpx.Response:
    return client.post(URL, json={"phone_number": f"+{number}", "expire_at": expire_at})


def delete(client: httpx.Client, number: str) -> httpx.Response:
    return client.delete(URL, params={"phone_number": f"+{number}"})


def test_adds_and_deletes_racing_on_the_same_few_numbers_never_fail(tmp_path: Path, database_url: str, backend: str, session_factory):
    """8 clients x 150 add/delete pairs on 3 numbers, spread over the servers: every answer 200, 201 or 204."""
    clients, pairs, numbers = 8, 150, ["48500000001", "48500000002", "48500000003"]
    with servers_on(tmp_path, database_url, backend) as servers:
        headers = {"Authorization": f"Bearer {servers[0].create_token()}"}

        def hammer(index: int) -> Counter:
            statuses: Counter = Counter()
            with httpx.Client(base_url=servers[index % len(servers)].base_url, headers=headers, timeout=30) as client:
                for pair in range(pairs):
                    number = numbers[(index + pair) % len(numbers)]
                    for send in (add, delete):
                        try:
                            statuses[send(client, number).status_code] += 1
                        except httpx.TransportError as exc:  # a server that failed hard enough to drop the connection
                            statuses[type(exc).__name__] += 1
            return statuses

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            statuses = sum(pool.map(hammer, range(clients)), Counter())
        elapsed = time.monotonic() - started
        logs = "".join(server.log.read_text()[-3000:] for server in servers)

    print(f"{backend}: {sum(statuses.values())} requests in {elapsed:.1f} s: {dict(statuses)}")
    assert set(statuses) <= {200, 201, 204}, f"{dict(statuses)}\n{logs}"
    assert statuses[200] + statuses[201] == statuses[204] == clients * pairs
    with session_factory() as session:
        per_number = session.execute(select(Entry.phone_number, func.count()).group_by(Entry.phone_number)).all()
    assert all(count == 1 for _, count in per_number), per_number
