"""Per-chat state: the last answer and the follow-up context, for a limited time.

A small JSON object per (channel, user, chat), replaced as a whole. `get`
ignores state older than its time to live, so a follow-up a day later is a new
question. While the database is down there is no state (the question is
answered on its own) and nothing is written.
"""

from __future__ import annotations

import json

PRUNE_EVERY = 1000
KEEP_SECONDS = 7 * 24 * 3600


class Chats:
    def __init__(self, db):
        self.db = db
        self._puts = 0

    def put(self, channel: str, user_id, chat_id, data: dict) -> None:
        now = self.db.clock()
        row = (channel, str(user_id), str(chat_id), json.dumps(data, ensure_ascii=False), now)
        self._puts += 1
        prune = self._puts % PRUNE_EVERY == 0

        def work(cur) -> None:
            cur.execute("INSERT INTO chat_state (channel, user_id, chat_id, data, updated_at) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, user_id, chat_id) "
                        "DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at", row)
            if prune:
                cur.execute("DELETE FROM chat_state WHERE updated_at < ?", (now - KEEP_SECONDS,))
        self.db.soft(work, lambda: None)

    def get(self, channel: str, user_id, chat_id, ttl: float) -> dict | None:
        """The chat's state if written less than `ttl` seconds ago."""
        since = self.db.clock() - ttl
        row = self.db.soft(lambda cur: cur.execute(
            "SELECT data FROM chat_state WHERE channel = ? AND user_id = ? AND chat_id = ? AND updated_at >= ?",
            (channel, str(user_id), str(chat_id), since)).fetchone(), lambda: None, write=False)
        return json.loads(row[0]) if row else None

    def clear(self, channel: str, user_id, chat_id) -> None:
        self.db.soft(lambda cur: cur.execute(
            "DELETE FROM chat_state WHERE channel = ? AND user_id = ? AND chat_id = ?",
            (channel, str(user_id), str(chat_id))), lambda: None)
