"""One writer: no module but those of stoplist/lists/writer/ changes entries or lists (issue 10), and no
module but stoplist/audit/trail.py changes the audit trail (issue 11).

Every change then goes through one place, where it is recorded exactly once. The check reads
each module's syntax tree (SQLAlchemy statements, ORM unit-of-work changes) and the SQL text in
its string constants, f-strings included. Alembic migrations live outside src and are not checked.
"""

import ast
import re
from pathlib import Path

from dataclasses import dataclass

SRC = Path(__file__).resolve().parents[2] / "src"


@dataclass(frozen=True)
class Watched:
    """Tables that one module alone may write: its path, the ORM classes and the table names."""

    writer: str  # a module, or a package (ending in "/"): each of its modules
    classes: frozenset[str]
    tables: tuple[str, ...]
    primary: str  # the class a bare name is taken for even when its import cannot be seen
    held_name: re.Pattern  # `session.delete(entry)`: a variable name that says what it holds

    @property
    def raw_dml(self) -> re.Pattern:
        table = "|".join(self.tables)
        return re.compile(
            rf"""\b(?:insert\s+(?:or\s+\w+\s+)?into|replace\s+into|merge\s+into|update(?:\s+only)?|delete\s+from|truncate(?:\s+table)?)"""
            rf"""\s+(?:\w+\.)?["'`\[]?(?:{table})\b""",
            re.IGNORECASE,
        )


ENTRIES = Watched("stoplist/lists/writer/", frozenset({"Entry", "List"}), ("blacklist_entries", "lists"), "Entry", re.compile(r"(?:\w+_)?(?:entry|entries)"))
TRAIL = Watched("stoplist/audit/trail.py", frozenset({"Event", "Head"}), ("entry_events", "audit_heads"), "Event", re.compile(r"(?:\w+_)?(?:event|events|head)"))
WRITER = ENTRIES.writer
CLASSES = ENTRIES.classes
TABLES = ENTRIES.tables
DML_FUNCTIONS = {"insert", "update", "delete"}  # sqlalchemy's, and its dialects' (postgresql.insert, sqlite.insert)
TABLE_METHODS = {"insert", "update", "delete"}  # Entry.__table__.insert()
SESSION_WRITES = {"add", "add_all", "delete", "merge", "bulk_save_objects", "bulk_insert_mappings", "bulk_update_mappings"}


class _Checker(ast.NodeVisitor):
    """Collects (line, what) for every write on the watched tables in one module."""

    def __init__(self, watched: Watched = ENTRIES) -> None:
        self.watched = watched
        self.raw_dml = watched.raw_dml
        self.found: list[tuple[int, str]] = []
        self.classes: set[str] = set()  # local names of Entry and List
        self.modules: set[str] = set()  # local names of stoplist modules (`models.Entry`)
        self.dml: set[str] = set(DML_FUNCTIONS)  # local names of insert/update/delete, aliases included
        self.held: set[str] = set()  # variables assigned from an expression about Entry or List

    # What names mean in this module.

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.startswith("stoplist"):
                self.modules.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        ours = node.level > 0 or module.startswith("stoplist")
        for alias in node.names:
            local = alias.asname or alias.name
            if ours and alias.name in self.watched.classes:
                self.classes.add(local)
            elif ours:
                self.modules.add(local)
            if module.startswith("sqlalchemy") and alias.name in DML_FUNCTIONS:
                self.dml.add(local)
            if module.startswith("sqlalchemy") and alias.name in ("postgresql", "sqlite", "mysql"):
                self.modules.add(local)

    def is_class(self, node: ast.AST) -> bool:
        """Entry, an alias of it, or `models.Entry`."""
        if isinstance(node, ast.Name):
            return node.id in self.classes or (node.id == self.watched.primary)
        return isinstance(node, ast.Attribute) and node.attr in self.watched.classes and _root_name(node) in self.modules

    def is_table(self, node: ast.AST) -> bool:
        """The class, its `__table__`, or `metadata.tables["blacklist_entries"]`."""
        if self.is_class(node):
            return True
        if isinstance(node, ast.Attribute) and node.attr == "__table__":
            return self.is_class(node.value)
        if isinstance(node, ast.Subscript):
            key = node.slice
            return isinstance(key, ast.Constant) and key.value in self.watched.tables
        if isinstance(node, ast.Call) and _call_name(node) == "table" and node.args:
            first = node.args[0]
            return isinstance(first, ast.Constant) and first.value in self.watched.tables
        return False

    def mentions(self, node: ast.AST) -> bool:
        return any(self.is_table(sub) or (isinstance(sub, ast.Name) and sub.id in self.held) for sub in ast.walk(node))

    def report(self, node: ast.AST, what: str) -> None:
        self.found.append((node.lineno, what))

    # What counts as a write.

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._assigned(target, node.value, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._assigned(node.target, node.value, node)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._assigned(node.target, node.value, node)
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        if self.mentions(node.iter):
            self._hold(node.target)
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if self.mentions(node.iter):
            self._hold(node.target)
        self.generic_visit(node)

    def _assigned(self, target: ast.AST, value: ast.AST, node: ast.AST) -> None:
        # `entry.expire_at = ...` on a loaded entry is an UPDATE at the next flush.
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in self.held:
            self.report(node, f"sets {target.value.id}.{target.attr} on a loaded {'/'.join(sorted(self.watched.classes))} row")
        if self.mentions(value):
            self._hold(target)

    def _hold(self, target: ast.AST) -> None:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name):
                self.held.add(sub.id)

    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node)
        func = node.func
        first = node.args[0] if node.args else None
        # Whatever the receiver (a dialect module, or a variable holding one): X.insert(Entry) builds DML.
        if name in self.dml and first is not None and self.is_table(first):
            self.report(node, f"{ast.unparse(func)}({ast.unparse(first)})")
        elif isinstance(func, ast.Attribute) and func.attr in TABLE_METHODS and self.is_table(func.value) and not self.is_class(func.value):
            self.report(node, f"{ast.unparse(func)}()")
        elif isinstance(func, ast.Attribute) and func.attr in ("delete", "update") and _queries_a_table(func.value, self):
            self.report(node, f"Query.{func.attr}() of {ast.unparse(func.value)}")
        elif isinstance(func, ast.Attribute) and func.attr in SESSION_WRITES and first is not None and self._is_row(first):
            self.report(node, f"{ast.unparse(func)}({ast.unparse(first)})")
        self.generic_visit(node)

    def _is_row(self, node: ast.AST) -> bool:
        """An Entry/List object, a list of them, or the class itself (the bulk_* methods)."""
        if isinstance(node, ast.Name) and (node.id in self.held or self.watched.held_name.fullmatch(node.id)):
            return True
        if isinstance(node, ast.Call):
            return self.is_class(node.func)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return any(self._is_row(element) for element in node.elts)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            return self._is_row(node.elt) or any(self.mentions(generator.iter) for generator in node.generators)
        return self.is_class(node)

    # Raw SQL.

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and self.raw_dml.search(node.value):
            self.report(node, f"SQL {_short(node.value)!r}")

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        text = "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
        if self.raw_dml.search(text):
            self.report(node, f"SQL f-string {_short(text)!r}")
        # The constant parts are already judged as a whole; only the interpolated expressions are left.
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                self.visit(part)


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _queries_a_table(node: ast.AST, checker: _Checker) -> bool:
    """`session.query(Entry).filter(...)`: the legacy Query API, whose .delete()/.update() are DML."""
    return any(isinstance(sub, ast.Call) and _call_name(sub) == "query" and any(checker.is_class(arg) for arg in sub.args) for sub in ast.walk(node))


def _short(text: str) -> str:
    return " ".join(text.split())[:80]


def writes_in(source: str, filename: str = "<snippet>", watched: Watched = ENTRIES) -> list[tuple[int, str]]:
    """(line, what) of every write on entries or lists in `source`."""
    tree = ast.parse(source, filename)
    checker = _Checker(watched)
    # Imports first, wherever they are, so that names mean the same above and below them.
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            checker.visit(node)
    checker.visit(tree)
    return sorted(set(checker.found))


def writes_outside_the_writer(src: Path = SRC, watched: Watched = ENTRIES) -> list[str]:
    found = []
    for path in sorted((src / "stoplist").rglob("*.py")):
        name = path.relative_to(src).as_posix()
        if name == watched.writer or (watched.writer.endswith("/") and name.startswith(watched.writer)):
            continue
        found += [f"{name}:{line}: {what}" for line, what in writes_in(path.read_text(), name, watched)]
    return found


def test_only_the_writer_changes_entries_and_lists():
    found = writes_outside_the_writer()
    assert not found, f"only {WRITER} may change entries or lists; found:\n" + "\n".join(found)


def test_only_the_trail_changes_the_audit_trail():
    found = writes_outside_the_writer(watched=TRAIL)
    assert not found, f"only {TRAIL.writer} may change audit events or heads; found:\n" + "\n".join(found)


def test_the_writers_are_where_they_are_said_to_be():
    # Were one moved, the exemption above would silently cover nothing (and every write would fail).
    for watched in (ENTRIES, TRAIL):
        assert (SRC / watched.writer).is_dir() if watched.writer.endswith("/") else (SRC / watched.writer).is_file(), watched.writer


def test_the_checker_catches_writes_of_the_trail_outside_it(tmp_path):
    path = tmp_path / "stoplist" / "history" / "service.py"
    path.parent.mkdir(parents=True)
    path.write_text("from sqlalchemy import update\nfrom stoplist.audit.models import Event\ns.execute(update(Event).values(body='x'))\nSQL = 'DELETE FROM entry_events'\n")
    assert writes_outside_the_writer(tmp_path, TRAIL) == ["stoplist/history/service.py:3: update(Event)", "stoplist/history/service.py:4: SQL 'DELETE FROM entry_events'"]


# The checker checked: snippets it must catch, and reads it must let through.

CAUGHT = {
    "delete(Entry)": "from sqlalchemy import delete\nfrom stoplist.lists.models import Entry\nsession.execute(delete(Entry).where(Entry.id == 1))\n",
    "aliased dialect insert": "from sqlalchemy.dialects.postgresql import insert as pg_insert\nfrom stoplist.lists.models import Entry as E\ns.execute(pg_insert(E).values(x=1))\n",
    "dialect module insert": "from sqlalchemy.dialects import sqlite\nfrom stoplist.lists.models import List\ns.execute(sqlite.insert(List).on_conflict_do_nothing())\n",
    "insert through a dialect chosen at run time": "from sqlalchemy.dialects import postgresql, sqlite\nfrom stoplist.lists.models import List\ndialect = postgresql if pg else sqlite\ns.execute(dialect.insert(List).values(x=1))\n",
    "models.Entry update": "from sqlalchemy import update\nfrom stoplist.lists import models\ns.execute(update(models.Entry).values(reason='x'))\n",
    "table insert": "from stoplist.lists.models import Entry\ns.execute(Entry.__table__.insert(), rows)\n",
    "session.add(Entry(...))": "from stoplist.lists.models import Entry\nsession.add(Entry(address='1'))\n",
    "session.delete of a loaded entry": "from stoplist.lists.models import Entry\ndef f(session):\n    row = session.get(Entry, 1)\n    session.delete(row)\n",
    "attribute set on a loaded entry": "from sqlalchemy import select\nfrom stoplist.lists.models import Entry\nfor e in session.scalars(select(Entry)):\n    e.expire_at = None\n",
    "legacy query delete": "from stoplist.lists.models import Entry\nsession.query(Entry).filter(Entry.id == 1).delete()\n",
    "raw SQL": "from sqlalchemy import text\nsession.execute(text('''\n    delete  from blacklist_entries\n    WHERE id = :id'''))\n",
    "raw SQL in an f-string": "def f(cursor, n):\n    cursor.execute(f\"UPDATE blacklist_entries SET expire_at = NULL WHERE id = {n}\")\n",
    "raw SQL on lists": "SQL = 'INSERT INTO \"lists\" (owner_id) VALUES (?)'\n",
    "sqlite upsert": "SQL = 'insert or replace into blacklist_entries values (?)'\n",
}

PASSED = {
    "select(Entry)": "from sqlalchemy import select\nfrom stoplist.lists.models import Entry\nrows = session.scalars(select(Entry).where(Entry.id == 1)).all()\nprint(rows[0].address)\n",
    "another table's writes": "from sqlalchemy import delete, update\nfrom stoplist.jobs.models import Job\ns.execute(delete(Job))\ns.execute(update(Job).values(x=1))\ns.add(Job(id='1'))\n",
    "raw reads": "SQL = 'SELECT id FROM blacklist_entries WHERE expire_at > ?'\nQ = f\"SELECT * FROM lists WHERE id = {1}\"\n",
    "typing List": "from typing import List\nx: List[int] = []\nx.append(1)\n",
    "a similarly named table": "SQL = 'DELETE FROM blacklist_entries_archive'\nT = 'UPDATE listsx SET a = 1'\n",
    "prose": "HELP = 'Delete from the list every entry you no longer need.'\n",
    "a set of an entry's fields": "from stoplist.lists.models import Entry\nentry = s.get(Entry, 1)\nseen.add(entry.address)\ncache.delete(entry_id)\n",
}


def test_the_checker_catches_every_kind_of_write():
    missed = [name for name, source in CAUGHT.items() if not writes_in(source)]
    assert not missed, missed


def test_the_checker_names_the_line_of_the_write():
    assert [line for line, _ in writes_in(CAUGHT["delete(Entry)"])] == [3]
    assert [line for line, _ in writes_in(CAUGHT["raw SQL"])] == [2]


def test_the_checker_lets_reads_and_other_tables_through():
    wrong = {name: writes_in(source) for name, source in PASSED.items() if writes_in(source)}
    assert not wrong, wrong


def test_the_checker_exempts_the_writer_and_only_it(tmp_path):
    for name in ("lists/writer/__init__.py", "lists/writer/bulk.py", "lists/service.py"):
        path = tmp_path / "stoplist" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(CAUGHT["delete(Entry)"])
    assert writes_outside_the_writer(tmp_path) == ["stoplist/lists/service.py:3: delete(Entry)"]
