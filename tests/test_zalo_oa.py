"""The Zalo Official Account channel end to end: signed webhook posts in, the OA API stand-in out.

Only Zalo is a stand-in (tests/zalooaapi.py on 127.0.0.1: the OA API, its OAuth
server with single-use refresh tokens, and the signed webhook calls). The model,
FAISS, bm25s, the index and the SQLite journal (where the token pair and the
answered message ids live) are real.
"""

from __future__ import annotations

import json
import logging
import os
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

from conftest import Bots
from zaloapi import ZaloAPI
from zalooaapi import APP_ID, APP_SECRET, OA_ID, OA_SECRET_KEY, REFRESH, SEND, ZaloOAAPI, sign

from bot.channels import zalo_client, zalo_oa, zalo_oa_client
from bot.channels.core import TEXT_ONLY, Conversation
from bot.channels.zalo_oa_tokens import Tokens
from bot.channels.zalo_oa_webhook import Verifier, mac
from bot.cli import app
from bot.runtime import Runtime
from bot.db import TokenPair
from bot.db.database import connect_database

REPO = Path(__file__).resolve().parent.parent
ADMIN, USER, OTHER = "3001", "2468458835296197922", "1002"
ND73 = "Nghị định 73 bảo vệ cán bộ dám nghĩ, dám làm như thế nào?"
CITED = "Khoản 1 Điều 11 Nghị định 73/2023/NĐ-CP"

# The issue's test vector, byte for byte.
VECTOR_BODY = ('{"app_id":"3608465248940903967","sender":{"id":"2468458835296197922"},'
               '"user_id_by_app":"5521772797175877300","recipient":{"id":"388613280878808645"},'
               '"event_name":"user_send_text","message":{"text":"Xin chào","msg_id":"96d3cdf3af150460909"},'
               '"timestamp":"1754390853474"}').encode("utf-8")
VECTOR_MAC = "mac=707576abd7aa00e500da6403273c1f24526787fd6e3dadb3e4569d79f5df4f56"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Bot:
    """`zalo_oa.run()` in a thread, as `cadrebot zalo-oa` runs it, stopped through its event."""

    def __init__(self, api: ZaloOAAPI, runtime: Runtime):
        self.api = api
        self.settings = settings = runtime.settings
        self.url = f"http://127.0.0.1:{settings.zalo_oa_webhook_port}{settings.zalo_oa_webhook_path}"
        self.stop_event = threading.Event()
        self._thread = threading.Thread(target=zalo_oa.run, args=(runtime, settings, self.stop_event),
                                        daemon=True)

    def start(self) -> "Bot":
        self._thread.start()
        _wait_for(self.url)
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self._thread.join(30)
        assert not self._thread.is_alive(), "the bot did not stop"

    def ask(self, user: str, text: str, **kwargs) -> list[str]:
        start = self.api.mark()
        assert self.api.deliver(self.url, self.api.event(user, text, **kwargs)).status_code == 200
        return self.api.replies(user, start)


def _wait_for(url: str, timeout: float = 120.0) -> None:
    """Until the webhook server answers (an unsigned GET gets an error status, but an answer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} never answered")


@pytest.fixture
def api():
    server = ZaloOAAPI().start()
    yield server
    server.stop()


@pytest.fixture
def settings_for(api, tmp_path):
    def values(**overrides) -> dict:
        access, refresh = api.initial
        return {"zalo_oa_app_id": APP_ID, "zalo_oa_secret_key": OA_SECRET_KEY, "zalo_app_secret": APP_SECRET,
                "zalo_oa_access_token": access, "zalo_oa_refresh_token": refresh,
                "zalo_oa_api_url": api.url, "zalo_oa_oauth_url": api.url,
                "zalo_oa_webhook_listen": "127.0.0.1", "zalo_oa_webhook_port": _free_port(),
                "zalo_oa_webhook_path": "/zalo-oa", "zalo_oa_admin_ids": [ADMIN], **overrides}
    return values


@pytest.fixture
def start_bot(api, shipped_index, embedder, tmp_path, settings_for):
    """Start a bot on the shipped corpus; every bot of a test shares one journal database."""
    bots = Bots((shipped_index.documents_dir, shipped_index.index_dir), embedder, tmp_path)

    def start(**overrides) -> Bot:
        return bots.start(lambda runtime: Bot(api, runtime), settings_for(**overrides))
    yield start
    bots.stop_all()


def _journal(tmp_path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(tmp_path / "journal.sqlite") as db:
        return db.execute(sql).fetchall()


# --- the signature --------------------------------------------------------------------------

def test_the_issue_test_vector_is_verified_exactly():
    timestamp = json.loads(VECTOR_BODY)["timestamp"]
    assert "mac=" + mac(APP_ID, VECTOR_BODY, timestamp, OA_SECRET_KEY) == VECTOR_MAC
    assert sign(VECTOR_BODY, timestamp) == VECTOR_MAC  # the stand-in signs as Zalo does
    verifier = Verifier(APP_ID, OA_SECRET_KEY)
    event = json.loads(VECTOR_BODY)
    assert verifier.check(VECTOR_BODY, event, VECTOR_MAC)
    assert verifier.check(VECTOR_BODY, event, VECTOR_MAC[4:].upper())  # bare and upper-case hex too
    # The raw bytes count: the same JSON re-serialised (spaces, escaped "à") no longer matches.
    assert not verifier.check(json.dumps(event).encode(), event, VECTOR_MAC)
    assert not verifier.check(VECTOR_BODY.replace(b"Xin", b"Xim"), event, VECTOR_MAC)
    assert not Verifier(APP_ID, "OTHER_KEY").check(VECTOR_BODY, event, VECTOR_MAC)
    assert not verifier.check(VECTOR_BODY, event, None)
    assert not verifier.check(VECTOR_BODY, event, "mac=ü" + VECTOR_MAC[5:])  # non-ASCII: refused, not a crash


def test_a_signature_in_an_undocumented_form_is_refused_with_a_line_saying_what_to_set(caplog):
    event = json.loads(VECTOR_BODY)
    by_oa_id = "mac=" + mac(OA_ID, VECTOR_BODY, event["timestamp"], OA_SECRET_KEY)
    assert not Verifier(APP_ID, OA_SECRET_KEY).check(VECTOR_BODY, event, by_oa_id)
    assert f"matches the recipient.id ({OA_ID})" in caplog.text and f"ZALO_OA_SIGNATURE_ID={OA_ID}" in caplog.text
    assert Verifier(OA_ID, OA_SECRET_KEY).check(VECTOR_BODY, event, by_oa_id)  # once configured
    caplog.clear()
    assert not Verifier(APP_ID, OA_SECRET_KEY).check(VECTOR_BODY, event, "mac=" + "0" * 64)
    assert "wrong ZALO_OA_SECRET_KEY, or not from Zalo" in caplog.text and OA_SECRET_KEY not in caplog.text


# --- answering -----------------------------------------------------------------------------

def test_a_signed_question_gets_a_cited_answer_through_message_cs(start_bot, api, tmp_path):
    bot = start_bot()
    [reply] = bot.ask(USER, ND73)
    assert CITED in reply and "không bị xử lý trách nhiệm" in reply
    assert reply.endswith("Gõ /dieu: toàn văn Điều; /nguon: nguồn khác; /tot hoặc /chuatot: góp ý.")
    # The settings' pair has no known expiry: it is refreshed at its first use, then used.
    [refresh, call] = api.calls
    assert refresh.method == REFRESH and call.method == SEND
    assert call.params["headers"] == {"access_token": refresh.result["access_token"]}
    assert call.params["recipient"] == {"user_id": USER} and call.params["message"] == {"text": reply}
    assert _journal(tmp_path, "SELECT channel, user_id, text FROM questions") == [("zalo_oa", USER, ND73)]
    # Commands are typed as on the Zalo bot, and every message fits the OA's 2,000 characters.
    article = bot.ask(USER, "/dieu")
    assert article[0].startswith("Điều 11 Nghị định 73/2023/NĐ-CP\nĐiều 11. Biện pháp bảo vệ cán bộ")
    assert all(0 < len(text) <= 2000 for text in api.sent())
    assert bot.ask(USER, "/tot") == ["Cảm ơn anh/chị đã góp ý!"]


def test_a_wrong_signature_is_refused_and_causes_no_work(start_bot, api, tmp_path):
    bot = start_bot()
    start = api.mark()
    event = api.event(USER, ND73)
    assert api.deliver(bot.url, event, signature="mac=" + "ab" * 32).status_code == 403
    assert api.deliver(bot.url, event, signature="").status_code == 403
    body = json.dumps(event, separators=(",", ":")).encode()
    forged = sign(body, event["timestamp"], secret="GUESSED")
    assert api.deliver(bot.url, body, signature=forged).status_code == 403
    assert httpx.post(bot.url, content=b"not json", headers={"X-ZEvent-Signature": forged}).status_code == 403
    assert api.deliver(bot.url.replace("/zalo-oa", "/other"), event).status_code == 404
    time.sleep(1.0)  # anything wrongly started would have sent by now
    assert api.calls[start:] == []
    assert _journal(tmp_path, "SELECT count(*) FROM questions") == [(0,)]


def test_the_webhook_answers_200_before_the_work_is_done(start_bot, api, monkeypatch):
    bot = start_bot()
    gate = threading.Event()
    real = Conversation.handle

    def held(self, msg):  # the answer waits until Zalo has had its 200
        assert gate.wait(30)
        return real(self, msg)
    monkeypatch.setattr(Conversation, "handle", held)
    start = api.mark()
    assert api.deliver(bot.url, api.event(USER, ND73)).status_code == 200
    assert api.sent(USER, start) == []  # answered 200 while the question is still being worked on
    gate.set()
    assert CITED in api.replies(USER, start)[0]


def test_a_redelivered_message_is_answered_once_also_across_a_restart(start_bot, api, tmp_path):
    bot = start_bot()
    event = api.event(USER, ND73, msg_id="dup-77")
    start = api.mark()
    assert api.deliver(bot.url, event).status_code == 200
    assert api.deliver(bot.url, json.loads(json.dumps(event))).status_code == 200  # Zalo redelivers
    replies = api.replies(USER, start, settle=1.5)
    assert len(replies) == 1 and CITED in replies[0]
    bot.stop()
    again = start_bot()
    start = api.mark()
    assert api.deliver(again.url, event).status_code == 200  # a third delivery, after the restart
    time.sleep(1.5)
    assert api.sent(USER, start) == []
    assert _journal(tmp_path, "SELECT count(*) FROM questions") == [(1,)]
    assert CITED in again.ask(USER, ND73)[0]  # the same text under a new msg_id is a new question


def test_events_echoes_are_ignored_media_gets_the_notice_and_a_follow_is_greeted(start_bot, api):
    bot = start_bot()
    start = api.mark()
    for name in ("oa_send_text", "user_received_message", "user_seen_message", "unfollow", "user_submit_info"):
        assert api.deliver(bot.url, api.event(USER, "Xin chào", name=name)).status_code == 200
    time.sleep(1.0)
    assert api.calls[start:] == []  # not even the bot's own echo gets an answer
    assert bot.ask(USER, None, name="user_send_image") == [TEXT_ONLY]
    assert bot.ask(OTHER, None, name="user_send_sticker") == [TEXT_ONLY]
    follow = api.event(OTHER, name="follow")
    start = api.mark()
    assert api.deliver(bot.url, follow).status_code == 200
    assert api.deliver(bot.url, follow).status_code == 200  # redelivered: no message id, same who and when
    [greeting] = api.replies(OTHER, start, settle=1.5)
    assert greeting.startswith("Xin chào anh/chị!") and "Kho hiện có" in greeting


# --- tokens ----------------------------------------------------------------------------------

def _stored_pair(tmp_path: Path) -> tuple:
    return _journal(tmp_path, "SELECT access_token, refresh_token FROM tokens WHERE name = 'zalo-oa'")[0]


def test_an_expired_token_is_refreshed_with_rotation_and_the_new_pair_survives_a_restart(start_bot, api, tmp_path,
                                                                                         caplog):
    caplog.set_level(logging.DEBUG)
    bot = start_bot()
    bot.ask(OTHER, "/help")  # the settings' pair is rotated at its first use
    old_access, old_refresh = _stored_pair(tmp_path)
    api.expire(old_access)  # Zalo expires it before we expected
    start = api.mark()
    [reply] = bot.ask(USER, ND73)
    assert CITED in reply
    calls = api.calls[start:]
    assert [(c.method, c.result.get("error")) for c in calls] == [(SEND, -216), (REFRESH, None), (SEND, 0)]
    refresh = calls[1]
    assert refresh.params == {"refresh_token": old_refresh, "app_id": APP_ID, "grant_type": "refresh_token",
                              "headers": {"secret_key": APP_SECRET}}
    new_access, new_refresh = refresh.result["access_token"], refresh.result["refresh_token"]
    assert calls[2].params["headers"] == {"access_token": new_access}
    assert old_refresh not in api.refresh  # the stand-in killed the used refresh token
    assert _stored_pair(tmp_path) == (new_access, new_refresh)  # persisted, in the journal database

    bot.stop()  # the settings still hold the old, now dead, pair
    again = start_bot()
    start = api.mark()
    assert CITED in again.ask(USER, ND73)[0]
    assert [c.params["headers"] for c in api.calls[start:]] == [{"access_token": new_access}]  # no refresh
    for secret in (*api.initial, old_access, old_refresh, new_access, new_refresh, APP_SECRET, OA_SECRET_KEY):
        assert secret not in caplog.text  # tokens never logged


def test_two_workers_refresh_once_under_the_lock(api, tmp_path):
    """Two workers (own connections, own token keepers) meet an expired token at once: one refresh."""
    api.refresh_delay = 0.5  # a slow OAuth server: the second worker arrives while the first refreshes
    seed = TokenPair(*api.initial, expires_at=time.time() + 86400)
    dbs = [connect_database(None, tmp_path / "journal.sqlite") for _ in range(2)]
    keepers = [Tokens(db.tokens, api.url, APP_ID, APP_SECRET, seed) for db in dbs]
    results: list[str] = []
    threads = [threading.Thread(target=lambda k=k: results.append(k.refresh(api.initial[0]))) for k in keepers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    [refresh] = api.called(REFRESH)
    assert results == [refresh.result["access_token"]] * 2
    assert _stored_pair(tmp_path) == (refresh.result["access_token"], refresh.result["refresh_token"])
    for keeper, db in zip(keepers, dbs):
        keeper.close()
        db.close()


def test_a_token_about_to_expire_is_refreshed_before_it_is_refused(api, tmp_path):
    db = connect_database(None, tmp_path / "journal.sqlite")
    keeper = Tokens(db.tokens, api.url, APP_ID, APP_SECRET, TokenPair(*api.initial, expires_at=time.time() + 60))
    client = zalo_oa_client.Client(api.url, keeper)
    client.send_text(USER, "Xin chào")
    assert [c.method for c in api.calls] == [REFRESH, SEND] and api.calls[1].result["error"] == 0
    assert db.tokens.get("zalo-oa").expires_at > time.time() + 24 * 3600  # "90000" seconds, read from a string
    client.close()
    keeper.close()
    db.close()


def test_a_failed_refresh_is_logged_clearly_shown_to_admins_and_cured_by_a_new_pair(start_bot, api, tmp_path,
                                                                                   caplog):
    bot = start_bot()
    api.refresh.clear()  # the refresh token died (expired after three months, or used elsewhere)
    start = api.mark()
    assert api.deliver(bot.url, api.event(USER, ND73)).status_code == 200
    api.wait(lambda: api.called(REFRESH, start))
    time.sleep(1.0)
    assert [c.method for c in api.calls[start:]] == [REFRESH]  # once, not in a loop; nothing sent
    assert "token refresh failed (-14014 Invalid refresh token" in caplog.text
    assert "ZALO_OA_ACCESS_TOKEN and ZALO_OA_REFRESH_TOKEN, then restart" in caplog.text
    [line, counts] = zalo_oa.settings_status(bot.settings)  # what doctor and the other channels' /stats show
    assert line.startswith("Zalo OA: ❌ không làm mới được token (-14014 Invalid refresh token")
    assert "lỗi gửi: 1" in counts

    # The admin gets a new pair from Zalo and puts it in the settings: it replaces the stored one.
    bot.stop()
    access, refresh = api._new("access"), api._new("refresh")
    api.access[access], api.refresh = time.time() + 3600, {refresh}
    again = start_bot(zalo_oa_access_token=access, zalo_oa_refresh_token=refresh)
    assert CITED in again.ask(USER, ND73)[0]
    [stats] = again.ask(ADMIN, "/stats")  # the channel's lines close the core's /stats
    assert stats.startswith("📊 Thống kê") and "\nZalo OA: token hợp lệ, hạn " in stats
    assert "\nTin Zalo OA tháng này: đã gửi 1 |" in stats


def test_a_user_outside_the_7_day_window_is_logged_and_counted_not_retried(start_bot, api, caplog):
    bot = start_bot()
    api.unreachable.add(USER)
    start = api.mark()
    assert api.deliver(bot.url, api.event(USER, ND73)).status_code == 200
    api.wait(lambda: api.called(SEND, start))
    time.sleep(1.5)  # a retry loop would have called again by now
    [call] = api.called(SEND, start)
    assert call.result["error"] == -230
    assert f"user {USER} cannot be messaged now (-230" in caplog.text and "not retried" in caplog.text
    [stats] = bot.ask(ADMIN, "/stats")
    assert "không nhận được: 1 |" in stats


def test_rate_limits_and_transport_errors_are_retried_with_back_off(start_bot, api, monkeypatch):
    monkeypatch.setattr(zalo_client, "BACKOFF_FIRST", 0.2)
    bot = start_bot()
    bot.ask(OTHER, "/help")  # the first send also refreshes the settings' pair
    api.fail(SEND, times=2, code=-32)
    api.fail(SEND, times=1, code=502, message="Bad gateway")
    start = api.mark()
    [reply] = bot.ask(USER, ND73)
    assert CITED in reply
    sends = api.called(SEND, start)
    assert [(c.status, c.result.get("error")) for c in sends] == [(200, -32), (200, -32), (502, None), (200, 0)]
    gaps = [b.at - a.at for a, b in zip(sends, sends[1:])]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4 and gaps[2] >= 0.8  # doubling, never hammering


# --- the command line -------------------------------------------------------------------------

def test_cli_zalo_oa_names_the_missing_settings():
    result = CliRunner().invoke(app, ["zalo-oa"], env={"ZALO_OA_APP_ID": APP_ID})
    assert result.exit_code == 2
    assert "ZALO_OA_SECRET_KEY, ZALO_APP_SECRET, ZALO_OA_REFRESH_TOKEN" in result.output


def _env(values: dict, documents: Path, index: Path, tmp_path: Path, **extra: str) -> dict:
    """The environment of a `python -m bot` subprocess: the test's settings as variables."""
    return {**os.environ, "DOCUMENTS_DIR": str(documents), "INDEX_DIR": str(index),
            "JOURNAL_PATH": str(tmp_path / "journal.sqlite"),
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            **{k.upper(): ",".join(v) if isinstance(v, list) else str(v) for k, v in values.items()}, **extra}


def test_cadrebot_zalo_oa_serves_until_sigterm(api, shipped_index, tmp_path, settings_for):
    values = settings_for()
    env = _env(values, shipped_index.documents_dir, shipped_index.index_dir, tmp_path)
    url = f"http://127.0.0.1:{values['zalo_oa_webhook_port']}/zalo-oa"
    proc = subprocess.Popen([sys.executable, "-m", "bot", "zalo-oa"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(url)
        start = api.mark()
        assert api.deliver(url, api.event(USER, ND73)).status_code == 200
        [reply] = api.replies(USER, start)
        assert CITED in reply
        assert [c.method for c in api.calls[start:]] == [REFRESH, SEND]  # the settings' pair, rotated
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err.decode()
        assert "Kênh Zalo OA đang chạy" in err.decode()
        for secret in (*api.initial, APP_SECRET, OA_SECRET_KEY):
            assert secret not in err.decode()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cadrebot_run_serves_the_oa_beside_the_zalo_bot(api, shipped_index, tmp_path, settings_for):
    docs, index = tmp_path / "documents", tmp_path / "index"
    shutil.copytree(shipped_index.documents_dir, docs)
    shutil.copytree(shipped_index.index_dir, index)
    zalo_bot = ZaloAPI().start()
    values = settings_for()
    env = _env(values, docs, index, tmp_path, ZALO_BOT_TOKEN=zalo_bot.token, ZALO_API_URL=zalo_bot.url)
    url = f"http://127.0.0.1:{values['zalo_oa_webhook_port']}/zalo-oa"
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(url)
        zalo_bot.wait(lambda: zalo_bot.called("getUpdates"), 120)
        start, bot_start = api.mark(), zalo_bot.mark()
        assert api.deliver(url, api.event(USER, ND73)).status_code == 200
        zalo_bot.say("u-1001", ND73)
        assert CITED in api.replies(USER, start)[0]
        assert "Điều 11 Nghị định 73/2023/NĐ-CP" in zalo_bot.replies("u-1001", bot_start)[0]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err.decode()
        assert "Kênh Zalo OA đang chạy" in err.decode() and "Bot Zalo đang chạy" in err.decode()
    finally:
        if proc.poll() is None:
            proc.kill()
        zalo_bot.stop()
