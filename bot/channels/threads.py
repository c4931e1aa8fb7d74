"""Helpers for adapters that run in threads (Zalo bot, Zalo OA): one chat at a time, jobs
that never fail unseen, and an apology instead of a lost answer.

Each helper logs through the adapter's own logger: the adapter redacts its secrets there.

Answering each message once is the database's job, across every worker:
`runtime.database.seen.first_time(channel, message_id)` (bot/db/seen.py).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from bot.channels.message import APOLOGY, Reply


class Workers:
    """A thread pool whose jobs log what they raise, and that drops work once shutting down."""

    def __init__(self, size: int, name: str, log: logging.Logger):
        self.pool = ThreadPoolExecutor(size, thread_name_prefix=name)
        self.log = log

    def submit(self, job: Callable, *args) -> None:
        try:
            self.pool.submit(self._run, job, args)
        except RuntimeError:  # shutting down
            self.log.debug("%s dropped during shutdown", job.__name__)

    def _run(self, job: Callable, args: tuple) -> None:
        try:
            job(*args)
        except Exception:
            self.log.exception("%s failed", job.__name__)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def replies_or_apology(make: Callable[[], list[Reply]], log: logging.Logger, what: str) -> list[Reply]:
    """The replies `make` returns, or an apology when it fails (logged): a user is never left unanswered."""
    try:
        return make()
    except Exception:
        log.exception("%s failed", what)
        return [Reply(APOLOGY)]


def run_admin_job(reply: Reply, chat_id: str, chats: "ChatLocks", deliver: Callable, log: logging.Logger) -> None:
    """An admin job (a build, a removal) in the background, its outcome delivered in the chat's turn.
    These platforms cannot edit a sent message, so progress goes to the debug log."""
    outcome = replies_or_apology(lambda: reply.work(lambda text: log.debug("progress: %s", text)), log, "admin job")
    with chats.hold(chat_id):
        deliver(chat_id, outcome)


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
