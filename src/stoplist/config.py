"""Settings, read from `STOPLIST_*` environment variables."""

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal
from pathlib import Path

from datetime import timedelta

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
import phonenumbers

from stoplist.db import asks_for_uri

DEFAULT_DATABASE_URL = f"sqlite:///{Path('var') / 'stoplist.db'}"
# STOPLIST_ variables that are not Settings: the serve command's options, docker-compose.yml's, the tests' and the
# supervisor's own. Any other that is one letter or two from a setting's name is taken for a misspelling of it.
OTHER_VARIABLES = frozenset({
    "STOPLIST_WORKERS", "STOPLIST_SERVER", "STOPLIST_SUPERVISOR_PID", "STOPLIST_PORT", "STOPLIST_IMAGE", "STOPLIST_JOB_WORKERS",
    "STOPLIST_SERVICES", "STOPLIST_TEST_POSTGRES_URL", "STOPLIST_FUZZ_EXAMPLES", "STOPLIST_FUZZ_SEED", "STOPLIST_FUZZ_SPEC",
    "STOPLIST_MIRROR_EXAMPLES",
})


class Settings(BaseSettings):
    """Everything an operator can configure; see the README's Settings table."""

    model_config = SettingsConfigDict(env_prefix="STOPLIST_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # Logs on standard error: "text" (readable lines) or "json" (one JSON object per line).
    log_format: Literal["text", "json"] = "text"
    default_region: str | None = None
    # The check endpoints remember tokens this long; a revoked token is refused within it.
    token_cache_seconds: float = Field(default=5.0, ge=0, le=3600)
    # How often a worker records the expiry of lapsed entries (their `expire` event) and deletes them
    # (seconds; 0: never): the bound on how late an expiry reaches the trail. Reads never wait for it.
    purge_interval: float = Field(default=60.0, ge=0, le=86_400)
    # Months of audit events kept, whole calendar months (UTC) besides the current one; 0: every event, forever.
    audit_retention_months: int = Field(default=0, ge=0, le=1200)
    # Imports and exports.
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, gt=0)
    file_retention: timedelta = timedelta(hours=24)
    # Streamed downloads (CSV export, /files/{id}, rejected rows) at once per process, each on a
    # connection of its own; one more is refused with 503 busy.
    max_downloads: int = Field(default=8, ge=1)
    # The kernel's send buffer of each connection `stoplist serve` accepts (bytes; 0: the kernel's
    # own, which grows to 4 MiB): how far a download may run ahead of a client that reads slowly.
    send_buffer_bytes: int = Field(default=256 * 1024, ge=0, le=2**31 - 1)  # a C int, as setsockopt takes it
    # x-async exports queued or running per account; one more is refused with 429.
    max_queued_exports: int = Field(default=3, ge=1)
    # Background jobs.
    serve_worker: bool = True
    job_timeout: timedelta = timedelta(seconds=60)
    job_max_attempts: int = Field(default=3, ge=1)
    worker_poll_interval: float = Field(default=0.5, gt=0, le=60)

    @field_validator("database_url", mode="before")
    @classmethod
    def _database(cls, value: object) -> object:
        """A URL of SQLite or PostgreSQL. Blank is refused, not read as the default: an operator who blanked it
        would otherwise write to a new SQLite file beside a PostgreSQL database that holds the list."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        example = "sqlite:///var/stoplist.db or postgresql://user:password@host:5432/stoplist"
        if not text:
            raise ValueError(f"is empty: name the database, for example {example} (unset, it is {DEFAULT_DATABASE_URL})")
        try:
            url = make_url(text)
            backend = url.get_backend_name()
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            raise ValueError(f"is not a database URL: write it as {example}") from None
        if backend not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(f"names {backend}, which Stoplist does not run on: SQLite or PostgreSQL, for example {example}")
        driver = url.drivername.partition("+")[2] or None  # as written: asking SQLAlchemy loads the driver's dialect
        if driver not in (None, "psycopg", "pysqlite"):
            # A driver Stoplist does not install (psycopg2, asyncpg, pg8000) failed at the first connection, with a traceback.
            plain = "sqlite:///…" if backend == "sqlite" else "postgresql://…"
            raise ValueError(f"names the driver {driver}, which Stoplist does not use: write {plain} without a driver, and Stoplist picks its own")
        if backend == "sqlite" and asks_for_uri(url):
            # Its readers open the file by its path (the checks' own connections, the log's checkpoints): to them a
            # URI's text names another file.
            raise ValueError(f"is a SQLite URI (uri={url.query['uri']}), which Stoplist does not read: name the file, for example sqlite:///var/stoplist.db")
        return text

    @field_validator("default_region", mode="before")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value is None or str(value).strip() == "":
            return None
        region = str(value).strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"names an unknown region {value!r}: use an ISO 3166-1 alpha-2 code such as PL or GB")
        return region


    @field_validator("log_format", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("file_retention", "job_timeout", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        """Durations are seconds (`3600`) or ISO 8601 (`PT1H`, `P1D`)."""
        if isinstance(value, str) and value.strip().removeprefix("-").replace(".", "", 1).isdigit():
            return float(value)  # a negative number too, for _positive to name
        return value

    @field_validator("job_timeout")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        """A job timeout of 0 lost every job to the next worker at once; one past a day is a mistake, and one of
        centuries made every claim of a job fail (the moment it would lapse is past the calendar's end)."""
        if value <= timedelta(0):
            raise ValueError(f"must be longer than 0 seconds, not {value.total_seconds():g}")
        if value > timedelta(days=1):
            raise ValueError(f"must be at most a day (86400 seconds), not {value.total_seconds():g}")
        return value

    @field_validator("file_retention")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        """0 removes what a job made as soon as it is done; a negative retention is a mistake, not a sooner 0, and one
        of centuries stopped the worker's housekeeping (the expiry sweep with it) at the calendar's end."""
        if value < timedelta(0):
            raise ValueError(f"must be 0 seconds or longer, not {value.total_seconds():g}")
        if value > timedelta(days=366):
            raise ValueError(f"must be at most 366 days (31622400 seconds), not {value.total_seconds():g}")
        return value


def misspelt(environ: Mapping[str, str] = os.environ) -> list[tuple[str, str]]:
    """(variable, the setting it is close to) for each STOPLIST_ variable that is no setting and no other variable of
    Stoplist's but within two letters (typed, left out, added or swapped) of a setting's name that is not set itself:
    `STOPLIST_DATABSE_URL`, ignored, served a new empty SQLite file without a word. Names are read in any case, as the
    settings are. A name further off (`STOPLIST_BASE_URL`, `STOPLIST_DATABASE_URL_RO`) is someone's own variable."""
    settings = [f"STOPLIST_{name.upper()}" for name in Settings.model_fields]
    meant = [*settings, "STOPLIST_WORKERS", "STOPLIST_SERVER"]  # serve's options read from the environment too
    given = {name.upper() for name in environ}
    found = []
    for variable in sorted(environ):
        name = variable.upper()
        if name.startswith("STOPLIST_") and name not in meant and name not in OTHER_VARIABLES:
            close = [setting for setting in meant if setting not in given and _letters_apart(name, setting) <= 2]
            if close:
                found.append((variable, min(close, key=lambda setting: _letters_apart(name, setting))))
    return found


def _letters_apart(one: str, other: str) -> int:
    """How many letters typed, left out, added or swapped (two side by side) turn `one` into `other`."""
    if abs(len(one) - len(other)) > 2:
        return 3
    previous2, previous = None, list(range(len(other) + 1))
    for i, a in enumerate(one, 1):
        current = [i]
        for j, b in enumerate(other, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b))
            if previous2 is not None and i > 1 and j > 1 and a == other[j - 2] and one[i - 2] == b:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()

