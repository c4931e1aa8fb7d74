"""The Zalo bot end to end: the real adapter, over HTTP, to a Zalo Bot API stand-in.

Only the Zalo server is a stand-in (tests/zaloapi.py, on 127.0.0.1). The
model, FAISS, bm25s, SQLite and the index builder are real, on the shipped
corpus plus one decree written for these tests: its Điều 1 has a clause of
fourteen sentences and its Điều 2 forty clauses, both longer than one Zalo
message (2,000 characters).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from botapi import BotAPI
from conftest import Bots
from zaloapi import TOKEN, ZaloAPI

from bot.channels import zalo, zalo_client
from bot.channels.core import ADMIN_ONLY, TEXT_ONLY, Conversation
from bot.cli import app
from bot.config import Settings
from bot.index.builder import build_index
from bot.runtime import Runtime

REPO = Path(__file__).resolve().parent.parent
ADMIN, USER, OTHER, STRANGER = "adm-4242", "u-1001", "u-1002", "x-3003"
GROUP = "g-777"
ND73 = "Nghị định 73 bảo vệ cán bộ dám nghĩ, dám làm như thế nào?"
SENTENCE = ("Cán bộ công tác tại xã đặc biệt khó khăn nhóm {i} được hưởng phụ cấp thu hút bằng {p}% mức lương "
            "hiện hưởng trong thời gian {i} năm đầu, theo điểm b khoản 3 Điều 6 Nghị định 76/2019/NĐ-CP.")
CLAUSE = ("{i}. Hồ sơ công tác vùng khó khăn nhóm {i} được lưu trữ trong {y} năm tại kho lưu trữ của Sở Nội "
          "vụ; việc khai thác thực hiện theo điểm a khoản 2 Điều 5 Nghị định 73/2023/NĐ-CP.")
SENTENCES = [SENTENCE.format(i=i, p=10 + i) for i in range(1, 15)]
CLAUSES = [CLAUSE.format(i=i, y=i + 10) for i in range(1, 41)]
DECREE = ("NGHỊ ĐỊNH\nSố: 124/2024/NĐ-CP\nQuy định thí điểm chế độ công tác vùng đặc biệt khó khăn\n\n"
          "Điều 1. Phụ cấp thu hút thí điểm\n1. " + " ".join(SENTENCES) +
          "\n2. Phụ cấp thu hút được trả cùng kỳ lương hằng tháng.\n\n"
          "Điều 2. Lưu trữ hồ sơ công tác vùng khó khăn\n" + "\n".join(CLAUSES))
DECREE_META = {"title": "Nghị định thí điểm chế độ công tác vùng đặc biệt khó khăn",
               "number": "124/2024/NĐ-CP", "type": "Nghị định", "date": "2024-06-01", "complete": False}
NIGHT_DUTY = ("NGHỊ ĐỊNH\nSố: 99/2024/NĐ-CP\nQuy định chế độ trực đêm của cán bộ\n"
              "Điều 1. Phạm vi điều chỉnh\nNghị định này quy định chế độ trực đêm tại trụ sở cơ quan.\n"
              "Điều 2. Bồi dưỡng trực đêm\n1. Cán bộ trực đêm tại trụ sở được bồi dưỡng 150.000 đồng "
              "mỗi đêm trực.\n2. Thời gian trực đêm được nghỉ bù theo quy định.")


@pytest.fixture(scope="module")
def corpus(shipped_index, embedder, tmp_path_factory) -> tuple[Path, Path]:
    """The shipped documents plus the test decree, indexed once for the module."""
    root = tmp_path_factory.mktemp("zalo-corpus")
    docs, index = root / "documents", root / "index"
    shutil.copytree(shipped_index.documents_dir, docs)
    shutil.copytree(shipped_index.index_dir, index)
    (docs / "nghi-dinh-124-2024.txt").write_text(DECREE, encoding="utf-8")
    (docs / "nghi-dinh-124-2024.txt.meta.json").write_text(json.dumps(DECREE_META, ensure_ascii=False),
                                                           encoding="utf-8")
    build_index(docs, index, embedder)
    return docs, index


class Bot:
    """`zalo.run()` in its own thread, as `cadrebot zalo` runs it, stopped through its event."""

    def __init__(self, api: ZaloAPI, runtime: Runtime):
        self.api = api
        self.settings = runtime.settings
        self.stop_event = threading.Event()
        self.runtime = runtime
        self._thread = threading.Thread(target=zalo.run, args=(self.runtime, self.settings, self.stop_event),
                                        daemon=True)

    def start(self) -> "Bot":
        self._thread.start()
        self.api.wait(lambda: self.api.called("getUpdates") or self.api.webhook, 60)
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self._thread.join(30)
        assert not self._thread.is_alive(), "the bot did not stop"

    def ask(self, user: str, text: str, chat: str | None = None, **kwargs) -> list[str]:
        start = self.api.mark()
        self.api.say(user, text, chat=chat, **kwargs)
        return self.api.replies(chat or user, start)


@pytest.fixture
def api():
    server = ZaloAPI().start()
    yield server
    server.stop()


@pytest.fixture
def start_bot(api, corpus, embedder, monkeypatch, tmp_path):
    """Start a bot on the module corpus (or `documents`/`index`) with settings overrides."""
    bots = Bots(corpus, embedder, tmp_path)

    def start(documents: Path | None = None, index: Path | None = None, **overrides) -> Bot:
        values = dict(documents_dir=documents or corpus[0], index_dir=index or corpus[1],
                      zalo_bot_token=api.token, zalo_api_url=api.url, zalo_admin_ids=[ADMIN])
        return bots.start(lambda runtime: Bot(api, runtime), {**values, **overrides})
    yield start
    bots.stop_all()


def _journal(tmp_path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(tmp_path / "journal.sqlite") as db:
        return db.execute(sql).fetchall()


# --- polling ------------------------------------------------------------------------------

def test_polling_answers_a_question_with_text_commands_after_typing(start_bot, api):
    bot = start_bot()
    assert api.called("getMe") and api.called("deleteWebhook")
    bot.ask(USER, "/help")  # warm up: the first question also pays for loading
    start = api.mark()
    pushed = time.monotonic()
    api.say(USER, ND73)
    [reply] = api.replies(USER, start)
    sent_at = next(c.at for c in api.called("sendMessage", start))
    print(f"\nquestion -> reply over HTTP: {sent_at - pushed:.2f} s")
    assert sent_at - pushed < 5.0
    assert "Khoản 1 Điều 11 Nghị định 73/2023/NĐ-CP" in reply and "không bị xử lý trách nhiệm" in reply
    assert "<b>" not in reply and "&amp;" not in reply  # plain text
    assert reply.endswith("Gõ /dieu: toàn văn Điều; /nguon: nguồn khác; /tot hoặc /chuatot: góp ý.")
    typing = api.called("sendChatAction", start)
    assert typing and typing[0].params == {"chat_id": USER, "action": "typing"} and typing[0].at <= sent_at


def test_duplicate_delivery_is_answered_once(start_bot, api, tmp_path):
    bot = start_bot()
    update = api.event(USER, ND73, message_id="dup-1")
    start = api.mark()
    api.push(update)
    api.push(json.loads(json.dumps(update)))  # the platform delivers the same message again
    replies = api.replies(USER, start, settle=1.5)
    assert len(replies) == 1 and "Điều 11 Nghị định 73/2023/NĐ-CP" in replies[0]
    assert len([c for c in api.called("getUpdates", start) if c.status == 200]) == 2  # both were fetched
    assert _journal(tmp_path, "SELECT count(*) FROM questions") == [(1,)]
    assert bot.ask(USER, ND73) == replies  # the same text under a new message_id is a new question


def test_poll_timeout_408_is_quiet_and_polling_goes_on(start_bot, api, caplog):
    caplog.set_level(logging.DEBUG, logger="bot.channels.zalo")
    bot = start_bot()
    start = api.mark()
    time.sleep(2.5)
    polls = api.called("getUpdates", start)
    assert len(polls) >= 3 and all(c.status == 408 for c in polls)
    gaps = [b.at - a.at for a, b in zip(polls, polls[1:])]
    assert max(gaps) < 1.0  # no back-off on 408: it is the normal "nothing new"
    assert not [r for r in caplog.records if r.name == "bot.channels.zalo" and r.levelno >= logging.WARNING]
    assert "Điều 11" in bot.ask(USER, ND73)[0]


def test_poll_errors_back_off_exponentially_then_recover(start_bot, api, monkeypatch, caplog):
    monkeypatch.setattr(zalo_client, "BACKOFF_FIRST", 0.2)
    bot = start_bot()
    start = api.mark()
    api.fail("getUpdates", times=4, code=502, description="Bad gateway")
    api.wait(lambda: len([c for c in api.called("getUpdates", start) if c.status == 502]) == 4, 20)
    failed = [c for c in api.called("getUpdates", start) if c.status == 502]
    after = api.wait(lambda: [c for c in api.called("getUpdates", start) if c.status != 502], 20)[0]
    gaps = [b.at - a.at for a, b in zip(failed + [after], failed[1:] + [after])]
    print(f"\ngaps between failed polls: {[round(g, 2) for g in gaps]}")
    assert [round(g, 1) >= d for g, d in zip(gaps, (0.2, 0.4, 0.8, 1.6))] == [True] * 4
    assert gaps == sorted(gaps)  # doubling, never spinning
    assert "retrying in" in caplog.text
    assert "Điều 11" in bot.ask(USER, ND73)[0]


def test_send_errors_and_crashes_do_not_stop_the_bot(start_bot, api, monkeypatch):
    bot = start_bot()
    start = api.mark()
    api.fail("sendMessage", times=1, code=400, description="Invalid chat_id")
    api.say(USER, "/help")
    api.wait(lambda: [c for c in api.called("sendMessage", start) if c.status == 400])
    assert "Điều 11" in bot.ask(OTHER, ND73)[0]
    real = Conversation.handle

    def broken(self, msg):
        if msg.text == "boom":
            raise RuntimeError("boom")
        return real(self, msg)
    monkeypatch.setattr(Conversation, "handle", broken)
    assert bot.ask(USER, "boom") == [zalo.APOLOGY]
    assert "Điều 11" in bot.ask(USER, ND73)[0]


def test_rate_limited_reply_is_retried_not_dropped(start_bot, api, monkeypatch, caplog):
    """429 answers are waited out (retry_after when given, else backing off) and the reply arrives."""
    monkeypatch.setattr(zalo_client, "BACKOFF_FIRST", 0.2)
    caplog.set_level(logging.INFO, logger="bot.channels.zalo")
    bot = start_bot()
    bot.ask(USER, "/help")
    start = api.mark()
    api.fail("sendMessage", times=2, code=429, description="Too Many Requests")
    api.say(USER, ND73)
    api.wait(lambda: [c for c in api.called("sendMessage", start) if c.status == 200], 20)
    sends = api.called("sendMessage", start)
    assert [c.status for c in sends] == [429, 429, 200]
    assert "Điều 11 Nghị định 73/2023/NĐ-CP" in sends[-1].params["text"]
    gaps = [b.at - a.at for a, b in zip(sends, sends[1:])]
    print(f"\ngaps between rate-limited sends: {[round(g, 2) for g in gaps]}")
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4  # backing off, not hammering
    assert "rate-limited; retrying" in caplog.text and "sendMessage failed" not in caplog.text


def test_retry_after_is_read_from_the_body_or_the_header():
    assert zalo_client._retry_after({"parameters": {"retry_after": 3}}, None) == 3.0
    assert zalo_client._retry_after({}, "2") == 2.0
    assert zalo_client._retry_after({"parameters": {"retry_after": "x"}}, "1.5") == 1.5
    assert zalo_client._retry_after({"parameters": []}, None) is None
    assert zalo_client._retry_after({}, "-1") is None


# --- splitting and text commands ----------------------------------------------------------

def test_long_article_is_split_under_2000_at_clause_boundaries(start_bot):
    bot = start_bot()
    parts = bot.ask(USER, "/dieu 2 nd 124")
    assert len(parts) >= 4 and all(len(p) <= 2000 for p in parts)  # the stand-in refuses longer too
    assert parts[0].startswith("Điều 2 Nghị định 124/2024/NĐ-CP\nĐiều 2. Lưu trữ hồ sơ")
    assert all(re.match(r"«\d+\. Hồ sơ", p) for p in parts[1:])  # each later message opens on a clause
    shown = "\n".join(parts)
    positions = [shown.find(c) for c in CLAUSES]
    assert -1 not in positions and positions == sorted(positions)  # whole clauses, in order
    assert shown.count("điểm a khoản 2 Điều 5 Nghị định 73/2023/NĐ-CP") == 40
    assert parts[-1].endswith("⚠️ Bản trong kho là bản trích, không đầy đủ toàn văn.")


def test_long_clause_is_split_at_sentence_boundaries(start_bot):
    bot = start_bot()
    parts = bot.ask(USER, "/dieu 1 nd 124")
    assert len(parts) >= 2 and all(len(p) <= 2000 for p in parts)
    assert parts[1].startswith("«Cán bộ công tác tại xã")  # the cut fell between two sentences
    shown = "\n".join(parts)
    assert all(s in shown for s in SENTENCES)  # no sentence, so no citation, was cut


def test_text_commands_act_on_the_last_answer_and_feedback_is_journaled(start_bot, tmp_path):
    bot = start_bot()
    [answer] = bot.ask(USER, ND73)
    article = bot.ask(USER, "/dieu")
    assert article[0].startswith("Điều 11 Nghị định 73/2023/NĐ-CP\nĐiều 11. Biện pháp bảo vệ cán bộ")
    assert article == bot.ask(USER, "/dieu 11 nd 73")
    [more] = bot.ask(USER, "/nguon")
    assert more.startswith("Nguồn khác:") and "Nghị định 73/2023/NĐ-CP (bản trích)" in more
    assert bot.ask(USER, "/tot") == ["Cảm ơn anh/chị đã góp ý!"]
    [(qid, text)] = _journal(tmp_path, "SELECT id, text FROM questions WHERE channel = 'zalo'")
    assert text == ND73
    assert _journal(tmp_path, "SELECT question_id, user_id, value FROM feedback") == [(qid, USER, 1)]
    bot.ask(USER, "/chuatot")  # a change of mind replaces the vote
    assert _journal(tmp_path, "SELECT question_id, user_id, value FROM feedback") == [(qid, USER, -1)]
    assert bot.ask(OTHER, "/tot") == ["Anh/chị chưa có câu trả lời nào để xem thêm hoặc góp ý."]


# --- access, admin, events ----------------------------------------------------------------

def test_admin_commands_are_refused_to_others_and_work_for_admins(start_bot, api, corpus, tmp_path):
    docs, index = tmp_path / "documents", tmp_path / "index"
    shutil.copytree(corpus[0], docs)
    shutil.copytree(corpus[1], index)
    bot = start_bot(docs, index)
    for command in ("/reindex", "/stats", "/unanswered", "/remove nd 73"):
        assert bot.ask(USER, command) == [ADMIN_ONLY]
    [help_text] = bot.ask(ADMIN, "/help")
    assert "/reindex — lập chỉ mục lại" in help_text and "thư mục documents/" in help_text
    assert "Gửi tệp" not in help_text  # Zalo bots receive no documents
    assert "/reindex" not in bot.ask(USER, "/help")[0]

    (docs / "nghi-dinh-99-2024.txt").write_text(NIGHT_DUTY, encoding="utf-8")
    start = api.mark()
    api.say(ADMIN, "/reindex")
    api.wait(lambda: any("✅" in t for t in api.sent(ADMIN, start)), 60)
    first, report = api.sent(ADMIN, start)
    assert first == "⏳ Bắt đầu lập chỉ mục…"
    assert "Thêm 1, cập nhật 0, xoá 0, không đổi 12" in report and "• Thêm: nghi-dinh-99-2024.txt" in report
    [answer] = bot.ask(USER, "Cán bộ trực đêm tại trụ sở được bồi dưỡng bao nhiêu?")
    assert "Điều 2 Nghị định 99/2024/NĐ-CP" in answer and "150.000 đồng" in answer
    [stats] = bot.ask(ADMIN, "/stats")
    assert "Văn bản: 13" in stats and "Câu hỏi: 1 " in stats


def test_allowlist_refuses_strangers_before_any_work(start_bot, tmp_path):
    bot = start_bot(zalo_allowed_user_ids=[USER])
    [refusal] = bot.ask(STRANGER, ND73)
    assert refusal.startswith("Xin lỗi, anh/chị chưa được cấp quyền") and STRANGER in refusal
    assert "Điều 11" in bot.ask(USER, ND73)[0]
    assert "Văn bản trong kho" in bot.ask(ADMIN, "/docs")[0]  # admins always may
    assert _journal(tmp_path, "SELECT user_id FROM questions") == [(USER,)]


def test_non_text_events_get_a_polite_notice_links_are_read_and_reactions_ignored(start_bot, api):
    bot = start_bot()
    start = api.mark()
    api.push(api.event(USER, kind="image"))
    api.push(api.event(OTHER, kind="sticker"))
    api.push({"event_name": "message.unsupported.received"})  # no message at all: nothing to answer
    api.push(api.event(OTHER, "👍", kind="reaction"))
    assert api.replies(USER, start) == [TEXT_ONLY]
    assert api.replies(OTHER, start) == [TEXT_ONLY]
    assert len(api.sent(None, start)) == 2 and not api.called("sendChatAction", start)
    [answer] = bot.ask(USER, f"https://thuvienphapluat.vn/{ND73}", kind="link")  # a pasted link is text
    assert answer != TEXT_ONLY and api.called("sendChatAction", start)


@pytest.mark.parametrize("mention", ["@TroLy", "@Trợ Lý", "@bot.VDKyGxQvc", "@tro_ly_can_bo"])
def test_every_delivered_group_message_is_answered_without_its_mention(start_bot, api, mention):
    """The platform delivers a group message only when the bot is mentioned: each is for the bot."""
    bot = start_bot()
    [answer] = bot.ask(USER, f"{mention} {ND73}", chat=GROUP, group=True)
    assert "Khoản 1 Điều 11 Nghị định 73/2023/NĐ-CP" in answer
    assert bot.ask(OTHER, f"{mention} /help", chat=GROUP, group=True)[0].startswith("Cách hỏi:")


def test_a_multiword_display_name_is_removed_whole(start_bot, api):
    bot = start_bot(zalo_bot_name="Trợ lý Cán bộ")
    assert bot.ask(OTHER, "@tro ly can bo /help", chat=GROUP, group=True)[0].startswith("Cách hỏi:")
    assert zalo.without_mention("@Trợ lý Cán bộ  Điều 11", "Trợ lý Cán bộ") == ("Điều 11", True)
    assert zalo.without_mention("Điều 11 @x", None) == ("Điều 11 @x", False)


# --- transient errors, split answers, quota ---------------------------------------------------

@pytest.mark.parametrize("code", [502, 503, 408, 425, 0])  # 0: the connection closed without an answer
def test_a_transient_send_failure_is_retried_and_the_answer_arrives(start_bot, api, monkeypatch, code):
    monkeypatch.setattr(zalo_client, "BACKOFF_FIRST", 0.1)
    bot = start_bot()
    bot.ask(USER, "/help")
    start = api.mark()
    api.fail("sendMessage", times=2, code=code, description="Bad gateway")
    [answer] = bot.ask(USER, ND73)
    assert "Điều 11 Nghị định 73/2023/NĐ-CP" in answer
    assert [c.status for c in api.called("sendMessage", start)] == [code, code, 200]


def test_a_split_answer_is_never_sent_with_a_hole(start_bot, api, monkeypatch):
    """Part 2 fails for good: part 1 went out, then one notice; never part 3 after a lost part 2."""
    monkeypatch.setattr(zalo_client, "BACKOFF_FIRST", 0.05)
    bot = start_bot()
    whole = bot.ask(USER, "/dieu 2 nd 124")
    assert len(whole) >= 3
    sent_before = len(api.called("sendMessage"))
    real = api._m_sendMessage  # the first part passes; the second fails on every retry
    calls = []

    def second_part_fails(params):
        calls.append(params["text"])
        if params["text"] == whole[1]:
            raise LookupError(502, "Bad gateway")
        return real(params)
    monkeypatch.setattr(api, "_m_sendMessage", second_part_fails)
    got = bot.ask(USER, "/dieu 2 nd 124")
    assert got == [whole[0], zalo.INCOMPLETE]
    assert calls.count(whole[1]) == zalo.SEND_ATTEMPTS and not set(whole[2:]) & set(calls)
    assert len(api.called("sendMessage")) > sent_before


def test_a_lost_first_part_sends_nothing_else(start_bot, api, monkeypatch):
    monkeypatch.setattr(zalo_client, "BACKOFF_FIRST", 0.05)
    bot = start_bot()
    bot.ask(USER, "/help")
    start = api.mark()
    api.fail("sendMessage", times=zalo.SEND_ATTEMPTS, code=500)
    api.say(USER, "/dieu 2 nd 124")
    api.wait(lambda: len(api.called("sendMessage", start)) == zalo.SEND_ATTEMPTS, 20)
    time.sleep(1.0)
    assert api.sent(USER, start) == []
    assert len(api.called("sendMessage", start)) == zalo.SEND_ATTEMPTS


def test_sent_messages_are_counted_shown_in_stats_and_admins_warned_once(start_bot, api, tmp_path):
    bot = start_bot(zalo_monthly_quota=6, zalo_quota_warn_share=0.5)
    bot.ask(USER, "/help")
    bot.ask(USER, "/help")
    stats, *warnings = bot.ask(ADMIN, "/stats")  # the 3rd message: half the quota, so the admin is told
    assert re.search(r"Zalo tháng \d\d/\d{4}: đã gửi 2/6 tin \(33% hạn mức\)", stats)
    assert warnings == ["⚠️ Bot Zalo đã gửi 3/6 tin trong tháng này (50% hạn mức). Khi hết hạn mức, bot sẽ "
                        "không trả lời được đến đầu tháng sau."]
    bot.ask(USER, "/help")
    assert len([t for t in api.sent(ADMIN) if t.startswith("⚠️ Bot Zalo")]) == 1  # once a month
    [(month, count, warned)] = _journal(tmp_path, "SELECT month, count, warned FROM sent_messages")
    assert count == 5 and warned == 1  # two /help, /stats, the warning, one more /help and re.fullmatch(r"\d{4}-\d{2}", month)


# --- webhook ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict, secret: str | None) -> httpx.Response:
    headers = {"X-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return httpx.post(url, json=body, headers=headers, timeout=10)


def test_webhook_mode_checks_the_secret_accepts_both_shapes_and_answers_at_once(start_bot, api, monkeypatch,
                                                                                tmp_path):
    port = _free_port()
    public = "https://cadrebot.example.vn/zalo-hook"  # what Zalo calls: the TLS proxy in front
    url = f"http://127.0.0.1:{port}/zalo-hook"  # where the proxy forwards to
    secret = "s3cret-zalo-token"
    start_bot(zalo_webhook_url=public, zalo_webhook_secret=secret, zalo_webhook_listen="127.0.0.1",
              zalo_webhook_port=port)
    assert api.webhook == {"url": public, "secret_token": secret}

    start = api.mark()
    question = api.event(USER, ND73)
    assert _post(url, question, "wrong-secret").status_code == 403
    assert _post(url, question, None).status_code == 403
    assert _post(f"http://127.0.0.1:{port}/other", question, secret).status_code == 404
    time.sleep(1.0)
    assert api.calls[start:] == []  # no typing, no answer
    assert _journal(tmp_path, "SELECT count(*) FROM questions") == [(0,)]

    gate = threading.Event()
    real = Conversation.handle

    def held(self, msg):  # the answer waits until the platform has had its 200
        assert gate.wait(30)
        return real(self, msg)
    monkeypatch.setattr(Conversation, "handle", held)
    started = time.monotonic()
    assert _post(url, question, secret).status_code == 200  # flat
    print(f"\nwebhook 200 after {time.monotonic() - started:.3f} s")
    assert time.monotonic() - started < 1.0 and api.sent(USER, start) == []
    gate.set()
    [answer] = api.replies(USER, start)
    assert "Khoản 1 Điều 11 Nghị định 73/2023/NĐ-CP" in answer

    start = api.mark()
    assert _post(url, {"ok": True, "result": api.event(OTHER, "/start")}, secret).status_code == 200  # wrapped
    [greeting] = api.replies(OTHER, start)
    assert greeting.startswith("Xin chào anh/chị!") and "Kho hiện có 12 văn bản" in greeting
    start = api.mark()
    assert _post(url, question, secret).status_code == 200  # a retried delivery
    time.sleep(1.0)
    assert api.sent(USER, start) == []
    assert not api.called("getUpdates")


@pytest.mark.parametrize("settings,named", [
    (dict(zalo_webhook_url="https://cadrebot.example.vn/hook"), "ZALO_WEBHOOK_SECRET"),
    (dict(zalo_webhook_url="https://cadrebot.example.vn/hook", zalo_webhook_secret="short"), "ZALO_WEBHOOK_SECRET"),
    (dict(zalo_webhook_url="https://cadrebot.example.vn/hook", zalo_webhook_secret="x" * 257),
     "ZALO_WEBHOOK_SECRET"),
    (dict(zalo_webhook_url="http://cadrebot.example.vn/hook", zalo_webhook_secret="s3cret-zalo"), "https://"),
])
def test_webhook_settings_are_checked_before_start(api, corpus, monkeypatch, tmp_path, settings, named):
    env = {"ZALO_BOT_TOKEN": api.token, "ZALO_API_URL": api.url, "DOCUMENTS_DIR": str(corpus[0]),
           "INDEX_DIR": str(corpus[1]), "JOURNAL_PATH": str(tmp_path / "j.sqlite"),
           **{k.upper(): v for k, v in settings.items()}}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["zalo"])
    assert result.exit_code == 2 and named in result.output and "Traceback" not in result.output
    assert api.calls == []  # refused before any call to the platform


# --- logs and the command line --------------------------------------------------------------

def test_token_never_appears_in_logs(start_bot, api, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(zalo_client, "BACKOFF_FIRST", 0.1)
    bot = start_bot()
    api.fail("getUpdates", times=1, code=500, description=f"upstream said /bot{TOKEN}/getUpdates")
    api.fail("sendMessage", times=1, code=400, description="Invalid text")
    start = api.mark()
    api.say(USER, "/help")
    api.wait(lambda: api.called("sendMessage", start))
    assert "Điều 11" in bot.ask(USER, ND73)[0]
    assert caplog.text and TOKEN not in caplog.text
    assert "/bot***/getUpdates" in caplog.text  # httpx logs its URL: redacted, not absent
    assert "sendMessage failed" in caplog.text and "getUpdates failed" in caplog.text


def test_cli_zalo_needs_a_token():
    result = CliRunner().invoke(app, ["zalo"])
    assert result.exit_code == 2 and "ZALO_BOT_TOKEN" in result.output


def test_cli_zalo_refuses_a_bad_token(api, corpus, monkeypatch, tmp_path):
    for key, value in {"ZALO_BOT_TOKEN": "1:wrong", "ZALO_API_URL": api.url, "DOCUMENTS_DIR": str(corpus[0]),
                       "INDEX_DIR": str(corpus[1]), "JOURNAL_PATH": str(tmp_path / "j.sqlite")}.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["zalo"])
    assert result.exit_code == 1 and "getMe: 401 Unauthorized" in result.output
    assert "1:wrong" not in result.output


def _env(corpus, tmp_path, **extra) -> dict:
    return {**os.environ, "DOCUMENTS_DIR": str(corpus[0]), "INDEX_DIR": str(corpus[1]),
            "JOURNAL_PATH": str(tmp_path / "journal.sqlite"),
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), **extra}


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    return err.decode()


def test_cadrebot_zalo_serves_until_sigterm(api, corpus, tmp_path):
    env = _env(corpus, tmp_path, ZALO_BOT_TOKEN=api.token, ZALO_API_URL=api.url)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "zalo"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        api.wait(lambda: api.called("getUpdates"), 120)
        start = api.mark()
        api.say(USER, ND73)
        [reply] = api.replies(USER, start)
        assert "Khoản 1 Điều 11 Nghị định 73/2023/NĐ-CP" in reply
        assert TOKEN not in _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cadrebot_run_serves_telegram_and_zalo_together(api, corpus, tmp_path):
    telegram = BotAPI().start()
    env = _env(corpus, tmp_path, ZALO_BOT_TOKEN=api.token, ZALO_API_URL=api.url,
               TELEGRAM_BOT_TOKEN=telegram.token, TELEGRAM_API_URL=telegram.url)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        api.wait(lambda: api.called("getUpdates"), 120)
        telegram.wait(lambda: telegram.called("getUpdates"), 120)
        start, tg_start = api.mark(), telegram.mark()
        api.say(USER, ND73)
        telegram.say(1001, ND73)
        assert "Điều 11 Nghị định 73/2023/NĐ-CP" in api.replies(USER, start)[0]
        assert "Điều 11 Nghị định 73/2023/NĐ-CP" in telegram.replies(1001, tg_start)[0]["text"]
        err = _stop(proc)
        assert TOKEN not in err and telegram.token not in err
        assert "Bot Zalo" in err and "Bot Telegram" in err
    finally:
        if proc.poll() is None:
            proc.kill()
        telegram.stop()
