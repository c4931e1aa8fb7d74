"""`cadrebot`: index, search, ask, chat, stats and run, from the terminal.

Typer (on Click) was chosen for typed options and generated help with little
code. Commands raise; errors are translated in one place, the `Boundary`
group (simonw/llm's pattern): a Vietnamese message on stderr and an exit code
(1: the documents, the index or the file system; 2: a bad question or usage;
3: the model cannot be loaded). No command has a try/except of its own.
"""

from __future__ import annotations

import errno
import importlib
import json
import logging
import re
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

try:  # recent Typer ships its own copy of Click; its usage errors are these classes
    from typer._click import exceptions as usage
except ImportError:  # pragma: no cover - Typer on Click itself
    from click import exceptions as usage

from bot.answer import citation
from bot.channels.render import render_text
from bot.config import Settings
from bot.errors import BadQuery, BadUsage, CadreBotError, ModelUnavailable
from bot.index.catalog import labels, status
from bot.runtime import Runtime
from bot.text import clean_question

_OS_ERRORS = {errno.EACCES: "không có quyền truy cập", errno.EPERM: "không có quyền truy cập",
              errno.ENOENT: "không tồn tại", errno.ENOTDIR: "không phải thư mục",
              errno.EISDIR: "là một thư mục", errno.EEXIST: "đã tồn tại", errno.ENOSPC: "hết dung lượng đĩa",
              errno.EROFS: "nằm trên ổ chỉ đọc"}


def exit_code(exc: CadreBotError) -> int:
    return 2 if isinstance(exc, (BadQuery, BadUsage)) else 3 if isinstance(exc, ModelUnavailable) else 1


def _usage(exc: usage.UsageError) -> str:
    """Click's usage errors, said in Vietnamese (the option or argument named as typed)."""
    param = getattr(exc, "param", None)
    name = ""
    if param is not None:
        name = param.name.upper() if param.param_type_name == "argument" or not param.opts else param.opts[0]
    unknown = re.match(r"No such command '(.*)'", exc.format_message())
    if unknown:
        return f"không có lệnh “{unknown.group(1)}”."
    if isinstance(exc, usage.MissingParameter):
        return f"thiếu {name}."
    if isinstance(exc, usage.NoSuchOption):
        return f"không có tùy chọn {exc.option_name}."
    if isinstance(exc, usage.BadParameter):
        return f"giá trị không hợp lệ cho {name}."
    return f"cách dùng không đúng ({exc.format_message()})."


class Boundary(TyperGroup):
    """The CLI's one error boundary: domain, usage and file-system errors become a message and an exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except usage.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # not an error: the help is shown
                raise
            typer.echo(f"Lỗi: {_usage(exc)} Gõ “cadrebot --help” để xem cách dùng.", err=True)
            raise typer.Exit(2) from None
        except CadreBotError as exc:
            typer.echo(f"Lỗi: {exc}", err=True)
            raise typer.Exit(exit_code(exc)) from None
        except OSError as exc:  # a path that is a file, a folder without permission, a full disk
            why = _OS_ERRORS.get(exc.errno, exc.strerror or type(exc).__name__)
            typer.echo(f"Lỗi: {exc.filename or 'tệp'}: {why}.", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(cls=Boundary, add_completion=False, no_args_is_help=True,
                  help="Trợ lý tra cứu chính sách cán bộ: trích dẫn chính xác Điều, Khoản.")

Docs = Annotated[Optional[Path], typer.Option("--documents", help="Thư mục văn bản (DOCUMENTS_DIR).")]
Idx = Annotated[Optional[Path], typer.Option("--index", help="Thư mục chỉ mục (INDEX_DIR).")]


def _runtime(documents: Path | None, index: Path | None) -> Runtime:
    overrides = {k: v for k, v in (("documents_dir", documents), ("index_dir", index)) if v}
    return Runtime(Settings(**overrides))


def _hit_json(rank: int, hit) -> dict:
    p = hit.passage
    return {"rank": rank, "score": hit.score, "source": p.source, "title": p.meta.title,
            "number": p.meta.number, "article": p.article, "clause": p.clause,
            "heading": p.article_heading, "similarity": hit.similarity, "subjects": sorted(hit.subjects),
            "citation": citation(p, p.clause if p.clause and "-" not in p.clause else None),
            "text": p.text}


def _search_json(rt: Runtime, query: str, k: int) -> dict:
    result = rt.search(query, k)
    return {"query": clean_question(query), "results": [_hit_json(h.rank, h) for h in result.hits],
            "missing": [r.label for r in result.missing], "subject": result.query.subject,
            "expansions": result.query.expansions,
            "missing_article": list(result.missing_article) if result.missing_article else None}


def _summary(report) -> str:
    lines = [f"Văn bản: {report.documents} | đoạn: {report.chunks} | {report.seconds} giây",
             f"Thêm {len(report.added)}, cập nhật {len(report.updated)}, xoá {len(report.removed)}, "
             f"không đổi {len(report.unchanged)}, bỏ qua {len(report.skipped)}"]
    lines += [f"  Bỏ qua {src}: {why}" for src, why in report.skipped.items()]
    lines += [f"  Lưu ý {src}: {'; '.join(w)}" for src, w in report.warnings.items()]
    return "\n".join(lines)


def _do_index(rt: Runtime, rebuild: bool, quiet: bool):
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if quiet:
            return
        label = {"read": "Đọc văn bản", "ocr": "OCR bản quét (trang)", "embed": "Tính vector"}[stage]
        bar = bars.get(stage) or bars.setdefault(stage, tqdm(total=total, desc=label, unit="mục",
                                                              file=sys.stderr, leave=False))
        bar.total = total  # each scanned document counts its own pages
        bar.n = done
        bar.refresh()

    try:
        report = rt.builds.run(progress, rebuild=rebuild, wait=True,
                               queued=lambda text: typer.echo(text, err=True))
    finally:
        for bar in bars.values():
            bar.close()
    return report


@app.command()
def index(documents: Docs = None, index: Idx = None,
          rebuild: Annotated[bool, typer.Option("--rebuild", help="Tạo lại toàn bộ.")] = False,
          quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Chỉ in lỗi.")] = False) -> None:
    """Lập chỉ mục (tăng dần) cho thư mục văn bản."""
    report = _do_index(_runtime(documents, index), rebuild, quiet)
    if not quiet:
        typer.echo(_summary(report))


@app.command()
def search(query: Annotated[Optional[str], typer.Argument(help="Câu truy vấn.")] = None,
           k: Annotated[int, typer.Option("--k", help="Số kết quả, từ 1 đến 100.")] = 5,
           as_json: Annotated[bool, typer.Option("--json")] = False,
           batch: Annotated[Optional[str], typer.Option("--batch", help="Tệp, mỗi dòng một truy vấn; - là stdin.")] = None,
           documents: Docs = None, index: Idx = None) -> None:
    """Tìm các đoạn văn bản liên quan."""
    if not 1 <= k <= 100:
        raise BadUsage(f"--k phải là số từ 1 đến 100 (đã nhập {k}).")
    if batch is None and query is None:
        raise BadUsage("cần một câu truy vấn hoặc --batch FILE.")
    rt = _runtime(documents, index)
    if batch is not None:
        handle = _stdin() if batch == "-" else open(batch, encoding="utf-8", errors="surrogateescape")
        rt.searcher()
        for line in handle:
            q = line.rstrip("\n")
            if not q.strip():
                continue
            started = time.perf_counter()
            try:
                out = _search_json(rt, q, k)
            except BadQuery as exc:  # one bad line is a result, not the end of the batch
                out = {"query": clean_question(q), "error": str(exc), "results": []}
            # Per-query time (model load excluded) for benchmarks: bench/latency.py.
            out["took_ms"] = round((time.perf_counter() - started) * 1000, 2)
            typer.echo(json.dumps(out, ensure_ascii=False))
        return
    out = _search_json(rt, query, k)
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    for m in out["missing"]:
        typer.echo(f"Kho văn bản chưa có {m}.")
    for r in out["results"]:
        typer.echo(f"{r['rank']}. [{r['score']:.3f}] {r['citation']} ({r['source']})")
        typer.echo("   " + r["text"][:300].replace("\n", "\n   "))


@app.command()
def ask(question: str, as_json: Annotated[bool, typer.Option("--json")] = False,
        documents: Docs = None, index: Idx = None) -> None:
    """Trả lời một câu hỏi, đúng như bot sẽ gửi."""
    answer = _runtime(documents, index).ask(question)
    if as_json:
        data = {**answer.to_dict(), "answer": render_text(answer)}
        typer.echo(json.dumps({k: data[k] for k in ("question", "found", "answer", "citations")},
                              ensure_ascii=False, indent=1))
    else:
        typer.echo(render_text(answer))


def _stdin():
    """stdin that never raises on a byte that is not UTF-8 (issue 18): the byte reaches
    the question as a lone surrogate, which bot.text.clean_question repairs."""
    if hasattr(sys.stdin, "reconfigure"):  # (before the first read; a test runner's stand-in has none)
        sys.stdin.reconfigure(errors="surrogateescape")
    return sys.stdin


def _chat(rt: Runtime) -> None:
    from bot.channels import terminal

    terminal.chat(rt, typer.echo, lambda text: typer.echo(text, err=True), _stdin())


@app.command()
def chat(documents: Docs = None, index: Idx = None) -> None:
    """Hỏi đáp trong terminal: mỗi dòng một câu hỏi hoặc lệnh (/dieu, /docs, /help…)."""
    _chat(_runtime(documents, index))


@app.command()
def stats(documents: Docs = None, index: Idx = None) -> None:
    """Thống kê chỉ mục: văn bản, số đoạn, mô hình, dung lượng."""
    from bot.retrieve.catalog import Catalog

    rt = _runtime(documents, index)  # the catalog without the model: nothing is searched
    catalog = Catalog(rt.open_index())
    s = catalog.stats()
    typer.echo(f"Phiên bản: {s['version']} (tạo lúc {s['built_at']})")
    typer.echo(f"Mô hình: {s['model']} ({s['backend']}, {s['dimension']} chiều, trọng số ngữ nghĩa "
               f"{s['dense_weight']}) | bộ tách đoạn v{s['chunker']}")
    typer.echo(f"Văn bản: {s['documents']} | đoạn: {s['chunks']} | dung lượng: {s['bytes'] / 1e6:.1f} MB")
    known = labels(d.meta for d in catalog.documents())
    for doc in catalog.documents():
        m = doc.meta
        flags = status(m, known)
        typer.echo(f"  • {m.label} — {m.title[:70]}" + (f" [{'; '.join(flags)}]" if flags else ""))


@app.command()
def unanswered(as_json: Annotated[bool, typer.Option("--json")] = False,
               limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 20,
               index: Idx = None) -> None:
    """Các câu hỏi kho văn bản chưa trả lời được, hỏi nhiều nhất trước (từ cơ sở dữ liệu đang cấu hình)."""
    from bot.db import open_database

    settings = Settings(**({"index_dir": index} if index else {}))
    db = open_database(settings)
    try:
        rows = db.journal.unanswered(limit)
    finally:
        db.close()
    if as_json:
        typer.echo(json.dumps([{"text": r.text, "count": r.count, "last_asked": r.last_asked} for r in rows],
                              ensure_ascii=False, indent=1))
    else:
        from bot.channels.admin import unanswered_lines

        typer.echo("\n".join(unanswered_lines(rows)))


@app.command("eval")
def evaluate(path: Annotated[Path, typer.Argument(help="Tệp JSON Lines, hoặc kho luật ALQAC/Zalo.")],
             questions: Annotated[Optional[Path], typer.Option(help="Tệp câu hỏi ALQAC/Zalo.")] = None,
             as_json: Annotated[bool, typer.Option("--json")] = False,
             strip: Annotated[bool, typer.Option("--strip-diacritics", help="Hỏi không dấu.")] = False,
             documents: Docs = None, index: Idx = None) -> None:
    """Đo chất lượng tìm kiếm: R@k, MRR, nDCG, tỉ lệ từ chối, thời gian, các câu trượt."""
    from bot.evaluate import render_text as render_report, run_file

    report = run_file(_runtime(documents, index), path, questions, strip)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    else:
        typer.echo(render_report(report))


@app.command()
def run(documents: Docs = None, index: Idx = None) -> None:
    """Lập chỉ mục rồi chạy: Telegram, Zalo, Zalo OA nếu đã cấu hình, không thì hỏi đáp trong terminal."""
    rt = _runtime(documents, index)
    started = time.perf_counter()
    report = _do_index(rt, rebuild=False, quiet=True)
    typer.echo(_summary(report), err=True)
    typer.echo(f"Sẵn sàng sau {time.perf_counter() - started:.1f} giây.", err=True)
    others = rt.settings.telegram_bot_token is not None or rt.settings.zalo_bot_token is not None
    if not rt.settings.zalo_oa_missing():  # the OA webhook runs beside the other channels
        if not others:
            return _zalo_oa(rt)
        stop_oa = _zalo_oa(rt, background=True)
        try:
            _run_channels(rt)
        finally:
            stop_oa()
        return
    _run_channels(rt)


def _run_channels(rt: Runtime) -> None:
    """Telegram (with the Zalo bot beside it), the Zalo bot alone, or the terminal."""
    if rt.settings.telegram_bot_token is not None:  # with a Zalo token too, Zalo runs beside it
        stop_zalo = _zalo(rt, background=True) if rt.settings.zalo_bot_token is not None else None
        try:
            _telegram(rt)
        finally:
            if stop_zalo:
                stop_zalo()
    elif rt.settings.zalo_bot_token is not None:
        _zalo(rt)
    else:
        _chat(rt)


def _telegram(rt: Runtime) -> None:
    from bot.channels import telegram

    typer.echo("Bot Telegram đang chạy; Ctrl+C để dừng.", err=True)
    telegram.run(rt, rt.settings)


@app.command("telegram")
def telegram_bot(documents: Docs = None, index: Idx = None) -> None:
    """Chạy bot Telegram: webhook nếu có WEBHOOK_URL, không thì long polling."""
    rt = _runtime(documents, index)
    if rt.settings.telegram_bot_token is None:
        raise BadUsage("chưa đặt TELEGRAM_BOT_TOKEN (trong .env hoặc biến môi trường).")
    _telegram(rt)


def _zalo(rt: Runtime, background: bool = False):
    return _serve(rt, "zalo", "Bot Zalo", background)


def _serve(rt: Runtime, channel: str, name: str, background: bool = False):
    """Run a webhook/polling channel (bot.channels.zalo, .zalo_oa) here, or in the background
    (returns its stop function)."""
    module = importlib.import_module(f"bot.channels.{channel}")
    typer.echo(f"{name} đang chạy; Ctrl+C để dừng.", err=True)
    if background:
        return module.in_background(rt, rt.settings)
    module.run(rt, rt.settings)


@app.command("zalo")
def zalo_bot(documents: Docs = None, index: Idx = None) -> None:
    """Chạy bot Zalo: webhook nếu có ZALO_WEBHOOK_URL, không thì long polling."""
    rt = _runtime(documents, index)
    if rt.settings.zalo_bot_token is None:
        raise BadUsage("chưa đặt ZALO_BOT_TOKEN (trong .env hoặc biến môi trường).")
    _zalo(rt)


@app.command("doctor")
def doctor_command(as_json: Annotated[bool, typer.Option("--json")] = False,
                   documents: Docs = None, index: Idx = None) -> None:
    """Kiểm tra: mô hình, chỉ mục, OCR, cơ sở dữ liệu, các kênh chat (mã thoát 1 nếu có lỗi)."""
    from bot import doctor

    checks = doctor.diagnose(lambda: _runtime(documents, index))
    typer.echo(json.dumps(doctor.to_dict(checks), ensure_ascii=False, indent=1) if as_json
               else doctor.render(checks))
    raise typer.Exit(0 if doctor.healthy(checks) else 1)


def _zalo_oa(rt: Runtime, background: bool = False):
    return _serve(rt, "zalo_oa", "Kênh Zalo OA", background)


@app.command("zalo-oa")
def zalo_oa_channel(documents: Docs = None, index: Idx = None) -> None:
    """Chạy kênh Zalo Official Account: máy chủ webhook (ZALO_OA_WEBHOOK_PORT)."""
    rt = _runtime(documents, index)
    missing = rt.settings.zalo_oa_missing()
    if missing:
        raise BadUsage(f"chưa đặt {', '.join(missing)} (trong .env hoặc biến môi trường).")
    _zalo_oa(rt)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "sentence_transformers", "transformers", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    app()


if __name__ == "__main__":
    main()
