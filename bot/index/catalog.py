"""Each document's standing, in words: for `cadrebot stats`, `/docs` and the answer's warnings.

    status(meta, known)      -> ["hết hiệu lực từ 01/07/2025", "được thay thế bởi Luật 80/2025/QH15"]
    expiry_note(meta, succ)  -> the warning a citation of a superseded text carries
    label_for(number, known) -> "Luật 80/2025/QH15": as indexed, else read from the number

`known` maps a document number to the label of the indexed document bearing
it (`labels(documents)`), so a replacement in the corpus is named exactly as
its citations are. Pure functions; the date comes from `bot.clock`.
"""

from __future__ import annotations

from datetime import date
from typing import Iterable

from bot.clock import today
from bot.ingest.metadata import DocumentMeta, number_key, type_of_number


def _iso(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _short(iso: str | None) -> str:
    try:
        return date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""
    except ValueError:
        return iso or ""


def labels(metas: Iterable[DocumentMeta]) -> dict[str, str]:
    """Number key -> label of the indexed document bearing that number."""
    return {number_key(m.number): m.label for m in metas if m.number}


def label_for(number: str, known: dict[str, str] | None = None) -> str:
    """How to name a related text: its label when indexed, else its type read from the number."""
    key = number_key(number)
    if known and key in known:
        return known[key]
    kind = type_of_number(key)
    return f"{kind} {key}" if kind else key


def status(meta: DocumentMeta, known: dict[str, str] | None = None,
           on: date | None = None) -> list[str]:
    """Its standing on `on` (today): in force since / no longer since, replaced by, excerpt, OCR."""
    on = on or today()
    out = []
    if meta.expired(on):
        out.append(f"hết hiệu lực từ {_short(meta.valid_until)}")
        if meta.replaced_by:
            out.append("được thay thế bởi " + ", ".join(label_for(n, known) for n in meta.replaced_by))
    elif _iso(meta.valid_from) and _iso(meta.valid_from) > on:
        out.append(f"chưa có hiệu lực (từ {_short(meta.valid_from)})")
    elif meta.valid_from or meta.valid_until or meta.replaces:
        out.append("còn hiệu lực" + (f" (từ {_short(meta.valid_from)})" if meta.valid_from else ""))
    if meta.replaces:
        out.append("thay thế " + ", ".join(label_for(n, known) for n in meta.replaces))
    if not meta.complete:
        out.append("bản trích")
    if meta.ocr:
        out.append("đọc từ bản quét (OCR)")
    return out


def expiry_note(meta: DocumentMeta, successor=None, known: dict[str, str] | None = None) -> str:
    """"Văn bản này không còn hiệu lực (từ 01/07/2025); được thay thế bởi Luật 80/2025/QH15, …"

    `successor` (bot.retrieve.successor.Successor) names the matching article
    of the replacing text when the corpus holds it.
    """
    note = f"Văn bản này không còn hiệu lực (từ {_short(meta.valid_until)})"
    if successor is not None:
        article = successor.heading or f"Điều {successor.article}"
        return f"{note}; được thay thế bởi {successor.label}, tương ứng {article}."
    if meta.replaced_by:
        names = ", ".join(label_for(n, known) for n in meta.replaced_by)
        return f"{note}; được thay thế bởi {names}."
    return f"{note}; cần đối chiếu văn bản thay thế."
