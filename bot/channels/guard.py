"""Who may talk to the bot, and how often: decided before any work is done.

Ids are whatever the channel uses (Telegram: numbers, Zalo: strings); each
channel hands over its own lists from the settings.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Hashable


@dataclass
class Access:
    """Admins, and optional allowlists of users and chats (empty lists: everyone may ask)."""

    admins: set = field(default_factory=set)
    users: set = field(default_factory=set)
    chats: set = field(default_factory=set)

    def is_admin(self, user_id: Hashable) -> bool:
        return user_id in self.admins

    def allowed(self, user_id: Hashable, chat_id: Hashable) -> bool:
        """A listed user anywhere, or anyone inside a listed chat; admins always."""
        if not self.users and not self.chats:
            return True
        return user_id in self.admins or user_id in self.users or chat_id in self.chats


@dataclass
class Verdict:
    allowed: bool
    notify: bool = False  # tell the user once per window, then stay quiet
    wait: int = 0  # seconds until the oldest message leaves the window


class RateLimiter:
    """At most `count` messages per user in any `seconds`-long window (a sliding window).

    A user over the limit is told once, with how long to wait; further messages
    in the same window are dropped silently, so a flood never makes the bot
    flood back.
    """

    MAX_TRACKED = 5000  # users remembered before idle ones are dropped

    def __init__(self, count: int, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.count = count
        self.seconds = seconds
        self.clock = clock
        self._seen: dict[Hashable, deque[float]] = {}
        self._told: dict[Hashable, float] = {}
        self._lock = threading.Lock()

    def check(self, user_id: Hashable) -> Verdict:
        if len(self._seen) > self.MAX_TRACKED:
            self.forget_idle()
        now = self.clock()
        with self._lock:
            times = self._seen.setdefault(user_id, deque())
            while times and times[0] <= now - self.seconds:
                times.popleft()
            if len(times) < self.count:
                times.append(now)
                self._told.pop(user_id, None)
                return Verdict(True)
            wait = max(1, round(times[0] + self.seconds - now))
            told = self._told.get(user_id)
            if told is not None and told > now - self.seconds:
                return Verdict(False, False, wait)
            self._told[user_id] = now
            return Verdict(False, True, wait)

    def forget_idle(self) -> None:
        """Drop users with no message in the window (keeps memory flat on busy bots)."""
        cutoff = self.clock() - self.seconds
        with self._lock:
            for user in [u for u, t in self._seen.items() if not t or t[-1] <= cutoff]:
                self._seen.pop(user, None)
                self._told.pop(user, None)
