"""Chat channels: one conversation core, thin adapters per platform.

The adapter contract (stable; a new channel such as the Zalo Official Account plugs in the same way):

1. Build one `Conversation` per channel at start:
   `Conversation.from_settings(runtime, fmt, "<channel>", Access(admins, users, chats))`, where
   `fmt` is `render.HTML` (Telegram markup) or `render.PLAIN` (plain text, 2,000 characters), or a
   `render.Format` of the platform's own limit. Set `conv.files = False` when the platform does not
   deliver documents, `conv.username` once the platform says the bot's name, and `conv.usage` to
   add lines to /stats (quotas).
2. Per update, make an `Incoming(user_id, chat_id, text, is_group, addressed, name)`: ids as the
   platform gives them (numbers or strings, consistently), the bot's mention taken out of `text`,
   `addressed=True` when the platform says the message is for the bot.
3. Call, in a worker thread: `conv.handle(msg)` for text, `conv.press(msg, data)` for a button,
   `conv.document(msg, name, size, caption)` for a file, `conv.unreadable(msg)` for anything else
   (`conv.admit(msg)` first, without I/O, to skip "typing…" for refused users).
4. Send the returned `Reply` list in order, each `reply.text` as one message with `reply.buttons`.
   A reply with `work` is an admin job: send `text`, run `work(progress)` off the event loop, then
   send its replies (the first may replace the progress message where the platform can edit).

Modules:

    message.py     Incoming, Reply, Button, Core: what adapters, the core and commands exchange
    core.py        Conversation: access, rate limit, command dispatch, questions, buttons, memory
    commands.py    /start, /help, /docs, /dieu and full articles
    admin.py       /reindex, /remove, /stats, /unanswered, uploads (through runtime.builds)
    uploads.py     file checks, clean names, caption metadata, placing and parking files safely
    render.py      the one renderer: answers as Telegram HTML or plain text, split under the limit
    guard.py       admins, allowlists, per-user rate limit
    journal.py     SQLite question log, feedback and the monthly message counter
    redact.py      secrets out of log records
    terminal.py    the terminal channel (`cadrebot chat`)
    telegram.py    the python-telegram-bot adapter
    zalo_client.py the Zalo Bot Platform HTTP client (retries; ZaloTransportError)
    webhook.py     a small webhook HTTP server (the channel's own authentication check)
    threads.py     de-duplication and per-chat order for adapters that run in threads
    quota.py       a platform's monthly message quota: counted, shown in /stats, admins warned
    zalo.py        the Zalo Bot Platform adapter

No module here imports core.py except the adapters, and core.py imports the
command modules: the graph has no circle (tests/test_channels_core.py checks it).
"""

from bot.channels.core import Conversation, parse_command
from bot.channels.message import Button, Incoming, Reply

__all__ = ["Button", "Conversation", "Incoming", "Reply", "parse_command"]
