"""Commands every user may send: /start, /help, /docs, /dieu; and the full text of an article."""

from __future__ import annotations

import re

from bot.answer import quote_of
from bot.channels.message import Core, Incoming, Reply
from bot.channels.render import article_blocks, short_date
from bot.index.catalog import labels, status as document_status
from bot.ingest.metadata import NEWS

EXAMPLES = ["Nghị định 73 bảo vệ cán bộ dám nghĩ, dám làm như thế nào?",
            "Điều kiện đăng ký dự tuyển viên chức là gì?",
            "Thời hạn tập sự của viên chức?"]
DIEU_USAGE = "Cách dùng: /dieu <số điều> <văn bản>, ví dụ: /dieu 11 nd 73 hoặc /dieu 15 luật viên chức."
HINT = "Anh/chị hãy gõ câu hỏi về chính sách cán bộ, hoặc /help để xem hướng dẫn."
NOT_AN_ARTICLE = ("Câu trả lời vừa rồi không trích từ một Điều của văn bản pháp luật (ví dụ: trích từ tin tức), "
                  "nên không có toàn văn Điều để xem. " + DIEU_USAGE)
GONE = "Điều này không còn trong kho văn bản (có thể văn bản đã được gỡ bỏ)."
# An article number has at most three digits and a letter ("Điều 11a"); anything
# longer is refused whole, never cut ("nd 99999999999999999999" is not "nd 9999").
_DIEU = re.compile(r"^(?:(?i:điều|dieu)\s*)?(\d{1,3}[a-zđ]?)(?!\w)\s*(.*)$", re.S)
_LONG_NUMBER = re.compile(r"\d{7,}")


def start(conv: Core, msg: Incoming, args: str) -> list[Reply]:
    """/start: greeting, what the bot knows, three example questions."""
    docs = conv.runtime.catalog().documents()
    newest = [d for d in docs if d.meta.type != NEWS][:3]
    lines = ["Xin chào anh/chị! Tôi là trợ lý tra cứu chính sách cán bộ. Tôi trả lời bằng cách "
             "trích nguyên văn văn bản, ghi rõ số hiệu, Điều, Khoản; tôi không tự viết nội dung pháp lý.",
             "", f"Kho hiện có {len(docs)} văn bản. Mới nhất:"]
    lines += [f"• {d.meta.label}" + (f" ({short_date(d.meta.date)})" if d.meta.date else "") for d in newest]
    lines += ["", "Ví dụ câu hỏi:"] + [f"• {q}" for q in EXAMPLES]
    lines += ["", "Gõ /help để xem cách hỏi và các lệnh."]
    return conv.say_lines(lines)


def moi(conv: Core, msg: Incoming, args: str) -> list[Reply]:
    """/moi: forget the asker's last question, so the next one is not read as a follow-up."""
    conv.memory.forget(msg.chat_id, msg.user_id)
    return conv.say("Đã bắt đầu cuộc hỏi mới: câu hỏi tiếp theo sẽ không dựa vào câu hỏi trước.")


def help(conv: Core, msg: Incoming, args: str) -> list[Reply]:  # noqa: A001
    """/help: how to ask, and the commands this user may use."""
    lines = ["Cách hỏi: gõ câu hỏi bằng tiếng Việt (có dấu hoặc không dấu). Nêu tên văn bản hoặc số "
             "điều nếu biết, ví dụ “Điều 11 Nghị định 73”, “luật viên chức điều 15”.",
             "", "Các lệnh:", "/docs — danh sách văn bản (số hiệu, ngày, tình trạng)",
             "/dieu <số> <văn bản> — xem toàn văn một Điều, ví dụ /dieu 11 nd 73",
             "/moi — bắt đầu câu hỏi mới (quên câu hỏi trước)", "/help — hướng dẫn này"]
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


def docs(conv: Core, msg: Incoming, args: str) -> list[Reply]:
    """/docs: every document with its number, date and status."""
    fmt, is_admin = conv.fmt, conv.access.is_admin(msg.user_id)
    blocks = [fmt.bold("Văn bản trong kho:")]
    documents = conv.runtime.catalog().documents()
    known = labels(d.meta for d in documents)
    for d in documents:
        m = d.meta
        status = document_status(m, known)  # in force / replaced by … / excerpt / OCR (bot/index/catalog.py)
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


def dieu(conv: Core, msg: Incoming, args: str) -> list[Reply]:
    """/dieu <số> <văn bản>: one article in full."""
    long = _LONG_NUMBER.search(args)
    if long:
        return conv.say(f"Số “{long.group(0)[:12]}…” quá dài, không phải số điều hay số hiệu văn bản. {DIEU_USAGE}")
    m = _DIEU.match(args.strip())
    if not m:
        return conv.say(DIEU_USAGE)
    number, named = m.group(1), m.group(2).strip()
    found = conv.runtime.catalog().lookup(number, named)
    if found.named and found.missing and not found.within:
        return conv.say(f"Kho văn bản chưa có {', '.join(r.label for r in found.missing)}.")
    if named and not found.named:
        return conv.say(f"Không nhận ra văn bản “{named}”. {DIEU_USAGE}")
    if not found.found:
        where = f" trong {found.within[0].meta.label}" if len(found.within) == 1 else ""
        return conv.say(f"Không tìm thấy Điều {number}{where} trong kho văn bản.")
    if len(found.found) > 1:
        return conv.say_lines([f"Điều {number} có trong nhiều văn bản; anh/chị ghi rõ văn bản:"] +
                              [f"• {d.meta.label}" for d, _ in found.found] +
                              [f"Ví dụ: /dieu {number} nd 73"])
    return conv.say_blocks(_article(conv, found.found[0][1]))


def _article(conv: Core, passages: list) -> list[str]:
    whole = quote_of(passages[0], "\n".join(p.text for p in passages))
    return article_blocks(whole, conv.fmt)


def cited_article(conv: Core, source: str | None, article: str | None) -> list[Reply]:
    """The full article a logged answer cited (the "Toàn văn Điều" button, a bare /dieu)."""
    if not article:  # a news item or an unnumbered part: there is no article to show
        return conv.say(NOT_AN_ARTICLE)
    catalog = conv.runtime.catalog()
    passages = catalog.article(catalog.document(source), article)
    if not passages:
        return conv.say(GONE)
    return conv.say_blocks(_article(conv, passages))


def text_commands(has_article: bool, has_more: bool) -> str:
    """Zalo's stand-in for the buttons, under each answer."""
    parts = (["/dieu: toàn văn Điều"] if has_article else []) + \
        (["/nguon: nguồn khác"] if has_more else []) + ["/tot hoặc /chuatot: góp ý"]
    return "Gõ " + "; ".join(parts) + "."
