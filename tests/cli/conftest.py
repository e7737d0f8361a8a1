"""Fixtures shared by the CLI tests: a migrated database named by STOPLIST_DATABASE_URL, and the API on it."""

from tests.cli.test_import_export_cli import api, database

__all__ = ["api", "database"]
