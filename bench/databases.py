"""The databases a benchmark's server runs on: a fresh SQLite file, or a fresh database in the run's one
throwaway PostgreSQL cluster (started on first use, removed when the run ends)."""

from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg

from harness import BenchmarkFailed, say, step
from processes import tree_cpu
from stoplist.testing.postgres import PostgresUnavailable, ThrowawayPostgres

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
ALL = (SQLITE, POSTGRESQL)
LABELS = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}
# What the doc says about the cluster's settings: the ones ThrowawayPostgres sets, and the ones that size its caches.
SHOWN_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "work_mem", "effective_cache_size", "max_connections")

METHOD = """\
Every benchmark that starts a Stoplist server runs once per database (`--databases sqlite,postgresql`,
the default; the table's Database column says which), each time with a server of its own on a list of its own:

- **SQLite**: a new database file in the run's temporary directory
  (`STOPLIST_DATABASE_URL=sqlite:///…/stoplist.db`).
- **PostgreSQL**: one throwaway cluster for the whole run, started from the installed server
  binaries by `stoplist.testing.postgres.ThrowawayPostgres` as the test suite does (initdb in a
  temporary directory, listening on 127.0.0.1 only, trust authentication, removed when the run
  ends; as root it runs as the `postgres` user); each benchmark gets a new database in it
  (`CREATE DATABASE`), dropped when the benchmark ends, and the server reaches it over loopback TCP
  (`STOPLIST_DATABASE_URL=postgresql://stoplist@127.0.0.1:PORT/bench_…`). The cluster runs with
  durability off (`fsync`, `synchronous_commit` and `full_page_writes` off: it is thrown away)
  and otherwise PostgreSQL's defaults (see Machine). It shares the machine's two cores with the
  server and the load generators: on PostgreSQL every query costs CPU in a PostgreSQL backend
  process besides the server's own, which the notes of the import, export and check rows give
  (psutil, over the cluster's postmaster and its children).

The server migrates its database when it starts (`stoplist serve` runs the migrations, the
trigram index for `q` on PostgreSQL included); lists of a million entries are then put in
straight through the driver, or through the API by the import benchmark.
"""


@dataclass(frozen=True)
class Database:
    """Where one server keeps its data: `url` for STOPLIST_DATABASE_URL, and how the bench reaches it directly."""

    kind: str
    url: str
    path: Path | None = None  # the SQLite file
    name: str | None = None  # the PostgreSQL database
    cluster: ThrowawayPostgres | None = None

    @classmethod
    def sqlite_file(cls, path: Path) -> "Database":
        return cls(kind=SQLITE, url=f"sqlite:///{path}", path=path)

    def cpu(self) -> float:
        """CPU seconds used so far by the database's own processes: PostgreSQL's postmaster and its
        children alive now (backends, autovacuum, …); 0 for SQLite, which runs inside the server."""
        if self.cluster is None:
            return 0.0
        return _cluster_cpu(self.cluster)


class Databases:
    """Hands out fresh databases of either kind; owns the run's PostgreSQL cluster, started on first use."""

    def __init__(self) -> None:
        self._cluster: ThrowawayPostgres | None = None
        self.cpu_used = 0.0  # CPU seconds the cluster's processes used, known once it is stopped (they are not the run's children)

    def fresh(self, kind: str, name: str, directory: Path) -> Database:
        """A new, empty database for one benchmark (the server migrates it when it starts)."""
        if kind == SQLITE:
            return Database.sqlite_file(directory / "stoplist.db")
        cluster = self._postgres()
        name = "bench_" + name.replace("-", "_")
        cluster.drop_database(name)
        return Database(kind=POSTGRESQL, url=cluster.create_database(name), name=name, cluster=cluster)

    def release(self, database: Database) -> None:
        """Drop a PostgreSQL database once its benchmark is done (its cluster goes at the end of the run anyway)."""
        if database.cluster is not None and database.name:
            try:
                database.cluster.drop_database(database.name)
            except psycopg.Error as exc:
                say(f"could not drop database {database.name}: {exc}")

    def describe(self) -> dict[str, str]:
        """For the doc's Machine table: the PostgreSQL server's version and settings, if one was started."""
        if self._cluster is None:
            return {}
        try:
            with psycopg.connect(self._cluster.admin_url, autocommit=True) as connection:
                version = connection.execute("SHOW server_version").fetchone()[0]
                settings = ", ".join(f"{name} {connection.execute(f'SHOW {name}').fetchone()[0]}" for name in SHOWN_SETTINGS)
        except psycopg.Error as exc:
            return {"PostgreSQL": f"unknown ({type(exc).__name__}: {exc})"}
        return {"PostgreSQL": f"{version} (binaries in {self._cluster.bin_dir}); throwaway cluster: {settings}"}

    def close(self) -> None:
        if self._cluster is not None:
            self.cpu_used += _cluster_cpu(self._cluster)
            self._cluster.stop()
            self._cluster = None

    def _postgres(self) -> ThrowawayPostgres:
        if self._cluster is None:
            try:
                cluster = ThrowawayPostgres()
            except PostgresUnavailable as exc:
                raise BenchmarkFailed(f"PostgreSQL is not available: {exc}") from None
            try:
                with step("starting a throwaway PostgreSQL cluster"):
                    cluster.__enter__()
            except PostgresUnavailable as exc:
                cluster.stop()
                raise BenchmarkFailed(f"PostgreSQL is not available: {exc}") from None
            self._cluster = cluster
        return self._cluster


def _cluster_cpu(cluster: ThrowawayPostgres) -> float:
    """CPU seconds of the cluster: its postmaster, the backends alive, and those that have exited (reaped by it)."""
    try:
        postmaster = psutil.Process(int((cluster.data / "postmaster.pid").read_text().split()[0]))
    except (OSError, ValueError, IndexError, psutil.Error):
        return 0.0
    return tree_cpu(postmaster)
