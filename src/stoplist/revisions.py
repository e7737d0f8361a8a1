"""The migrations this code ships, read from their files without Alembic.

A server needs only the newest revision (`/readyz` compares the database's with it); importing
Alembic for it would keep Alembic, Mako and Pygments in the server's memory for good, about 11 MB.
Each migration file names its `revision` and `down_revision` as literals; `stoplist migrate` and
the tests use Alembic itself (stoplist.migrate), and a test holds the two readings equal.
"""

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = ROOT / "migrations" / "versions"
# The files Alembic reads as revisions (alembic.script.base's _sourceless_rev_file and _only_source_rev_file):
# not __init__.py, not an editor's lock file (.#name.py).
_REVISION_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")


@cache
def head() -> str:
    """The revision no other migration builds on: the one a migrated database is at."""
    revisions: set[str] = set()
    built_on: set[str] = set()
    for path in sorted(VERSIONS.iterdir()):
        if not _REVISION_FILE.match(path.name) or not path.is_file():
            continue
        named = _literals(path, ("revision", "down_revision"))
        revisions.add(named["revision"])
        down = named.get("down_revision")
        built_on.update([down] if isinstance(down, str) else down or ())
    heads = revisions - built_on
    if len(heads) != 1:
        raise RuntimeError(f"the migrations in {VERSIONS} have {len(heads)} heads, not one: {sorted(heads)}")
    return heads.pop()


def _literals(path: Path, names: tuple[str, ...]) -> dict:
    """The values of the module-level assignments to `names` in the file at `path`."""
    found = {}
    for statement in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        target, value = _assignment(statement)
        if target in names:
            found[target] = ast.literal_eval(value)
    if "revision" not in found:
        raise RuntimeError(f"{path} names no revision")
    return found


def _assignment(statement: ast.stmt) -> tuple[str | None, ast.expr | None]:
    """(name, value) of `name = value` or `name: type = value`; (None, None) for any other statement."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
        return statement.targets[0].id, statement.value
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value is not None:
        return statement.target.id, statement.value
    return None, None
