"""Guards in production code are real checks: `assert` vanishes under `python -O`."""

import ast
from pathlib import Path

import pytest

from stoplist.db import in_order
from stoplist.lists.queries import scoped_entries

SRC = Path(__file__).resolve().parents[2] / "src" / "stoplist"


def asserts_in(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root.parent)}:{node.lineno}"
        for path in sorted(root.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Assert)
    ]


def test_no_module_of_stoplist_guards_with_assert():
    assert asserts_in(SRC) == []


def test_the_checker_finds_an_assert(tmp_path):
    (tmp_path / "stoplist").mkdir()
    (tmp_path / "stoplist" / "guarded.py").write_text("def f(x):\n    assert x, 'x'\n    return x\n")
    assert asserts_in(tmp_path / "stoplist") == ["stoplist/guarded.py:2"]


def test_a_statement_whose_parameters_come_in_another_order_is_refused_loudly():
    assert in_order(scoped_entries, "sqlite", ("account", "address", "now", "channel", "sender")).startswith("SELECT")
    with pytest.raises(RuntimeError, match="takes its parameters as"):
        in_order(scoped_entries, "sqlite", ("address", "account", "now", "channel", "sender"))
