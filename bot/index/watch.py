"""Follow the published index version: reopen a new one without a restart and without a failed request.

Several workers serve one index folder on a shared volume; one admin worker
builds and publishes (`layout.publish` swaps CURRENT atomically). Each worker
holds a `Watcher`, and every request asks it for `current()`:

  - at most every `interval` seconds it reads CURRENT (one small file: cheap);
  - when CURRENT names another version, one background thread opens it while
    requests keep being served by the old one, then the reference is swapped;
  - the old version is released by reference counting when the last request
    that holds it returns, so no request ever sees a closed index;
  - a version that fails to open (damaged, deleted by a later publish) is
    logged and the old one kept; it is tried again when CURRENT changes or
    after RETRY_SECONDS.

Only the very first open blocks (there is nothing to serve before it), and
`refresh()` opens synchronously, for the process that has just built.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Callable, Generic, TypeVar

from bot.index import layout

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_SECONDS = 30.0


class Watcher(Generic[T]):
    """`current()`: what `open_version(folder)` returned for the newest published version."""

    def __init__(self, index_dir: Path, open_version: Callable[[Path], T], interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self.index_dir = Path(index_dir)
        self.open_version = open_version
        self.interval = interval
        self.clock = clock
        self._value: T | None = None
        self._version: Path | None = None  # the folder `_value` was opened from
        self._checked = float("-inf")
        self._failed: tuple[Path, float] | None = None
        self._opening = False
        self._lock = threading.Lock()

    @property
    def version(self) -> Path | None:
        return self._version

    def current(self) -> T:
        """The open version; starts opening a newer one in the background when CURRENT changed."""
        value = self._value
        if value is None:
            return self.refresh()
        now = self.clock()
        if now - self._checked >= self.interval:
            self._checked = now
            newest = layout.current_version(self.index_dir)
            if newest is not None and newest != self._version and self._worth_trying(newest, now):
                self._start_opening(newest)
        return value

    def refresh(self) -> T:
        """Open the newest version now (first use, or right after this process published one)."""
        self._checked = self.clock()
        folder = layout.require_version(self.index_dir)
        with self._lock:
            if self._value is not None and folder == self._version:
                return self._value
        value = self.open_version(folder)
        self._swap(folder, value)
        return value

    def _worth_trying(self, folder: Path, now: float) -> bool:
        failed = self._failed
        return failed is None or failed[0] != folder or now - failed[1] >= RETRY_SECONDS

    def _start_opening(self, folder: Path) -> None:
        with self._lock:
            if self._opening:
                return
            self._opening = True
        threading.Thread(target=self._open_in_background, args=(folder,), daemon=True,
                         name="cadrebot-index-watch").start()

    def _open_in_background(self, folder: Path) -> None:
        try:
            value = self.open_version(folder)
        except Exception as exc:  # keep serving the old version; the log says why
            log.error("index version %s not opened, still serving %s: %s", folder.name,
                      self._version.name if self._version else "nothing", exc)
            self._failed = (folder, self.clock())
        else:
            self._swap(folder, value)
        finally:
            with self._lock:
                self._opening = False

    def _swap(self, folder: Path, value: T) -> None:
        with self._lock:
            if self._version is not None and self._version.name > folder.name:
                return  # a slower open of an older version must not replace a newer one
            old, self._value, self._version = self._version, value, folder
            self._failed = None
        if old is not None and old != folder:
            log.info("index switched from %s to %s", old.name, folder.name)
