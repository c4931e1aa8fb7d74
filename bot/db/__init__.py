"""Shared state of every bot process, behind one small interface, in SQLite or PostgreSQL.

    backend.py     the two connections (SQLite file, PostgreSQL pool) and their dialects
    migrations.py  one ordered list of named migrations, portable SQL for both
    journal.py     questions, answers given or refused, feedback, /unanswered, /stats
    seen.py        de-duplication of incoming message ids (INSERT ... ON CONFLICT DO NOTHING)
    limits.py      per-user rate limits, atomic in the database
    chats.py       per-chat state (last answer, follow-up context) with a time to live
    counters.py    channel counters per period (e.g. Zalo messages this month)
    tokens.py      named OAuth token pairs, refreshed under a database lock

Which database: `DATABASE_URL=postgresql://user:pass@host:5432/db` moves everything
to PostgreSQL (psycopg 3, imported only then); unset (or `sqlite:///path`), the
embedded SQLite file `JOURNAL_PATH` (default `<index_dir>/journal.sqlite`) serves
one process. Correctness across processes comes from the database: primary keys,
`ON CONFLICT`, row locks, never from sets in memory.

Usage (one `Database` per process, shared by its threads)::

    from bot.db import open_database
    db = open_database(settings)     # connects and migrates; DatabaseError if it cannot
    db.journal.log(...); db.seen.first_time("zalo-oa", msg_id); db.limits.hit(key, 10, 60)
    db.close()

In the bot, the `Runtime` owns the one Database of the process: `runtime.database`.

    db.seen.first_time(channel, message_id) -> bool      True exactly once across all workers
    db.limits.hit(key, count, seconds) -> Verdict        allowed / notify (once per window) / wait
    db.chats.put(channel, user, chat, dict); db.chats.get(channel, user, chat, ttl) -> dict | None
    db.counters.add(name, period, by=1) -> int; .get(name, period) -> int; .flag_once(name, period) -> bool
    db.journal.log / feedback / get / last / stats / unanswered(limit) -> [Unanswered(text, count, last_asked)]

Failure policy (answers matter more than logs). Opening is strict: a misconfigured
or unreachable database stops the CLI with exit code 1 and a Vietnamese message.
Once running, an outage degrades instead of failing a question:
  - journal writes (`log`, `feedback`) are dropped with one log line; `log` returns None;
  - journal reads (`unanswered`, `stats`, `get`, `last`) raise DatabaseUnavailable
    (the admin asked for data we cannot show);
  - `seen.first_time` falls back to this process' recent ids (a redelivery to the same
    process is still caught; across processes it may be answered twice meanwhile);
  - `limits.hit` falls back to a per-process window; `chats.get` returns None,
    `chats.put` is dropped; `counters.add` counts in memory;
  - tokens are strict: a rotated refresh token that cannot be persisted must not be used.
After a failure the database is not tried again for a few seconds (no connect timeout
per request); the next try that succeeds logs that it is back.

Token pairs (for the Zalo OA channel; names are free, e.g. "zalo-oa")::

    TokenPair(access_token: str, refresh_token: str, expires_at: float)  # epoch seconds, UTC

    db.tokens.seed(name, pair) -> TokenPair
        Store the initial pair (from the environment) unless one is stored already;
        returns the stored pair. A stored pair always wins: the env's refresh token is
        dead as soon as any worker has rotated it.
    db.tokens.get(name) -> TokenPair | None
        The current pair (the last one read is kept in memory and returned while the
        database is down).
    db.tokens.rotate(name, refresh, *, stale=None, ahead=3600.0) -> TokenPair
        Under the database lock (PostgreSQL: SELECT ... FOR UPDATE on the row; SQLite:
        BEGIN IMMEDIATE), re-read the stored pair, then
          - stale given (the access token the API just refused): if the stored access
            token differs, another worker already rotated: return the stored pair;
          - stale None (refresh ahead of expiry): if the stored pair expires after
            now + ahead: return it;
          - otherwise call `refresh(stored) -> TokenPair` (the HTTP call, inside the lock),
            write the new pair and commit BEFORE returning it, so a crash after the
            platform rotated never loses the new refresh token.
        If `refresh` raises, the failure text and time are recorded (see `status`), the
        stored pair is kept and the exception propagates. DatabaseUnavailable if the
        lock cannot be taken.
    db.tokens.status(name) -> TokenStatus | None
        expires_at, refreshed_at, failure (last refresh error text or None), failed_at:
        for /stats and doctor. Token values are never part of it, nor of any log line.
"""

from __future__ import annotations

from pathlib import Path

from bot.db.database import Database, connect_database
from bot.db.journal import Logged, Unanswered, normalize
from bot.db.limits import Verdict
from bot.db.tokens import TokenPair, TokenStatus

__all__ = ["Database", "Logged", "TokenPair", "TokenStatus", "Unanswered", "Verdict", "normalize",
           "open_database", "sqlite_path", "url_of"]


def url_of(settings) -> str | None:
    return settings.database_url.get_secret_value() if settings.database_url else None


def sqlite_path(settings) -> Path:
    return Path(settings.journal_path) if settings.journal_path else Path(settings.index_dir) / "journal.sqlite"


def open_database(settings) -> Database:
    """The configured database, connected and migrated (DatabaseError, in Vietnamese, if it cannot be)."""
    return connect_database(url_of(settings), sqlite_path(settings))
