"""The one renderer: answers, articles and lists as Telegram HTML or plain text.

Every word a user reads about a citation is chosen here, from the `Answer`'s
structured flags (excerpt, OCR, in force until, replaced by): the same
function writes the terminal's and Zalo's plain text and Telegram's HTML, so
they cannot drift apart.

A reply is built from blocks, each a small self-contained piece (a citation
line, one quote, a list line) that is complete on its own: in HTML every block
closes every tag it opens. Messages are then packed from whole blocks under the
channel's limit, so a split never cuts a tag or a citation. Only quoted text
can be longer than a message; it is split before escaping, at clause, then
sentence, then word boundaries, never inside a citation such as "điểm a khoản 2
Điều 5 Nghị định này", and each piece gets its own tags. Splitting before
escaping means an entity like "&amp;" can never be cut either.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date
from typing import Callable

from bot.index.catalog import label_for
from bot.answer import Answer, Quote

# Clause and point starts, then sentence ends, then ";" ",", then any space.
_BREAKS = [r"\n(?=\d+[a-zđ]?\.\s|[a-zđ]\)\s)", r"\n", r"(?<=[.!?…»:])\s+", r"(?<=;)\s+",
           r"(?<=,)\s+", r"\s+"]
_UNIT = r"(?i:điểm\s+[a-zđ]|khoản\s+\d+[a-zđ]?|điều\s+\d+[a-zđ]?|mục\s+\d+|chương\s+[ivxlc\d]+)"
_DOC = (r"(?:Luật|Nghị định|Nghị quyết|Quyết định|Thông tư|Kết luận|Chỉ thị|Hướng dẫn|Quy định)"
        r"(?:\s+số)?\s+(?:\d[\w/.-]*|này)")
CITATION = re.compile(rf"{_UNIT}(?:,?\s+(?:của\s+)?{_UNIT})*(?:\s+(?:của\s+)?{_DOC})?|{_DOC}")


def short_date(iso: str | None) -> str:
    """"2023-09-29" -> "29/09/2023"; anything else as it is."""
    try:
        return date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""
    except ValueError:
        return iso or ""


def units16(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Cut `text` into pieces with measure(piece) <= limit at the most natural boundary."""
    text = text.strip()
    if measure(text) <= limit:
        return [text] if text else []
    protected = [m.span() for m in CITATION.finditer(text)]
    for pattern in _BREAKS:
        cuts = [m for m in re.finditer(pattern, text)
                if not any(a < m.start() < b for a, b in protected)]
        if cuts:
            break
    else:
        return _hard_cut(text, limit, measure)
    pieces, start = [], 0
    for m in cuts:
        pieces.append(text[start:m.end()])
        start = m.end()
    pieces.append(text[start:])
    out, current = [], ""
    for piece in pieces:
        if current and measure((current + piece).strip()) > limit:
            out.append(current)
            current = ""
        current += piece
        if measure(current.strip()) > limit:  # one piece alone is too long: cut it finer
            out.extend(split_text(current, limit, measure))
            current = ""
    out.append(current)
    return [p.strip() for p in out if p.strip()]


def _hard_cut(text: str, limit: int, measure) -> list[str]:
    out = []
    while text:
        lo, hi = 1, len(text)
        while lo < hi:  # the longest prefix that fits
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if measure(text[:mid]) <= limit else (lo, mid - 1)
        out.append(text[:lo])
        text = text[lo:]
    return out


@dataclass(frozen=True)
class Format:
    """How one channel writes text: its markup and its message length limit."""

    html: bool
    limit: int
    buttons: bool  # inline buttons (Telegram) or text commands (Zalo)

    def esc(self, text: str) -> str:
        return html.escape(text, quote=False) if self.html else text

    def bold(self, text: str) -> str:
        return f"<b>{self.esc(text)}</b>" if self.html else text

    def italic(self, text: str) -> str:
        return f"<i>{self.esc(text)}</i>" if self.html else text

    def code(self, text: str) -> str:
        return f"<code>{self.esc(text)}</code>" if self.html else text

    def measure(self, text: str) -> int:
        return units16(text) if self.html else len(text)

    def quote(self, text: str) -> list[str]:
        """Verbatim text as one or more quote blocks, each fitting in a message."""
        opening, closing = ("<blockquote>", "</blockquote>") if self.html else ("«", "»")
        def size(piece: str) -> int:
            return self.measure(opening + self.esc(piece) + closing)
        return [opening + self.esc(p) + closing for p in split_text(text, self.limit, size)]


HTML = Format(html=True, limit=4096, buttons=True)
PLAIN = Format(html=False, limit=2000, buttons=False)
TERMINAL = Format(html=False, limit=100_000, buttons=False)  # no platform limit: whole articles


def pack(blocks: list[str], fmt: Format) -> list[str]:
    """Whole blocks joined by newlines into as few messages as fit the limit."""
    messages, current = [], ""
    for block in blocks:
        if fmt.measure(block) > fmt.limit:  # only plain free text can get here
            parts = split_text(block, fmt.limit, fmt.measure)
        else:
            parts = [block]
        for part in parts:
            joined = f"{current}\n{part}" if current else part
            if current and fmt.measure(joined) > fmt.limit:
                messages.append(current)
                joined = part
            current = joined
    if current.strip():
        messages.append(current)
    return messages


WRITTEN_NOTE = "(Tóm tắt tự động từ các văn bản trên; vui lòng đối chiếu nguyên văn khi áp dụng.)"
NOT_FOUND = ("Xin lỗi, các văn bản trong kho chưa có nội dung trả lời câu hỏi này. "
             "Anh/chị có thể diễn đạt lại, hoặc nêu rõ tên văn bản, số điều "
             "(ví dụ: \"Điều 11 Nghị định 73\").")
EXCERPT = "Bản trong kho là bản trích, không đầy đủ toàn văn."
OCR = "Nội dung được đọc từ bản quét (OCR), có thể sai sót; cần đối chiếu bản gốc."


def _replacement(q: Quote) -> str:
    s = q.successor  # bot.retrieve.successor.Successor: the matching article of the new text
    if s is not None and getattr(s, "label", None):
        return f"được thay thế bởi {s.label}, tương ứng {s.heading or f'Điều {s.article}'}."
    if not q.replaced_by:
        return "cần đối chiếu văn bản thay thế."
    what = ", ".join(label_for(n) for n in q.replaced_by)  # "80/2025/QH15" -> "Luật 80/2025/QH15"
    return f"được thay thế bởi {what}" + (f" (xem {q.successor})." if q.successor else ".")


def notes(q: Quote) -> list[str]:
    """The warnings a citation of this quote must carry, in full."""
    out = [EXCERPT] if q.excerpt else []
    if q.ocr:
        out.append(OCR)
    if q.expired:
        out.append(f"Văn bản này không còn hiệu lực (từ {short_date(q.valid_until)}); {_replacement(q)}")
    elif q.replaced_by:
        when = f" từ {short_date(q.valid_until)}" if q.valid_until else ""
        out.append(f"Văn bản này sẽ {_replacement(q)[:-1]}{when}.")
    if q.status:
        out.append(f"Tình trạng: {q.status}")
    return out


def heading_suffix(q: Quote) -> str:
    """" (Điều 11. Biện pháp bảo vệ cán bộ)": the article's heading after its citation."""
    return f" ({q.heading})" if q.heading and q.heading.startswith("Điều ") else ""


def flags(q: Quote) -> str:
    """" (bản trích)", " (hết hiệu lực)": what a short citation must still say."""
    marks = [m for m, on in (("bản trích", q.excerpt), ("OCR", q.ocr), ("hết hiệu lực", q.expired)) if on]
    return "".join(f" ({m})" for m in marks)


def answer_blocks(answer: Answer, fmt: Format) -> list[str]:
    """The answer as blocks, for either format."""
    blocks = [fmt.italic(n) for n in answer.notices]
    if answer.read_as:
        blocks.append(fmt.italic(f"(Hiểu câu hỏi là: {answer.read_as})"))
    if not answer.found:
        return blocks + [fmt.esc(NOT_FOUND)]
    if answer.written:
        refs = answer.references
        blocks += [fmt.esc(answer.written), "", fmt.bold("Nguồn:")]
        blocks += [fmt.esc(f"[{i}] {q.citation}{flags(q)}") for i, q in enumerate(refs, 1)]
        lasting = dict.fromkeys(n for q in refs for n in notes(q) if n not in (EXCERPT, OCR))
        blocks += [fmt.esc(f"⚠️ {n}") for n in lasting]
        return blocks + [fmt.italic(WRITTEN_NOTE)]
    single = len(answer.quotes) == 1
    if not single:
        blocks.append(fmt.bold("Trích dẫn:"))
    for i, q in enumerate(answer.quotes):
        line = f"{q.citation}{heading_suffix(q)}"
        blocks.append(fmt.bold(f"Theo {line}:" if single else f"• {line}:"))
        if i == 0 and q.subject:
            blocks.append(fmt.italic(f"(Quy định này dành cho {q.subject}; câu hỏi về {answer.asked_subject}.)"))
        blocks += fmt.quote(q.text)
    blocks += [fmt.esc(f"⚠️ {n}") for n in notes(answer.quotes[0])]
    if answer.more:
        blocks += ["", fmt.bold("Nguồn khác:")]
        blocks += [fmt.esc(f"• {q.citation}{flags(q)}") for q in answer.more]
    return blocks


def render_text(answer: Answer) -> str:
    """The answer in plain text, as one string (the terminal, `cadrebot ask`)."""
    return "\n".join(answer_blocks(answer, PLAIN))


def sources_blocks(quotes: list[Quote], fmt: Format) -> list[str]:
    """Further sources with their text (the "Nguồn khác" button, /nguon)."""
    if not quotes:
        return [fmt.esc("Không có nguồn nào khác cho câu hỏi này.")]
    blocks = [fmt.bold("Nguồn khác:")]
    for q in quotes:
        blocks += ["", fmt.bold(f"{q.citation}{flags(q)}")]
        blocks += fmt.quote(q.text)
    return blocks


def article_blocks(article: Quote, fmt: Format) -> list[str]:
    """A whole article: its citation, its heading line, the verbatim text, the warnings."""
    blocks = [fmt.bold(article.citation)]
    if article.heading:
        blocks.append(fmt.italic(article.heading))
    blocks += fmt.quote(article.text)
    return blocks + [fmt.esc(f"⚠️ {n}") for n in notes(article)]
