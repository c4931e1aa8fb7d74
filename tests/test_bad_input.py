"""Bad input end to end: every file in the generated corpus (tests/badfiles.py) and odd questions.

Each bad file is refused within seconds with a Vietnamese reason, or indexed
sanely; a build over a folder holding all of them beside a good document
finishes, reports each refusal, keeps the good document answerable, and later
re-indexes are unaffected. Questions that cannot be searched get a message
and exit code 2; markup around a real question still finds the article.
"""

from __future__ import annotations

import json
import re
import struct
import time
import tracemalloc
import unicodedata
import zipfile
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest
from badfiles import (BAD_FILES, GOOD_QUESTION, LEGAL_PAGE, make_good, make_lying_zip_bomb_docx,
                      make_oversized, make_single_line_txt, make_zip_bomb_docx)
from pdfgen import make_pdf
from pypdf import PdfWriter
from typer.testing import CliRunner

from bot.answer import build_answer
from bot.channels.render import render_text
from bot.cli import app
from bot.errors import BadQuery, DocumentError
from bot.index import Index
from bot.index.builder import build_index
from bot.ingest import list_documents, prepare
from bot.ingest.chunker import MAX_CHARS
from bot.ingest.loaders import MAX_DOCUMENT_MB, load_document
from bot.retrieve.search import Searcher
from bot.runtime import Runtime

REFUSED = [bad for bad in BAD_FILES if bad.reason]
USABLE = [bad for bad in BAD_FILES if not bad.reason]
SECONDS = 5.0  # the most any single bad file may take to refuse, on a busy 2-core machine
VIETNAMESE = re.compile(r"[đăâêôơư\u1ea0-\u1ef9]", re.I)


def name_of(bad) -> str:
    return bad.make.__name__.removeprefix("make_")


def source_of(folder: Path, path: Path) -> str:
    return next(source for source, found in list_documents(folder) if found == path)


def printable(text: str) -> bool:
    """Storable as UTF-8 and free of control, format and surrogate characters."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(unicodedata.category(c)[0] == "C" for c in text)


# --- one file at a time ---------------------------------------------------------------


@pytest.mark.parametrize("bad", REFUSED, ids=name_of)
def test_bad_file_is_refused_within_seconds_with_a_vietnamese_reason(tmp_path: Path, bad) -> None:
    path = bad.make(tmp_path)
    source = source_of(tmp_path, path)
    started = time.perf_counter()
    with pytest.raises(DocumentError) as excinfo:
        prepare(path, source)
    assert time.perf_counter() - started < SECONDS
    reason = str(excinfo.value)
    assert bad.reason in reason and VIETNAMESE.search(reason)
    assert printable(source)


@pytest.mark.parametrize("bad", USABLE, ids=name_of)
def test_odd_but_usable_file_is_read_quickly_into_bounded_chunks(tmp_path: Path, bad) -> None:
    path = bad.make(tmp_path)
    started = time.perf_counter()
    prepared = prepare(path, source_of(tmp_path, path))
    assert time.perf_counter() - started < SECONDS
    assert prepared.chunks and all(0 < len(c.text) <= MAX_CHARS for c in prepared.chunks)
    # The name is kept as it is on disk, and the file stays inside the folder it was put in.
    assert source_of(tmp_path, path) == path.name and path.parent == tmp_path


def test_one_megabyte_line_is_cut_into_many_passages(tmp_path: Path) -> None:
    path = next(bad for bad in USABLE if name_of(bad) == "single_line_txt").make(tmp_path)
    raw = path.read_bytes()
    assert len(raw) >= 999_000 and b"\n" not in raw
    prepared = prepare(path, path.name)
    assert len(prepared.chunks) > len(raw) // (4 * MAX_CHARS)


def test_the_size_limit_is_a_parameter(tmp_path: Path) -> None:
    path = tmp_path / "vua.txt"
    path.write_text("Điều 1. Cán bộ được nghỉ phép.\n" * 40_000, encoding="utf-8")  # ~1.3 MB
    assert load_document(path).text.startswith("Điều 1.")
    with pytest.raises(DocumentError, match=r"Tệp quá lớn \(1\.\d MB; tối đa 1 MB\)"):
        load_document(path, max_mb=1)
    with pytest.raises(DocumentError, match="tối đa 0.5 MB"):
        prepare(path, path.name, max_mb=0.5)


def test_an_oversized_file_is_refused_without_being_read(tmp_path: Path) -> None:
    path = make_oversized(tmp_path)
    assert path.stat().st_size > MAX_DOCUMENT_MB << 20
    tracemalloc.start()
    try:
        with pytest.raises(DocumentError, match=f"tối đa {MAX_DOCUMENT_MB} MB"):
            load_document(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def _inflated_size(path: Path, member: str) -> int:
    """What a member really inflates to, counted in bounded steps from its raw data."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    raw = path.read_bytes()
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    inflate, data, size = zlib.decompressobj(-15), raw[start:start + info.compress_size], 0
    while data:
        size += len(inflate.decompress(data, 1 << 20))
        data = inflate.unconsumed_tail
    return size


@pytest.mark.parametrize("make", [make_zip_bomb_docx, make_lying_zip_bomb_docx])
def test_zip_bomb_docx_is_refused_without_being_inflated(tmp_path: Path, make) -> None:
    path = make(tmp_path)
    assert path.stat().st_size < 1_000_000
    assert _inflated_size(path, "word/document.xml") >= 300 << 20  # a real bomb
    tracemalloc.start()
    try:
        with pytest.raises(DocumentError, match="DOCX"):
            load_document(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20, f"{peak / 1e6:.0f} MB allocated while refusing a zip bomb"


def test_one_text_page_among_thousands_of_blank_pages_gives_one_warning(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=str(make_pdf(tmp_path / "one.pdf", [LEGAL_PAGE])))
    for _ in range(1500):
        writer.add_blank_page(width=595, height=842)
    path = tmp_path / "nd-52.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    started = time.perf_counter()
    loaded = load_document(path)
    assert time.perf_counter() - started < SECONDS
    assert loaded.pages == 1501 and "mười hai ngày" in loaded.text
    assert loaded.warnings == ["Trang 2-1501 không có chữ (có thể là ảnh quét)"]


# --- the whole corpus in one folder ---------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, embedder):
    """Every bad file beside a good document, built three times: first, unchanged, one added."""
    root = tmp_path_factory.mktemp("bad-input")
    docs, index_dir = root / "documents", root / "index"
    docs.mkdir()
    good = make_good(docs)
    # The one-line file is 100 KB here (1 MB is tested on its own above): embedding
    # its 583 passages would cost a minute or two of every CI run.
    made = {name_of(bad): bad.make(docs, 100_000) if bad.make is make_single_line_txt else bad.make(docs)
            for bad in BAD_FILES}
    sources = {path: source for source, path in list_documents(docs)}
    started = time.perf_counter()
    first = build_index(docs, index_dir, embedder)
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = build_index(docs, index_dir, embedder)
    again_seconds = time.perf_counter() - started
    make_pdf(docs / "nd-52.pdf", [LEGAL_PAGE])
    added = build_index(docs, index_dir, embedder)
    return SimpleNamespace(docs=docs, index_dir=index_dir, good=sources[good], made=made,
                           sources=sources, first=first, again=again, added=added,
                           first_seconds=first_seconds, again_seconds=again_seconds)


def expected_skips(corpus) -> dict[str, str]:
    return {corpus.sources[corpus.made[name_of(bad)]]: bad.reason for bad in REFUSED}


def test_build_reports_every_bad_file_and_indexes_the_rest(corpus) -> None:
    report = corpus.first
    expected = expected_skips(corpus)
    assert set(report.skipped) == set(expected)
    for source, words in expected.items():
        assert words in report.skipped[source] and VIETNAMESE.search(report.skipped[source])
    usable = {corpus.sources[corpus.made[name_of(bad)]] for bad in USABLE}
    assert sorted(report.added) == sorted(usable | {corpus.good})
    assert report.documents == len(usable) + 1
    # Names with control characters or non-UTF-8 bytes are reported escaped, never raw.
    assert all(printable(source) for source in report.skipped)
    assert "quy-dinh\\x1b[31m\\x0amoi.txt" in report.skipped


def test_good_document_stays_answerable(corpus, embedder) -> None:
    index = Index.open(corpus.index_dir, embedder.name)
    try:
        answer = build_answer(Searcher(index, embedder).search(GOOD_QUESTION, k=8))
        assert answer.found
        assert answer.quotes[0].citation == "Khoản 1 Điều 2 Nghị định 41/2024/NĐ-CP"
        assert "30% mức lương cơ sở" in answer.quotes[0].text
        # The same text under two names is indexed twice, under both names.
        copies = [d for d in index.documents.values() if d.meta.number == "41/2024/NĐ-CP"]
        assert sorted(d.source for d in copies) == ["ban-sao-nd-41.txt", corpus.good]
    finally:
        index.close()


def test_reindex_after_bad_files_is_unaffected(corpus, embedder) -> None:
    again, added = corpus.again, corpus.added
    assert not again.changed and again.version == corpus.first.version
    assert again.skipped == corpus.first.skipped
    assert corpus.again_seconds < 10, f"re-reading the bad files took {corpus.again_seconds:.1f} s"
    assert added.added == ["nd-52.pdf"] and added.updated == added.removed == []
    assert added.skipped == corpus.first.skipped
    index = Index.open(corpus.index_dir, embedder.name)
    try:
        searcher = Searcher(index, embedder)
        assert build_answer(searcher.search(GOOD_QUESTION)).found
        top = searcher.search("cán bộ được nghỉ phép bao nhiêu ngày mỗi năm").hits[0].passage
        assert top.source == "nd-52.pdf" and top.article == "1"
    finally:
        index.close()


def test_cli_index_summary_names_each_bad_file_without_raw_control_characters(
        corpus, embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Runtime, "embedder", property(lambda self: embedder))
    result = CliRunner().invoke(app, ["index", "--documents", str(corpus.docs),
                                      "--index", str(corpus.index_dir)])
    assert result.exit_code == 0, result.output
    # (the progress bar on stderr moves the cursor with escapes of its own)
    skipped = [line for line in result.output.splitlines() if line.startswith("  Bỏ qua ")]
    assert len(skipped) == len(REFUSED)
    assert "  Bỏ qua quy-dinh\\x1b[31m\\x0amoi.txt: Tên tệp có ký tự điều khiển" in result.output
    assert all(printable(line) for line in skipped)


# --- questions ------------------------------------------------------------------------


@pytest.mark.parametrize("question, words", [
    ("", "trống"), (" \n\t ", "trống"), ("x" * 10_000, "quá dài (10000 ký tự"),
    ("😀🎉👍🏻", "không có chữ"), ("\u200b\u2060\ufeff", "không có chữ"), ("?!… — «»", "không có chữ"),
])
def test_unsearchable_questions_get_a_vietnamese_message(searcher: Searcher, question: str,
                                                         words: str) -> None:
    with pytest.raises(BadQuery) as excinfo:
        searcher.search(question)
    assert words in str(excinfo.value)


@pytest.mark.parametrize("question", [
    "<b>Nghị định 73</b> bảo vệ cán bộ <i>dám nghĩ, dám làm</i> như thế nào?",
    "&lt;b&gt;nghị định 73&lt;/b&gt; bảo vệ cán bộ",
    "*Nghị định 73* bảo vệ cán bộ dám nghĩ dám làm như thế nào?",
    "`nghị định 73` ~bảo vệ~ ||cán bộ|| như thế nào",
])
def test_html_and_telegram_markup_around_a_question_still_find_the_article(
        searcher: Searcher, question: str) -> None:
    result = searcher.search(question, 5)
    top = result.hits[0].passage
    assert (top.meta.number, top.article) == ("73/2023/NĐ-CP", "11")
    assert build_answer(result).found


@pytest.mark.parametrize("question", ["<script>alert(1)</script>", "\x00\x1b[31m", "🙂 ok 🙂"])
def test_junk_questions_are_answered_politely_without_a_quote(searcher: Searcher, question) -> None:
    answer = build_answer(searcher.search(question))
    assert not answer.found and answer.quotes == []
    assert render_text(answer).startswith("Xin lỗi")


@pytest.fixture
def cli(shipped_index, embedder, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(Runtime, "embedder", property(lambda self: embedder))
    monkeypatch.setenv("DOCUMENTS_DIR", str(shipped_index.documents_dir))
    monkeypatch.setenv("INDEX_DIR", str(shipped_index.index_dir))
    return lambda *args: CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("command", ["search", "ask"])
@pytest.mark.parametrize("question, words", [
    ("", "Câu hỏi đang trống"), ("a" * 10_000, "quá dài"), ("😀😀", "không có chữ"),
])
def test_cli_unsearchable_questions_exit_2(cli, command: str, question: str, words: str) -> None:
    result = cli(command, question)
    assert result.exit_code == 2
    assert "Lỗi: " in result.output and words in result.output


def test_cli_markup_questions_answer_normally(cli) -> None:
    result = cli("ask", "<b>Nghị định 73</b> bảo vệ cán bộ <i>dám nghĩ, dám làm</i> như thế nào?")
    assert result.exit_code == 0, result.output
    assert "Điều 11 Nghị định 73/2023/NĐ-CP" in result.output
    result = cli("search", "--json", "<script>alert(1)</script>")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["query"] == "<script>alert(1)</script>"
