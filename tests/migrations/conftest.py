"""Fixtures shared by the migration tests: a database at revision 0004 with data in it."""

from tests.migrations.test_lists_migration import at_0004

__all__ = ["at_0004"]
