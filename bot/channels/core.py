"""The conversation, whatever the channel: access, rate limit, commands, questions, buttons.

The adapter contract (see bot/channels/__init__.py) in one line: an adapter
turns a platform update into an `Incoming`, calls `Conversation.handle` (or
`press` for a button, `document` for a file, `unreadable` for anything else)
in a worker thread, and sends the `Reply` list it gets back, in order.
Replies are already formatted for the channel (`render.HTML` for Telegram,
`render.PLAIN` for Zalo and the terminal) and under its length limit.
Everything the platform cannot express is decided here once: Zalo has no
buttons, so the same actions are the text commands /dieu, /nguon, /tot and
/chuatot acting on the asker's last answer.

Follow-up questions: `Conversation.memory` keeps each asker's last turn per
chat, and `resolve(text, last_turn)` (identity by default) turns a follow-up
("còn khoản 2 thì sao?") into a self-contained question before it is searched.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Hashable

from bot.channels import admin, commands, uploads
from bot.channels.guard import Access, RateLimiter
from bot.channels.journal import Journal, Logged
from bot.channels.message import Button, Incoming, Reply
from bot.answer import Answer
from bot.channels.render import Format, answer_blocks, pack, sources_blocks
from bot.errors import BadQuery, CadreBotError
from bot.runtime import Runtime

log = logging.getLogger(__name__)

REFUSED = ("Xin lỗi, anh/chị chưa được cấp quyền sử dụng trợ lý này. "
           "Vui lòng liên hệ quản trị viên (mã người dùng của anh/chị: {user}).")
ADMIN_ONLY = "Xin lỗi, lệnh này chỉ dành cho quản trị viên."
TOO_FAST = "Anh/chị gửi hơi nhanh. Vui lòng đợi khoảng {wait} giây rồi hỏi tiếp."
UNAVAILABLE = ("Xin lỗi, kho văn bản đang được cập nhật hoặc bảo trì. "
               "Anh/chị vui lòng thử lại sau ít phút.")
THANKS = "Cảm ơn anh/chị đã góp ý!"
NO_LAST = "Anh/chị chưa có câu trả lời nào để xem thêm hoặc góp ý."
TEXT_ONLY = "Xin lỗi, bot chỉ đọc tin nhắn văn bản. Anh/chị vui lòng gõ câu hỏi bằng chữ."
TOO_LONG = "Tin nhắn quá dài ({size} ký tự; tối đa {limit}). Anh/chị vui lòng rút gọn."
NOT_YOURS = "Nút này thuộc câu hỏi của người khác; anh/chị hãy tự đặt câu hỏi."
GONE_FROM_LOG = "Câu hỏi này không còn trong nhật ký."
# Button data: kind, question id (an SQLite integer), and for votes the value.
_BUTTON = re.compile(r"^(?:([am]):(\d{1,18})|f:(\d{1,18}):(1|-1))$")

USER_COMMANDS = {"start": commands.start, "help": commands.help, "docs": commands.docs,
                 "dieu": commands.dieu}
ADMIN_COMMANDS = {"reindex": admin.reindex, "remove": admin.remove, "stats": admin.stats,
                  "unanswered": admin.unanswered}
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@(\w+))?(?:\s+(.*))?$", re.S)


@dataclass
class Command:
    name: str
    target: str | None  # "/help@cadre_bot": the bot the command is meant for
    args: str


@dataclass
class Pressed:
    """A button press: the platform's short acknowledgement, then the replies (maybe slow)."""

    toast: str | None
    later: Callable[[], list[Reply]] | None = None

    def replies(self) -> list[Reply]:
        return self.later() if self.later is not None else []


@dataclass
class Turn:
    """One asker's last question in a chat: what a follow-up question refers to."""

    question: str  # as the user wrote it
    searched: str  # as it was searched (a follow-up resolved into a full question)
    answer: Answer
    question_id: int


class Memory:
    """The last turn per (chat, user), bounded; in memory (shared state moves to bot/db later)."""

    def __init__(self, size: int = 10_000):
        self.size = size
        self._turns: OrderedDict[tuple, Turn] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, chat_id: Hashable, user_id: Hashable) -> Turn | None:
        with self._lock:
            return self._turns.get((chat_id, user_id))

    def put(self, chat_id: Hashable, user_id: Hashable, turn: Turn) -> None:
        with self._lock:
            self._turns[(chat_id, user_id)] = turn
            self._turns.move_to_end((chat_id, user_id))
            while len(self._turns) > self.size:
                self._turns.popitem(last=False)


def parse_command(text: str) -> Command | None:
    m = _COMMAND.match((text or "").strip())
    if not m:
        return None
    return Command(m.group(1).lower(), m.group(2), (m.group(3) or "").strip())


class Conversation:
    """Decides what to answer; holds no platform object, so Telegram and Zalo share it."""

    def __init__(self, runtime: Runtime, fmt: Format, *, channel: str, access: Access,
                 journal: Journal, limiter: RateLimiter):
        self.runtime = runtime
        self.fmt = fmt
        self.channel = channel
        self.access = access
        self.journal = journal
        self.limiter = limiter
        self.username: str | None = None  # the bot's own name, once the platform told it
        self.files = True  # the platform delivers documents (Telegram); Zalo bots receive none
        self.memory = Memory()
        # The follow-up hook: (text, the asker's last turn or None) -> the question to search.
        self.resolve: Callable[[str, Turn | None], str] = lambda text, last: text
        # Extra /stats lines from the channel (Zalo: the monthly message quota).
        self.usage: Callable[[], list[str]] = lambda: []

    @classmethod
    def from_settings(cls, runtime: Runtime, fmt: Format, channel: str, access: Access) -> "Conversation":
        s = runtime.settings
        path = Path(s.journal_path) if s.journal_path else runtime.index_dir / "journal.sqlite"
        return cls(runtime, fmt, channel=channel, access=access, journal=Journal(path),
                   limiter=RateLimiter(s.rate_limit_messages, s.rate_limit_seconds))

    # --- entry points -------------------------------------------------------------

    def addressed(self, msg: Incoming) -> bool:
        """In a group, only messages that mention, reply to or command this bot are for it."""
        command = parse_command(msg.text)
        if command and command.target:
            return self.username is None or command.target.lower() == self.username.lower()
        return not msg.is_group or msg.addressed or command is not None

    def admit(self, msg: Incoming) -> list[Reply] | None:
        """Addressed, rate limit, access: None to go ahead, else the replies (maybe none).

        Cheap and without I/O, so an adapter calls it before showing "typing…":
        a stranger's or a flooding user's messages then cost the bot no work at all.
        """
        if not self.addressed(msg):
            return []
        refused = self._gate(msg)
        msg.admitted = refused is None
        return refused

    def handle(self, msg: Incoming) -> list[Reply]:
        """A text message: a command or a question (admitted here unless the adapter did it)."""
        if not msg.admitted:
            refused = self.admit(msg)
            if refused is not None:
                return refused
        limit = self.runtime.settings.max_query_chars
        if len(msg.text) > limit:  # commands too: nothing echoes 20,000 characters back
            return self.say(TOO_LONG.format(size=len(msg.text), limit=limit))
        command = parse_command(msg.text)
        try:
            if command:
                return self._command(msg, command)
            if not msg.text.strip():
                return self.say(commands.HINT)
            return self._question(msg, msg.text.strip())
        except CadreBotError as exc:
            return self._failure(msg, exc)

    def press(self, msg: Incoming, data: str) -> Pressed:
        """An inline button: checked at once (cheap); the slow part waits in `Pressed.replies`.

        The adapter answers the platform's callback with `toast` before running
        `replies()`: Telegram wants that answer within seconds, and "Nguồn khác"
        may take longer than that with a language model.
        """
        refused = self._gate(msg)
        if refused is not None:
            return Pressed(None, lambda: refused)
        m = _BUTTON.match(data or "")
        if m is None:  # forged or from an older version: nothing to do
            return Pressed(None)
        kind, qid = ("f", m.group(3)) if m.group(3) else (m.group(1), m.group(2))
        logged = self.journal.get(int(qid))
        if logged is None:
            return Pressed(GONE_FROM_LOG)
        if logged.user_id != str(msg.user_id):  # only the asker acts on an answer
            return Pressed(NOT_YOURS)
        if kind == "f":
            self.journal.feedback(logged.id, msg.user_id, 1 if m.group(4) == "1" else -1)
            return Pressed(THANKS)

        def replies() -> list[Reply]:
            try:
                return self._about(msg, logged, "dieu" if kind == "a" else "nguon")
            except CadreBotError as exc:
                return self._failure(msg, exc)
        return Pressed(None, replies)

    def document(self, msg: Incoming, file_name: str, size: int | None, caption: str = "") -> list[Reply]:
        """A file sent to the bot: checked (admin, type, size) before the adapter downloads it."""
        if not self.addressed(msg):
            return []
        refused = self._gate(msg)
        if refused is not None:
            return refused
        if not self.access.is_admin(msg.user_id):
            return self.say("Xin lỗi, chỉ quản trị viên mới được gửi văn bản để bổ sung vào kho.")
        why = uploads.check_upload(file_name, size, int(self.runtime.settings.upload_max_mb * 1e6))
        if why:
            return self.say(f"Không nhận tệp “{file_name}”: {why}")
        return [admin.upload(self, file_name, caption)]

    def unreadable(self, msg: Incoming) -> list[Reply]:
        """An image, sticker or other message the bot cannot read: a polite notice, after the gate."""
        if not self.addressed(msg):
            return []
        refused = self._gate(msg)
        return refused if refused is not None else self.say(TEXT_ONLY)

    # --- questions ---------------------------------------------------------------

    def _question(self, msg: Incoming, text: str) -> list[Reply]:
        started = time.perf_counter()
        searched = self.resolve(text, self.memory.get(msg.chat_id, msg.user_id))
        answer = self.runtime.ask(searched)
        seconds = round(time.perf_counter() - started, 3)
        first = (answer.quotes or getattr(answer, "references", None) or [None])[0]
        qid = self.journal.log(self.channel, msg.user_id, msg.chat_id, text, answer.found,
                               first and first.source, first and first.article,
                               first and first.citation, seconds)
        log.debug("question %s answered in %.3fs (found=%s)", qid, seconds, answer.found)
        self.memory.put(msg.chat_id, msg.user_id, Turn(text, searched, answer, qid))
        blocks = answer_blocks(answer, self.fmt)
        if not answer.found:
            return self.say_blocks(blocks)
        has_article = bool(first and first.article)
        if not self.fmt.buttons:
            return self.say_blocks(blocks + ["", commands.text_commands(has_article, bool(answer.more))])
        replies = self.say_blocks(blocks)
        row = [Button("Toàn văn Điều", f"a:{qid}")] if has_article else []
        row += [Button("Nguồn khác", f"m:{qid}")] if answer.more else []
        votes = [Button("👍", f"f:{qid}:1"), Button("👎", f"f:{qid}:-1")]
        replies[-1].buttons = [r for r in (row, votes) if r]
        return replies

    def _about(self, msg: Incoming, logged: Logged | None, action: str) -> list[Reply]:
        """Act on an earlier answer: its full article, more sources, or feedback."""
        if logged is None or not logged.found:
            return self.say(commands.DIEU_USAGE if action == "dieu" else NO_LAST)
        if action in ("tot", "chuatot"):
            self.journal.feedback(logged.id, msg.user_id, 1 if action == "tot" else -1)
            return self.say(THANKS)
        if action == "nguon":
            turn = self.memory.get(msg.chat_id, msg.user_id)
            more = turn.answer.more if turn and turn.question_id == logged.id else \
                self.runtime.ask(logged.text).more
            return self.say_blocks(sources_blocks(more, self.fmt))
        return commands.cited_article(self, logged.source, logged.article)

    def _command(self, msg: Incoming, command: Command) -> list[Reply]:
        name, args = command.name, command.args
        if name in ADMIN_COMMANDS:
            if not self.access.is_admin(msg.user_id):
                return self.say(ADMIN_ONLY)
            return ADMIN_COMMANDS[name](self, msg, args)
        if name in ("nguon", "tot", "chuatot") or (name == "dieu" and not args):
            last = self.journal.last(self.channel, msg.user_id, msg.chat_id)
            return self._about(msg, last, name)
        if name in USER_COMMANDS:
            return USER_COMMANDS[name](self, msg, args)
        return self.say("Lệnh không rõ. Gõ /help để xem các lệnh.")

    # --- plumbing ------------------------------------------------------------------

    def _gate(self, msg: Incoming) -> list[Reply] | None:
        """Rate limit, then access: both decided before any work. None: go ahead."""
        if not self.access.is_admin(msg.user_id):
            verdict = self.limiter.check(msg.user_id)
            if not verdict.allowed:
                return self.say(TOO_FAST.format(wait=verdict.wait)) if verdict.notify else []
        if not self.access.allowed(msg.user_id, msg.chat_id):
            return self.say(REFUSED.format(user=msg.user_id))
        return None

    def _failure(self, msg: Incoming, exc: CadreBotError) -> list[Reply]:
        if isinstance(exc, BadQuery):
            return self.say(str(exc))
        log.warning("cannot answer: %s", exc)
        return self.say(f"Lỗi: {exc}" if self.access.is_admin(msg.user_id) else UNAVAILABLE)

    def say(self, text: str) -> list[Reply]:
        """Plain text (escaped for the channel) as messages."""
        return self.say_blocks([self.fmt.esc(text)])

    def say_lines(self, lines: list[str]) -> list[Reply]:
        """Plain lines, each escaped and kept whole when messages are split."""
        return self.say_blocks([self.fmt.esc(line) for line in lines])

    def say_blocks(self, blocks: list[str]) -> list[Reply]:
        """Already formatted blocks, packed into messages under the channel's limit."""
        return [Reply(text) for text in pack(blocks, self.fmt)]

    def close(self) -> None:
        self.journal.close()
