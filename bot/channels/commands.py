"""Commands every user may send: /start, /help, /docs, /dieu; and the full text of an article."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.answer import citation, notes
from bot.channels.message import Incoming, Reply
from bot.channels.render import article_blocks, short_date
from bot.ingest.metadata import NEWS
from bot.retrieve.query import parse
from bot.retrieve.search import resolve

if TYPE_CHECKING:
    from bot.channels.core import Conversation

EXAMPLES = ["Nghị định 73 bảo vệ cán bộ dám nghĩ, dám làm như thế nào?",
            "Điều kiện đăng ký dự tuyển viên chức là gì?",
            "Thời hạn tập sự của viên chức?"]
DIEU_USAGE = "Cách dùng: /dieu <số điều> <văn bản>, ví dụ: /dieu 11 nd 73 hoặc /dieu 15 luật viên chức."
HINT = "Anh/chị hãy gõ câu hỏi về chính sách cán bộ, hoặc /help để xem hướng dẫn."
_DIEU = re.compile(r"^(?:(?i:điều|dieu)\s*)?(\d{1,3}[a-zđ]?)\b\s*(.*)$", re.S)


def _documents(conv: "Conversation") -> list:
    """Legal documents newest first, then news."""
    docs = sorted(conv.runtime.searcher().index.documents.values(),
                  key=lambda d: d.meta.date or "", reverse=True)
    return sorted(docs, key=lambda d: d.meta.type == NEWS)


def start(conv: "Conversation", msg: Incoming, args: str) -> list[Reply]:
    """/start: greeting, what the bot knows, three example questions."""
    docs = _documents(conv)
    newest = [d for d in docs if d.meta.type != NEWS][:3]
    lines = ["Xin chào anh/chị! Tôi là trợ lý tra cứu chính sách cán bộ. Tôi trả lời bằng cách "
             "trích nguyên văn văn bản, ghi rõ số hiệu, Điều, Khoản; tôi không tự viết nội dung pháp lý.",
             "", f"Kho hiện có {len(docs)} văn bản. Mới nhất:"]
    lines += [f"• {d.meta.label}" + (f" ({short_date(d.meta.date)})" if d.meta.date else "") for d in newest]
    lines += ["", "Ví dụ câu hỏi:"] + [f"• {q}" for q in EXAMPLES]
    lines += ["", "Gõ /help để xem cách hỏi và các lệnh."]
    return conv.say_lines(lines)


def help(conv: "Conversation", msg: Incoming, args: str) -> list[Reply]:  # noqa: A001
    """/help: how to ask, and the commands this user may use."""
    lines = ["Cách hỏi: gõ câu hỏi bằng tiếng Việt (có dấu hoặc không dấu). Nêu tên văn bản hoặc số "
             "điều nếu biết, ví dụ “Điều 11 Nghị định 73”, “luật viên chức điều 15”.",
             "", "Các lệnh:", "/docs — danh sách văn bản (số hiệu, ngày, tình trạng)",
             "/dieu <số> <văn bản> — xem toàn văn một Điều, ví dụ /dieu 11 nd 73",
             "/help — hướng dẫn này"]
    if conv.fmt.buttons:
        lines.append("Dưới mỗi câu trả lời: “Toàn văn Điều”, “Nguồn khác” và 👍/👎 để góp ý.")
    else:
        lines.append("Sau mỗi câu trả lời: /dieu (toàn văn Điều), /nguon (nguồn khác), /tot, /chuatot (góp ý).")
    if conv.access.is_admin(msg.user_id):
        lines += ["", "Quản trị:", "/reindex — lập chỉ mục lại", "/remove <tệp hoặc số hiệu> — xoá văn bản",
                  "/stats — thống kê", "/unanswered — câu hỏi chưa trả lời được"]
        if conv.files:
            lines.append("Gửi tệp PDF, DOCX hoặc TXT (tối đa "
                         f"{conv.runtime.settings.upload_max_mb:.0f} MB) để bổ sung văn bản; chú thích có thể "
                         "ghi “Số: 99/2024/NĐ-CP; ngày: 01/02/2024; bản trích; tình trạng: …”.")
        else:
            lines.append("Bổ sung văn bản: chép tệp PDF, DOCX hoặc TXT vào thư mục documents/ trên máy chủ "
                         "rồi gõ /reindex.")
    return conv.say_lines(lines)


def docs(conv: "Conversation", msg: Incoming, args: str) -> list[Reply]:
    """/docs: every document with its number, date and status."""
    fmt, is_admin = conv.fmt, conv.access.is_admin(msg.user_id)
    blocks = [fmt.bold("Văn bản trong kho:")]
    for d in _documents(conv):
        m = d.meta
        status = [s for s in ("bản trích" if not m.complete else "",
                              f"hết hiệu lực từ {short_date(m.valid_until)}" if m.expired() else "",
                              m.status) if s]
        title = m.title if len(m.title) <= 90 else m.title[:90].rsplit(" ", 1)[0] + "…"
        line = f"• {fmt.bold(m.label)}" + (f" — {fmt.esc(title)}" if title != m.label else "")
        if m.date:
            line += fmt.esc(f" (ngày {short_date(m.date)})")
        if status:
            line += "\n  " + fmt.italic("; ".join(status))
        if is_admin:
            line += "\n  " + fmt.code(d.source)
        blocks.append(line)
    return conv.say_blocks(blocks)


def dieu(conv: "Conversation", msg: Incoming, args: str) -> list[Reply]:
    """/dieu <số> <văn bản>: one article in full."""
    m = _DIEU.match(args.strip())
    if not m:
        return conv.say(DIEU_USAGE)
    number, named = m.group(1), m.group(2).strip()
    index = conv.runtime.searcher().index
    query = parse(f"điều {number} {named}")
    ids = [i for ref in query.documents for i in resolve(ref, index)]
    if query.documents and not ids:
        return conv.say(f"Kho văn bản chưa có {', '.join(r.label for r in query.documents)}.")
    if named and not query.documents:
        return conv.say(f"Không nhận ra văn bản “{named}”. {DIEU_USAGE}")
    found = [(d, pos) for d in dict.fromkeys(ids or index.documents)
             if (pos := index.article_positions(d, number))]
    if not found:
        where = f" trong {index.documents[ids[0]].meta.label}" if len(ids) == 1 else ""
        return conv.say(f"Không tìm thấy Điều {number}{where} trong kho văn bản.")
    if len(found) > 1:
        return conv.say_lines([f"Điều {number} có trong nhiều văn bản; anh/chị ghi rõ văn bản:"] +
                              [f"• {index.documents[d].meta.label}" for d, _ in found] +
                              [f"Ví dụ: /dieu {number} nd 73"])
    return conv.say_blocks(_article(conv, index.passages(found[0][1])))


def _article(conv: "Conversation", passages: list) -> list[str]:
    first = passages[0]
    heading = first.heading.split(" › ")[-1] if first.heading else ""
    text = "\n".join(p.text for p in passages)
    return article_blocks(citation(first), heading, text, notes(first), conv.fmt)


def article_of(conv: "Conversation", source: str | None, article: str | None) -> list[Reply]:
    """The full article a logged answer cited (the "Toàn văn Điều" button, Zalo's bare /dieu)."""
    index = conv.runtime.searcher().index
    doc = next((d for d in index.documents.values() if d.source == source), None)
    positions = index.article_positions(doc.id, article) if doc and article else []
    if not positions:
        return conv.say("Điều này không còn trong kho văn bản (có thể văn bản đã được gỡ bỏ).")
    return conv.say_blocks(_article(conv, index.passages(positions)))


def text_commands(has_article: bool, has_more: bool) -> str:
    """Zalo's stand-in for the buttons, under each answer."""
    parts = (["/dieu: toàn văn Điều"] if has_article else []) + \
        (["/nguon: nguồn khác"] if has_more else []) + ["/tot hoặc /chuatot: góp ý"]
    return "Gõ " + "; ".join(parts) + "."
