"""The channel-independent conversation core: splitting, rendering, access, rate limit, commands, journal.

The conversation tests at the end run the plain-text (Zalo-style) channel over
the shipped corpus with the real model, index and SQLite journal (bot/db; its
own behaviour, on SQLite and PostgreSQL, is tested in tests/test_db.py).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from bot.answer import Answer, Quote
from bot.channels import Conversation, Incoming, parse_command
from bot.channels.commands import NOT_AN_ARTICLE
from bot.channels.core import NOT_YOURS, UNAVAILABLE
from bot.channels.guard import Access, RateLimiter
from bot.channels.render import (CITATION, HTML, PLAIN, Format, answer_blocks, pack, render_text, split_text,
                                 units16)
from bot.channels.uploads import caption_metadata, check_upload, clean_name, place, upload_path
from bot.config import Settings
from bot.index.builds import BUSY, QUEUED
from bot.runtime import Runtime
from botapi import parse_html

CLAUSES = "\n".join(
    f"{i}. Cán bộ thuộc trường hợp quy định tại điểm a khoản 2 Điều 5 Nghị định 73/2023/NĐ-CP "
    f"được xem xét <loại trừ> & \"miễn\" trách nhiệm theo quy định lần thứ {i}." for i in range(1, 40))


def _squash(text: str) -> str:
    return "".join(text.split())


# --- splitting ----------------------------------------------------------------------------

def test_split_prefers_clause_boundaries_and_keeps_every_character():
    pieces = split_text(CLAUSES, 700)
    assert len(pieces) > 1
    assert all(len(p) <= 700 for p in pieces)
    assert all(re.match(r"\d+\. ", p) for p in pieces)  # each piece starts at a clause
    assert _squash("".join(pieces)) == _squash(CLAUSES)


@settings(max_examples=60, deadline=None)
@given(limit=st.integers(min_value=60, max_value=400), start=st.integers(0, 500))
def test_split_never_cuts_a_citation(limit, start):
    text = CLAUSES[start:start + 1500].replace("\n", " ")
    pieces = split_text(text, limit)
    assert all(len(p) <= limit for p in pieces)
    assert _squash("".join(pieces)) == _squash(text)
    whole = [m.group(0) for m in CITATION.finditer(text) if len(m.group(0)) < limit]
    found = [m.group(0) for p in pieces for m in CITATION.finditer(p)]
    for citation in whole:
        assert found.count(citation) >= whole.count(citation), citation


def test_citation_pattern_covers_nested_references():
    text = "theo điểm a khoản 2 Điều 5 Nghị định 73/2023/NĐ-CP và Điều 11 Nghị định này"
    assert [m.group(0) for m in CITATION.finditer(text)] == [
        "điểm a khoản 2 Điều 5 Nghị định 73/2023/NĐ-CP", "Điều 11 Nghị định này"]


@settings(max_examples=40, deadline=None)
@given(limit=st.integers(min_value=80, max_value=600))
def test_html_quotes_are_valid_escaped_and_fit(limit):
    fmt = Format(html=True, limit=limit, buttons=True)
    text = CLAUSES[:2500] + " " + "&" * 30 + "<<>>"
    blocks = fmt.quote(text)
    shown = [parse_html(b) for b in blocks]  # raises on a cut tag or entity
    assert all(units16(b) <= limit for b in blocks)
    assert all(b.startswith("<blockquote>") and b.endswith("</blockquote>") for b in blocks)
    assert _squash("".join(shown)) == _squash(text)


def test_pack_keeps_blocks_whole_and_counts_utf16():
    fmt = Format(html=True, limit=100, buttons=True)
    blocks = [f"<b>Điều {i} 👍👍👍</b>" for i in range(30)]
    messages = pack(blocks, fmt)
    assert all(units16(m) <= 100 for m in messages)
    assert "\n".join(messages).split("\n") == blocks


def test_plain_pack_splits_long_text_at_lines():
    text = "\n".join(f"Dòng số {i}: " + "nội dung " * 20 for i in range(40))
    messages = pack([text], PLAIN)
    assert len(messages) > 1 and all(len(m) <= PLAIN.limit for m in messages)
    assert all(m.startswith("Dòng số") for m in messages)


# --- rendering ------------------------------------------------------------------------------

def _quote(text: str, article: str = "11", **flags) -> Quote:
    return Quote(f"Khoản 1 Điều {article} Nghị định 73/2023/NĐ-CP", text, "nd73.txt", "73/2023/NĐ-CP",
                 article, "1", **flags)


EXPIRED = dict(valid_until="2025-07-01", expired=True)


def test_html_answer_escapes_document_text_and_keeps_notes():
    excerpt = "Bản trong kho là bản trích, không đầy đủ toàn văn."
    answer = Answer("q", True, [_quote('Cán bộ <trưởng ban> & "phó ban" được hưởng.', excerpt=True)],
                    more=[_quote("x", "3", **EXPIRED)])
    html = "\n".join(pack(answer_blocks(answer, HTML), HTML))
    assert "&lt;trưởng ban&gt; &amp; \"phó ban\"" in html
    shown = parse_html(html)
    assert "Theo Khoản 1 Điều 11 Nghị định 73/2023/NĐ-CP:" in shown
    assert f"⚠️ {excerpt}" in shown
    assert "• Khoản 1 Điều 3 Nghị định 73/2023/NĐ-CP (hết hiệu lực)" in shown


def test_plain_answer_is_render_text():
    answer = Answer("q", True, [_quote("Cán bộ <x> & y.")])
    assert pack(answer_blocks(answer, PLAIN), PLAIN) == [render_text(answer)]


def test_written_answer_shows_text_then_numbered_references():
    answer = Answer("q", True, [_quote("a")])
    answer.written = "Cán bộ được bảo vệ [1] & không bị xử lý <ngay> [2]."
    answer.references = [_quote("a"), _quote("b", "5", **EXPIRED)]
    shown = parse_html("\n".join(pack(answer_blocks(answer, HTML), HTML)))
    assert shown.startswith("Cán bộ được bảo vệ [1] & không bị xử lý <ngay> [2].")
    assert "[1] Khoản 1 Điều 11 Nghị định 73/2023/NĐ-CP" in shown
    assert "[2] Khoản 1 Điều 5 Nghị định 73/2023/NĐ-CP (hết hiệu lực)" in shown
    assert "⚠️ Văn bản này không còn hiệu lực (từ 01/07/2025)" in shown


def test_not_found_answer_has_no_citation():
    answer = Answer("Giá vàng?", False, notices=["Kho văn bản chưa có Nghị định 999."])
    shown = parse_html("\n".join(pack(answer_blocks(answer, HTML), HTML)))
    assert "chưa có nội dung" in shown and "Điều" not in shown.replace("Điều 11 Nghị định 73", "")


# --- access, rate limit, commands -------------------------------------------------------

def test_access_allowlists_and_admins():
    open_bot = Access(admins={1})
    assert open_bot.allowed(5, 5) and open_bot.is_admin(1) and not open_bot.is_admin(5)
    closed = Access(admins={1}, users={2}, chats={-100})
    assert closed.allowed(2, 2) and closed.allowed(1, 1)  # listed user, admin
    assert closed.allowed(7, -100)  # anyone inside a listed group
    assert not closed.allowed(7, 7) and not closed.allowed(7, -200)


def test_rate_limiter_counts_per_channel_and_user_in_the_database(tmp_path):
    from bot.db import connect_database

    now = [1_800_000_000.0]
    db = connect_database(None, tmp_path / "state.sqlite", clock=lambda: now[0])
    zalo, telegram = RateLimiter(db.limits, "zalo", 3, 60), RateLimiter(db.limits, "telegram", 3, 60)
    assert [zalo.check("u").allowed for _ in range(3)] == [True] * 3
    first, second = zalo.check("u"), zalo.check("u")
    assert (first.allowed, first.notify, first.wait) == (False, True, 60)
    assert (second.allowed, second.notify) == (False, False)
    assert zalo.check("other").allowed and telegram.check("u").allowed
    now[0] += 61
    assert zalo.check("u").allowed
    db.close()


@pytest.mark.parametrize("text,expected", [
    ("/dieu@cadre_bot 11 nd 73", ("dieu", "cadre_bot", "11 nd 73")),
    ("/START", ("start", None, "")),
    ("  /remove  news/a b.txt ", ("remove", None, "news/a b.txt")),
])
def test_parse_command(text, expected):
    command = parse_command(text)
    assert (command.name, command.target, command.args) == expected


@pytest.mark.parametrize("text", ["hỏi gì đó", "/ dieu", "", "điều 11 /dieu"])
def test_parse_command_rejects_questions(text):
    assert parse_command(text) is None


# --- uploads -------------------------------------------------------------------------------

@pytest.mark.parametrize("name,clean", [
    ("../../Nghị định 99 (bản cuối).PDF", "nghi-dinh-99-ban-cuoi.pdf"),
    ("C:\\Users\\a\\Quyết định số 5.docx", "quyet-dinh-so-5.docx"),
    ("....txt", "van-ban.txt"),
    ("ĐỀ ÁN.txt", "de-an.txt"),
])
def test_clean_name(name, clean):
    assert clean_name(name) == clean


def test_check_upload_type_and_size():
    assert check_upload("a.pdf", 1000, 20_000_000) is None
    assert "PDF, DOCX, TXT hoặc ảnh" in check_upload("a.exe", 10, 20_000_000)
    assert check_upload("ban-quet.png", 1000, 20_000_000) is None  # scans are read by OCR
    assert "quá lớn" in check_upload("a.pdf", 25_000_000, 20_000_000)
    assert "quá lớn" in check_upload("a.pdf", None, 20_000_000)


def test_caption_metadata():
    meta = caption_metadata("Số: 99/2024/NĐ-CP; ngày: 15/03/2024\nbản trích; tình trạng: Đã sửa đổi; "
                            "hết hiệu lực từ 01/07/2025")
    assert meta == {"number": "99/2024/NĐ-CP", "date": "2024-03-15", "complete": False,
                    "status": "Đã sửa đổi", "valid_until": "2025-07-01"}
    assert caption_metadata("Nghị định 12/2023/NĐ-CP ngày 3/2/2023") == {"number": "12/2023/NĐ-CP"}
    assert caption_metadata("") == {}


def test_place_then_undo_restores_the_previous_version(tmp_path):
    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "nd.txt").write_text("bản cũ", encoding="utf-8")
    (docs / "nd.txt.meta.json").write_text('{"number": "1/2020/NĐ-CP"}', encoding="utf-8")
    for failed in (True, False):
        temp = upload_path(docs, "abc")
        temp.write_text("bản mới", encoding="utf-8")
        undo = place(docs, temp, "nd.txt", {"date": "2024-01-02"})
        assert (docs / "nd.txt").read_text(encoding="utf-8") == "bản mới"
        assert '"date": "2024-01-02"' in (docs / "nd.txt.meta.json").read_text(encoding="utf-8")
        undo(failed)
        kept = (docs / "nd.txt").read_text(encoding="utf-8")
        assert kept == ("bản cũ" if failed else "bản mới")
        assert ("date" in (docs / "nd.txt.meta.json").read_text(encoding="utf-8")) is not failed
    assert sorted(p.name for p in (docs / ".uploads").iterdir()) == []


def test_place_of_a_new_file_that_fails_leaves_nothing(tmp_path):
    docs = tmp_path / "documents"
    temp = upload_path(docs, "x")
    temp.write_bytes(b"%PDF")
    undo = place(docs, temp, "moi.pdf", {"number": "9/2024/NĐ-CP"})
    undo(True)
    assert sorted(p.name for p in docs.iterdir()) == [".uploads"]


# --- the conversation, plain-text channel, shipped corpus ----------------------------------

@pytest.fixture
def zalo(shipped_index, embedder, tmp_path):
    """A plain-text conversation (as Zalo will use it) over the shipped index."""
    settings = Settings(documents_dir=shipped_index.documents_dir, index_dir=shipped_index.index_dir,
                        journal_path=tmp_path / "journal.sqlite", rate_limit_messages=5)
    conv = Conversation.from_settings(Runtime(settings, embedder), PLAIN, "zalo",
                                      Access(admins={"admin"}, users={"u1", "u2"}))
    conv.username = "cadre_bot"
    yield conv
    conv.close()
    conv.runtime.close()


def _text(replies) -> str:
    return "\n".join(r.text for r in replies)


def test_plain_question_offers_text_commands_which_act_on_the_last_answer(zalo):
    msg = Incoming("u1", "u1", "Nghị định 73 bảo vệ cán bộ dám nghĩ, dám làm như thế nào?")
    answer = _text(zalo.handle(msg))
    assert "Điều 11 Nghị định 73/2023/NĐ-CP" in answer and "bản trích" in answer
    assert "/dieu: toàn văn Điều" in answer and "/nguon" in answer
    article = _text(zalo.handle(Incoming("u1", "u1", "/dieu")))
    assert article.startswith("Điều 11 Nghị định 73/2023/NĐ-CP\nĐiều 11. Biện pháp bảo vệ cán bộ")
    assert "không bị xử lý trách nhiệm" in article
    assert "Nguồn khác:" in _text(zalo.handle(Incoming("u1", "u1", "/nguon")))
    assert "Cảm ơn" in _text(zalo.handle(Incoming("u1", "u1", "/chuatot")))
    assert zalo.journal.stats()["unhelpful"] == 1


def test_plain_refusals_happen_before_any_work(zalo):
    assert "chưa được cấp quyền" in _text(zalo.handle(Incoming("x", "x", "Điều 11 Nghị định 73")))
    assert "chỉ dành cho quản trị viên" in _text(zalo.handle(Incoming("u1", "u1", "/reindex")))
    assert zalo.handle(Incoming("u1", "g", "cán bộ là ai", is_group=True)) == []
    assert zalo.handle(Incoming("u1", "g", "/help@other_bot", is_group=True)) == []
    assert zalo.journal.stats()["questions"] == 0


def test_plain_rate_limit_tells_once_then_stays_quiet(zalo):
    replies = [zalo.handle(Incoming("u2", "u2", "/help")) for _ in range(7)]
    assert all(r for r in replies[:5])
    assert "gửi hơi nhanh" in _text(replies[5])
    assert replies[6] == []


def test_dieu_lookup_errors_are_answered_in_the_chat(zalo):
    ask = lambda text: _text(zalo.handle(Incoming("admin", "admin", text)))  # noqa: E731
    assert "Kho văn bản chưa có Nghị định 999" in ask("/dieu 3 nd 999")
    assert "Cách dùng" in ask("/dieu mười một")
    assert "có trong nhiều văn bản" in ask("/dieu 1")
    assert ask("/dieu 15 luật viên chức").startswith("Điều 15 Luật 58/2010/QH12")



def test_commands_obey_the_length_limit_and_long_numbers_are_refused_not_cut(zalo):
    """Hole 7: /dieu with 20,000 characters, or a 20-digit document number."""
    [reply] = zalo.handle(Incoming("u1", "u1", "/dieu 11 " + "x" * 20_000))
    assert reply.text.startswith("Tin nhắn quá dài (20009 ký tự; tối đa 2000)")
    [reply] = zalo.handle(Incoming("u1", "u1", "/dieu 11 nd 99999999999999999999"))
    assert "quá dài, không phải số điều hay số hiệu văn bản" in reply.text and "9999/" not in reply.text
    assert "quá dài" in _text(zalo.handle(Incoming("u1", "u1", "/dieu 99999999999999999999")))


def test_buttons_are_validated_and_tied_to_the_asker(zalo):
    """Hole 8: forged data does nothing; only the asker may act on an answer."""
    zalo.limiter = RateLimiter(zalo.runtime.database.limits, "zalo", 1000, 60)
    zalo.handle(Incoming("u1", "u1", "Nghị định 73 bảo vệ cán bộ dám nghĩ, dám làm như thế nào?"))
    qid = zalo.journal.last("zalo", "u1", "u1").id
    for forged in ("f:99999999999999999999999:1", "m:-1", "a:1e3", "f:1:2", "x:1", "", "m:" + "9" * 64):
        pressed = zalo.press(Incoming("u1", "u1"), forged)
        assert (pressed.toast, pressed.replies()) in [(None, []), ("Câu hỏi này không còn trong nhật ký.", [])]
    for data in (f"m:{qid}", f"a:{qid}", f"f:{qid}:1"):
        pressed = zalo.press(Incoming("u2", "u2"), data)
        assert (pressed.toast, pressed.replies()) == (NOT_YOURS, [])
    assert zalo.journal.stats()["helpful"] == 0
    assert zalo.press(Incoming("u1", "u1"), f"f:{qid}:1").toast == "Cảm ơn anh/chị đã góp ý!"
    assert "Nguồn khác:" in _text(zalo.press(Incoming("u1", "u1"), f"m:{qid}").replies())
    assert _text(zalo.press(Incoming("u1", "u1"), f"a:{qid}").replies()).startswith("Điều 11 Nghị định 73")


def test_a_bare_dieu_after_a_news_answer_says_it_was_not_an_article(zalo):
    """Hole 9: not "removed", but "not from a legal article"."""
    answer = _text(zalo.handle(Incoming("u1", "u1", "Nghệ An kiểm tra sát hạch công chức các cơ quan Đảng")))
    assert answer.startswith("Theo Tin:")
    assert _text(zalo.handle(Incoming("u1", "u1", "/dieu"))) == NOT_AN_ARTICLE


def test_the_follow_up_hook_sees_the_askers_last_turn_in_this_chat(zalo):
    seen = []

    def resolve(text, last):
        seen.append((text, last and last.question))
        return "Điều 15 Luật viên chức" if text == "còn điều 15 luật viên chức?" else text
    zalo.resolve = resolve
    zalo.handle(Incoming("u1", "u1", "Nghị định 73 bảo vệ cán bộ dám nghĩ, dám làm như thế nào?"))
    answer = _text(zalo.handle(Incoming("u1", "u1", "còn điều 15 luật viên chức?")))
    assert "Điều 15 Luật 58/2010/QH12" in answer
    zalo.handle(Incoming("u1", "other-chat", "cán bộ là ai"))
    assert seen == [("Nghị định 73 bảo vệ cán bộ dám nghĩ, dám làm như thế nào?", None),
                    ("còn điều 15 luật viên chức?", "Nghị định 73 bảo vệ cán bộ dám nghĩ, dám làm như thế nào?"),
                    ("cán bộ là ai", None)]  # memory is per chat
    assert zalo.memory.get("u1", "u1").searched == "Điều 15 Luật viên chức"


def test_answer_flags_come_from_metadata_and_only_the_renderer_words_them():
    from bot.answer import quote_of
    from bot.channels.render import flags, notes
    from bot.index import Passage
    from bot.ingest.metadata import DocumentMeta

    meta = DocumentMeta(title="Luật Cán bộ", number="22/2008/QH12", type="Luật", complete=False,
                        valid_until="2025-07-01", extra={"ocr": True, "replaced_by": ["80/2025/QH15"]})
    passage = Passage(0, 1, 1, "luat.txt", meta, "53", None, None, "Chương V › Điều 53. Biệt phái", "2. Thời hạn.")
    q = quote_of(passage, clause="2")
    assert (q.excerpt, q.ocr, q.expired, q.replaced_by, q.heading) == \
        (True, True, True, ["80/2025/QH15"], "Điều 53. Biệt phái")
    assert flags(q) == " (bản trích) (OCR) (hết hiệu lực)"
    assert "Văn bản này không còn hiệu lực (từ 01/07/2025); được thay thế bởi Luật 80/2025/QH15." in notes(q)
    q.successor = "Điều 40 Luật 80/2025/QH15"
    assert "được thay thế bởi Luật 80/2025/QH15 (xem Điều 40 Luật 80/2025/QH15)." in notes(q)[-1]
    plain = quote_of(Passage(0, 1, 1, "a.txt", DocumentMeta(title="A"), "1", None, None, "", "x"))
    assert not plain.warned and notes(plain) == [] and flags(plain) == ""


# --- the build coordinator, on a private copy of the corpus ----------------------------------

@pytest.fixture
def own(shipped_index, embedder, tmp_path):
    """An admin's plain-text conversation over a private copy of the shipped documents and index."""
    import shutil

    docs, index = tmp_path / "documents", tmp_path / "index"
    shutil.copytree(shipped_index.documents_dir, docs)
    shutil.copytree(shipped_index.index_dir, index)
    settings = Settings(documents_dir=docs, index_dir=index, journal_path=tmp_path / "journal.sqlite")
    conv = Conversation.from_settings(Runtime(settings, embedder), PLAIN, "zalo", Access(admins={"admin"}))
    yield conv
    conv.close()


def _run(conv, text: str, progress: list | None = None) -> list[str]:
    """Send a command as the admin and run its job (if any) to the end: all texts, in order."""
    out = []
    for reply in conv.handle(Incoming("admin", "admin", text)):
        out.append(reply.text)
        if reply.work is not None:
            out += [r.text for r in reply.work((progress if progress is not None else []).append)]
    return out


def test_remove_of_a_symlinked_document_is_refused_with_a_reason(own, tmp_path):
    """Hole 4: a link (here to a file outside documents/) is refused in words, before and during the job."""
    folder = own.runtime.documents_dir
    outside = tmp_path / "outside.txt"
    outside.write_text("bí mật", encoding="utf-8")
    target = folder / "nghi-dinh-90-2020-trich.txt"
    target.rename(tmp_path / "kept.txt")
    target.symlink_to(outside)
    [reply] = _run(own, "/remove nghi-dinh-90-2020-trich.txt")
    assert "Không xoá được nghi-dinh-90-2020-trich.txt" in reply and "liên kết (symlink)" in reply
    assert target.is_symlink() and outside.exists()
    target.unlink()
    (tmp_path / "kept.txt").rename(target)
    [started] = own.handle(Incoming("admin", "admin", "/remove nghi-dinh-90-2020-trich.txt"))
    target.rename(tmp_path / "kept.txt")
    target.symlink_to(outside)  # became a link after the command was accepted
    [outcome] = [r.text for r in started.work(lambda text: None)]
    assert outcome.startswith("❌ Lập chỉ mục không thành công: Không xoá được") and "symlink" in outcome
    assert target.is_symlink() and outside.read_text(encoding="utf-8") == "bí mật"


def test_remove_puts_the_file_back_when_the_build_fails(own, monkeypatch):
    from bot.errors import IndexBusy

    def busy(*args, **kwargs):  # another process holds the index's lock file
        raise IndexBusy("Một tiến trình khác đang lập chỉ mục.")
    monkeypatch.setattr(own.runtime, "reindex", busy)
    target = own.runtime.documents_dir / "nghi-dinh-90-2020-trich.txt"
    before = target.read_bytes()
    out = _run(own, "/remove nghi-dinh-90-2020-trich.txt")
    assert "Đang có một lượt lập chỉ mục chạy" in out[-1]
    assert target.read_bytes() == before and target.with_name(target.name + ".meta.json").exists()
    assert not list((own.runtime.documents_dir / ".uploads").iterdir())


def test_a_removal_during_a_build_waits_its_turn_says_so_then_deletes(own, monkeypatch):
    import threading

    real = own.runtime.reindex
    gate, entered = threading.Event(), threading.Event()

    def held(*args, **kwargs):
        if not entered.is_set():
            entered.set()
            assert gate.wait(60)
        return real(*args, **kwargs)
    monkeypatch.setattr(own.runtime, "reindex", held)
    first = threading.Thread(target=_run, args=(own, "/reindex"))
    first.start()
    assert entered.wait(30)
    assert _run(own, "/reindex") == [BUSY]  # a second re-index adds nothing: told at once
    target = own.runtime.documents_dir / "nghi-dinh-90-2020-trich.txt"
    progress, result = [], []
    second = threading.Thread(target=lambda: result.extend(_run(own, "/remove nd 90", progress)))
    second.start()
    deadline = __import__("time").monotonic() + 30
    while not progress and __import__("time").monotonic() < deadline:
        __import__("time").sleep(0.05)
    assert progress == [QUEUED] and target.exists()  # queued, told so, nothing deleted yet
    gate.set()
    first.join(60)
    second.join(120)
    assert result[-1].startswith("🗑 Đã xoá nghi-dinh-90-2020-trich.txt") and not target.exists()
    assert not own.runtime.catalog().document("nghi-dinh-90-2020-trich.txt")


# --- structure ------------------------------------------------------------------------------

def _imports(path) -> set[str]:
    """Modules a file imports (a submodule named in `from pkg import sub` counts as itself), type-only excluded."""
    import ast
    import importlib.util

    found = set()

    def visit(nodes) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if importlib.util.find_spec(node.module) and _is_module(sub) else node.module)
            visit(list(ast.iter_child_nodes(node)))
    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found


def _is_module(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def test_the_channel_modules_import_each_other_without_a_circle():
    from pathlib import Path

    import bot.channels

    folder = Path(bot.channels.__file__).parent
    graph = {f"bot.channels.{p.stem}".removesuffix(".__init__"): {m for m in _imports(p) if m.startswith("bot.channels")}
             for p in folder.glob("*.py")}
    state: dict[str, int] = {}

    def cycle_from(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return path + [nxt]
            if nxt not in state and (found := cycle_from(nxt, path + [nxt])):
                return found
        state[node] = 2
        return None
    for module in sorted(graph):
        if module not in state:
            assert cycle_from(module, [module]) is None, cycle_from(module, [module])
    assert graph["bot.channels.commands"] and "bot.channels.core" not in graph["bot.channels.commands"]


def test_no_channel_reaches_into_the_index_and_zalo_stays_apart_from_telegram():
    from pathlib import Path

    import bot.channels

    folder = Path(bot.channels.__file__).parent
    for path in folder.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for internal in ("searcher().index", ".doc_of", ".article_of", "article_positions", ".documents.values"):
            assert internal not in text, f"{path.name} uses the index's internals: {internal}"
    for name in ("zalo", "zalo_client", "webhook"):
        assert not {m for m in _imports(folder / f"{name}.py") if "telegram" in m}, name


def test_the_bot_keeps_answering_while_the_journal_is_down(zalo, tmp_path, caplog):
    """Answers matter more than logs: the question is answered, the outage logged, the admin told."""
    db = zalo.runtime.database
    db.health.RETRY_SECONDS = 0
    path = tmp_path / "journal.sqlite"
    db.backend.close()
    path.rename(tmp_path / "journal.away")
    path.mkdir()  # the volume is gone: "unable to open database file"
    try:
        answer = _text(zalo.handle(Incoming("u1", "u1", "Nghị định 73 bảo vệ cán bộ dám nghĩ, dám làm như thế nào?")))
        assert "Điều 11 Nghị định 73/2023/NĐ-CP" in answer
        assert "unavailable" in caplog.text
        assert _text(zalo.handle(Incoming("u1", "u1", "/dieu"))) == UNAVAILABLE  # needs the journal
        assert "không phản hồi" in _text(zalo.handle(Incoming("admin", "admin", "/unanswered")))
    finally:
        path.rmdir()
        (tmp_path / "journal.away").rename(path)
    zalo.handle(Incoming("u1", "u1", "Giá vàng hôm nay?"))
    assert [u.text for u in zalo.journal.unanswered()] == ["Giá vàng hôm nay?"]  # back, and logging again
