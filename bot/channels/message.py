"""What flows between a channel adapter and the conversation core."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Hashable, Protocol

if TYPE_CHECKING:  # types only: nothing here imports the core
    from bot.channels.guard import Access
    from bot.db.journal import Journal
    from bot.channels.render import Format
    from bot.runtime import Runtime

Progress = Callable[[str], None]
# Every channel's reply when answering failed: the user is told, never left waiting.
APOLOGY = "Xin lỗi, đã có lỗi khi xử lý yêu cầu. Anh/chị vui lòng thử lại sau ít phút."


@dataclass
class Incoming:
    """One message as every channel sees it."""

    user_id: Hashable
    chat_id: Hashable
    text: str = ""
    is_group: bool = False
    addressed: bool = False  # in a group: the bot was mentioned or replied to
    name: str = ""
    admitted: bool = False  # passed the gate (Conversation.admit) already


@dataclass
class Button:
    label: str
    data: str  # at most 64 bytes on Telegram


@dataclass
class Reply:
    """A message ready to send: formatted for the channel and under its length limit.

    `work` marks a long admin job: the adapter sends `text` first, then runs
    `work(progress)` in a worker thread; `progress(text)` may edit the sent
    message in place, and the replies `work` returns are the outcome (the
    first replaces the progress message where the platform can edit).
    `upload` is where the adapter must save a received file before `work` runs.
    """

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    work: Callable[[Progress], list["Reply"]] | None = None
    upload: Path | None = None


class Core(Protocol):
    """What command modules (commands.py, admin.py) may use of the conversation.

    They receive the Conversation as this protocol, so they never import
    core.py, and core.py imports them: the module graph has no circle.
    """

    runtime: "Runtime"
    fmt: "Format"
    access: "Access"
    journal: "Journal"
    files: bool  # the platform delivers documents to the bot
    usage: Callable[[], list[str]]  # the channel's own /stats lines (quotas)

    def say(self, text: str) -> list[Reply]: ...

    def say_lines(self, lines: list[str]) -> list[Reply]: ...

    def say_blocks(self, blocks: list[str]) -> list[Reply]: ...
