"""Chat channels: one conversation core, thin adapters per platform.

    message.py   Incoming, Reply, Button: what adapters and the core exchange
    core.py      Conversation: access, rate limit, command dispatch, questions, buttons
    commands.py  /start, /help, /docs, /dieu and full articles
    admin.py     /reindex, /remove, /stats, /unanswered, document uploads (one build at a time)
    uploads.py   file checks, clean names, caption metadata, placing files safely
    render.py    answers as Telegram HTML or plain text, split under the length limit
    guard.py     admins, allowlists, per-user rate limit
    journal.py   SQLite question log and feedback
    telegram.py  the python-telegram-bot adapter
"""

from bot.channels.core import Conversation, parse_command
from bot.channels.message import Button, Incoming, Reply

__all__ = ["Button", "Conversation", "Incoming", "Reply", "parse_command"]
