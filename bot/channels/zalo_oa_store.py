"""Where the Official Account channel keeps what must outlive the process: its token pair and the ids it answered.

Both live in the journal database, so a restart or a second worker sees them.
The channel only needs the two small protocols below; `SqliteState` implements
them on the journal's SQLite file until the shared `bot/db/` layer (SQLite or
PostgreSQL) provides the same calls.

The refresh token is single-use: two workers refreshing at once would each
kill the other's token. `lock()` is therefore a database lock, not a thread
lock. In SQLite it is a lease row rather than a held write transaction: the
refresh is an HTTP call, and holding SQLite's write lock through it would make
the journal's own writes wait. A lease also frees itself if its holder dies.
Every write commits at once, so a new pair is on disk before it is used.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import ContextManager, Protocol

BUSY_SECONDS = 5.0  # SQLite's own wait on a busy file
LEASE_SECONDS = 60.0  # longer than a refresh with its retries; a dead holder's lease runs out
WAIT_SECONDS = 90.0  # how long a worker waits for another's refresh before giving up
POLL_SECONDS = 0.05
SEEN_DAYS = 7  # Zalo redelivers within minutes; a week of ids is ample and keeps the table small


@dataclass(frozen=True)
class TokenPair:
    """An access token and the single-use refresh token issued with it.

    `expires_at` is a Unix time, or None when unknown (a pair pasted from the
    developer console). `seed` fingerprints the pair given in the settings, so a
    new pair typed there replaces a stored one (see zalo_oa_tokens).
    """

    access_token: str
    refresh_token: str
    expires_at: float | None = None
    seed: str = ""

    def __repr__(self) -> str:  # never print the tokens, even by accident
        return f"TokenPair(expires_at={self.expires_at!r}, seed={self.seed[:8]!r})"


class PairStore(Protocol):
    def load_pair(self) -> TokenPair | None: ...

    def save_pair(self, pair: TokenPair) -> None: ...

    def lock(self) -> ContextManager[None]: ...

    def note_failure(self, why: str) -> None:
        """Remember a failed refresh (cleared by the next save_pair), for doctor and /stats elsewhere."""
        ...

    def failure(self) -> str | None: ...


class SeenStore(Protocol):
    def seen(self, msg_id: str) -> bool:
        """True when `msg_id` was recorded before; records it either way (atomically)."""
        ...


SCHEMA = """
    CREATE TABLE IF NOT EXISTS zalo_oa_tokens (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        access_token TEXT NOT NULL,
        refresh_token TEXT NOT NULL,
        expires_at REAL,
        seed TEXT NOT NULL,
        saved_at REAL NOT NULL,
        failure TEXT
    );
    CREATE TABLE IF NOT EXISTS zalo_oa_lock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        holder TEXT,
        until REAL NOT NULL
    );
    INSERT OR IGNORE INTO zalo_oa_lock (id, holder, until) VALUES (1, NULL, 0);
    CREATE TABLE IF NOT EXISTS zalo_oa_seen (
        msg_id TEXT PRIMARY KEY,
        seen_at REAL NOT NULL
    );
"""


class SqliteState:
    """Both protocols on one SQLite file (the journal's), shared by threads and processes."""

    def __init__(self, path: Path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: autocommit, every write is durable when the call returns.
        self._db = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(SCHEMA)
        self._use = threading.Lock()  # one connection: one thread at a time on it
        self._lease = threading.Lock()  # this process's threads queue here, not by polling
        self._db.execute("DELETE FROM zalo_oa_seen WHERE seen_at < ?", (time.time() - SEEN_DAYS * 86400,))

    def load_pair(self) -> TokenPair | None:
        with self._use:
            row = self._db.execute("SELECT access_token, refresh_token, expires_at, seed "
                                   "FROM zalo_oa_tokens WHERE id = 1").fetchone()
        return TokenPair(*row) if row else None

    def save_pair(self, pair: TokenPair) -> None:
        with self._use:
            self._db.execute(
                "INSERT INTO zalo_oa_tokens (id, access_token, refresh_token, expires_at, seed, saved_at) "
                "VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET access_token = excluded.access_token, "
                "refresh_token = excluded.refresh_token, expires_at = excluded.expires_at, "
                "seed = excluded.seed, saved_at = excluded.saved_at, failure = NULL",
                (pair.access_token, pair.refresh_token, pair.expires_at, pair.seed, time.time()))

    def note_failure(self, why: str) -> None:
        with self._use:
            self._db.execute("UPDATE zalo_oa_tokens SET failure = ? WHERE id = 1", (why,))

    def failure(self) -> str | None:
        with self._use:
            row = self._db.execute("SELECT failure FROM zalo_oa_tokens WHERE id = 1").fetchone()
        return row[0] if row else None

    @contextlib.contextmanager
    def lock(self):
        """Exclusive across threads and processes, for at most LEASE_SECONDS."""
        holder = uuid.uuid4().hex
        with self._lease:
            deadline = time.monotonic() + WAIT_SECONDS
            while not self._take(holder):
                if time.monotonic() > deadline:
                    raise TimeoutError("another worker holds the Zalo OA token lock")
                time.sleep(POLL_SECONDS)
            try:
                yield
            finally:
                with self._use:
                    self._db.execute("UPDATE zalo_oa_lock SET holder = NULL, until = 0 WHERE holder = ?",
                                     (holder,))

    def _take(self, holder: str) -> bool:
        now = time.time()
        with self._use:
            cur = self._db.execute("UPDATE zalo_oa_lock SET holder = ?, until = ? WHERE id = 1 AND until < ?",
                                   (holder, now + LEASE_SECONDS, now))
        return cur.rowcount == 1

    def seen(self, msg_id: str) -> bool:
        with self._use:
            cur = self._db.execute("INSERT OR IGNORE INTO zalo_oa_seen (msg_id, seen_at) VALUES (?, ?)",
                                   (msg_id, time.time()))
        return cur.rowcount == 0

    def close(self) -> None:
        with self._use:
            self._db.close()
