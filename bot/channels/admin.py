"""Admin commands shared by every channel: /reindex, /remove, /stats, /unanswered, uploads.

Builds go through the Runtime's one coordinator (`runtime.builds`), in a
worker thread, while questions keep being answered from the published index
version. A second /reindex is told that one runs; an upload or a removal is
queued (and told so) instead, since the admin has already said what to change.
"""

from __future__ import annotations

import time
import uuid
from typing import Callable

from bot.channels import uploads
from bot.channels.message import Core, Incoming, Progress, Reply
from bot.channels.render import short_date
from bot.errors import CadreBotError, IndexBusy
from bot.index.builder import BuildReport
from bot.index.builds import BUSY, Change

PROGRESS_EVERY = 1.0  # seconds between progress edits: Telegram limits edits per chat
STAGES = {"read": "Đang đọc văn bản", "ocr": "Đang đọc bản quét (OCR), trang",
          "embed": "Đang tính vector các đoạn"}


def _throttled(progress: Progress):
    last = [0.0]

    def report(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY:
            return
        last[0] = now
        progress(f"⏳ {STAGES.get(stage, STAGES['embed'])}: {done}/{total}…")
    return report


def summary(report: BuildReport) -> list[str]:
    """What a build did, in lines for the admin."""
    lines = [f"✅ Đã lập chỉ mục xong sau {report.seconds} giây.",
             f"Văn bản: {report.documents} | đoạn: {report.chunks}",
             f"Thêm {len(report.added)}, cập nhật {len(report.updated)}, xoá {len(report.removed)}, "
             f"không đổi {len(report.unchanged)}, bỏ qua {len(report.skipped)}."]
    lines += [f"• Thêm: {s}" for s in report.added[:10]]
    lines += [f"• Xoá: {s}" for s in report.removed[:10]]
    lines += [f"• Bỏ qua {s}: {why}" for s, why in list(report.skipped.items())[:10]]
    lines += [f"• Lưu ý {s}: {'; '.join(w[:3])}" for s, w in list(report.warnings.items())[:10]]
    return lines


def _build(conv: Core, progress: Progress, *, wait: bool,
           change: Change | None = None) -> tuple[BuildReport | None, list[Reply]]:
    """Run a build through the one coordinator; on failure, the replies that say why."""
    def tell(text: str) -> None:
        progress(conv.fmt.esc(text))
    try:
        return conv.runtime.builds.run(_throttled(tell), wait=wait, change=change, queued=tell), []
    except IndexBusy:
        return None, conv.say(BUSY)
    except CadreBotError as exc:
        return None, conv.say(f"❌ Lập chỉ mục không thành công: {exc}")


def reindex(conv: Core, msg: Incoming, args: str) -> list[Reply]:
    """/reindex: incremental; the progress message is edited in place."""
    if conv.runtime.builds.busy:
        return conv.say(BUSY)

    def work(progress: Progress) -> list[Reply]:
        report, failed = _build(conv, progress, wait=False)
        return failed or conv.say_lines(summary(report))
    return [Reply(conv.fmt.esc("⏳ Bắt đầu lập chỉ mục…"), work=work)]


def remove(conv: Core, msg: Incoming, args: str) -> list[Reply]:
    """/remove <tệp | số hiệu>: delete the file and its sidecar, then re-index."""
    if not args:
        return conv.say("Cách dùng: /remove <tên tệp hoặc số hiệu>, ví dụ: /remove 73/2023/NĐ-CP. "
                        "Gõ /docs để xem tên tệp.")
    found = conv.runtime.catalog().find(args)
    if not found:
        return conv.say(f"Không tìm thấy văn bản “{args}”. Gõ /docs để xem danh sách và tên tệp.")
    if len(found) > 1:
        return conv.say_lines([f"“{args}” khớp nhiều văn bản; anh/chị ghi rõ tên tệp:"] +
                              [f"• {d.source} ({d.meta.label})" for d in found])
    doc = found[0]
    folder = conv.runtime.documents_dir
    why = uploads.removable(folder, doc.source)
    if why:
        return conv.say(f"Không xoá được {doc.source} từ trong trò chuyện: {why}")

    def work(progress: Progress) -> list[Reply]:
        report, failed = _build(conv, progress, wait=True, change=lambda: uploads.park(folder, doc.source))
        return failed or conv.say_lines([f"🗑 Đã xoá {doc.source} ({doc.meta.label})."] + summary(report))
    return [Reply(conv.fmt.esc(f"⏳ Đang xoá {doc.source} và lập chỉ mục lại…"), work=work)]


def stats(conv: Core, msg: Incoming, args: str) -> list[Reply]:
    """/stats: documents, chunks, questions, share answered, feedback."""
    s = conv.runtime.catalog().stats()
    j = conv.journal.stats()
    share = f"{100 * j['answered'] / j['questions']:.0f}%" if j["questions"] else "—"
    return conv.say_lines([
        "📊 Thống kê", f"Văn bản: {s['documents']} | đoạn: {s['chunks']} | phiên bản chỉ mục: {s['version']}",
        f"Câu hỏi: {j['questions']} (7 ngày qua: {j['last_7_days']}) | người hỏi: {j['askers']}",
        f"Trả lời được: {j['answered']}/{j['questions']} ({share})",
        f"Góp ý: 👍 {j['helpful']} | 👎 {j['unhelpful']}"] + conv.usage())


def unanswered_lines(rows: list) -> list[str]:
    """The /unanswered list (also printed by `cadrebot unanswered`): most asked first."""
    if not rows:
        return ["Chưa có câu hỏi nào mà kho văn bản không trả lời được."]
    return ["Các câu hỏi chưa trả lời được (nên bổ sung văn bản):"] + \
        [f"{i}. ({r.count} lần) {r.text}" for i, r in enumerate(rows, 1)]


def unanswered(conv: Core, msg: Incoming, args: str) -> list[Reply]:
    """/unanswered: the most frequent questions the documents did not cover (bot/db/journal.py)."""
    return conv.say_lines(unanswered_lines(conv.journal.unanswered(10)))


def upload(conv: Core, file_name: str, caption: str) -> Reply:
    """A checked file from an admin: the adapter downloads it, `work` places and indexes it."""
    name = uploads.clean_name(file_name)
    folder = conv.runtime.documents_dir
    temp = uploads.upload_path(folder, uuid.uuid4().hex)
    meta = uploads.caption_metadata(caption)
    max_bytes = int(conv.runtime.settings.upload_max_mb * 1e6)

    def place() -> Callable[[BuildReport | None], None]:
        undo = uploads.place(folder, temp, name, meta)
        return lambda report: undo(report is None or name in report.skipped)

    def work(progress: Progress) -> list[Reply]:
        try:
            if not temp.is_file() or temp.stat().st_size > max_bytes:
                return conv.say(f"❌ Không nhận được tệp {name} đầy đủ; anh/chị vui lòng gửi lại.")
            report, failed = _build(conv, progress, wait=True, change=place)
        finally:
            temp.unlink(missing_ok=True)
        if failed:
            return failed
        reason = report.skipped.get(name)
        if reason:
            return conv.say(f"❌ Không lập chỉ mục được {name}: {reason}. Tệp chưa được đưa vào kho.")
        return conv.say_lines(_upload_lines(conv, name, report))
    return Reply(conv.fmt.esc(f"⏳ Đã nhận {name}; đang tải về và lập chỉ mục…"), work=work, upload=temp)


def _upload_lines(conv: Core, name: str, report: BuildReport) -> list[str]:
    catalog = conv.runtime.catalog()
    doc = catalog.document(name)
    if doc is None:
        return [f"❌ Không tìm thấy {name} trong chỉ mục sau khi lập."]
    articles, passages = catalog.counts(doc)
    m = doc.meta
    verb = "cập nhật" if name in report.updated else "thêm" if name in report.added else "giữ nguyên"
    day = short_date(m.date) or "không nhận ra"
    lines = [f"✅ Đã {verb} văn bản {name}", f"• Tên: {m.title or '—'}",
             f"• Số hiệu: {m.number or 'không nhận ra'}" + (f" ({m.type})" if m.type else ""),
             f"• Ngày ban hành: {day}"]
    if doc.pages:
        lines.append(f"• Số trang: {doc.pages}")
    lines.append(f"• Số điều tìm thấy: {articles} | số đoạn: {passages}")
    lines += [f"⚠️ {w}" for w in doc.warnings[:10]]
    if not m.number:
        lines.append("Có thể gửi lại tệp kèm chú thích, ví dụ: “Số: 99/2024/NĐ-CP; ngày: 01/02/2024”.")
    return lines + [f"Kho hiện có {report.documents} văn bản."]
