"""Ctrl-C and SIGTERM held back while a command makes a temporary file and hands it to the code that removes it."""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

HELD = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def held() -> Iterator[None]:
    """Run the block with SIGINT and SIGTERM noted instead of handled, then handle the first one noted.

    A signal whose handler raises (KeyboardInterrupt, the commands' SIGTERM as an exit) between a temporary file's
    creation and the `with` or `try` that removes it left the file behind: `stoplist import -` stopped by SIGTERM
    kept its spooled input. Made inside this block, the file is handed over before the handler runs. Signals are
    handled by the main thread alone: elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    before = {signum: signal.signal(signum, lambda signum, _frame: noted.append(signum)) for signum in HELD}
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
        if noted:
            signal.raise_signal(noted[0])  # to the handler in place again: it raises here, inside the caller's cleanup
