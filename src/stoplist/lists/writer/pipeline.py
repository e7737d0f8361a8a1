"""Calls run in order on a thread of their own: a bulk write's statements, while the writer makes the next."""

import queue
import threading
from collections.abc import Callable


class Pipeline:
    """Calls run in order on a thread of their own (a bulk write's statements, while the caller
    makes the next), at most `depth` waiting: what is made ahead stays bounded. After a failure
    the rest are dropped; `close` waits for the thread and raises that failure."""

    def __init__(self, depth: int = 1) -> None:
        self._calls: queue.Queue = queue.Queue(maxsize=depth)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="stoplist-bulk-write", daemon=True)
        self._thread.start()

    def submit(self, call: Callable, *args) -> None:
        self._calls.put((call, args))

    def _run(self) -> None:
        while (item := self._calls.get()) is not None:
            if self._failure is None:
                call, args = item
                try:
                    call(*args)
                except BaseException as exc:  # handed to whoever closes
                    self._failure = exc

    def close(self, *, raising: bool = True) -> None:
        self._calls.put(None)
        self._thread.join()
        if raising and self._failure is not None:
            raise self._failure


def call(call: Callable, *args) -> None:
    call(*args)
