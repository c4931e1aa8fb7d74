"""The terminal channel: `cadrebot chat` over the same conversation core as Telegram and Zalo.

Each line read is one message from the local user, so every command works
here too (/dieu, /docs, /nguon, /reindex...). Whoever runs the CLI owns the
machine and its documents folder, so the local user is the admin. Admin jobs
run in the foreground, their progress on stderr. The terminal's questions are
the operator's own trials: they go to an in-memory journal, so they never
count in the chat channels' statistics or /unanswered.
"""

from __future__ import annotations

import sys
from typing import Callable, TextIO

from bot.channels.core import Conversation
from bot.channels.guard import Access, RateLimiter
from bot.channels.journal import Journal
from bot.channels.message import Incoming, Reply
from bot.channels.render import TERMINAL
from bot.runtime import Runtime

LOCAL = "terminal"  # the local user's and chat's id
GREETING = "Trợ lý chính sách cán bộ. Gõ câu hỏi hoặc lệnh (/help) rồi Enter; Ctrl+D để thoát."
SEPARATOR = "-" * 40


class Terminal:
    """Lines in, the core's replies out."""

    def __init__(self, runtime: Runtime, write: Callable[[str], None], note: Callable[[str], None]):
        self.conv = Conversation(runtime, TERMINAL, channel="terminal", access=Access(admins={LOCAL}),
                                 journal=Journal(":memory:"), limiter=RateLimiter(1, 1))  # admins: no limit
        self.conv.files = False
        self.write = write  # replies (stdout)
        self.note = note  # progress of admin jobs (stderr)

    def message(self, text: str) -> None:
        """One line from the user, answered in full (admin jobs included) before returning."""
        self._deliver(self.conv.handle(Incoming(LOCAL, LOCAL, text)))

    def _deliver(self, replies: list[Reply]) -> None:
        for reply in replies:
            self.write(reply.text)
            if reply.work is not None:
                self._deliver(reply.work(self.note))

    def run(self, lines: TextIO, interactive: bool) -> None:
        """Answer every non-empty line until end of input."""
        self.conv.runtime.searcher()  # a missing or broken index stops here, before any prompt
        if interactive:
            self.write(GREETING)
        while True:
            if interactive:
                sys.stdout.write("\nBạn hỏi: ")
                sys.stdout.flush()
            line = lines.readline()
            if not line:
                break
            if line.strip():
                self.message(line.strip())
                if not interactive:
                    self.write(SEPARATOR)

    def close(self) -> None:
        self.conv.close()


def chat(runtime: Runtime, write: Callable[[str], None], note: Callable[[str], None],
         lines: TextIO | None = None) -> None:
    """`cadrebot chat`: the terminal channel until end of input."""
    lines = lines or sys.stdin
    terminal = Terminal(runtime, write, note)
    try:
        terminal.run(lines, lines.isatty())
    finally:
        terminal.close()
