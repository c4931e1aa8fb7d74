"""The Zalo channel: a small Zalo Bot Platform client and a thin adapter over the conversation core.

The platform's API is shaped like Telegram's (`POST <root>/bot<TOKEN>/<method>`,
answers `{"ok", "result", "error_code", "description"}`) but has no maintained
Python SDK, so `Client` is a few lines over httpx. Everything runs in threads:
the conversation core is synchronous, so asyncio would buy nothing here.

Updates come by long polling (getUpdates; 408 means "nothing new", normal) or,
when ZALO_WEBHOOK_URL is set, by webhook. The webhook server is the stdlib's
ThreadingHTTPServer: it needs one POST route, adds no dependency, and the work
is handed to a thread pool so the platform gets its 200 at once. Put a TLS
reverse proxy in front of it. getUpdates has no offset and webhooks may be
retried, so updates are de-duplicated by message_id. Zalo cannot edit a sent
message, so admin progress is not shown; the outcome arrives as new messages.
In a group, a message is for the bot when it mentions the bot's name or is a
command (the same rule the core applies to Telegram groups).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import re
import signal
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx

from bot.channels.core import Conversation
from bot.channels.guard import Access
from bot.channels.message import Incoming, Reply
from bot.channels.render import PLAIN
from bot.channels.telegram import Redact
from bot.config import Settings
from bot.errors import CadreBotError
from bot.runtime import Runtime

log = logging.getLogger(__name__)

APOLOGY = "Xin lỗi, đã có lỗi khi xử lý yêu cầu. Anh/chị vui lòng thử lại sau ít phút."
TEXT_EVENT = "message.text.received"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
POLL_SECONDS = 30  # long-poll timeout asked of the platform
QUIET_FLOOR = 0.5  # an empty poll never repeats faster than this: no spinning on odd servers
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0  # seconds, doubled after each failed poll
SEND_ATTEMPTS = 4  # a rate-limited (429) message is retried, waiting as told or backing off
RETRY_AFTER_CAP = 30.0
TYPING_EVERY = 4.5
REMEMBERED = 4096  # message ids kept for de-duplication
MAX_BODY = 1_000_000
BAD_TOKEN = {401, 403, 404}


class ZaloError(CadreBotError):
    """A failed API call. The message names the method, never the URL (it holds the token)."""

    def __init__(self, method: str, code: int | None, description: str, retry_after: float | None = None):
        super().__init__(f"Zalo Bot API báo lỗi khi gọi {method}: {code or ''} {description}".strip())
        self.code = code
        self.retry_after = retry_after


def _retry_after(body: dict, header: str | None) -> float | None:
    """Seconds to wait, from `parameters.retry_after` (Bot API style) or a Retry-After header."""
    parameters = body.get("parameters")
    for value in (parameters.get("retry_after") if isinstance(parameters, dict) else None, header):
        try:
            if value is not None and float(value) >= 0:
                return float(value)
        except (TypeError, ValueError):
            pass
    return None


class Client:
    """The Bot API over HTTP: `call(method, payload)` returns `result` or raises ZaloError."""

    def __init__(self, root: str, token: str, timeout: float = 15.0):
        self._token = token
        self._http = httpx.Client(base_url=f"{root.rstrip('/')}/bot{token}/", timeout=timeout)

    def call(self, method: str, payload: dict | None = None, timeout: float | None = None):
        try:
            resp = self._http.post(method, json=payload or {},
                                   timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout)
        except httpx.HTTPError as exc:  # its text can hold the URL, hence the token
            raise ZaloError(method, None, f"{type(exc).__name__}: {exc}".replace(self._token, "***")) from None
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code == 200 and isinstance(body, dict) and body.get("ok"):
            return body.get("result")
        body = body if isinstance(body, dict) else {}
        description = str(body.get("description") or resp.reason_phrase).replace(self._token, "***")
        raise ZaloError(method, body.get("error_code") or resp.status_code, description,
                        _retry_after(body, resp.headers.get("Retry-After")))

    def close(self) -> None:
        self._http.close()


class Seen:
    """The most recent message ids, to answer each message once."""

    def __init__(self, size: int = REMEMBERED):
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        with self._lock:
            if key in self._ids:
                return False
            self._ids[key] = None
            if len(self._ids) > self.size:
                self._ids.popitem(last=False)
            return True


def updates_of(payload) -> list[dict]:
    """The updates in a getUpdates result or webhook body: flat, wrapped in {"ok", "result"}, or a list."""
    if isinstance(payload, dict) and "event_name" not in payload and "result" in payload:
        payload = payload["result"]
    if isinstance(payload, list):
        return [u for u in payload if isinstance(u, dict)]
    return [payload] if isinstance(payload, dict) and payload else []


class ZaloBot:
    """Updates in, `Conversation` decisions, messages out."""

    def __init__(self, runtime: Runtime, settings: Settings):
        if settings.zalo_bot_token is None:
            raise ValueError("ZALO_BOT_TOKEN is not set")
        token = settings.zalo_bot_token.get_secret_value()
        secret = settings.zalo_webhook_secret.get_secret_value() if settings.zalo_webhook_secret else ""
        self._redact = Redact([token, secret])
        for name in (__name__, "httpx", "httpcore"):  # at the source: whatever handlers exist
            logging.getLogger(name).addFilter(self._redact)
        self.settings = settings
        self.client = Client(settings.zalo_api_url, token)
        self.stopping = threading.Event()  # ends a rate-limit wait when the bot stops
        access = Access(set(settings.zalo_admin_ids), set(settings.zalo_allowed_user_ids))
        self.conv = Conversation.from_settings(runtime, PLAIN, "zalo", access)
        self.conv.files = False
        self.names: list[str] = []
        self.seen = Seen()
        self.workers = ThreadPoolExecutor(4, thread_name_prefix="cadrebot-zalo")
        self.jobs = ThreadPoolExecutor(2, thread_name_prefix="cadrebot-zalo-admin")  # builds wait here

    # --- in -------------------------------------------------------------------------

    def dispatch(self, update: dict) -> None:
        """Hand an update to a worker; the caller (poller, webhook request) returns at once."""
        try:
            self.workers.submit(self.process, update)
        except RuntimeError:  # shutting down
            log.debug("update dropped during shutdown")

    def process(self, update: dict) -> None:
        """One update, start to finish; nothing it raises may reach the pool unseen."""
        try:
            self._process(update)
        except Exception:
            log.exception("update failed")

    def _process(self, update: dict) -> None:
        message = update.get("message") if isinstance(update.get("message"), dict) else {}
        key = message.get("message_id")
        if key is not None and not self.seen.first_time(str(key)):
            log.debug("duplicate delivery of message %s ignored", key)
            return
        msg = self.incoming(message)
        if msg is None or not self.conv.addressed(msg):
            log.debug("update not for the bot: %s", update.get("event_name"))
            return
        try:
            if update.get("event_name") == TEXT_EVENT:
                replies = self.conv.admit(msg)  # refused or flooding users never see "typing…"
                if replies is None:
                    with self._typing(msg.chat_id):
                        replies = self.conv.handle(msg)
            else:
                replies = self.conv.unreadable(msg)
        except Exception:
            log.exception("update failed")
            replies = [Reply(APOLOGY)]
        self.deliver(msg.chat_id, replies)

    def incoming(self, message: dict) -> Incoming | None:
        """The message as the core sees it; an @mention of the bot is taken out of the text."""
        sender, chat = message.get("from") or {}, message.get("chat") or {}
        if not sender.get("id") or not chat.get("id"):
            return None
        text = str(message.get("text") or "")
        mentioned = False
        for name in self.names:
            text, found = re.subn(rf"@{re.escape(name)}(?!\w)", " ", text, flags=re.I)
            mentioned = mentioned or found > 0
        return Incoming(str(sender["id"]), str(chat["id"]), " ".join(text.split()),
                        str(chat.get("chat_type", "")).upper() == "GROUP", mentioned,
                        str(sender.get("display_name") or ""))

    # --- out -------------------------------------------------------------------------

    def send(self, chat_id: str, text: str) -> bool:
        """Send one message; a 429 (too many requests) is waited out and retried, not dropped."""
        for attempt in range(SEND_ATTEMPTS):
            try:
                self.client.call("sendMessage", {"chat_id": chat_id, "text": text})
                return True
            except ZaloError as exc:
                if exc.code != 429 or attempt == SEND_ATTEMPTS - 1:
                    log.warning("sendMessage failed: %s", exc)
                    return False
                delay = min(exc.retry_after or BACKOFF_FIRST * 2 ** attempt, RETRY_AFTER_CAP)
                log.info("sendMessage rate-limited; retrying in %.1f s", delay)
                if self.stopping.wait(delay):
                    return False
        return False

    def deliver(self, chat_id: str, replies: list[Reply]) -> None:
        for reply in replies:
            self.send(chat_id, reply.text)
            if reply.work is not None:
                self.jobs.submit(self._work, chat_id, reply)

    def _work(self, chat_id: str, reply: Reply) -> None:
        """An admin job; Zalo cannot edit the sent message, so progress goes to the debug log."""
        try:
            outcome = reply.work(lambda text: log.debug("progress: %s", text))
        except Exception:
            log.exception("admin job failed")
            outcome = [Reply(APOLOGY)]
        self.deliver(chat_id, outcome)

    @contextlib.contextmanager
    def _typing(self, chat_id: str):
        done = threading.Event()

        def typing() -> None:
            with contextlib.suppress(ZaloError):
                self.client.call("sendChatAction", {"chat_id": chat_id, "action": "typing"})

        def keep_typing() -> None:
            while not done.wait(TYPING_EVERY):
                typing()
        typing()  # before the answer, whatever happens next
        threading.Thread(target=keep_typing, daemon=True).start()
        try:
            yield
        finally:
            done.set()

    # --- serving -----------------------------------------------------------------------

    def ready(self) -> None:
        """Who the bot is (a bad token stops here), then the model and index, so the first answer is quick."""
        try:
            me = self.client.call("getMe") or {}
        except ZaloError as exc:
            if exc.code in BAD_TOKEN:
                raise
            log.warning("getMe failed, carrying on: %s", exc)
            me = {}
        self.names = [str(me[k]) for k in ("display_name", "account_name", "name") if me.get(k)]
        self.conv.username = self.names[0] if self.names else None
        try:
            self.conv.runtime.searcher()
        except CadreBotError as exc:
            log.warning("the index is not usable yet: %s", exc)

    def poll(self, stop: threading.Event) -> None:
        """Long polling until `stop`: 408 is a quiet empty answer; errors back off exponentially."""
        delay = 0.0
        while not stop.is_set():
            started = time.monotonic()
            try:
                updates = updates_of(self.client.call("getUpdates", {"timeout": str(POLL_SECONDS)},
                                                      timeout=POLL_SECONDS + 10))
                delay = 0.0
            except ZaloError as exc:
                if exc.code != 408:
                    delay = min(BACKOFF_MAX, delay * 2 or BACKOFF_FIRST)
                    if not stop.is_set():
                        log.warning("getUpdates failed; retrying in %.0f s: %s", delay, exc)
                    stop.wait(delay)
                    continue
                updates = []
            for update in updates:
                self.dispatch(update)
            if not updates:
                stop.wait(max(0.0, QUIET_FLOOR - (time.monotonic() - started)))

    def serve(self, stop: threading.Event) -> None:
        """Run until `stop` is set: webhook mode when ZALO_WEBHOOK_URL is set, long polling otherwise."""
        s = self.settings
        self.ready()
        if not s.zalo_webhook_url:
            try:  # getUpdates only works without a webhook
                self.client.call("deleteWebhook")
            except ZaloError as exc:
                log.warning("deleteWebhook failed: %s", exc)
            # The poller may sit in a 30 s long poll; close() ends it, so stopping is prompt.
            threading.Thread(target=self.poll, args=(stop,), name="cadrebot-zalo-poll", daemon=True).start()
            stop.wait()
            return
        if s.zalo_webhook_secret is None:
            raise CadreBotError("Chế độ webhook cần ZALO_WEBHOOK_SECRET (8–256 ký tự).")
        secret = s.zalo_webhook_secret.get_secret_value()
        server = webhook_server(self, secret, urlsplit(s.zalo_webhook_url).path or "/",
                                s.zalo_webhook_listen, s.zalo_webhook_port)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            self.client.call("setWebhook", {"url": s.zalo_webhook_url, "secret_token": secret})
            stop.wait()
        finally:
            server.shutdown()
            server.server_close()

    def close(self) -> None:
        self.stopping.set()
        self.workers.shutdown(wait=False, cancel_futures=True)
        self.jobs.shutdown(wait=False, cancel_futures=True)
        self.client.close()
        self.conv.close()
        for name in (__name__, "httpx", "httpcore"):
            logging.getLogger(name).removeFilter(self._redact)


def webhook_server(bot: ZaloBot, secret: str, path: str, host: str, port: int) -> ThreadingHTTPServer:
    """POST `path` with the right secret header: 200 at once, the update handled by a worker."""
    expected = secret.encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # the default writes every request to stderr
            log.debug("webhook: " + fmt, *args)

        def _answer(self, status: int) -> None:
            body = json.dumps({"ok": status == 200}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            if urlsplit(self.path).path != path:
                return self._answer(404)
            given = (self.headers.get(SECRET_HEADER) or "").encode()
            if not hmac.compare_digest(given, expected):
                log.warning("webhook call with a wrong secret from %s refused", self.client_address[0])
                return self._answer(403)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._answer(413)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return self._answer(400)
            self._answer(200)
            for update in updates_of(body):
                bot.dispatch(update)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def run(runtime: Runtime, settings: Settings, stop: threading.Event | None = None) -> None:
    """`cadrebot zalo`: serve until SIGINT or SIGTERM, or until `stop` is set when one is given."""
    previous = {}
    if stop is None:
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    bot = ZaloBot(runtime, settings)
    try:
        bot.serve(stop)
    finally:
        bot.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def in_background(runtime: Runtime, settings: Settings):
    """Serve in a thread (beside the Telegram bot); returns the function that stops it."""
    stop = threading.Event()

    def main() -> None:
        try:
            run(runtime, settings, stop)
        except Exception:
            log.exception("the Zalo bot stopped")
    thread = threading.Thread(target=main, name="cadrebot-zalo", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(10)
    return halt
