"""What the trail has written in this process, for /metrics: events by op and source, and how long
after it was received (`received_at`) each opt-out was written, the regulator's "honoured within"."""

import threading
from bisect import bisect_left
from collections import Counter
from datetime import datetime

# From seconds (a pipeline forwarding STOP replies) to weeks (a batch of paper forms).
HONOURED_BUCKETS = (1.0, 10.0, 60.0, 600.0, 3600.0, 6 * 3600.0, 86400.0, 3 * 86400.0, 7 * 86400.0, 14 * 86400.0, 30 * 86400.0)


class AuditCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: dict[tuple[str, str], int] = {}
        self.honoured = [0] * (len(HONOURED_BUCKETS) + 1)  # per bucket; the last is +Inf
        self.honoured_sum = 0.0

    def committed(self, ops: list[str], source: str, received_at: datetime | None, now: datetime) -> None:
        """Count committed events by op (an import's summary among them); entry events that carry a received_at feed the histogram."""
        by_op = Counter(ops)  # counted in C: an import commits 10,000 events at a time
        changes = len(ops) - by_op.get("import", 0)  # an import's summary is no opt-out of its own
        with self._lock:
            for op, count in by_op.items():
                key = (op, source)
                self.events[key] = self.events.get(key, 0) + count
            if received_at is not None and changes:
                # One write, one moment: every event of it was honoured after the same time.
                seconds = max(0.0, (now - received_at).total_seconds())
                self.honoured[bisect_left(HONOURED_BUCKETS, seconds)] += changes
                self.honoured_sum += seconds * changes

    def snapshot(self) -> tuple[dict[tuple[str, str], int], list[int], float]:
        with self._lock:
            return dict(self.events), list(self.honoured), self.honoured_sum


COUNTERS = AuditCounters()
