"""`check(settings)` for `cadrebot doctor`: which database, and does it answer?"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import DatabaseError


@dataclass
class DatabaseCheck:
    ok: bool
    backend: str  # "sqlite" or "postgresql"
    where: str  # file path or host:port/dbname, never the password
    detail: str  # Vietnamese, for the admin

    def to_dict(self) -> dict:
        return {"ok": self.ok, "backend": self.backend, "where": self.where, "detail": self.detail}


def check(settings) -> DatabaseCheck:
    """Open, migrate and query the configured database once; never raises."""
    from bot.db import open_database, sqlite_path, url_of

    url = url_of(settings) or ""
    backend = "postgresql" if url.lower().startswith("postgres") else "sqlite"
    try:
        db = open_database(settings)
    except DatabaseError as exc:
        where = "DATABASE_URL" if url else str(sqlite_path(settings))
        return DatabaseCheck(False, backend, where, str(exc))
    try:
        db.check()
        questions = db.journal.count()
        return DatabaseCheck(True, db.dialect.name, db.label.split(" ", 1)[1],
                             f"Kết nối được; nhật ký có {questions} câu hỏi.")
    except DatabaseError as exc:
        return DatabaseCheck(False, db.dialect.name, db.label.split(" ", 1)[1], str(exc))
    finally:
        db.close()
