"""`cadrebot doctor`: one screen telling an admin which parts work on this machine.

Each part is a small check function of the Runtime returning a `Check`; `CHECKS`
lists them in display order, so a new part (a channel, a service) is one function
and one entry. An optional part nobody set up (OCR not installed, a channel without
a token) is shown but not counted as a failure: the exit code is 1 only when
something configured does not work.

Secrets never reach the screen: a secret setting is shown as "đã đặt", a database
URL with its password masked, and every line is scrubbed of every secret value in
case a library error message echoes one.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr, ValidationError

from bot.errors import CadreBotError
from bot.ingest.ocr import INSTALL as OCR_PACKAGES, missing as ocr_missing
from bot.runtime import Runtime

SET = "đã đặt"
UNSET = "chưa đặt"
CONNECT_TIMEOUT = 3  # seconds; libpq's minimum is 2
# Telegram's rule for the webhook secret_token (Bot API, setWebhook).
_TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    configured: bool = True  # False: an optional part nobody set up; not a failure


def _value(settings, field: str):
    """A setting's plain value (secrets unwrapped); None for settings this version lacks."""
    value = getattr(settings, field, None)
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _shown(settings, field: str) -> str:
    """How a setting may be shown: secrets only as set, id lists as a count."""
    raw = getattr(settings, field, None)
    if raw in (None, "", []):
        return f"{field.upper()} {UNSET}"
    if isinstance(raw, SecretStr):
        return f"{field.upper()} {SET}"
    if isinstance(raw, list):
        return f"{field.upper()} {len(raw)} id"
    return f"{field.upper()} {raw}"


# --- the machine -------------------------------------------------------------------


def check_model(rt: Runtime) -> Check:
    try:
        embedder = rt.embedder
    except CadreBotError as exc:
        return Check("Mô hình nhúng", False, str(exc))
    return Check("Mô hình nhúng", True, f"{embedder.name} ({rt.settings.embedding_backend}), "
                                        f"{embedder.dimension} chiều")


def check_index(rt: Runtime) -> Check:
    try:
        index = rt.open_index()  # checked against the configured backend and model
    except CadreBotError as exc:  # missing, built with another model, damaged: each says what to do
        return Check("Chỉ mục", False, str(exc))
    try:
        s = index.stats()
    finally:
        index.close()
    return Check("Chỉ mục", True, f"{rt.index_dir}: phiên bản {s['version']}, {s['documents']} văn bản, "
                                  f"{s['chunks']} đoạn, mô hình {s['model']} ({s.get('backend', '?')}, "
                                  f"{s['dimension']} chiều)")


def check_ocr(rt: Runtime) -> Check:
    """Tesseract on PATH with its Vietnamese model, judged as the indexer judges it
    (bot.ingest.ocr.missing), with the version shown when it works."""
    name = "OCR (bản quét)"
    binary = shutil.which("tesseract")
    if binary is None:
        return Check(name, False, f"chưa cài Tesseract, bản quét sẽ bị bỏ qua: {OCR_PACKAGES}",
                     configured=False)
    try:
        import pytesseract
    except ImportError:
        return Check(name, False, "thiếu gói pytesseract: pip install pytesseract")
    reason = ocr_missing()
    if reason:
        return Check(name, False, f"{binary}: {reason}")
    version = pytesseract.get_tesseract_version()
    return Check(name, True, f"tesseract {version} ({binary}), tiếng Việt (vie), pytesseract {pytesseract.__version__}")


def mask_url(url: str) -> str:
    """The database URL with its password (in the user part or the query) replaced by ***."""
    netloc = urlsplit(url).netloc
    if urlsplit(url).password is not None:
        user, _, host = netloc.rpartition("@")
        url = url.replace(netloc, f"{user.split(':', 1)[0]}:***@{host}", 1)
    return re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", url)


def check_journal(rt: Runtime) -> Check:
    """The database holding the question log: DATABASE_URL when set, else the SQLite file."""
    url = _value(rt.settings, "database_url")
    if not url:
        path = rt.settings.journal_path or rt.index_dir / "journal.sqlite"
        return _sqlite(Path(path))
    scheme = urlsplit(url).scheme
    if scheme in ("postgresql", "postgres"):
        return _postgres(url)
    if scheme == "sqlite":
        return _sqlite(Path(unquote(urlsplit(url).path)))
    return Check("Cơ sở dữ liệu", False, f"DATABASE_URL {mask_url(url)}: chỉ nhận postgresql:// "
                                          "(hoặc để trống: SQLite)")


def _postgres(url: str) -> Check:
    name, shown = "Cơ sở dữ liệu", f"PostgreSQL {mask_url(url)}"
    try:
        import psycopg
    except ImportError:
        return Check(name, False, f"{shown}: chưa cài gói psycopg (psycopg not installed): "
                                  "pip install 'psycopg[binary]'")
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT) as db:
            version = db.info.server_version
            db.execute("SELECT 1")
    except (psycopg.Error, ValueError) as exc:  # ValueError: a malformed URL
        reason = " ".join(str(exc).split())
        return Check(name, False, f"{shown}: không kết nối được ({reason})")
    return Check(name, True, f"{shown}: kết nối được, máy chủ {version // 10000}.{version % 10000}")


def _sqlite(path: Path) -> Check:
    name, shown = "Cơ sở dữ liệu", f"SQLite {path}"
    if not path.exists():
        folder = next(p for p in (path.parent, *path.parent.parents) if p.exists())
        if os.access(folder, os.W_OK):
            return Check(name, True, f"{shown}: chưa có, sẽ được tạo khi có câu hỏi đầu tiên")
        return Check(name, False, f"{shown}: không ghi được vào {folder}")
    try:  # read-only: the doctor never creates or changes the journal
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            asked = db.execute("SELECT count(*) FROM questions").fetchone()[0] if "questions" in tables else 0
        finally:
            db.close()
    except sqlite3.Error as exc:
        return Check(name, False, f"{shown}: không đọc được ({exc})")
    return Check(name, True, f"{shown}: đọc được, {asked} câu hỏi đã ghi")


# --- the channels ------------------------------------------------------------------


def _channel(name: str, settings, fields: list[str], required: list[str], problems: list[str]) -> Check:
    """A channel's settings: configured once any is set; working when the required ones are
    set and none of `problems` (already checked by the caller) applies."""
    if not any(getattr(settings, f, None) not in (None, "", []) for f in fields):
        return Check(name, False, f"chưa cấu hình ({', '.join(f.upper() for f in required)})",
                     configured=False)
    errors = [f"thiếu {f.upper()}" for f in required if not _value(settings, f)] + problems
    detail = ", ".join(_shown(settings, f) for f in fields)
    return Check(name, not errors, detail + "".join(f"; {e}" for e in errors))


def _webhook_problems(url: str | None, secret: str | None, prefix: str) -> list[str]:
    problems = []
    if url and not url.startswith("https://"):
        problems.append(f"{prefix}WEBHOOK_URL phải là địa chỉ https://")
    if url and not secret:
        problems.append(f"{prefix}WEBHOOK_URL đã đặt mà thiếu {prefix}WEBHOOK_SECRET: "
                        "ai biết địa chỉ cũng gửi được tin giả")
    return problems


def check_telegram(rt: Runtime) -> Check:
    s = rt.settings
    secret = _value(s, "webhook_secret")
    problems = _webhook_problems(s.webhook_url, secret, "")
    if secret and not _TELEGRAM_SECRET.fullmatch(secret):
        problems.append("WEBHOOK_SECRET chỉ được gồm A-Z, a-z, 0-9, _ và - (1–256 ký tự)")
    return _channel("Telegram", s, ["telegram_bot_token", "admin_ids", "webhook_url", "webhook_secret"],
                    ["telegram_bot_token"], problems)


def check_zalo(rt: Runtime) -> Check:
    s = rt.settings
    secret = _value(s, "zalo_webhook_secret")
    problems = _webhook_problems(s.zalo_webhook_url, secret, "ZALO_")
    if secret and not 8 <= len(secret) <= 256:
        problems.append("ZALO_WEBHOOK_SECRET phải dài 8–256 ký tự")
    return _channel("Zalo Bot", s, ["zalo_bot_token", "zalo_admin_ids", "zalo_webhook_url",
                                    "zalo_webhook_secret"], ["zalo_bot_token"], problems)


def check_zalo_oa(rt: Runtime) -> Check:
    """What the channel itself needs (Settings.zalo_oa_missing): an access token is optional,
    the refresh token obtains one."""
    s = rt.settings
    fields = ["zalo_oa_app_id", "zalo_oa_secret_key", "zalo_app_secret", "zalo_oa_access_token",
              "zalo_oa_refresh_token", "zalo_oa_admin_ids"]
    return _channel("Zalo OA", s, fields, [], [f"thiếu {name}" for name in s.zalo_oa_missing()])


def check_llm(rt: Runtime) -> Check:
    required = ["llm_base_url", "llm_model"]
    return _channel("Trả lời viết (LLM)", rt.settings, [*required, "llm_api_key"], required, [])


CHECKS: list[Callable[[Runtime], Check]] = [
    check_model, check_index, check_ocr, check_journal,
    check_telegram, check_zalo, check_zalo_oa, check_llm,
]


# --- running and showing -----------------------------------------------------------


def _secrets(settings) -> list[str]:
    """Every secret value in the settings; of the database URL, shown masked, its password."""
    values = [_value(settings, f) for f, v in settings if isinstance(v, SecretStr) and f != "database_url"]
    url = _value(settings, "database_url")
    if url and urlsplit(url).password:
        values.append(urlsplit(url).password)
    return sorted({v for v in values if v and len(v) >= 3}, key=len, reverse=True)


def _scrub(check: Check, secrets: list[str]) -> Check:
    detail = check.detail
    for secret in secrets:
        detail = detail.replace(secret, "***")
    return Check(check.name, check.ok, detail, check.configured)


def diagnose(make_runtime: Callable[[], Runtime], checks: list[Callable[[Runtime], Check]] = CHECKS
             ) -> list[Check]:
    """Run every check; one that raises becomes a failed line and the others still run."""
    try:
        rt = make_runtime()
    except ValidationError as exc:  # a bad value in .env: say which, never echo the value
        wrong = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                          for e in exc.errors(include_input=False, include_url=False))
        return [Check("Cấu hình (.env)", False, wrong)]
    results = []
    for check in checks:
        try:
            result = check(rt)
        except Exception as exc:  # an unexpected error in one part must not hide the others
            result = Check(check.__name__.removeprefix("check_"), False,
                           f"lỗi khi kiểm tra: {type(exc).__name__}: {exc}")
        results.append(_scrub(result, _secrets(rt.settings)))
    return results


def healthy(checks: list[Check]) -> bool:
    """True when every configured part works (what the exit code reports)."""
    return all(c.ok for c in checks if c.configured)


def render(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{'✓' if c.ok else '✗' if c.configured else '–'} {c.name:<{width}}  {c.detail}"
             for c in checks]
    broken = [c.name for c in checks if c.configured and not c.ok]
    lines.append(f"Kết quả: {len(broken)} phần đã cấu hình đang lỗi: {', '.join(broken)}." if broken
                 else "Kết quả: mọi phần đã cấu hình đều hoạt động.")
    return "\n".join(lines)


def to_dict(checks: list[Check]) -> dict:
    return {"ok": healthy(checks), "checks": [asdict(c) for c in checks]}
