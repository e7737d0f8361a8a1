"""The Python sources have no undefined names and no unused imports (pyflakes, no configuration)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("src", "tests", "bench", "migrations")


def test_pyflakes_finds_nothing_in_the_sources():
    done = subprocess.run(
        [sys.executable, "-m", "pyflakes", *CHECKED], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert "No module named pyflakes" not in done.stderr, "install the test extras: .venv/bin/pip install -e '.[test]' (or `make bootstrap`)"
    assert done.returncode == 0, done.stdout + done.stderr
