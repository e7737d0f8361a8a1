"""A live `stoplist serve` per database for the fuzzer, and the fuzzer's bounds from the environment."""

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, Databases
from tests.e2e.conftest import running_server

# The committed document; STOPLIST_FUZZ_SPEC tries another (say, one freshly made by `python -m stoplist.openapi`).
SPEC = Path(os.environ.get("STOPLIST_FUZZ_SPEC") or Path(__file__).resolve().parents[2] / "openapi" / "openapi.json")

# In the suite: few cases per operation from a fixed seed, so CI is quick and never flaky.
# `make fuzz` raises the count and asks for a fresh seed (printed, so any failure can be replayed).
EXAMPLES = int(os.environ.get("STOPLIST_FUZZ_EXAMPLES", "30"))
_seed = os.environ.get("STOPLIST_FUZZ_SEED", "20261201")
SEED = random.getrandbits(32) if _seed == "random" else int(_seed)
# Stateful scenarios are long (several requests each); a fraction of the per-operation count keeps them in step.
STATEFUL_EXAMPLES = max(5, EXAMPLES // 4)


@dataclass(frozen=True)
class Target:
    base_url: str
    headers: dict[str, str]


@pytest.fixture(scope="module", params=BACKENDS)
def target(request: pytest.FixtureRequest, databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A throwaway server (anything may be deleted) and a valid token for it."""
    databases.require(request.param)
    with running_server(tmp_path_factory.mktemp("fuzz"), database_url=databases.migrated(request.param)) as server:
        print(f"fuzzing {server.base_url} on {request.param}: seed {SEED}, {EXAMPLES} examples per operation")
        yield Target(base_url=server.base_url, headers={"Authorization": f"Bearer {server.create_token()}"})
