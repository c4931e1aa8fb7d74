"""The question log and feedback: what officials ask, what was answered, what helped.

User and chat ids are stored as text: Telegram's are numbers, Zalo's strings.
Writes are soft (an answer is never held back by its log line); reads are
strict, because an admin who asks for /unanswered must not get an empty list
that is really an outage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.text import fold, strip_diacritics

log = logging.getLogger(__name__)

WEEK = 7 * 24 * 3600


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


@dataclass
class Unanswered:
    text: str  # the latest wording
    count: int
    last_asked: str  # UTC, 'YYYY-MM-DD HH:MM:SS'


_LOGGED = "SELECT id, user_id, chat_id, text, found, source, article FROM questions "


def _logged(row) -> Logged | None:
    return Logged(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6]) if row else None


class Journal:
    def __init__(self, db):
        self.db = db

    def log(self, channel: str, user_id, chat_id, text: str, found: bool, source: str | None = None,
            article: str | None = None, citation: str | None = None,
            seconds: float | None = None) -> int | None:
        """Record one question and what was answered; its id, or None when the database is down."""
        row = (self.db.utc_text(), channel, str(user_id), str(chat_id), text, normalize(text), int(found),
               source, article, citation, seconds)
        return self.db.soft(lambda cur: cur.execute(
            "INSERT INTO questions (asked_at, channel, user_id, chat_id, text, normalized, found, "
            "source, article, citation, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            row).fetchone()[0], lambda: None)

    def feedback(self, question_id: int, user_id, value: int) -> bool:
        """👍 (+1) or 👎 (-1); a later vote on the same answer replaces the earlier one. False if not kept."""
        params = (question_id, str(user_id), 1 if value > 0 else -1, self.db.utc_text())
        return self.db.soft(lambda cur: cur.execute(
            "INSERT INTO feedback (question_id, user_id, value, given_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (question_id, user_id) DO UPDATE SET value = excluded.value, "
            "given_at = excluded.given_at", params).rowcount == 1, lambda: False)

    def get(self, question_id: int) -> Logged | None:
        return self.db.run(lambda cur: _logged(cur.execute(_LOGGED + "WHERE id = ?", (question_id,)).fetchone()),
                           write=False)

    def last(self, channel: str, user_id, chat_id) -> Logged | None:
        """The asker's latest question in this chat (Zalo's /dieu, /nguon, /tot refer to it)."""
        return self.db.run(lambda cur: _logged(cur.execute(
            _LOGGED + "WHERE channel = ? AND user_id = ? AND chat_id = ? ORDER BY id DESC LIMIT 1",
            (channel, str(user_id), str(chat_id))).fetchone()), write=False)

    def stats(self) -> dict:
        week = self.db.utc_text(self.db.clock() - WEEK)

        def work(cur) -> dict:
            asked, answered, askers = cur.execute(
                "SELECT count(*), coalesce(sum(found), 0), count(DISTINCT channel || ':' || user_id) "
                "FROM questions").fetchone()
            recent = cur.execute("SELECT count(*) FROM questions WHERE asked_at >= ?", (week,)).fetchone()[0]
            up, down = cur.execute(
                "SELECT coalesce(sum(CASE WHEN value = 1 THEN 1 ELSE 0 END), 0), "
                "coalesce(sum(CASE WHEN value = -1 THEN 1 ELSE 0 END), 0) FROM feedback").fetchone()
            return {"questions": int(asked), "answered": int(answered), "askers": int(askers),
                    "last_7_days": int(recent), "helpful": int(up), "unhelpful": int(down)}
        return self.db.run(work, write=False)

    def unanswered(self, limit: int = 10) -> list[Unanswered]:
        """The most frequent questions the documents did not cover, most asked first."""
        rows = self.db.run(lambda cur: cur.execute(
            "SELECT (SELECT q2.text FROM questions q2 WHERE q2.found = 0 AND q2.normalized = q.normalized "
            "ORDER BY q2.id DESC LIMIT 1), count(*) AS n, max(q.asked_at), max(q.id) AS latest "
            "FROM questions q WHERE q.found = 0 GROUP BY q.normalized "
            "ORDER BY n DESC, latest DESC LIMIT ?", (limit,)).fetchall(), write=False)
        return [Unanswered(r[0], int(r[1]), r[2]) for r in rows]

    def count(self) -> int:
        return int(self.db.run(lambda cur: cur.execute("SELECT count(*) FROM questions").fetchone()[0],
                               write=False))
