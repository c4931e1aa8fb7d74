"""The question log and feedback, in SQLite: what officials ask, what was answered, what helped.

It also counts the messages each channel sent per month (platform quotas,
see `count_sent`): one small block, to move into bot/db with the rest.

It lives beside the index versions (`<index_dir>/journal.sqlite` by default),
not inside one, so re-indexing never touches it. The schema changes only
through the named MIGRATIONS below, applied in order and recorded in
`_migrations` (as in `bot/index/store.py`). Every query is parameterised.
User and chat ids are stored as text: Telegram's are numbers, Zalo's strings.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from bot.index import store
from bot.text import fold, strip_diacritics

MIGRATIONS: list[tuple[str, str]] = [
    ("001_questions", """
        CREATE TABLE questions (
            id INTEGER PRIMARY KEY,
            asked_at TEXT NOT NULL,
            channel TEXT NOT NULL,            -- telegram, zalo, ...
            user_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            text TEXT NOT NULL,
            normalized TEXT NOT NULL,         -- folded, without diacritics: groups retypings
            found INTEGER NOT NULL,
            source TEXT, article TEXT,        -- where the first quote stands
            citation TEXT,
            seconds REAL
        );
        CREATE INDEX questions_asker ON questions(channel, user_id, chat_id, id);
        CREATE INDEX questions_found ON questions(found, normalized);
    """),
    ("002_feedback", """
        CREATE TABLE feedback (
            question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            value INTEGER NOT NULL CHECK (value IN (-1, 1)),
            given_at TEXT NOT NULL,
            PRIMARY KEY (question_id, user_id)
        );
    """),
    ("003_sent_messages", """
        CREATE TABLE sent_messages (          -- messages a channel sent, per month (platform quotas)
            channel TEXT NOT NULL,
            month TEXT NOT NULL,              -- yyyy-mm
            count INTEGER NOT NULL DEFAULT 0,
            warned INTEGER NOT NULL DEFAULT 0,  -- admins were told the quota runs low
            PRIMARY KEY (channel, month)
        );
    """),
]


def migrate(db: sqlite3.Connection) -> None:
    store.migrate(db, MIGRATIONS)


def normalize(text: str) -> str:
    """"Điều kiện  dự tuyển?" and "dieu kien du tuyen" count as the same question."""
    return " ".join(strip_diacritics(fold(text)).replace("?", " ").split())


@dataclass
class Logged:
    id: int
    user_id: str
    chat_id: str
    text: str
    found: bool
    source: str | None
    article: str | None


class Journal:
    """One connection shared by the channel's worker threads, behind a lock."""

    def __init__(self, path: Path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._lock = threading.Lock()
        with self._lock:
            migrate(self._db)

    def log(self, channel: str, user_id, chat_id, text: str, found: bool, source: str | None = None,
            article: str | None = None, citation: str | None = None,
            seconds: float | None = None) -> int:
        """Record one question and what was answered; returns its id."""
        with self._lock, self._db:
            cur = self._db.execute(
                "INSERT INTO questions (asked_at, channel, user_id, chat_id, text, normalized, found, "
                "source, article, citation, seconds) VALUES (datetime('now'), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (channel, str(user_id), str(chat_id), text, normalize(text), int(found), source,
                 article, citation, seconds))
            return cur.lastrowid

    def _logged(self, sql: str, params: tuple) -> Logged | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, user_id, chat_id, text, found, source, article FROM questions " + sql,
                params).fetchone()
        return Logged(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6]) if row else None

    def get(self, question_id: int) -> Logged | None:
        return self._logged("WHERE id = ?", (question_id,))

    def last(self, channel: str, user_id, chat_id) -> Logged | None:
        """The asker's latest question in this chat (Zalo's /dieu, /nguon, /tot refer to it)."""
        return self._logged("WHERE channel = ? AND user_id = ? AND chat_id = ? ORDER BY id DESC LIMIT 1",
                            (channel, str(user_id), str(chat_id)))

    def feedback(self, question_id: int, user_id, value: int) -> None:
        """👍 (+1) or 👎 (-1); a user's later vote on the same answer replaces the earlier one."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO feedback (question_id, user_id, value, given_at) "
                "VALUES (?, ?, ?, datetime('now')) ON CONFLICT (question_id, user_id) "
                "DO UPDATE SET value = excluded.value, given_at = excluded.given_at",
                (question_id, str(user_id), 1 if value > 0 else -1))

    def stats(self) -> dict:
        with self._lock:
            asked, answered, askers = self._db.execute(
                "SELECT count(*), coalesce(sum(found), 0), count(DISTINCT channel || ':' || user_id) "
                "FROM questions").fetchone()
            week = self._db.execute(
                "SELECT count(*) FROM questions WHERE asked_at >= datetime('now', '-7 days')").fetchone()[0]
            up, down = self._db.execute(
                "SELECT coalesce(sum(value = 1), 0), coalesce(sum(value = -1), 0) FROM feedback").fetchone()
        return {"questions": asked, "answered": answered, "askers": askers, "last_7_days": week,
                "helpful": up, "unhelpful": down}

    def unanswered(self, limit: int = 10) -> list[tuple[str, int]]:
        """The most frequent questions the documents did not cover, with how often they came."""
        with self._lock:
            rows = self._db.execute(
                "SELECT (SELECT q2.text FROM questions q2 WHERE q2.found = 0 AND q2.normalized = q.normalized "
                "ORDER BY q2.id DESC LIMIT 1), count(*) AS n, max(q.id) AS latest "
                "FROM questions q WHERE q.found = 0 GROUP BY q.normalized "
                "ORDER BY n DESC, latest DESC LIMIT ?", (limit,)).fetchall()
        return [(r[0], r[1]) for r in rows]

    # --- sent messages per month (platform quotas); one small block, to move to bot/db ---------

    def count_sent(self, channel: str, month: str, n: int = 1) -> int:
        """Add `n` sent messages; the month's total so far."""
        with self._lock, self._db:
            return self._db.execute(
                "INSERT INTO sent_messages (channel, month, count) VALUES (?, ?, ?) "
                "ON CONFLICT (channel, month) DO UPDATE SET count = count + excluded.count RETURNING count",
                (channel, month, n)).fetchone()[0]

    def sent_in(self, channel: str, month: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT count FROM sent_messages WHERE channel = ? AND month = ?",
                                   (channel, month)).fetchone()
        return row[0] if row else 0

    def warn_once(self, channel: str, month: str) -> bool:
        """True the first time it is asked for this channel and month (then the admins are warned)."""
        with self._lock, self._db:
            cur = self._db.execute("UPDATE sent_messages SET warned = 1 WHERE channel = ? AND month = ? "
                                   "AND warned = 0", (channel, month))
            return cur.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._db.close()
