"""The schema of the shared state: one ordered list of named migrations for SQLite and PostgreSQL.

Each migration is applied once, in order, inside one transaction with its
record in `_migrations` (the table `bot/index/store.py` and the old journal
used, so an existing `journal.sqlite` keeps its data and history). Processes
starting together queue on a lock (PostgreSQL: an advisory lock; SQLite:
BEGIN IMMEDIATE), so none applies a migration twice.

The SQL is written once for both. The only words that differ are filled in
from the dialect: `{serial}` (a key the database numbers). Times the code
compares are epoch seconds in DOUBLE PRECISION; the journal's `asked_at` stays
text ('YYYY-MM-DD HH:MM:SS', UTC) as it always was. Statements are separated by
`;` at the end of a line, and no comment holds one.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    ("001_questions", """
        CREATE TABLE questions (
            id {serial},
            asked_at TEXT NOT NULL,           -- UTC, 'YYYY-MM-DD HH:MM:SS'
            channel TEXT NOT NULL,            -- telegram, zalo, zalo-oa, ...
            user_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            text TEXT NOT NULL,
            normalized TEXT NOT NULL,         -- folded, without diacritics: groups retypings
            found INTEGER NOT NULL,
            source TEXT, article TEXT,        -- where the first quote stands
            citation TEXT,
            seconds DOUBLE PRECISION
        );
        CREATE INDEX questions_asker ON questions(channel, user_id, chat_id, id);
        CREATE INDEX questions_found ON questions(found, normalized);
    """),
    ("002_feedback", """
        CREATE TABLE feedback (
            question_id BIGINT NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            value INTEGER NOT NULL CHECK (value IN (-1, 1)),
            given_at TEXT NOT NULL,
            PRIMARY KEY (question_id, user_id)
        );
    """),
    ("003_seen", """
        CREATE TABLE seen (
            channel TEXT NOT NULL,
            message_id TEXT NOT NULL,
            seen_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (channel, message_id)
        );
        CREATE INDEX seen_age ON seen(seen_at);
    """),
    ("004_rate_limits", """
        CREATE TABLE rate_limits (
            key TEXT PRIMARY KEY,             -- channel:user
            window_start DOUBLE PRECISION NOT NULL,
            hits INTEGER NOT NULL,
            told INTEGER NOT NULL             -- 1 once the user was told to slow down in this window
        );
    """),
    ("005_chat_state", """
        CREATE TABLE chat_state (
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            data TEXT NOT NULL,               -- JSON
            updated_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (channel, user_id, chat_id)
        );
    """),
    ("006_counters", """
        CREATE TABLE counters (
            name TEXT NOT NULL,               -- e.g. zalo-oa:messages
            period TEXT NOT NULL,             -- e.g. 2026-12
            value BIGINT NOT NULL,
            PRIMARY KEY (name, period)
        );
    """),
    ("007_tokens", """
        CREATE TABLE tokens (
            name TEXT PRIMARY KEY,
            access_token TEXT NOT NULL,
            refresh_token TEXT NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL,
            refreshed_at DOUBLE PRECISION,
            failure TEXT,
            failed_at DOUBLE PRECISION
        );
    """),
]


def statements(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";\n") if s.strip().strip(";")]


def migrate(db) -> list[str]:
    """Apply the migrations not yet recorded; returns the names applied now."""
    def work(cur) -> list[str]:
        if db.dialect.lock:
            cur.execute(db.dialect.lock)
        cur.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
        done = {row[0] for row in cur.execute("SELECT name FROM _migrations").fetchall()}
        applied = []
        for name, sql in MIGRATIONS:
            if name in done:
                continue
            for statement in statements(sql.format(serial=db.dialect.serial)):
                cur.execute(statement)
            cur.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, db.utc_text()))
            applied.append(name)
        return applied
    return db.run(work)
