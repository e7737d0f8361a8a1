"""A description of the machine and software a run measured on, for the doc."""

import os
import platform
import sqlite3
import time
from importlib import metadata
from pathlib import Path

import psutil

PACKAGES = ("fastapi", "uvicorn", "uvloop", "httptools", "sqlalchemy", "phonenumbers", "pydantic", "httpx", "psutil", "psycopg", "psycopg-pool")


def describe() -> dict[str, str]:
    """Label → value: CPU, cores, memory, OS, Python, SQLite and key package versions."""
    return {
        "CPU": _cpu_model(),
        "Cores": f"{os.cpu_count()} logical CPUs ({len(os.sched_getaffinity(0))} available to the run)",
        "Memory": _memory_total(),
        "OS": f"{_os_name()}, Linux kernel {platform.release()} ({platform.machine()})",
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "SQLite": f"{sqlite3.sqlite_version} (Python's sqlite3 module)",
        "Packages": ", ".join(f"{name} {_version(name)}" for name in PACKAGES),
    }


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine skews every timing."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"


class OtherCpuUse:
    """How much of the machine's CPU other processes used since this was made (this run's own tree excluded,
    and the CPU seconds the caller says the run spent in processes outside its tree: its PostgreSQL cluster's)."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._busy = _busy_cpu_seconds()
        self._own = _own_cpu_seconds()

    def describe(self, own_elsewhere: float = 0.0) -> str:
        elapsed = (time.monotonic() - self._started) * (os.cpu_count() or 1)
        others = (_busy_cpu_seconds() - self._busy) - (_own_cpu_seconds() - self._own) - own_elsewhere
        return f"{max(others, 0.0) / elapsed:.0%} of all CPUs (0% on a quiet machine)"


def _busy_cpu_seconds() -> float:
    times = psutil.cpu_times()
    return sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal"))


def _own_cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for (the servers it stopped, their workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _cpu_model() -> str:
    for line in _read_lines("/proc/cpuinfo"):
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return platform.processor() or "unknown"


def _memory_total() -> str:
    for line in _read_lines("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            kib = int(line.split()[1])
            return f"{kib / (1 << 20):.1f} GiB"
    return "unknown"


def _os_name() -> str:
    for line in _read_lines("/etc/os-release"):
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip().strip('"')
    return platform.system()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []
