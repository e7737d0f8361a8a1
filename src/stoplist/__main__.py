"""`python -m stoplist` is the `stoplist` command."""

from stoplist.cli import app

app(prog_name="stoplist")
