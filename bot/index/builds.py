"""One build at a time for the whole process: the coordinator every channel and the CLI share.

The Runtime owns one `Builds`; Telegram, Zalo, the terminal and `cadrebot
index` all go through it, so two channels under `cadrebot run` can never race
on the documents folder. The builder's lock file still covers other
processes (a cron `cadrebot index` beside the bot).

A request that changes the folder (an upload, a removal) passes `change`: it
runs only once the lock is held, and returns a `settle(report)` callback that
is called with the build's report, or with None when the build failed. So a
removal parks the file, and deletes it for good only after a build without it
was published; if the build fails (or another process holds the lock), the
file is put back: the folder and the published index never disagree.
"""

from __future__ import annotations

import threading
from typing import Callable

from bot.errors import IndexBusy
from bot.index.builder import BuildReport

Progress = Callable[[str, int, int], None]  # (stage, done, total)
Settle = Callable[[BuildReport | None], None]
Change = Callable[[], Settle | None]

WAIT_FOR_TURN = 600.0  # seconds a queued request waits before giving up
BUSY = "Đang có một lượt lập chỉ mục chạy; anh/chị vui lòng đợi lượt đó xong rồi thử lại."
QUEUED = "⏳ Đang có một lượt lập chỉ mục chạy; yêu cầu của anh/chị sẽ chạy ngay sau lượt đó…"


class Builds:
    """The process's one build lock, and what happens around a build."""

    def __init__(self, build: Callable[[Progress | None, bool], BuildReport]):
        self._build = build  # (progress, rebuild) -> report
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def run(self, progress: Progress | None = None, *, rebuild: bool = False, wait: bool = False,
            change: Change | None = None, queued: Callable[[str], None] | None = None) -> BuildReport:
        """Apply `change` (if any), build, settle. Raises IndexBusy when the turn does not come.

        `wait=False` refuses at once when a build runs (a second /reindex has
        nothing to add); `wait=True` queues, telling `queued(text)` first.
        """
        if not self._lock.acquire(blocking=False):
            if not wait:
                raise IndexBusy(BUSY)
            if queued is not None:
                queued(QUEUED)
            if not self._lock.acquire(timeout=WAIT_FOR_TURN):
                raise IndexBusy(BUSY)
        try:
            settle = change() if change is not None else None
            try:
                report = self._build(progress, rebuild)
            except BaseException:
                if settle is not None:
                    settle(None)
                raise
            if settle is not None:
                settle(report)
            return report
        finally:
            self._lock.release()
