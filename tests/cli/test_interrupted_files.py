"""A SIGTERM or Ctrl-C just after a command made its temporary file: the file is removed all the same.

The handlers raise (SystemExit, KeyboardInterrupt) at the next bytecode; one that ran between the file's creation and
the `with` or `try` removing it left the file behind (`stoplist import -` stopped by SIGTERM kept its spooled input,
once in CI). Here the signal arrives at that very moment, every time."""

import io
import signal
import sys
import tempfile
from pathlib import Path

import pytest

from stoplist import interrupts
from stoplist.cli import _sigterm_as_exit
from stoplist.exports import operations as exports
from stoplist.imports import operations as imports


@pytest.fixture
def temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def signalled_once_made(monkeypatch: pytest.MonkeyPatch, name: str, signum: int) -> list[object]:
    """Make `tempfile.<name>` raise `signum` as soon as the file is made, and keep what it made from being
    finalised (a process ending on the signal does not always finalise it)."""
    made: list[object] = []
    real = getattr(tempfile, name)

    def made_then_signalled(*args, **kwargs):
        made.append(real(*args, **kwargs))
        signal.raise_signal(signum)
        return made[-1]

    monkeypatch.setattr(tempfile, name, made_then_signalled)
    return made


@pytest.mark.parametrize("signum, stopped_by", [(signal.SIGTERM, SystemExit), (signal.SIGINT, KeyboardInterrupt)])
def test_an_import_of_standard_input_signalled_as_its_spool_is_made_leaves_no_spool(temporary, monkeypatch, signum, stopped_by):
    made = signalled_once_made(monkeypatch, "NamedTemporaryFile", signum)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"phone_number\n+48503000001\n")))

    with _sigterm_as_exit(), pytest.raises(stopped_by):
        with imports._readable_twice(imports.STDIN):
            pytest.fail("the signal stops the command before the import starts")

    assert made and list(temporary.iterdir()) == []


@pytest.mark.parametrize("signum, stopped_by", [(signal.SIGTERM, SystemExit), (signal.SIGINT, KeyboardInterrupt)])
def test_an_export_signalled_as_its_partial_file_is_made_leaves_no_partial_file(tmp_path, monkeypatch, signum, stopped_by):
    made = signalled_once_made(monkeypatch, "mkstemp", signum)

    with _sigterm_as_exit(), pytest.raises(stopped_by):
        with exports._written(tmp_path / "backup.csv"):
            pytest.fail("the signal stops the command before the export starts")

    assert made and list(tmp_path.iterdir()) == []


def test_a_signal_held_is_handled_once_the_block_ends_and_the_handlers_are_as_they_were():
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts.held():
            signal.raise_signal(signal.SIGINT)
            steps.append("the block goes on")
    assert steps == ["the block goes on"]
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before

    with interrupts.held():
        steps.append("no signal")
    assert steps[-1] == "no signal"
