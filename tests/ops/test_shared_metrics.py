"""Counts summed over the workers of `stoplist serve --workers N` (stoplist.ops.shared), without a server."""

import os
import time
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from stoplist.ops.shared import DIRECTORY_VARIABLE, SharedCounts, shared_metrics_directory
from tests.ops.helpers import Scrape


class Counts:
    """A collector like HttpMetrics: a counter and a histogram it keeps itself."""

    def __init__(self) -> None:
        self.requests: dict[str, int] = {}
        self.buckets = [0, 0, 0]  # per bucket: <= 0.1, <= 1, +Inf
        self.seconds = 0.0

    def observe(self, status: str, seconds: float) -> None:
        self.requests[status] = self.requests.get(status, 0) + 1
        self.buckets[0 if seconds <= 0.1 else 1 if seconds <= 1 else 2] += 1
        self.seconds += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily("demo_requests", "Requests.", labels=["status"])
        for status, count in sorted(self.requests.items()):
            requests.add_metric([status], count)
        yield requests
        duration = HistogramMetricFamily("demo_seconds", "Durations.", labels=["route"])
        duration.add_metric(["/check"], list(zip(("0.1", "1.0", "+Inf"), accumulate(self.buckets))), self.seconds)
        yield duration


def scrape(collector: SharedCounts) -> Scrape:
    registry = CollectorRegistry()
    registry.register(collector)
    return Scrape(generate_latest(registry).decode())


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[tuple[Counts, SharedCounts]]]:
    """Two 'workers' (told apart by pid) publishing to one directory; neither runs its thread."""
    pairs = []
    for pid in (101, 102):
        counts = Counts()
        pairs.append((counts, SharedCounts(tmp_path, [counts], pid=pid)))
    yield pairs


def test_a_scrape_sums_the_counters_and_the_histograms_of_every_worker(workers):
    (first, first_shared), (second, second_shared) = workers
    first.observe("200", 0.05)
    first.observe("200", 0.5)
    second.observe("200", 0.05)
    second.observe("401", 3.0)
    second_shared.publish()

    scraped = scrape(first_shared)  # publishes its own counts first

    assert scraped.value("demo_requests_total", status="200") == 3
    assert scraped.value("demo_requests_total", status="401") == 1
    assert [scraped.value("demo_seconds_bucket", route="/check", le=le) for le in ("0.1", "1.0", "+Inf")] == [2, 3, 4]
    assert scraped.value("demo_seconds_count", route="/check") == 4
    assert scraped.value("demo_seconds_sum", route="/check") == pytest.approx(3.6)
    assert "# HELP demo_requests_total Requests." in scraped.text


def test_a_scrape_sees_its_own_worker_at_once_and_the_others_as_last_published(workers):
    (first, first_shared), (second, second_shared) = workers
    second.observe("200", 0.05)
    second_shared.publish()
    second.observe("200", 0.05)  # not published yet
    first.observe("200", 0.05)

    assert scrape(first_shared).value("demo_requests_total", status="200") == 2


def test_the_counts_of_a_worker_that_is_gone_stay_in_the_sums(workers, tmp_path: Path):
    (first, first_shared), (second, second_shared) = workers
    second.observe("200", 0.05)
    second_shared.publish()
    del second_shared  # its process died; its files stay, so the sums never go back

    replacement = Counts()
    replacement.observe("200", 0.05)

    assert scrape(SharedCounts(tmp_path, [replacement], pid=103)).value("demo_requests_total", status="200") == 2


def test_the_publisher_thread_publishes_within_its_interval_and_once_more_when_stopped(tmp_path: Path):
    counts = Counts()
    shared = SharedCounts(tmp_path, [counts], pid=201, interval=0.05).start()
    reader = SharedCounts(tmp_path, [], pid=202)
    try:
        counts.observe("200", 0.05)
        deadline = time.monotonic() + 5
        while scrape(reader).value("demo_requests_total", status="200") != 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        counts.observe("200", 0.05)
        shared.stop()

    assert scrape(reader).value("demo_requests_total", status="200") == 2


def test_only_counters_and_histograms_can_be_summed(tmp_path: Path):
    class Gauges:
        def collect(self):
            yield GaugeMetricFamily("demo_level", "A level.", value=1)

    with pytest.raises(TypeError, match="demo_level"):
        SharedCounts(tmp_path, [Gauges()], pid=301).publish()


def test_the_supervisor_names_a_fresh_directory_to_its_workers_and_removes_it_afterwards(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(DIRECTORY_VARIABLE, raising=False)

    with shared_metrics_directory() as directory:
        assert os.environ[DIRECTORY_VARIABLE] == str(directory)
        assert directory.is_dir() and not any(directory.iterdir())
        (directory / "counter_1.db").write_bytes(b"")

    assert DIRECTORY_VARIABLE not in os.environ
    assert not directory.exists()


def test_a_scrape_that_meets_a_file_another_worker_has_only_just_created_skips_it(tmp_path: Path):
    counts = Counts()
    counts.observe("200", 0.05)
    SharedCounts(tmp_path, [counts], pid=401).publish()
    (tmp_path / "counter_402.db").touch()  # created, not yet sized: what a starting worker leaves for a moment

    assert scrape(SharedCounts(tmp_path, [], pid=403)).value("demo_requests_total", status="200") == 1


def test_a_worker_that_gets_a_dead_workers_pid_adds_to_its_counts_instead_of_writing_over_them(tmp_path: Path):
    dead, replacement = Counts(), Counts()
    dead.observe("200", 0.05)
    dead.observe("200", 0.05)
    SharedCounts(tmp_path, [dead], pid=501).publish()
    replacement.observe("200", 0.05)
    SharedCounts(tmp_path, [replacement], pid=501).publish()

    assert scrape(SharedCounts(tmp_path, [], pid=502)).value("demo_requests_total", status="200") == 3
