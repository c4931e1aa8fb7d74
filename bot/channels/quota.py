"""A platform's monthly message quota: every sent message counted, admins warned once a month.

The free Zalo Bot plan is reported to allow about 3,000 messages a month; a
bot that runs out simply falls silent. Counts live in the shared database
(bot/db/counters.py: `<channel>:sent` per month, in Vietnam time), so every
worker adds to one total and only one of them warns the admins.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

VIETNAM = timezone(timedelta(hours=7))
WARNING = ("⚠️ Bot {name} đã gửi {sent}/{quota} tin trong tháng này ({share:.0%} hạn mức). "
           "Khi hết hạn mức, bot sẽ không trả lời được đến đầu tháng sau.")


def this_month() -> str:
    """The month sent messages are counted in, Vietnam time ("2026-12"): one for every channel."""
    return datetime.now(VIETNAM).strftime("%Y-%m")


class MonthlyQuota:
    """`sent()` after each delivered message; `lines()` for /stats."""

    def __init__(self, counters, channel: str, name: str, quota: int, warn_share: float,
                 warn: Callable[[str], None]):
        self.counters = counters
        self.counter = f"{channel}:sent"
        self.name = name  # how /stats and the warning name the channel: "Zalo"
        self.quota = quota  # 0: counted, never warned
        self.warn_share = warn_share
        self.warn = warn  # tells the admins; may send messages (they are counted too)

    month = staticmethod(this_month)

    def sent(self) -> None:
        """Count one sent message; past the warning share, warn once this month."""
        month = self.month()
        count = self.counters.add(self.counter, month)
        if not self.quota or count < self.warn_share * self.quota:
            return
        if self.counters.flag_once(self.counter, month):
            self.warn(WARNING.format(name=self.name, sent=count, quota=self.quota, share=count / self.quota))

    def lines(self) -> list[str]:
        """The /stats line: messages sent this month against the quota."""
        month = self.month()
        count = self.counters.get(self.counter, month)
        of = f"/{self.quota} tin ({count / self.quota:.0%} hạn mức)" if self.quota else " tin"
        return [f"{self.name} tháng {month[5:]}/{month[:4]}: đã gửi {count}{of}"]
