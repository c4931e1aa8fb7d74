"""Channel counters per period, e.g. messages sent through Zalo this month against the plan's quota.

`add` is one upsert returning the new total, so concurrent workers never lose
a count. While the database is down the counts go to memory and are added to
the database on the next `add` that reaches it, so the total stays whole.
"""

from __future__ import annotations

import threading


class Counters:
    def __init__(self, db):
        self.db = db
        self._pending: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def add(self, name: str, period: str, by: int = 1) -> int:
        """Add `by` to the counter and return its total (this process' view while the database is down)."""
        with self._lock:
            owed = self._pending.pop((name, period), 0)
        total = by + owed

        def fallback() -> int:
            with self._lock:
                self._pending[(name, period)] = self._pending.get((name, period), 0) + total
                return self._pending[(name, period)]
        return int(self.db.soft(lambda cur: cur.execute(
            "INSERT INTO counters (name, period, value) VALUES (?, ?, ?) ON CONFLICT (name, period) "
            "DO UPDATE SET value = counters.value + excluded.value RETURNING value",
            (name, period, total)).fetchone()[0], fallback))

    def get(self, name: str, period: str) -> int:
        row = self.db.run(lambda cur: cur.execute(
            "SELECT value FROM counters WHERE name = ? AND period = ?", (name, period)).fetchone(), write=False)
        return int(row[0]) if row else 0
