"""Per-user rate limits, decided atomically by the database.

A fixed window per key: at most `count` messages from `window_start` to
`window_start + seconds`. One upsert counts the message and starts a new
window when the old one is over, so two workers counting the same user at once
both see the right total (the row lock orders them). Chosen over a sliding log
because it is one row and one statement per message on both databases; the
price is that a user can send up to 2 × count across a window boundary, which
is still a flood stopped. The user is told once per window (`told` flips
from 0 to 1 in the same transaction, so only one worker tells), then further
messages are dropped silently: a flood never makes the bot flood back.
While the database is down, each process keeps the same windows in memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

REMEMBERED = 5000  # keys kept in memory for the outage fallback


@dataclass
class Verdict:
    allowed: bool
    notify: bool = False  # tell the user (once per window), then stay quiet
    wait: int = 0  # seconds until the window ends


def verdict(window_start: float, hits: int, first_refusal: bool, count: int, seconds: float,
            now: float) -> Verdict:
    if hits <= count:
        return Verdict(True)
    return Verdict(False, first_refusal, max(1, round(window_start + seconds - now)))


class Local:
    """The same windows in this process' memory."""

    def __init__(self):
        self._windows: dict[str, list] = {}  # key -> [window_start, hits, told]
        self._lock = threading.Lock()

    def hit(self, key: str, count: int, seconds: float, now: float) -> Verdict:
        with self._lock:
            if len(self._windows) > REMEMBERED:
                self._windows = {k: w for k, w in self._windows.items() if w[0] > now - seconds}
            w = self._windows.get(key)
            if w is None or w[0] <= now - seconds:
                w = self._windows[key] = [now, 0, False]
            w[1] += 1
            first_refusal = w[1] > count and not w[2]
            w[2] = w[2] or first_refusal
            return verdict(w[0], w[1], first_refusal, count, seconds, now)


class Limits:
    def __init__(self, db):
        self.db = db
        self.local = Local()

    def hit(self, key: str, count: int, seconds: float) -> Verdict:
        """Count one message for `key` (e.g. "zalo:12345") and say whether it may be answered."""
        now = self.db.clock()
        expired = now - seconds

        def work(cur) -> Verdict:
            start, hits, told = cur.execute(
                "INSERT INTO rate_limits (key, window_start, hits, told) VALUES (?, ?, 1, 0) "
                "ON CONFLICT (key) DO UPDATE SET "
                "window_start = CASE WHEN rate_limits.window_start <= ? THEN ? ELSE rate_limits.window_start END, "
                "told = CASE WHEN rate_limits.window_start <= ? THEN 0 ELSE rate_limits.told END, "
                "hits = CASE WHEN rate_limits.window_start <= ? THEN 1 ELSE rate_limits.hits + 1 END "
                "RETURNING window_start, hits, told",
                (key, now, expired, now, expired, expired)).fetchone()
            first_refusal = hits > count and not told
            if first_refusal:
                cur.execute("UPDATE rate_limits SET told = 1 WHERE key = ?", (key,))
            return verdict(start, hits, first_refusal, count, seconds, now)
        return self.db.soft(work, lambda: self.local.hit(key, count, seconds, now))

    def prune(self, older_than: float) -> None:
        """Drop windows that ended long ago (keeps the table as small as the active users)."""
        cutoff = self.db.clock() - older_than
        self.db.soft(lambda cur: cur.execute("DELETE FROM rate_limits WHERE window_start < ?", (cutoff,)),
                     lambda: None)
