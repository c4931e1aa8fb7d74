"""Helpers for adapters that run in threads (Zalo): one chat at a time.

Answering each message once is the database's job, across every worker:
`runtime.database.seen.first_time(channel, message_id)` (bot/db/seen.py).
"""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict

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
