"""No import circles between stoplist's packages, and only the composition roots import across everything.

A unit is a top-level package or module of stoplist (stoplist.jobs, stoplist.db, ...). Every
import counts: absolute or relative, at module level or inside a function.
"""

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

# Where the app is put together (supervisor and servers: in each worker of `serve --workers N` or
# `--server granian`): they may import anything, and only they import one another.
ROOTS = {"app", "cli", "commands", "composition", "__main__", "openapi", "servers", "supervisor"}
# Every package of stoplist is one or the other, so that a new package cannot escape the rules below.
PACKAGES = {path.parent.name for path in (SRC / "stoplist").glob("*/__init__.py")}
# Features; the job queue runs their jobs without knowing any of them.
FEATURES = {"blacklist", "lists", "checks", "imports", "exports", "files", "audit", "history", "entries", "accounts"}
# What every part may build on: accounts and tokens (a job belongs to an account), the job queue
# itself, operations (health, metrics, logs) and the helpers of tests and benchmarks.
FOUNDATIONS = {"auth", "jobs", "ops", "testing"}
PACKAGE = "."  # the unit of stoplist/__init__.py itself (`from stoplist import __version__`)

Edges = dict[str, dict[str, list[str]]]  # unit -> imported unit -> ["path:line", ...]


def _module_name(path: Path, src: Path) -> list[str]:
    parts = list(path.relative_to(src).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _unit_of(parts: list[str], top: str) -> str | None:
    """The unit that the dotted module `parts` belongs to, or None when it is not ours."""
    if not parts or parts[0] != top:
        return None
    if len(parts) == 1:
        return PACKAGE
    return parts[1]


def _is_module(root: Path, parts: list[str]) -> bool:
    """Whether stoplist.<parts> is a module or package (as opposed to a name defined in one)."""
    path = root.joinpath(*parts)
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def import_edges(src: Path, top: str = "stoplist") -> Edges:
    """Which unit imports which, with every place it does so."""
    root = src / top
    edges: Edges = defaultdict(lambda: defaultdict(list))
    for path in sorted(root.rglob("*.py")):
        name = _module_name(path, src)
        is_package = path.name == "__init__.py"
        source = _unit_of(name, top)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[list[str]] = []
            if isinstance(node, ast.Import):
                targets = [alias.name.split(".") for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    # Relative: level 1 is this module's package (the module itself, for an __init__).
                    base = name if is_package else name[:-1]
                    base = base[: len(base) - (node.level - 1)]
                else:
                    base = []
                module = base + (node.module.split(".") if node.module else [])
                # `from stoplist import files` imports the unit `files`, not the package's __init__.
                if module == [top]:
                    targets = [[top, alias.name] if _is_module(root, [alias.name]) else [top] for alias in node.names]
                else:
                    targets = [module]
            for target in targets:
                unit = _unit_of(target, top)
                if unit is not None and unit != source:
                    edges[source][unit].append(f"{path.relative_to(src)}:{node.lineno}")
    return edges


def cycles(edges: Edges) -> list[list[str]]:
    """The strongly connected groups of more than one unit (Tarjan), each sorted, in sorted order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(unit: str) -> None:
        index[unit] = low[unit] = len(index)
        stack.append(unit)
        on_stack.add(unit)
        for other in sorted(edges.get(unit, {})):
            if other not in index:
                visit(other)
                low[unit] = min(low[unit], low[other])
            elif other in on_stack:
                low[unit] = min(low[unit], index[other])
        if low[unit] == index[unit]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == unit:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    units = set(edges) | {other for targets in edges.values() for other in targets}
    for unit in sorted(units):
        if unit not in index:
            visit(unit)
    return sorted(found)


def describe(group: list[str], edges: Edges) -> str:
    """A circle, with where each of its imports is."""
    lines = [" <-> ".join(group)]
    for unit in group:
        for other in group:
            for site in edges.get(unit, {}).get(other, []):
                lines.append(f"    {unit} -> {other}: {site}")
    return "\n".join(lines)


def test_no_package_imports_another_that_imports_it_back():
    edges = import_edges(SRC)
    found = cycles(edges)
    assert not found, "import circles between stoplist's packages:\n" + "\n".join(describe(group, edges) for group in found)


def test_only_the_composition_roots_import_the_composition_roots():
    edges = import_edges(SRC)
    wrong = [f"{unit} -> {root}: {site}" for unit, targets in edges.items() if unit not in ROOTS for root in ROOTS & set(targets) for site in targets[root]]
    assert not wrong, "only the roots (app, cli, commands, composition, __main__, openapi, servers, supervisor) may import one another:\n" + "\n".join(sorted(wrong))


def test_the_job_queue_imports_no_feature():
    targets = import_edges(SRC).get("jobs", {})
    wrong = [f"jobs -> {feature}: {site}" for feature in sorted(FEATURES & set(targets)) for site in targets[feature]]
    assert not wrong, "jobs must not import features (they register runners in stoplist.composition):\n" + "\n".join(wrong)


def test_every_package_is_a_feature_or_a_foundation():
    classified = FEATURES | FOUNDATIONS | (ROOTS & PACKAGES)
    assert classified == PACKAGES, f"classify {sorted(PACKAGES - classified)} (and drop {sorted((FEATURES | FOUNDATIONS) - PACKAGES)})"
    assert not FEATURES & FOUNDATIONS


def test_the_roots_are_real_modules():
    # A renamed root would silently widen what may import what.
    for root in ROOTS:
        assert (SRC / "stoplist" / f"{root}.py").is_file() or (SRC / "stoplist" / root / "__init__.py").is_file(), root


# The checker checked: small synthetic trees it must judge right.

def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "stoplist" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_checker_finds_a_circle_through_a_relative_import_inside_a_function(tmp_path):
    src = _tree(tmp_path, {
        "__init__.py": "",
        "jobs/__init__.py": "",
        "jobs/runners.py": "def load():\n    from ..imports.runner import run\n    return run\n",
        "imports/__init__.py": "",
        "imports/runner.py": "run = None\n",
        "imports/service.py": "from stoplist.jobs import repository\n",
        "jobs/repository.py": "",
        "db.py": "",
        "files/__init__.py": "",
        "files/router.py": "import stoplist.db\nfrom stoplist import db\n",
    })
    edges = import_edges(src)
    assert cycles(edges) == [["imports", "jobs"]]
    assert edges["jobs"]["imports"] == ["stoplist/jobs/runners.py:2"]
    assert "stoplist/imports/service.py:1" in describe(["imports", "jobs"], edges)
    assert set(edges["files"]) == {"db"}


def test_the_checker_finds_a_longer_circle_and_passes_a_tree_without_one():
    assert cycles({"a": {"b": ["x"]}, "b": {"c": ["y"]}, "c": {"a": ["z"]}, "d": {"a": ["w"]}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b": ["x"]}, "b": {"c": ["y"]}, "d": {"a": ["w"], "c": ["v"]}}) == []


def test_the_checker_tells_the_package_from_its_modules(tmp_path):
    src = _tree(tmp_path, {
        "__init__.py": "__version__ = '1'\n",
        "ops/__init__.py": "from . import metrics\n",
        "ops/metrics.py": "from stoplist import __version__\nfrom .. import app\n",
        "app.py": "from stoplist.ops import metrics\n",
    })
    edges = import_edges(src)
    assert set(edges["ops"]) == {PACKAGE, "app"}
    assert cycles(edges) == [["app", "ops"]]
