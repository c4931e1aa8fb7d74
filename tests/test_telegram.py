"""The Telegram bot end to end: the real python-telegram-bot Application, over HTTP, to a Bot API stand-in.

Only the Telegram server is a stand-in (tests/botapi.py, on 127.0.0.1). The
model, FAISS, bm25s, SQLite, the index builder and the PDF reader are real, on
the shipped corpus plus one decree written for these tests: its text holds
"<", "&" and quotes, and its Điều 2 is far longer than one Telegram message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from botapi import TOKEN, BotAPI, units16
from conftest import Bots
from pdfgen import make_image_only_pdf, make_pdf
from test_ocr import LAW, scanned_pdf
from typer.testing import CliRunner

from bot.channels.core import NOT_YOURS, Conversation
from bot.channels import telegram
from bot.channels.telegram import APOLOGY, Redact, serve
from bot.cli import app
from bot.config import Settings
from bot.index.builder import build_index
from bot.runtime import Runtime

REPO = Path(__file__).resolve().parent.parent
ADMIN, USER, OTHER, STRANGER = 4242, 1001, 1002, 3003
GROUP = -100777
ND73 = "Nghị định 73 bảo vệ cán bộ dám nghĩ, dám làm như thế nào?"
CLAUSE = ("{i}. Hồ sơ thí điểm nhóm {i} được lưu trữ trong {y} năm tại kho lưu trữ chuyên dụng; việc khai "
          "thác thực hiện theo điểm a khoản 2 Điều 5 Nghị định 73/2023/NĐ-CP và phải ghi sổ theo dõi khai "
          "thác hồ sơ nhóm {i}.")
DECREE = ("NGHỊ ĐỊNH\nSố: 123/2024/NĐ-CP\nQuy định thí điểm về phụ cấp kiêm nhiệm và lưu trữ hồ sơ cán bộ\n\n"
          "Điều 1. Phụ cấp kiêm nhiệm thí điểm\n"
          "1. Cán bộ kiêm nhiệm chức danh <trưởng ban> & \"phó ban\" được hưởng phụ cấp kiêm nhiệm bằng 10% "
          "mức lương hiện hưởng.\n2. Phụ cấp kiêm nhiệm không dùng để tính đóng, hưởng bảo hiểm xã hội.\n\n"
          "Điều 2. Lưu trữ hồ sơ thí điểm\n" + "\n".join(CLAUSE.format(i=i, y=i + 10) for i in range(1, 46)))
DECREE_META = {"title": "Nghị định thí điểm về phụ cấp kiêm nhiệm và lưu trữ hồ sơ cán bộ",
               "number": "123/2024/NĐ-CP", "type": "Nghị định", "date": "2024-05-02", "complete": False}
NIGHT_DUTY = ["NGHỊ ĐỊNH\nSố: 99/2024/NĐ-CP\nQuy định chế độ trực đêm của cán bộ\n"
              "Điều 1. Phạm vi điều chỉnh\nNghị định này quy định chế độ trực đêm tại trụ sở cơ quan.\n"
              "Điều 2. Bồi dưỡng trực đêm\n1. Cán bộ trực đêm tại trụ sở được bồi dưỡng 150.000 đồng "
              "mỗi đêm trực.\n2. Thời gian trực đêm được nghỉ bù theo quy định."]


@pytest.fixture(scope="module")
def corpus(shipped_index, embedder, tmp_path_factory) -> tuple[Path, Path]:
    """The shipped documents plus the test decree, indexed once for the module."""
    root = tmp_path_factory.mktemp("telegram-corpus")
    docs, index = root / "documents", root / "index"
    shutil.copytree(shipped_index.documents_dir, docs)
    shutil.copytree(shipped_index.index_dir, index)
    (docs / "nghi-dinh-123-2024.txt").write_text(DECREE, encoding="utf-8")
    (docs / "nghi-dinh-123-2024.txt.meta.json").write_text(json.dumps(DECREE_META, ensure_ascii=False),
                                                           encoding="utf-8")
    build_index(docs, index, embedder)
    return docs, index


@pytest.fixture
def own_corpus(corpus, tmp_path) -> tuple[Path, Path]:
    """A private copy, for tests that add or remove documents."""
    docs, index = tmp_path / "documents", tmp_path / "index"
    shutil.copytree(corpus[0], docs)
    shutil.copytree(corpus[1], index)
    return docs, index


class Bot:
    """`serve()` running in its own thread and event loop, as `cadrebot telegram` runs it."""

    def __init__(self, api: BotAPI, runtime: Runtime):
        self.api = api
        self.settings = runtime.settings
        self.runtime = runtime
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        async def main() -> None:
            self._stop = asyncio.Event()
            await serve(self.runtime, self.settings, self._stop)
        self._loop.run_until_complete(main())

    def start(self) -> "Bot":
        self._thread.start()
        self.api.wait(lambda: self.api.called("getUpdates") or self.api.webhook, 60)
        return self

    def stop(self) -> None:
        if self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "the bot did not stop"

    def ask(self, user: int, text: str, chat: int | None = None, **kwargs) -> list[dict]:
        start = self.api.mark()
        self.api.say(user, text, chat_id=chat, **kwargs)
        return self.api.replies(chat or user, start)

    def press(self, user: int, record: dict, data: str) -> list[dict]:
        start = self.api.mark()
        self.api.press(user, record["message"], data)
        self.api.wait(lambda: self.api.called("answerCallbackQuery", start))
        time.sleep(0.6)
        return self.api.sent(record["message"]["chat"]["id"], start)


@pytest.fixture
def api():
    server = BotAPI().start()
    yield server
    server.stop()


@pytest.fixture
def start_bot(api, corpus, embedder, monkeypatch, tmp_path):
    """Start a bot on the module corpus (or `documents`/`index`) with settings overrides."""
    bots = Bots(corpus, embedder, tmp_path)

    def start(documents: Path | None = None, index: Path | None = None, **overrides) -> Bot:
        values = dict(documents_dir=documents or corpus[0], index_dir=index or corpus[1],
                      telegram_bot_token=api.token, telegram_api_url=api.url, admin_ids=[ADMIN])
        return bots.start(lambda runtime: Bot(api, runtime), {**values, **overrides})
    yield start
    bots.stop_all()


def _buttons(record: dict) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for row in record["markup"]["inline_keyboard"] for b in row}


def test_start_greets_with_what_the_bot_knows(start_bot, api):
    bot = start_bot()
    [reply] = bot.ask(USER, "/start")
    assert reply["text"].startswith("Xin chào anh/chị!")
    assert "Kho hiện có 16 văn bản" in reply["text"]
    # The three newest legal texts: the 2026 decrees shipped since issue 15 (the test decree is 2024).
    assert "• Nghị định 234/2026/NĐ-CP (26/06/2026)" in reply["text"]
    assert reply["text"].count("• ") >= 6 and ND73 in reply["text"]
    assert [c.params["commands"][0]["command"] for c in api.called("setMyCommands")] == ["start"]
    assert api.called("deleteWebhook")  # polling mode


def test_question_answered_with_citation_buttons_and_typing(start_bot, api):
    bot = start_bot()
    bot.ask(USER, "/help")  # warm up: the first question also pays for loading
    start = api.mark()
    pushed = time.monotonic()
    api.say(USER, ND73)
    [reply] = api.replies(USER, start)
    sent_at = next(c.at for c in api.called("sendMessage", start))
    print(f"\nquestion -> reply over HTTP: {sent_at - pushed:.2f} s")
    assert sent_at - pushed < 5.0
    assert "<b>• Khoản 1 Điều 11 Nghị định 73/2023/NĐ-CP (Điều 11. Biện pháp bảo vệ cán bộ):</b>" in reply["html"]
    assert "không bị xử lý trách nhiệm" in reply["text"]
    assert "⚠️ Bản trong kho là bản trích" in reply["text"]
    assert set(_buttons(reply)) == {"Toàn văn Điều", "Nguồn khác", "👍", "👎"}
    typing = api.called("sendChatAction", start)
    assert typing and typing[0].params["action"] == "typing" and typing[0].at <= sent_at


def test_document_text_with_html_characters_is_escaped(start_bot):
    bot = start_bot()
    [reply] = bot.ask(USER, "Phụ cấp kiêm nhiệm chức danh trưởng ban được hưởng bao nhiêu?")
    assert "&lt;trưởng ban&gt; &amp; \"phó ban\"" in reply["html"]
    assert "Cán bộ kiêm nhiệm chức danh <trưởng ban> & \"phó ban\" được hưởng" in reply["text"]
    assert "Theo Khoản 1 Điều 1 Nghị định 123/2024/NĐ-CP (Điều 1. Phụ cấp kiêm nhiệm thí điểm):" in reply["text"]


def test_full_article_button_splits_a_long_article_cleanly(start_bot, api):
    bot = start_bot()
    [answer] = bot.ask(USER, "Hồ sơ thí điểm nhóm 7 được lưu trữ bao lâu?")
    assert "Khoản 7 Điều 2 Nghị định 123/2024/NĐ-CP" in answer["text"]
    parts = bot.press(USER, answer, _buttons(answer)["Toàn văn Điều"])
    assert len(parts) >= 3
    assert all(units16(p["html"]) <= 4096 for p in parts)  # the stand-in also refuses longer ones
    assert parts[0]["html"].startswith("<b>Điều 2 Nghị định 123/2024/NĐ-CP</b>\n<i>Điều 2. Lưu trữ")
    shown = "\n".join(p["text"] for p in parts)
    clauses = [CLAUSE.format(i=i, y=i + 10) for i in range(1, 46)]
    positions = [shown.find(c) for c in clauses]
    assert -1 not in positions and positions == sorted(positions)  # whole clauses, in order
    assert shown.count("điểm a khoản 2 Điều 5 Nghị định 73/2023/NĐ-CP") == 45
    assert parts[-1]["text"].endswith("⚠️ Bản trong kho là bản trích, không đầy đủ toàn văn.")
    assert [p["html"] for p in bot.ask(USER, "/dieu 2 nd 123")] == [p["html"] for p in parts]


def test_more_sources_and_feedback_buttons(start_bot, api):
    bot = start_bot()
    [answer] = bot.ask(USER, ND73)
    buttons = _buttons(answer)
    [more] = bot.press(USER, answer, buttons["Nguồn khác"])
    assert more["text"].startswith("Nguồn khác:")
    assert "Điều 3 Nghị định 73/2023/NĐ-CP (bản trích)" in more["text"]
    start = api.mark()
    assert bot.press(OTHER, answer, buttons["👍"]) == []  # someone else's question: refused
    assert api.called("answerCallbackQuery", start)[0].params["text"] == NOT_YOURS
    start = api.mark()
    assert bot.press(USER, answer, buttons["👍"]) == []
    assert api.called("answerCallbackQuery", start)[0].params["text"] == "Cảm ơn anh/chị đã góp ý!"
    bot.press(USER, answer, buttons["👎"])  # a change of mind replaces the vote
    [stats] = bot.ask(ADMIN, "/stats")
    assert "Góp ý: 👍 0 | 👎 1" in stats["text"]
    assert "Văn bản: 16" in stats["text"] and "Trả lời được: 1/1 (100%)" in stats["text"]


def test_admin_commands_are_refused_to_others(start_bot, api):
    bot = start_bot()
    for command in ("/reindex", "/stats", "/unanswered", "/remove nd 73"):
        [reply] = bot.ask(USER, command)
        assert reply["text"] == "Xin lỗi, lệnh này chỉ dành cho quản trị viên."
    start = api.mark()
    api.send_document(USER, "nd.pdf", b"%PDF-1.4")
    [reply] = api.replies(USER, start)
    assert "chỉ quản trị viên" in reply["text"]
    assert not api.called("getFile")


def test_unanswered_lists_the_most_frequent_gaps(start_bot):
    bot = start_bot()
    bot.ask(USER, "Giá vàng hôm nay?")
    bot.ask(OTHER, "gia vang hom nay")
    bot.ask(OTHER, "Lãi suất tiết kiệm?")
    [reply] = bot.ask(ADMIN, "/unanswered")
    lines = reply["text"].splitlines()
    assert lines[1] == "1. (2 lần) gia vang hom nay" and lines[2] == "2. (1 lần) Lãi suất tiết kiệm?"


def test_admin_uploads_a_pdf_which_becomes_answerable_then_removes_it(start_bot, api, own_corpus, tmp_path):
    docs, index = own_corpus
    bot = start_bot(docs, index)
    pdf = make_pdf(tmp_path / "upload.pdf", NIGHT_DUTY)
    start = api.mark()
    api.send_document(ADMIN, "../Nghị định 99 (bản chính).pdf", pdf.read_bytes(),
                      caption="Số: 99/2024/NĐ-CP; ngày: 15/03/2024; tình trạng: Có hiệu lực từ 01/05/2024")
    api.wait(lambda: api.sent(ADMIN, start) and "✅" in api.sent(ADMIN, start)[0]["text"], 60)
    [report] = api.sent(ADMIN, start)  # one message, edited in place
    text = report["text"]
    assert "Đã thêm văn bản nghi-dinh-99-ban-chinh.pdf" in text
    assert "Số hiệu: 99/2024/NĐ-CP (Nghị định)" in text and "Ngày ban hành: 15/03/2024" in text
    assert "Số trang: 1" in text and "Số điều tìm thấy: 2" in text
    assert report["edits"] >= 1 and api.called("getFile", start)
    assert (docs / "nghi-dinh-99-ban-chinh.pdf").read_bytes() == pdf.read_bytes()
    sidecar = json.loads((docs / "nghi-dinh-99-ban-chinh.pdf.meta.json").read_text(encoding="utf-8"))
    assert sidecar == {"number": "99/2024/NĐ-CP", "date": "2024-03-15",
                       "status": "Có hiệu lực từ 01/05/2024"}
    assert not list((docs / ".uploads").iterdir())

    [answer] = bot.ask(USER, "Cán bộ trực đêm tại trụ sở được bồi dưỡng bao nhiêu?")
    assert "Điều 2 Nghị định 99/2024/NĐ-CP" in answer["text"] and "150.000 đồng" in answer["text"]

    start = api.mark()
    api.say(ADMIN, "/remove 99/2024/NĐ-CP")
    api.wait(lambda: api.sent(ADMIN, start) and "✅" in api.sent(ADMIN, start)[0]["text"], 60)
    assert "Đã xoá nghi-dinh-99-ban-chinh.pdf" in api.sent(ADMIN, start)[0]["text"]
    assert not (docs / "nghi-dinh-99-ban-chinh.pdf").exists()
    assert "Kho văn bản chưa có Nghị định 99" in bot.ask(USER, "/dieu 2 nd 99")[0]["text"]


def test_uploads_are_checked_before_download_and_unreadable_ones_not_kept(start_bot, api, own_corpus,
                                                                          tmp_path):
    docs, index = own_corpus
    bot = start_bot(docs, index)
    start = api.mark()
    api.send_document(ADMIN, "virus.exe", b"MZ", mime="application/octet-stream")
    api.send_document(ADMIN, "lon.pdf", b"%PDF", size=25_000_000)
    api.wait(lambda: len(api.sent(ADMIN, start)) == 2)
    texts = sorted(r["text"] for r in api.sent(ADMIN, start))
    assert "Chỉ nhận tệp PDF, DOCX, TXT hoặc ảnh" in texts[0] + texts[1]
    assert "Tệp quá lớn (tối đa 20 MB)" in texts[0] + texts[1]
    assert not api.called("getFile", start)

    scan = make_image_only_pdf(tmp_path / "scan.pdf")
    start = api.mark()
    api.send_document(ADMIN, "ban-scan.pdf", scan.read_bytes())
    api.wait(lambda: api.sent(ADMIN, start) and "❌" in api.sent(ADMIN, start)[0]["text"], 60)
    assert "OCR không nhận ra chữ nào" in api.sent(ADMIN, start)[0]["text"]
    assert not (docs / "ban-scan.pdf").exists()
    assert "Kho hiện có 16 văn bản" in bot.ask(USER, "/start")[0]["text"]


def test_admin_sends_a_scanned_pdf_which_is_read_by_ocr_and_answered(start_bot, api, own_corpus, tmp_path):
    """Issue 15: a scan with no text layer, sent by an admin in the chat, works end to end (real Tesseract)."""
    docs, index = own_corpus
    bot = start_bot(docs, index)
    scan = scanned_pdf(tmp_path / "scan.pdf", LAW)
    start = api.mark()
    api.send_document(ADMIN, "Luật nghỉ phép (bản quét).pdf", scan.read_bytes())
    api.wait(lambda: api.sent(ADMIN, start) and "✅" in api.sent(ADMIN, start)[0]["text"], 180)
    [report] = api.sent(ADMIN, start)
    assert "Đã thêm văn bản luat-nghi-phep-ban-quet.pdf" in report["text"]
    assert (docs / "luat-nghi-phep-ban-quet.pdf").read_bytes() == scan.read_bytes()

    [answer] = bot.ask(USER, "Công chức được nghỉ phép hằng năm bao nhiêu ngày?")
    assert "mười hai ngày làm việc" in answer["text"]
    assert "đọc từ bản quét (OCR)" in answer["text"]  # the citation says it must be checked


def test_questions_are_answered_while_a_reindex_runs(start_bot, api, own_corpus, monkeypatch):
    docs, index = own_corpus
    (docs / "them.txt").write_text(NIGHT_DUTY[0], encoding="utf-8")
    gate, entered = threading.Event(), threading.Event()
    real = Runtime.reindex

    def held(self, *args, **kwargs):  # holds the build open until the questions are answered
        entered.set()
        assert gate.wait(60)
        return real(self, *args, **kwargs)
    monkeypatch.setattr(Runtime, "reindex", held)
    bot = start_bot(docs, index)
    start = api.mark()
    api.say(ADMIN, "/reindex")
    assert entered.wait(30)
    [busy] = bot.ask(ADMIN, "/reindex")
    assert "Đang có một lượt lập chỉ mục chạy" in busy["text"]
    asked = api.mark()
    for user in (USER, OTHER, STRANGER):
        api.say(user, ND73)
    for user in (USER, OTHER, STRANGER):
        [reply] = api.replies(user, asked)
        assert "Khoản 1 Điều 11 Nghị định 73/2023/NĐ-CP" in reply["text"]
    progress = api.sent(ADMIN, start)[0]
    assert progress["text"] == "⏳ Bắt đầu lập chỉ mục…"  # still running
    gate.set()
    api.wait(lambda: "✅" in api.sent(ADMIN, start)[0]["text"], 60)
    final = api.sent(ADMIN, start)[0]
    assert "Thêm 1, cập nhật 0, xoá 0, không đổi 16" in final["text"] and "• Thêm: them.txt" in final["text"]
    assert final["message"]["message_id"] == progress["message"]["message_id"]


def test_group_chat_answers_only_when_addressed(start_bot, api):
    bot = start_bot()
    start = api.mark()
    api.say(USER, ND73, chat_id=GROUP)
    api.say(USER, "/help@other_bot", chat_id=GROUP)
    time.sleep(1.5)
    assert not [c for c in api.calls[start:] if c.params.get("chat_id") == GROUP]
    mention = api.user_message(USER, f"@cadre_test_bot {ND73}", chat_id=GROUP)
    start = api.mark()
    api.push({"message": mention})
    [answer] = api.replies(GROUP, start)
    assert "Điều 11 Nghị định 73/2023/NĐ-CP" in answer["text"]
    assert api.called("sendMessage", start)[0].params["reply_parameters"]["message_id"] == mention["message_id"]
    [reply] = bot.ask(OTHER, "Thời hạn tập sự của viên chức?", chat=GROUP, reply_to=answer["message"])
    assert "Điều 27 Luật 58/2010/QH12" in reply["text"]
    [help_reply] = bot.ask(OTHER, "/help@cadre_test_bot", chat=GROUP)
    assert help_reply["text"].startswith("Cách hỏi:")


def test_allowlists_refuse_politely_before_any_work(start_bot, api, tmp_path):
    bot = start_bot(allowed_user_ids=[USER], allowed_chat_ids=[-100555])
    [refusal] = bot.ask(STRANGER, ND73)
    assert refusal["text"].startswith("Xin lỗi, anh/chị chưa được cấp quyền")
    assert "3003" in refusal["text"]
    assert "Điều 11" in bot.ask(USER, ND73)[0]["text"]
    assert "Điều 11" in bot.ask(STRANGER, f"@cadre_test_bot {ND73}", chat=-100555)[0]["text"]
    [stats] = bot.ask(ADMIN, "/stats")
    assert "Câu hỏi: 2 " in stats["text"]  # the refused question was never searched or logged


def test_flood_control_is_waited_out(start_bot, api):
    bot = start_bot()
    bot.ask(USER, "/help")
    api.fail("sendMessage", times=2, retry_after=1)
    api.fail("getUpdates", times=1, retry_after=1)
    start = api.mark()
    pushed = time.monotonic()
    api.say(USER, ND73)
    [reply] = api.replies(USER, start, timeout=30)
    attempts = api.called("sendMessage", start)
    print(f"\n429 x2 then delivered after {attempts[-1].at - pushed:.2f} s")
    assert [c.status for c in attempts] == [429, 429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0 and attempts[2].at - attempts[1].at >= 1.0
    assert "Điều 11" in reply["text"]
    assert "Điều 11" in bot.ask(OTHER, ND73)[0]["text"]  # and the bot carries on


def test_unexpected_error_is_logged_and_apologised_for(start_bot, api, monkeypatch, caplog):
    def broken(self, msg):
        raise RuntimeError("boom")
    monkeypatch.setattr(Conversation, "handle", broken)
    bot = start_bot()
    with caplog.at_level(logging.ERROR, logger="bot.channels.telegram"):
        [reply] = bot.ask(USER, ND73)
    assert reply["text"] == APOLOGY
    record = next(r for r in caplog.records if r.name == "bot.channels.telegram")
    assert record.exc_info and "boom" in str(record.exc_info[1])


def test_token_is_redacted_from_logs(start_bot, caplog):
    caplog.handler.addFilter(Redact([TOKEN]))
    caplog.set_level(logging.DEBUG)
    bot = start_bot()
    bot.ask(USER, "/help")
    assert TOKEN not in caplog.text
    assert "/bot***" in caplog.text  # PTB logs its API URL at DEBUG: redacted, not absent


def _post(url: str, update: dict, secret: str) -> httpx.Response:
    """POST to the webhook server, which starts listening just after it registers the webhook."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_webhook_mode_checks_the_secret(start_bot, api):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/tg-hook"
    start_bot(webhook_url=url, webhook_secret="s3cret-token", webhook_listen="127.0.0.1", webhook_port=port)
    assert api.webhook["url"] == url and api.webhook["secret_token"] == "s3cret-token"
    update = {"update_id": 1, "message": api.user_message(USER, "/start")}
    assert _post(url, update, "wrong").status_code == 403
    start = api.mark()
    assert _post(url, update, "s3cret-token").status_code == 200
    [reply] = api.replies(USER, start)
    assert reply["text"].startswith("Xin chào anh/chị!")
    assert not api.called("getUpdates")


def test_webhook_mode_refuses_to_start_without_a_secret(api, corpus, monkeypatch, tmp_path):
    for key, value in {"TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.url,
                       "WEBHOOK_URL": "https://cadrebot.example.vn/tg-hook", "DOCUMENTS_DIR": str(corpus[0]),
                       "INDEX_DIR": str(corpus[1]), "JOURNAL_PATH": str(tmp_path / "j.sqlite")}.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["telegram"])
    assert result.exit_code == 2 and "cần WEBHOOK_SECRET" in result.output
    assert "Traceback" not in result.output and api.token not in result.output
    assert api.calls == []  # refused before anything reached Telegram


def test_a_refused_token_is_a_clear_error(api, corpus, monkeypatch, tmp_path):
    wrong = "123:wrong-TOKEN-value"
    for key, value in {"TELEGRAM_BOT_TOKEN": wrong, "TELEGRAM_API_URL": api.url, "DOCUMENTS_DIR": str(corpus[0]),
                       "INDEX_DIR": str(corpus[1]), "JOURNAL_PATH": str(tmp_path / "j.sqlite")}.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["telegram"])
    assert result.exit_code == 1 and "Telegram từ chối TELEGRAM_BOT_TOKEN" in result.output
    assert wrong not in result.output and isinstance(result.exception, SystemExit)


def test_a_start_up_network_blip_is_retried(start_bot, api, monkeypatch):
    monkeypatch.setattr(telegram, "BOOTSTRAP_DELAY", 0.1)
    api.fail("getMe", times=2, code=502)
    bot = start_bot()
    assert [c.status for c in api.called("getMe")][:3] == [502, 502, 200]
    assert "Điều 11" in bot.ask(USER, ND73)[0]["text"]


def test_a_start_up_error_is_reported_as_itself(api, corpus, embedder, tmp_path):
    with socket.socket() as taken:  # the webhook port is already in use
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(documents_dir=corpus[0], index_dir=corpus[1], journal_path=tmp_path / "j.sqlite",
                            telegram_bot_token=api.token, telegram_api_url=api.url,
                            webhook_url=f"https://cadrebot.example.vn/hook", webhook_secret="s3cret-token",
                            webhook_listen="127.0.0.1", webhook_port=port)
        with pytest.raises(Exception) as raised:
            asyncio.run(serve(Runtime(settings, embedder), settings, asyncio.Event()))
    assert "still running" not in str(raised.value)
    assert "in use" in str(raised.value).lower() or isinstance(raised.value, OSError), repr(raised.value)


def test_the_button_is_acknowledged_before_its_work(start_bot, api, monkeypatch):
    """Telegram wants the callback answered within seconds: before "Nguồn khác" does any work."""
    bot = start_bot()
    [answer] = bot.ask(USER, ND73)
    start = api.mark()
    real = Conversation._about

    def after_the_answer(self, msg, logged, action):
        api.wait(lambda: api.called("answerCallbackQuery", start), 10)  # times out if answered after
        return real(self, msg, logged, action)
    monkeypatch.setattr(Conversation, "_about", after_the_answer)
    [more] = bot.press(USER, answer, _buttons(answer)["Nguồn khác"])
    assert more["text"].startswith("Nguồn khác:")
    [ack] = api.called("answerCallbackQuery", start)
    assert ack.at < api.called("sendMessage", start)[0].at


def test_split_answers_in_one_chat_never_interleave(start_bot, api):
    bot = start_bot()
    first, second = bot.ask(USER, "/dieu 2 nd 123"), bot.ask(USER, "/dieu 2 luật viên chức")
    assert len(first) >= 3 and len(second) >= 1
    start = api.mark()
    api.say(USER, "/dieu 2 nd 123")  # both arrive together; the first one is the slower to send
    api.say(USER, "/dieu 2 luật viên chức")
    got = api.replies(USER, start, settle=1.5)
    assert [m["html"] for m in got] == [m["html"] for m in first + second]


def test_cli_telegram_needs_a_token():
    result = CliRunner().invoke(app, ["telegram"])
    assert result.exit_code == 2 and "TELEGRAM_BOT_TOKEN" in result.output


def test_cadrebot_telegram_serves_until_sigterm(api, corpus, tmp_path):
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.url,
           "DOCUMENTS_DIR": str(corpus[0]), "INDEX_DIR": str(corpus[1]), "ADMIN_IDS": str(ADMIN),
           "JOURNAL_PATH": str(tmp_path / "journal.sqlite"),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "bot", "telegram"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        api.wait(lambda: api.called("getUpdates"), 120)
        start = api.mark()
        api.say(USER, ND73)
        [reply] = api.replies(USER, start)
        assert "Khoản 1 Điều 11 Nghị định 73/2023/NĐ-CP" in reply["text"]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err.decode()
        assert TOKEN not in err.decode()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_redelivered_update_is_answered_once(start_bot, api):
    """Telegram redelivers a webhook update it saw no answer to; with several workers the copy may
    reach another process. The shared database (bot/db/seen.py) lets one of them answer."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/tg-hook"
    start_bot(webhook_url=url, webhook_secret="s3cret-token", webhook_listen="127.0.0.1", webhook_port=port)
    update = {"update_id": 41, "message": api.user_message(USER, "/start")}
    start = api.mark()
    assert _post(url, update, "s3cret-token").status_code == 200
    assert _post(url, dict(update), "s3cret-token").status_code == 200  # the same update again
    # A new update in the same chat is handled after both (one chat, in order): by its reply,
    # the copy has been dropped or answered.
    assert _post(url, {"update_id": 42, "message": api.user_message(USER, "/help")}, "s3cret-token"
                 ).status_code == 200
    api.wait(lambda: any("/dieu" in r["text"] for r in api.sent(USER, start)))
    texts = [r["text"] for r in api.replies(USER, start)]
    assert sum(t.startswith("Xin chào anh/chị!") for t in texts) == 1, texts
