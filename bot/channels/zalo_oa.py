"""The Zalo Official Account channel: webhook events in, the shared conversation, replies out.

This is how state bodies reach people on Zalo (verified OAs), as opposed to the
Bot Platform bot of `zalo.py`, which belongs to one person's account. The pieces
each have a file: `zalo_oa_webhook` (signature, 200 at once, redeliveries),
`zalo_oa_client` (sending, the API's error codes), `zalo_oa_tokens` (the
rotating OAuth pair). What must outlive the process or be shared by workers
(the pair, the answered message ids, the sending counts) lives in `bot.db`.
This file only maps events to the conversation core and sends its replies:

    user_send_text                       the question (commands typed as on the Zalo bot)
    user_send_image/_file/_sticker/...   the "text only" notice
    follow                               the /start greeting
    oa_send_* (echoes, ours included), user_received_message, user_seen_message,
    unfollow, group events, anything else: ignored

Replies are plain text under 2,000 characters (`render.PLAIN`); the OA has no
typing indicator and cannot edit a sent message. A reply the user cannot
receive (the 7-day window) is logged and counted by the client and dropped.
/stats (`conv.usage`) ends with the token status and this month's counts;
`settings_status(settings)` gives the same to doctor and the other channels.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from bot.channels import serving
from bot.channels.core import Conversation
from bot.channels.guard import Access
from bot.channels.message import Incoming, Reply
from bot.channels.redact import Redact
from bot.channels.render import PLAIN
from bot.channels.webhook import webhook_server
from bot.channels.quota import this_month
from bot.channels.threads import ChatLocks, Workers, replies_or_apology, run_admin_job
from bot.channels.zalo import INCOMPLETE
from bot.channels.zalo_oa_client import Client, Unreachable
from bot.channels.zalo_oa_tokens import NAME, RefreshFailed, Tokens, status_line
from bot.channels.zalo_oa_webhook import Verifier, message_id
from bot.config import Settings
from bot.db import Database, TokenPair, open_database
from bot.errors import BadUsage, CadreBotError
from bot.runtime import Runtime

log = logging.getLogger(__name__)

TEXT, FOLLOW, MEDIA_PREFIX = "user_send_text", "follow", "user_send_"
LOGGERS = [__name__, "bot.channels.zalo_oa_client", "bot.channels.zalo_oa_tokens",
           "bot.channels.zalo_oa_webhook", "bot.db.tokens", "httpx", "httpcore"]


OUTCOMES = ("sent", "unreachable", "failed")


def status_lines(db: Database) -> list[str]:
    """The token state and this month's sending counts, as stored: for /stats and doctor."""
    counts = {outcome: db.counters.get(f"{NAME} {outcome}", this_month()) for outcome in OUTCOMES}
    return [status_line(db.tokens.status(NAME)),
            f"Tin Zalo OA tháng này: đã gửi {counts['sent']} | người nhận ngoài thời hạn 7 ngày hoặc "
            f"không nhận được: {counts['unreachable']} | lỗi gửi: {counts['failed']}"]


class OABot:
    """Events in, `Conversation` decisions, messages out through the OA API."""

    def __init__(self, runtime: Runtime, settings: Settings):
        missing = settings.zalo_oa_missing()
        if missing:
            raise BadUsage(f"chưa đặt {', '.join(missing)} (trong .env hoặc biến môi trường).")
        self.settings = s = settings
        self._static = [x.get_secret_value() for x in (s.zalo_oa_secret_key, s.zalo_app_secret,
                                                        s.zalo_oa_access_token, s.zalo_oa_refresh_token) if x]
        self._redact: Redact | None = None
        self._hide([])
        self.stopping = threading.Event()
        self.db = runtime.database  # the process' one shared-state database (bot/db)
        access = s.zalo_oa_access_token.get_secret_value() if s.zalo_oa_access_token else ""
        # Expiry unknown (0): the first send refreshes it, proving the refresh token and learning the expiry.
        seed = TokenPair(access, s.zalo_oa_refresh_token.get_secret_value(), 0.0)
        self.tokens = Tokens(self.db.tokens, s.zalo_oa_oauth_url, s.zalo_oa_app_id,
                             s.zalo_app_secret.get_secret_value(), seed,
                             on_change=lambda pair: self._hide([pair.access_token, pair.refresh_token]))
        self.client = Client(s.zalo_oa_api_url, self.tokens, self.stopping,
                             count=lambda outcome: self.db.counters.add(f"{NAME} {outcome}", this_month()))
        self.conv = Conversation.from_settings(runtime, PLAIN, "zalo_oa", Access(set(s.zalo_oa_admin_ids)))
        self.conv.files = False  # the OA API hands over no documents to index
        self.conv.usage = lambda: status_lines(self.db)  # /stats: the token state and this month's counts
        self.chats = ChatLocks()  # one user's messages are answered one at a time: answers never mix
        self.workers = Workers(4, "cadrebot-zalo-oa", log)
        self.jobs = Workers(2, "cadrebot-zalo-oa-admin", log)

    def _hide(self, tokens: list[str]) -> None:
        """Redact the secrets and every token pair seen so far from the channel's log records."""
        old = self._redact
        known = old.secrets if old else self._static
        if old is not None and all(t in known for t in tokens):
            return
        self._redact = Redact(list(dict.fromkeys(known + tokens)))
        for name in LOGGERS:
            if old is not None:
                logging.getLogger(name).removeFilter(old)
            logging.getLogger(name).addFilter(self._redact)

    # --- in -------------------------------------------------------------------------

    def dispatch(self, event: object) -> None:
        """A verified event: dropped if delivered before (shared database), else handed to a worker."""
        if not isinstance(event, dict):
            return
        key = message_id(event)
        if key is not None and not self.db.seen.first_time(NAME, key):
            log.debug("redelivery of %s ignored", key)
            return
        self.workers.submit(self.process, event)

    def process(self, event: dict) -> None:
        """One event, start to finish (in a worker, which logs what it raises)."""
        name = str(event.get("event_name") or "")
        msg = incoming(event)
        wanted = name in (TEXT, FOLLOW) or (name.startswith(MEDIA_PREFIX) and "group" not in name)
        if msg is None or not wanted:  # group chats (GMF) are not served: one user and the OA only
            log.debug("Zalo OA event %s ignored", name)
            return
        if name == FOLLOW:
            msg.text = "/start"
        answer = self.conv.unreadable if name not in (TEXT, FOLLOW) else self.conv.handle
        with self.chats.hold(msg.chat_id):
            self.deliver(msg.user_id, replies_or_apology(lambda: answer(msg), log, "Zalo OA event"))

    # --- out -------------------------------------------------------------------------

    def send(self, user_id: str, text: str) -> Exception | None:
        """One message: None when sent, else why not (logged where it was understood), never raised."""
        try:
            self.client.send_text(user_id, text)
            return None
        except (RefreshFailed, Unreachable) as exc:
            return exc  # logged by the token keeper or the client, with what to do
        except CadreBotError as exc:  # the API's other errors, transport, the database
            log.warning("Zalo OA: reply to %s not sent: %s", user_id, exc)
            return exc

    def deliver(self, user_id: str, replies: list[Reply]) -> None:
        """The replies in order, never with a hole: after a part that failed, nothing more of it."""
        for i, reply in enumerate(replies):
            failed = self.send(user_id, reply.text)
            if failed is not None:
                if i > 0 and not isinstance(failed, (RefreshFailed, Unreachable)):
                    self.send(user_id, INCOMPLETE)  # as on the Zalo bot: the answer is not whole
                return
            if reply.work is not None:
                self.jobs.submit(run_admin_job, reply, user_id, self.chats, self.deliver, log)

    # --- serving -----------------------------------------------------------------------

    def serve(self, stop: threading.Event) -> None:
        """Listen for Zalo's webhook until `stop` is set."""
        s = self.settings
        try:
            self.conv.runtime.searcher()  # the model and index now, so the first answer is quick
        except CadreBotError as exc:
            log.warning("the index is not usable yet: %s", exc)
        path = "/" + s.zalo_oa_webhook_path.lstrip("/")
        verifier = Verifier(s.zalo_oa_signature_id or s.zalo_oa_app_id, s.zalo_oa_secret_key.get_secret_value())
        server = webhook_server(path, s.zalo_oa_webhook_listen, s.zalo_oa_webhook_port, verifier.authentic,
                                self.dispatch)
        threading.Thread(target=server.serve_forever, name="cadrebot-zalo-oa-webhook", daemon=True).start()
        log.info("Zalo OA webhook listening on %s:%s%s", s.zalo_oa_webhook_listen, server.server_address[1], path)
        try:
            stop.wait()
        finally:
            server.shutdown()
            server.server_close()

    def close(self) -> None:
        self.stopping.set()
        self.workers.shutdown()
        self.jobs.shutdown()
        self.client.close()
        self.tokens.close()
        self.conv.close()
        for name in LOGGERS:
            logging.getLogger(name).removeFilter(self._redact)


def settings_status(settings: Settings) -> list[str]:
    """For doctor: what is missing, or the stored token state and counts (never a token value)."""
    missing = settings.zalo_oa_missing()
    if missing:
        return [f"Zalo OA: chưa cấu hình (thiếu {', '.join(missing)})."]
    try:
        db = open_database(settings)
    except CadreBotError as exc:
        return [f"Zalo OA: không đọc được trạng thái token: {exc}"]
    try:
        return status_lines(db)
    except CadreBotError as exc:
        return [f"Zalo OA: không đọc được trạng thái token: {exc}"]
    finally:
        db.close()


def incoming(event: dict) -> Incoming | None:
    """The sender and text as the core sees them; an OA chat is always one user and the OA."""
    if str(event.get("event_name")) == FOLLOW:
        user = (event.get("follower") or {}).get("id")
    else:
        user = (event.get("sender") or {}).get("id")
    if not user:
        return None
    message = event.get("message") if isinstance(event.get("message"), dict) else {}
    text = " ".join(str(message.get("text") or "").split())
    return Incoming(str(user), str(user), text)


def run(runtime: Runtime, settings: Settings, stop: threading.Event | None = None) -> None:
    """`cadrebot zalo-oa`: serve until SIGINT or SIGTERM, or until `stop` is set when one is given."""
    serving.run(lambda: OABot(runtime, settings), stop)


def in_background(runtime: Runtime, settings: Settings) -> Callable[[], None]:
    """Serve in a thread (beside the other channels); returns the function that stops it."""
    return serving.in_background(lambda: OABot(runtime, settings), "zalo-oa")
