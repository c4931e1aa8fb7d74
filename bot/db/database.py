"""`Database`: one backend, its health, and the stores that share them.

Every store method is one `run` (strict: DatabaseUnavailable when the database
cannot serve it) or one `soft` (a fallback while it is down). `run` wraps the
drivers' connection errors, so nothing above this file knows sqlite3 or psycopg.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Callable, TypeVar

from bot.db import migrations
from bot.db.backend import Health, connect, redact
from bot.db.chats import Chats
from bot.db.counters import Counters
from bot.db.journal import Journal
from bot.db.limits import Limits
from bot.db.seen import Seen
from bot.db.tokens import Tokens
from bot.errors import DatabaseMisconfigured, DatabaseUnavailable

T = TypeVar("T")


class Database:
    """Shared state of this process; safe to use from many threads."""

    def __init__(self, backend, clock: Callable[[], float] = time.time):
        self.backend = backend
        self.dialect = backend.dialect
        self.label = backend.label
        self.clock = clock  # wall-clock seconds: compared across processes and machines
        self.health = Health(backend.label)
        self.journal = Journal(self)
        self.seen = Seen(self)
        self.limits = Limits(self)
        self.chats = Chats(self)
        self.counters = Counters(self)
        self.tokens = Tokens(self)

    def utc_text(self, seconds: float | None = None) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.clock() if seconds is None else seconds))

    def run(self, work: Callable[..., T], write: bool = True) -> T:
        """`work(cursor)` in one transaction, committed when it returns."""
        try:
            with self.backend.transaction(write) as cur:
                result = work(cur)
        except DatabaseUnavailable as exc:
            self.health.failed(exc)
            raise
        except self.backend.errors as exc:
            self.health.failed(exc)
            reason = redact(f"{type(exc).__name__}: {exc}".strip(), getattr(self.backend, "url", ""))
            raise DatabaseUnavailable(f"Cơ sở dữ liệu ({self.label}) không phản hồi: {reason}") from exc
        self.health.succeeded()
        return result

    def soft(self, work: Callable[..., T], fallback: Callable[[], T], write: bool = True) -> T:
        """`work`, or `fallback()` while the database is down (the outage is logged once, by Health)."""
        if not self.health.worth_trying():
            return fallback()
        try:
            return self.run(work, write)
        except DatabaseUnavailable:
            return fallback()

    def check(self) -> None:
        """One round trip; DatabaseUnavailable if it fails."""
        self.run(lambda cur: cur.execute("SELECT 1").fetchone(), write=False)

    def close(self) -> None:
        self.backend.close()


def connect_database(url: str | None, sqlite_path, clock: Callable[[], float] = time.time) -> Database:
    """Connect and migrate; DatabaseMisconfigured or DatabaseUnavailable (Vietnamese) if it cannot."""
    backend = connect(url, sqlite_path)
    db = Database(backend, clock)
    try:
        migrations.migrate(db)
    except sqlite3.DatabaseError as exc:  # not a database file, read-only, ...
        db.close()
        raise DatabaseMisconfigured(f"Tệp {backend.label} không dùng được làm cơ sở dữ liệu: {exc}") from exc
    except DatabaseUnavailable:
        db.close()
        raise
    return db
