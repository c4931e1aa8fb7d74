"""Named OAuth token pairs whose refresh token is single-use (Zalo OA), shared by every worker.

The refresh happens inside a database transaction that holds the row
(PostgreSQL `SELECT ... FOR UPDATE`; SQLite `BEGIN IMMEDIATE`, the whole file),
so workers queue: the first rotates, the others then find the new pair and
use it instead of spending a dead refresh token. The new pair is committed
before anyone uses it, so a crash after the platform rotated loses nothing.
The HTTP call runs inside the lock; keep its timeout short (on SQLite, other
writers wait for it, up to the backend's busy timeout).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: float  # epoch seconds

    def __repr__(self) -> str:  # never print a token, even in a traceback's locals
        return f"TokenPair(expires_at={self.expires_at:.0f})"


@dataclass(frozen=True)
class TokenStatus:
    expires_at: float
    refreshed_at: float | None
    failure: str | None  # the last refresh error, cleared by a successful refresh
    failed_at: float | None


_PAIR = "SELECT access_token, refresh_token, expires_at FROM tokens WHERE name = ?"


class Tokens:
    def __init__(self, db):
        self.db = db
        self._cache: dict[str, TokenPair] = {}

    def _remember(self, name: str, row) -> TokenPair | None:
        if row is None:
            return None
        pair = self._cache[name] = TokenPair(row[0], row[1], float(row[2]))
        return pair

    def seed(self, name: str, pair: TokenPair) -> TokenPair:
        """Store the initial pair unless one is stored; the stored pair (a rotated one wins)."""
        def work(cur):
            cur.execute("INSERT INTO tokens (name, access_token, refresh_token, expires_at) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (name) DO NOTHING",
                        (name, pair.access_token, pair.refresh_token, pair.expires_at))
            return cur.execute(_PAIR, (name,)).fetchone()
        return self._remember(name, self.db.run(work))

    def get(self, name: str) -> TokenPair | None:
        """The stored pair; the last one read while the database is down."""
        return self.db.soft(lambda cur: self._remember(name, cur.execute(_PAIR, (name,)).fetchone()),
                            lambda: self._cache.get(name), write=False)

    def rotate(self, name: str, refresh: Callable[[TokenPair], TokenPair], *, stale: str | None = None,
               ahead: float = 3600.0) -> TokenPair:
        """Refresh under the lock unless another worker already did (see bot/db/__init__.py)."""
        failure: list[Exception] = []

        def work(cur) -> TokenPair:
            row = cur.execute(_PAIR + self.db.dialect.for_update, (name,)).fetchone()
            if row is None:
                raise LookupError(f"no token pair named {name!r}: seed it first")
            stored = TokenPair(row[0], row[1], float(row[2]))
            now = self.db.clock()
            if stale is not None and stored.access_token != stale:
                return stored  # rotated by another worker since the caller read it
            if stale is None and stored.expires_at > now + ahead:
                return stored
            try:
                new = refresh(stored)
            except Exception as exc:
                failure.append(exc)
                cur.execute("UPDATE tokens SET failure = ?, failed_at = ? WHERE name = ?",
                            (f"{type(exc).__name__}: {exc}"[:500], now, name))
                return stored
            cur.execute("UPDATE tokens SET access_token = ?, refresh_token = ?, expires_at = ?, "
                        "refreshed_at = ?, failure = NULL, failed_at = NULL WHERE name = ?",
                        (new.access_token, new.refresh_token, new.expires_at, now, name))
            return new
        # The failure is committed (for /stats and doctor) before the caller's exception is re-raised.
        pair = self.db.run(work)
        self._cache[name] = pair
        if failure:
            log.error("token %s: refresh failed, keeping the stored pair: %s", name, type(failure[0]).__name__)
            raise failure[0]
        return pair

    def status(self, name: str) -> TokenStatus | None:
        row = self.db.run(lambda cur: cur.execute(
            "SELECT expires_at, refreshed_at, failure, failed_at FROM tokens WHERE name = ?",
            (name,)).fetchone(), write=False)
        return TokenStatus(float(row[0]), row[1], row[2], row[3]) if row else None

