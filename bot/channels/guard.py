"""Who may talk to the bot, and how often: decided before any work is done.

Ids are whatever the channel uses (Telegram: numbers, Zalo: strings); each
channel hands over its own lists from the settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable

from bot.db.limits import Verdict


@dataclass
class Access:
    """Admins, and optional allowlists of users and chats (empty lists: everyone may ask)."""

    admins: set = field(default_factory=set)
    users: set = field(default_factory=set)
    chats: set = field(default_factory=set)

    def is_admin(self, user_id: Hashable) -> bool:
        return user_id in self.admins

    def allowed(self, user_id: Hashable, chat_id: Hashable) -> bool:
        """A listed user anywhere, or anyone inside a listed chat; admins always."""
        if not self.users and not self.chats:
            return True
        return user_id in self.admins or user_id in self.users or chat_id in self.chats


class RateLimiter:
    """At most `count` messages per user per `seconds`, counted in the shared database.

    The window is kept by bot/db/limits.py, atomically, so every worker of a
    channel counts the same user's messages together. A user over the limit is
    told once, with how long to wait; further messages in the same window are
    dropped silently, so a flood never makes the bot flood back.
    """

    def __init__(self, limits, channel: str, count: int, seconds: float):
        self.limits = limits
        self.channel = channel
        self.count = count
        self.seconds = seconds

    def check(self, user_id: Hashable) -> Verdict:
        return self.limits.hit(f"{self.channel}:{user_id}", self.count, self.seconds)
