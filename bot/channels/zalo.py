"""The Zalo Bot Platform channel: a thin adapter over the conversation core.

This is the Zalo *Bot Platform* (bots created at bot.zaloplatforms.com, token
`<id>:<secret>`), not a Zalo Official Account (its own channel). The HTTP
client and its retries are in zalo_client.py, the webhook server in
webhook.py; this file turns platform updates into `Incoming` messages and
sends the core's replies back. It imports nothing of Telegram.

What the platform does, and what follows here:
- Updates come by long polling (getUpdates; 408 means "nothing new") or, when
  ZALO_WEBHOOK_URL is set, by webhook (an HTTPS URL and a secret of 8–256
  characters, both checked before start). There is no update offset and
  deliveries may repeat, so messages are de-duplicated by message_id.
- In a group the platform delivers a message only when the bot is mentioned
  or replied to, so every delivered group message is for the bot. getMe gives
  no display name, so a leading "@…" mention is removed whatever its spelling
  (ZALO_BOT_NAME, when set, lets a multi-word name be removed whole).
- A pasted link (`message.link.received`) is read as text; reactions are
  ignored; anything else (images, stickers) gets a polite notice.
- Sending retries network errors, 408, 425, 429 and 5xx with back-off. A
  split answer goes out in order and is never sent with a hole: if a part
  still fails after its retries, no later part is sent, and if earlier parts
  went out, one short notice says the answer is incomplete and to ask again.
  Messages of one chat are answered one at a time, so two answers never mix.
- The free plan has a monthly message quota: every sent message is counted
  (in the journal), /stats shows the count, and admins are warned once a
  month when ZALO_QUOTA_WARN_SHARE of ZALO_MONTHLY_QUOTA is used.
- Zalo cannot edit a sent message, so admin progress is not shown; the
  outcome arrives as new messages.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from urllib.parse import urlsplit

from bot.channels import serving
from bot.channels.core import Conversation
from bot.channels.guard import Access
from bot.channels.message import APOLOGY, Incoming, Reply  # noqa: F401  APOLOGY: re-exported
from bot.channels.quota import MonthlyQuota
from bot.channels.redact import Redact
from bot.channels.render import PLAIN
from bot.channels.threads import ChatLocks, Workers, replies_or_apology, run_admin_job
from bot.channels.webhook import secret_header, webhook_server
from bot.channels.zalo_client import Client, ZaloError, backoff
from bot.config import Settings
from bot.errors import BadUsage, CadreBotError
from bot.runtime import Runtime
from bot.text import fold, strip_diacritics

log = logging.getLogger(__name__)

INCOMPLETE = ("Xin lỗi, phần còn lại của câu trả lời chưa gửi được do lỗi kết nối với Zalo. "
              "Anh/chị vui lòng hỏi lại sau ít phút.")
TEXT_EVENTS = {"message.text.received", "message.link.received"}
SECRET_HEADER = "X-Bot-Api-Secret-Token"
POLL_SECONDS = 30  # long-poll timeout asked of the platform
QUIET_FLOOR = 0.5  # an empty poll never repeats faster than this: no spinning on odd servers
SEND_ATTEMPTS = 5  # one try and four retries, backing off 1, 2, 4, 8 s (or as the platform says)
START_ATTEMPTS = 4  # getMe at start-up: a network blip must not stop the bot
TYPING_EVERY = 4.5
SECRET_LENGTH = (8, 256)


def updates_of(payload) -> list[dict]:
    """The updates in a getUpdates result or webhook body: flat, wrapped in {"ok", "result"}, or a list."""
    if isinstance(payload, dict) and "event_name" not in payload and "result" in payload:
        payload = payload["result"]
    if isinstance(payload, list):
        return [u for u in payload if isinstance(u, dict)]
    return [payload] if isinstance(payload, dict) and payload else []


def _folded(text: str) -> str:
    return " ".join(strip_diacritics(fold(text)).split())


def without_mention(text: str, name: str | None = None) -> tuple[str, bool]:
    """The text without a leading "@mention" (the bot's name when known, else one word); found?"""
    text = " ".join(text.split())
    if not text.startswith("@"):
        return text, False
    if name:
        words = len(name.split())
        head = " ".join(text[1:].split(" ")[:words])
        if _folded(head) == _folded(name):
            return text[1 + len(head):].strip(), True
    # Unknown name: up to a command if one follows the first few words ("@Trợ Lý /help"), else one
    # word; a leftover word of a longer name is only noise to retrieval.
    return re.sub(r"^@\S+(?:\s+\S+){0,3}?\s+(?=/[A-Za-z_])|^@\S+\s*", "", text), True


def check_webhook(settings: Settings) -> None:
    """Refuse, before anything starts, a webhook the platform would not call or anyone could."""
    if not settings.zalo_webhook_url:
        return
    low, high = SECRET_LENGTH
    secret = settings.zalo_webhook_secret.get_secret_value() if settings.zalo_webhook_secret else ""
    if not low <= len(secret) <= high:
        raise BadUsage(f"Chế độ webhook Zalo (ZALO_WEBHOOK_URL) cần ZALO_WEBHOOK_SECRET dài {low}–{high} ký tự "
                       f"(hiện {'chưa đặt' if not secret else f'{len(secret)} ký tự'}).")
    if urlsplit(settings.zalo_webhook_url).scheme != "https":
        raise BadUsage("ZALO_WEBHOOK_URL phải là địa chỉ https:// (Zalo chỉ gọi webhook qua HTTPS; "
                       "đặt một reverse proxy TLS trước cổng ZALO_WEBHOOK_PORT).")


class ZaloBot:
    """Updates in, `Conversation` decisions, messages out."""

    def __init__(self, runtime: Runtime, settings: Settings):
        if settings.zalo_bot_token is None:
            raise BadUsage("chưa đặt ZALO_BOT_TOKEN (trong .env hoặc biến môi trường).")
        check_webhook(settings)
        token = settings.zalo_bot_token.get_secret_value()
        secret = settings.zalo_webhook_secret.get_secret_value() if settings.zalo_webhook_secret else ""
        self._redact = Redact([token, secret])
        for name in (__name__, "httpx", "httpcore"):  # at the source: whatever handlers exist
            logging.getLogger(name).addFilter(self._redact)
        self.settings = settings
        self.client = Client(settings.zalo_api_url, token)
        access = Access(set(settings.zalo_admin_ids), set(settings.zalo_allowed_user_ids))
        self.conv = Conversation.from_settings(runtime, PLAIN, "zalo", access)
        self.conv.files = False  # Zalo bots receive no documents
        self.quota = MonthlyQuota(runtime.database.counters, "zalo", "Zalo", settings.zalo_monthly_quota,
                                  settings.zalo_quota_warn_share, self._warn_admins)
        self.conv.usage = self.quota.lines
        self.seen = runtime.database.seen  # shared by every worker: a redelivery is answered once
        self.chats = ChatLocks()
        self.workers = Workers(4, "cadrebot-zalo", log)
        self.jobs = Workers(2, "cadrebot-zalo-admin", log)  # builds wait here

    # --- in -------------------------------------------------------------------------

    def dispatch(self, update: object) -> None:
        """Hand updates to workers; the caller (poller, webhook request) returns at once."""
        for one in updates_of(update):
            self.workers.submit(self.process, one)

    def process(self, update: dict) -> None:
        """One update, start to finish (in a worker, which logs what it raises)."""
        event = str(update.get("event_name") or "")
        if "reaction" in event:  # a 👍 on a message is not a question
            return
        message = update.get("message") if isinstance(update.get("message"), dict) else {}
        key = message.get("message_id")
        if key is not None and not self.seen.first_time("zalo", key):
            log.debug("duplicate delivery of message %s ignored", key)
            return
        msg = self.incoming(message)
        if msg is None:
            log.debug("update without a sender or chat: %s", event)
            return
        with self.chats.hold(msg.chat_id):
            self.deliver(msg.chat_id, replies_or_apology(lambda: self.answer(event, msg), log, "update"))

    def answer(self, event: str, msg: Incoming) -> list[Reply]:
        if event not in TEXT_EVENTS:
            return self.conv.unreadable(msg)
        replies = self.conv.admit(msg)  # refused or flooding users never see "typing…"
        if replies is None:
            with self._typing(msg.chat_id):
                replies = self.conv.handle(msg)
        return replies

    def incoming(self, message: dict) -> Incoming | None:
        """The message as the core sees it; a leading mention of the bot is taken out of the text."""
        sender, chat = message.get("from") or {}, message.get("chat") or {}
        if not sender.get("id") or not chat.get("id"):
            return None
        link = message.get("link") if isinstance(message.get("link"), dict) else {}
        raw = message.get("text") or message.get("url") or link.get("url") or link.get("title") or ""
        text, _ = without_mention(str(raw), self.settings.zalo_bot_name)
        group = str(chat.get("chat_type", "")).upper() == "GROUP"
        # The platform delivers a group message only when it is for the bot.
        return Incoming(str(sender["id"]), str(chat["id"]), text, group, group,
                        str(sender.get("display_name") or ""))

    # --- out -------------------------------------------------------------------------

    def send(self, chat_id: str, text: str) -> bool:
        """Send one message, retrying what may pass on a second try; counted against the quota."""
        try:
            self.client.call("sendMessage", {"chat_id": chat_id, "text": text}, attempts=SEND_ATTEMPTS)
        except ZaloError as exc:
            log.warning("sendMessage failed: %s", exc)
            return False
        self.quota.sent()
        return True

    def deliver(self, chat_id: str, replies: list[Reply]) -> None:
        """The replies in order; after a part that could not be sent, nothing more of that answer."""
        for i, reply in enumerate(replies):
            if not self.send(chat_id, reply.text):
                if i > 0:
                    self.send(chat_id, INCOMPLETE)
                return
            if reply.work is not None:
                self.jobs.submit(run_admin_job, reply, chat_id, self.chats, self.deliver, log)

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

    def _warn_admins(self, text: str) -> None:
        log.warning("Zalo quota: %s", text)
        for admin in self.settings.zalo_admin_ids:
            self.send(admin, text)

    # --- serving -----------------------------------------------------------------------

    def ready(self) -> None:
        """Check the token (a refused one stops here), then load the model and index."""
        for attempt in range(START_ATTEMPTS):
            try:
                self.client.call("getMe")
                break
            except ZaloError as exc:
                if not exc.transient:
                    raise CadreBotError(f"Zalo Bot API từ chối ZALO_BOT_TOKEN ({exc}).") from None
                if attempt == START_ATTEMPTS - 1:
                    log.warning("getMe failed, carrying on: %s", exc)
                    break
                log.warning("getMe failed; retrying in %.0f s: %s", backoff(attempt), exc)
                if self.client.stopping.wait(backoff(attempt)):
                    return
        try:
            self.conv.runtime.searcher()
        except CadreBotError as exc:
            log.warning("the index is not usable yet: %s", exc)

    def poll(self, stop: threading.Event) -> None:
        """Long polling until `stop`: 408 is a quiet empty answer; errors back off exponentially."""
        failures = 0
        while not stop.is_set():
            started = time.monotonic()
            try:
                updates = updates_of(self.client.call("getUpdates", {"timeout": str(POLL_SECONDS)},
                                                      timeout=POLL_SECONDS + 10))
                failures = 0
            except ZaloError as exc:
                if exc.code != 408:
                    delay = backoff(failures)
                    failures += 1
                    if not stop.is_set():
                        log.warning("getUpdates failed; retrying in %.1f s: %s", delay, exc)
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
                self.client.call("deleteWebhook", attempts=START_ATTEMPTS)
            except ZaloError as exc:
                log.warning("deleteWebhook failed: %s", exc)
            # The poller may sit in a 30 s long poll; close() ends it, so stopping is prompt.
            threading.Thread(target=self.poll, args=(stop,), name="cadrebot-zalo-poll", daemon=True).start()
            stop.wait()
            return
        secret = s.zalo_webhook_secret.get_secret_value()
        server = webhook_server(urlsplit(s.zalo_webhook_url).path or "/", s.zalo_webhook_listen,
                                s.zalo_webhook_port, secret_header(SECRET_HEADER, secret), self.dispatch)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            self.client.call("setWebhook", {"url": s.zalo_webhook_url, "secret_token": secret},
                             attempts=START_ATTEMPTS)
            stop.wait()
        finally:
            server.shutdown()
            server.server_close()

    def close(self) -> None:
        self.workers.shutdown()
        self.jobs.shutdown()
        self.client.close()
        self.conv.close()
        for name in (__name__, "httpx", "httpcore"):
            logging.getLogger(name).removeFilter(self._redact)


def run(runtime: Runtime, settings: Settings, stop: threading.Event | None = None) -> None:
    """`cadrebot zalo`: serve until SIGINT or SIGTERM, or until `stop` is set when one is given."""
    serving.run(lambda: ZaloBot(runtime, settings), stop)  # bad settings refused before any signal handler


def in_background(runtime: Runtime, settings: Settings):
    """Serve in a thread (beside the Telegram bot); returns the function that stops it."""
    return serving.in_background(lambda: ZaloBot(runtime, settings), "zalo")
