"""De-duplication of incoming messages: each (channel, message id) is handled once, by one process.

`first_time` inserts the id and learns from the row count whether it was new:
the primary key decides, so two workers receiving the same redelivery at the
same instant cannot both win. Ids older than KEEP_SECONDS are pruned now and
then; platforms redeliver within minutes. While the database is down, this
process' recent ids stand in (a redelivery to another worker may then be
answered twice: an answer given twice beats one never given).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

KEEP_SECONDS = 2 * 24 * 3600
PRUNE_EVERY = 1000  # inserts between two prunings, per process
REMEMBERED = 4096  # ids kept in memory for the outage fallback


class Recent:
    """The most recent keys, in memory."""

    def __init__(self, size: int = REMEMBERED):
        self.size = size
        self._keys: OrderedDict[tuple, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: tuple) -> bool:
        with self._lock:
            if key in self._keys:
                return False
            self._keys[key] = None
            if len(self._keys) > self.size:
                self._keys.popitem(last=False)
            return True


class Seen:
    def __init__(self, db):
        self.db = db
        self.recent = Recent()
        self._inserts = 0

    def first_time(self, channel: str, message_id) -> bool:
        """True exactly once per (channel, message id) across every process sharing the database."""
        key = (channel, str(message_id))
        now = self.db.clock()
        self._inserts += 1
        prune = self._inserts % PRUNE_EVERY == 0

        def work(cur) -> bool:
            new = cur.execute("INSERT INTO seen (channel, message_id, seen_at) VALUES (?, ?, ?) "
                              "ON CONFLICT (channel, message_id) DO NOTHING", (*key, now)).rowcount == 1
            if prune:
                cur.execute("DELETE FROM seen WHERE seen_at < ?", (now - KEEP_SECONDS,))
            return new
        new = self.db.soft(work, lambda: self.recent.first_time(key))
        if new:  # remembered here too, so an outage starting now still knows it
            self.recent.first_time(key)
        return new
