"""/metrics summed over the workers of `stoplist serve --workers N`, in prometheus-client's multiprocess mode.

What each process counts itself (requests, audit events) is kept in its memory as with one
process (the request path is unchanged), and published to files of its own in a directory the
supervisor makes and removes (PROMETHEUS_MULTIPROC_DIR): every PUBLISH_SECONDS by a thread, and
at once by a scrape for the process that answers it. A scrape sums every process's files with
prometheus-client's MultiProcessCollector, so its counts are those of the whole server, the other
workers' at most PUBLISH_SECONDS old. A dead worker's files stay, so that the sums never go back.
"""

import atexit
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.metrics_core import Metric

DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
PUBLISH_SECONDS = 1.0
# The kinds of metric a process counts; each goes to a file named `<kind>_<pid>_<token>.db`, the name
# MultiProcessCollector reads the kind from (counters are summed, histograms bucket by bucket).
KINDS = ("counter", "histogram")


def shared_directory() -> Path | None:
    """The directory this process publishes its counts to, if it is one of several workers."""
    directory = os.environ.get(DIRECTORY_VARIABLE)
    return Path(directory) if directory else None


@contextmanager
def shared_metrics_directory() -> Iterator[Path]:
    """A fresh directory for the workers started inside, named in their environment; removed afterwards."""
    previous = os.environ.get(DIRECTORY_VARIABLE)
    directory = Path(tempfile.mkdtemp(prefix="stoplist-metrics-"))
    os.environ[DIRECTORY_VARIABLE] = str(directory)
    try:
        yield directory
    finally:
        if previous is None:
            os.environ.pop(DIRECTORY_VARIABLE, None)
        else:
            os.environ[DIRECTORY_VARIABLE] = previous
        shutil.rmtree(directory, ignore_errors=True)


class SharedCounts(Collector):
    """Collects the sum, over every process publishing to `directory`, of what `collectors` count in each."""

    def __init__(self, directory: Path, collectors: Iterable[Collector], *, pid: int | None = None, interval: float = PUBLISH_SECONDS) -> None:
        self.directory = directory
        self.collectors = tuple(collectors)
        self._pid = os.getpid() if pid is None else pid
        self._token = uuid.uuid4().hex[:12]
        self._files: dict[str, MmapedDict] = {}
        self._lock = threading.Lock()  # a scrape's thread and the publisher both write the files
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), name="stoplist-metrics-publisher", daemon=True)

    def start(self) -> "SharedCounts":
        self._thread.start()
        atexit.register(self.stop)  # what the last second counted, when the worker stops
        return self

    def stop(self) -> None:
        """Publish once more, then stop publishing."""
        atexit.unregister(self.stop)
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.publish()

    def collect(self) -> Iterable[Metric]:
        self.publish()
        # A worker's file exists a moment before it holds its first 8 bytes (its length): merge would fail on it.
        ready = [str(path) for path in self.directory.glob("*.db") if _size(path) >= 8]
        return MultiProcessCollector.merge(ready, accumulate=True)

    def publish(self) -> None:
        """Write what this process's collectors count now to its files."""
        with self._lock:
            for metric in (metric for collector in self.collectors for metric in collector.collect()):
                if metric.type not in KINDS:
                    raise TypeError(f"{metric.name}: only counters and histograms can be summed over processes, not {metric.type}")
                target = self._file(metric.type)
                for name, labels, value in _per_process_samples(metric):
                    target.write_value(mmap_key(metric.name, name, list(labels), list(labels.values()), metric.documentation), value, 0.0)

    def _file(self, kind: str) -> MmapedDict:
        if kind not in self._files:
            # The pid and a token of this process's own: a worker that gets a dead one's pid must not write over its counts.
            self._files[kind] = MmapedDict(str(self.directory / f"{kind}_{self._pid}_{self._token}.db"))
        return self._files[kind]

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.publish()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # the directory is being removed
        return 0


def _per_process_samples(metric: Metric) -> Iterator[tuple[str, dict[str, str], float]]:
    """A metric's samples as MultiProcessCollector reads them: a histogram's buckets each on its own
    (it adds them up again across processes) and without its `_count` (it counts the buckets)."""
    below: dict[tuple, float] = {}  # per series, the cumulative count of the bucket before
    for sample in metric.samples:
        if metric.type == "histogram" and sample.name.endswith("_count"):
            continue
        if metric.type == "histogram" and sample.name.endswith("_bucket"):
            series = tuple(sorted((key, value) for key, value in sample.labels.items() if key != "le"))
            yield sample.name, sample.labels, sample.value - below.get(series, 0.0)
            below[series] = sample.value
            continue
        yield sample.name, sample.labels, sample.value
