"""Running a threaded channel: until SIGINT/SIGTERM in the foreground, or in a thread beside others.

A channel here is any object with `serve(stop)` and `close()` built from
(runtime, settings). The Zalo OA channel runs through these two functions;
the Zalo Bot Platform adapter (zalo.py) has the same two functions written
out and can switch to these without a change of behaviour.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Callable, Protocol

log = logging.getLogger(__name__)


class Channel(Protocol):
    def serve(self, stop: threading.Event) -> None: ...

    def close(self) -> None: ...


def run(make: Callable[[], Channel], stop: threading.Event | None = None) -> None:
    """Build the channel (bad settings refused before any signal handler is touched), serve until
    SIGINT or SIGTERM, or until `stop` is set when one is given, then close it."""
    previous = {}
    channel = make()
    if stop is None:
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        channel.serve(stop)
    finally:
        channel.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def in_background(make: Callable[[], Channel], name: str) -> Callable[[], None]:
    """Serve in a thread (beside another channel); returns the function that stops it."""
    stop = threading.Event()

    def main() -> None:
        try:
            run(make, stop)
        except Exception:
            log.exception("the channel %s stopped", name)
    thread = threading.Thread(target=main, name=f"cadrebot-{name}", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(10)
    return halt
