"""Admin commands shared by every channel: /reindex, /remove, /stats, /unanswered, uploads.

Builds run one at a time, in a worker thread, while questions keep being
answered from the published index version. A second /reindex is told that one
runs; an upload or a removal waits for its turn instead, since the admin has
already said what to change.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Callable

from bot.channels import uploads
from bot.channels.message import Incoming, Progress, Reply
from bot.channels.render import short_date
from bot.errors import CadreBotError, IndexBusy
from bot.index.builder import BuildReport
from bot.retrieve.query import parse
from bot.retrieve.search import resolve
from bot.runtime import Runtime
from bot.text import fold

if TYPE_CHECKING:
    from bot.channels.core import Conversation

PROGRESS_EVERY = 1.0  # seconds between progress edits: Telegram limits edits per chat
WAIT_FOR_TURN = 600.0
BUSY = "Đang có một lượt lập chỉ mục chạy; anh/chị vui lòng đợi lượt đó xong rồi thử lại."


class Indexer:
    """One build at a time for this process; the builder's lock file covers other processes."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def run(self, progress: Progress | None = None, *, wait: bool = False,
            change: Callable[[], None] | None = None) -> BuildReport:
        """Apply `change` to the documents folder (if any), then re-index. Raises IndexBusy."""
        acquired = self._lock.acquire(timeout=WAIT_FOR_TURN) if wait else self._lock.acquire(False)
        if not acquired:
            raise IndexBusy(BUSY)
        try:
            if change is not None:
                change()
            return self.runtime.reindex(progress=_throttled(progress))
        finally:
            self._lock.release()


def _throttled(progress: Progress | None):
    if progress is None:
        return None
    last = [0.0]

    def report(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY:
            return
        last[0] = now
        what = "Đang đọc văn bản" if stage == "read" else "Đang tính vector các đoạn"
        progress(f"⏳ {what}: {done}/{total}…")
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


def _build(conv: "Conversation", progress: Progress, *, wait: bool,
           change: Callable[[], None] | None = None) -> tuple[BuildReport | None, list[Reply]]:
    """Run a build; on failure, the replies that say why."""
    try:
        return conv.indexer.run(lambda text: progress(conv.fmt.esc(text)), wait=wait, change=change), []
    except IndexBusy:
        return None, conv.say(BUSY)
    except CadreBotError as exc:
        return None, conv.say(f"❌ Lập chỉ mục không thành công: {exc}")


def reindex(conv: "Conversation", msg: Incoming, args: str) -> list[Reply]:
    """/reindex: incremental; the progress message is edited in place."""
    if conv.indexer.busy:
        return conv.say(BUSY)

    def work(progress: Progress) -> list[Reply]:
        report, failed = _build(conv, progress, wait=False)
        return failed or conv.say_lines(summary(report))
    return [Reply(conv.fmt.esc("⏳ Bắt đầu lập chỉ mục…"), work=work)]


def _matching(index, name: str) -> list:
    docs = list(index.documents.values())
    found = [d for d in docs if name in (d.source, PurePosixPath(d.source).name)]
    found = found or [d for d in docs if fold(name) in {fold(d.meta.number or "\0"), fold(d.meta.label)}]
    if not found:
        ids = [i for ref in parse(name).documents for i in resolve(ref, index)]
        found = [index.documents[i] for i in dict.fromkeys(ids)]
    return found


def remove(conv: "Conversation", msg: Incoming, args: str) -> list[Reply]:
    """/remove <tệp | số hiệu>: delete the file and its sidecar, then re-index."""
    if not args:
        return conv.say("Cách dùng: /remove <tên tệp hoặc số hiệu>, ví dụ: /remove 73/2023/NĐ-CP. "
                        "Gõ /docs để xem tên tệp.")
    found = _matching(conv.runtime.searcher().index, args)
    if not found:
        return conv.say(f"Không tìm thấy văn bản “{args}”. Gõ /docs để xem danh sách và tên tệp.")
    if len(found) > 1:
        return conv.say_lines([f"“{args}” khớp nhiều văn bản; anh/chị ghi rõ tên tệp:"] +
                              [f"• {d.source} ({d.meta.label})" for d in found])
    doc = found[0]
    folder = conv.runtime.documents_dir

    def work(progress: Progress) -> list[Reply]:
        report, failed = _build(conv, progress, wait=True,
                                change=lambda: uploads.remove_files(folder, doc.source))
        return failed or conv.say_lines([f"🗑 Đã xoá {doc.source} ({doc.meta.label})."] + summary(report))
    return [Reply(conv.fmt.esc(f"⏳ Đang xoá {doc.source} và lập chỉ mục lại…"), work=work)]


def stats(conv: "Conversation", msg: Incoming, args: str) -> list[Reply]:
    """/stats: documents, chunks, questions, share answered, feedback."""
    s = conv.runtime.searcher().index.stats()
    j = conv.journal.stats()
    share = f"{100 * j['answered'] / j['questions']:.0f}%" if j["questions"] else "—"
    return conv.say_lines([
        "📊 Thống kê", f"Văn bản: {s['documents']} | đoạn: {s['chunks']} | phiên bản chỉ mục: {s['version']}",
        f"Câu hỏi: {j['questions']} (7 ngày qua: {j['last_7_days']}) | người hỏi: {j['askers']}",
        f"Trả lời được: {j['answered']}/{j['questions']} ({share})",
        f"Góp ý: 👍 {j['helpful']} | 👎 {j['unhelpful']}"])


def unanswered(conv: "Conversation", msg: Incoming, args: str) -> list[Reply]:
    """/unanswered: the most frequent questions the documents did not cover."""
    rows = conv.journal.unanswered(10)
    if not rows:
        return conv.say("Chưa có câu hỏi nào mà kho văn bản không trả lời được.")
    return conv.say_lines(["Các câu hỏi chưa trả lời được (nên bổ sung văn bản):"] +
                          [f"{i}. ({n} lần) {text}" for i, (text, n) in enumerate(rows, 1)])


def upload(conv: "Conversation", file_name: str, caption: str) -> Reply:
    """A checked file from an admin: the adapter downloads it, `work` places and indexes it."""
    name = uploads.clean_name(file_name)
    folder = conv.runtime.documents_dir
    temp = uploads.upload_path(folder, uuid.uuid4().hex)
    meta = uploads.caption_metadata(caption)
    max_bytes = int(conv.runtime.settings.upload_max_mb * 1e6)

    def work(progress: Progress) -> list[Reply]:
        undo: list = []
        try:
            if not temp.is_file() or temp.stat().st_size > max_bytes:
                return conv.say(f"❌ Không nhận được tệp {name} đầy đủ; anh/chị vui lòng gửi lại.")
            report, failed = _build(conv, progress, wait=True,
                                    change=lambda: undo.append(uploads.place(folder, temp, name, meta)))
        finally:
            temp.unlink(missing_ok=True)
        reason = report.skipped.get(name) if report else None
        if undo:
            undo[0](bool(failed) or reason is not None)
        if failed:
            return failed
        if reason:
            return conv.say(f"❌ Không lập chỉ mục được {name}: {reason}. Tệp chưa được đưa vào kho.")
        return conv.say_lines(_upload_lines(conv, name, report))
    return Reply(conv.fmt.esc(f"⏳ Đã nhận {name}; đang tải về và lập chỉ mục…"), work=work, upload=temp)


def _upload_lines(conv: "Conversation", name: str, report: BuildReport) -> list[str]:
    index = conv.runtime.searcher().index
    doc = next((d for d in index.documents.values() if d.source == name), None)
    if doc is None:
        return [f"❌ Không tìm thấy {name} trong chỉ mục sau khi lập."]
    mine = [a for d, a in zip(index.doc_of.tolist(), index.article_of) if d == doc.id]
    m = doc.meta
    verb = "cập nhật" if name in report.updated else "thêm" if name in report.added else "giữ nguyên"
    day = short_date(m.date) or "không nhận ra"
    lines = [f"✅ Đã {verb} văn bản {name}", f"• Tên: {m.title or '—'}",
             f"• Số hiệu: {m.number or 'không nhận ra'}" + (f" ({m.type})" if m.type else ""),
             f"• Ngày ban hành: {day}"]
    if doc.pages:
        lines.append(f"• Số trang: {doc.pages}")
    lines.append(f"• Số điều tìm thấy: {len({a for a in mine if a})} | số đoạn: {len(mine)}")
    lines += [f"⚠️ {w}" for w in doc.warnings[:10]]
    if not m.number:
        lines.append("Có thể gửi lại tệp kèm chú thích, ví dụ: “Số: 99/2024/NĐ-CP; ngày: 01/02/2024”.")
    return lines + [f"Kho hiện có {report.documents} văn bản."]
