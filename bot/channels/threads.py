"""Helpers for adapters that run in threads (Zalo): answer each message once, and one chat at a time."""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict, defaultdict

REMEMBERED = 4096  # message ids kept for de-duplication


class Seen:
    """The most recent message ids, to answer each message once (platforms may deliver twice)."""

    def __init__(self, size: int = REMEMBERED):
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        with self._lock:
            if key in self._ids:
                return False
            self._ids[key] = None
            if len(self._ids) > self.size:
                self._ids.popitem(last=False)
            return True


class ChatLocks:
    """One lock per chat, dropped when idle: a chat's updates are answered one at a time."""

    def __init__(self):
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._users: dict[str, int] = defaultdict(int)
        self._guard = threading.Lock()

    @contextlib.contextmanager
    def hold(self, chat_id: str):
        with self._guard:
            self._users[chat_id] += 1
            lock = self._locks[chat_id]
        try:
            with lock:
                yield
        finally:
            with self._guard:
                self._users[chat_id] -= 1
                if not self._users[chat_id]:
                    del self._users[chat_id], self._locks[chat_id]
