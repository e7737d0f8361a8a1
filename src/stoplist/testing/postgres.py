"""A throwaway PostgreSQL cluster on loopback, for the test suite and the benchmarks.

Started from the installed server binaries (initdb + pg_ctl) in a temporary directory,
listening on 127.0.0.1 only, with durability switched off (it is thrown away), and removed
when stopped. As root, the server runs as the `postgres` system user, since PostgreSQL
refuses to run as root.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

USER = "stoplist"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries here (or no way to run them)."""


def find_bin_dir() -> Path:
    """The newest installed PostgreSQL server's bin directory."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(Path(path).parts[-3]))
    if not candidates:
        raise PostgresUnavailable("no PostgreSQL server binaries (initdb) found; install PostgreSQL (apt-get install postgresql)")
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ThrowawayPostgres:
    """`with ThrowawayPostgres() as server: server.url` — a fresh cluster for as long as the block lasts."""

    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and there is no 'postgres' user to run the server as") from None
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self.port = _free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="stoplist-pg-"))
        self.data = self.directory / "data"

    @property
    def admin_url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def __enter__(self) -> "ThrowawayPostgres":
        if self.run_as:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.directory / "server.log"), "-w", "-t", "60", "start")
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run([*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(self.directory, ignore_errors=True)

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        """Create a database (a copy of `template`, if given) and return its URL."""
        name = name or f"db_{uuid.uuid4().hex[:16]}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run([*self.run_as, str(self.bin_dir / program), *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{program} failed: {result.stderr.strip() or result.stdout.strip()}")


class ExistingPostgres:
    """A server given by URL (STOPLIST_TEST_POSTGRES_URL): databases are created on it and dropped after."""

    def __init__(self, url: str) -> None:
        parsed = psycopg.conninfo.conninfo_to_dict(url)
        self._base = url
        self.admin_url = psycopg.conninfo.make_conninfo(url, dbname=parsed.get("dbname") or "postgres")

    def url(self, database: str) -> str:
        return _with_database(self._base, database)

    create_database = ThrowawayPostgres.create_database
    drop_database = ThrowawayPostgres.drop_database

    def stop(self) -> None:
        pass


def _with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)
