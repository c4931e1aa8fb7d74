"""The Telegram channel: thin python-telegram-bot handlers over the conversation core.

Each handler turns the update into an `Incoming`, runs the core in a worker
thread (retrieval and indexing never block the event loop), and sends what
the core returns. Updates from different chats are processed concurrently,
so other users keep getting answers while an admin's re-index runs; updates
of one chat run one after the other (`ChatOrder`), so the parts of two split
answers never interleave. Admin jobs run as their own tasks, so a long build
does not hold its chat. PTB's AIORateLimiter paces outgoing calls and retries
after the Bot API's "retry after N seconds" answers, so flood control slows
the bot down instead of failing a reply. `Defaults` set HTML and no link
previews for every message and edit.

Webhook mode refuses to start without WEBHOOK_SECRET: without it, anyone who
learns the URL could post updates carrying an admin's id.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
import signal
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from telegram import (BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions,
                      Message, MessageEntity, ReplyParameters, Update)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (AIORateLimiter, Application, BaseUpdateProcessor, CallbackQueryHandler,
                          ContextTypes, Defaults, MessageHandler, filters)

from bot.channels.core import Conversation
from bot.channels.guard import Access
from bot.channels.message import APOLOGY, Incoming, Reply
from bot.channels.redact import Redact
from bot.channels.render import HTML
from bot.config import Settings
from bot.errors import BadUsage, CadreBotError, DatabaseError
from bot.runtime import Runtime

log = logging.getLogger(__name__)

COMMANDS = [("start", "Giới thiệu"), ("help", "Cách hỏi và các lệnh"),
            ("docs", "Danh sách văn bản"), ("dieu", "Toàn văn một Điều: /dieu 11 nd 73")]
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
TYPING_EVERY = 4.5  # seconds; Telegram shows "typing" for about five
CORE, JOBS = "conversation", "admin-jobs"
CONCURRENT_UPDATES = 64
BOOTSTRAP_RETRIES = 5  # network blips at start-up (getMe, setWebhook, deleteWebhook) are retried
BOOTSTRAP_DELAY = 1.0  # seconds before the first retry, doubled after each
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what the Bot API accepts as secret_token


class ChatOrder(BaseUpdateProcessor):
    """Each update once, concurrent across chats, in order within one chat (a lock per chat).

    PTB's update-processor hook, so ordering holds for every handler without
    each one taking a lock. Locks of idle chats are dropped. `first_time(update_id)`
    is the shared de-duplication (bot/db/seen.py): Telegram redelivers a webhook
    update it saw no answer to, and behind a load balancer the redelivery may
    reach another worker, which must not answer it again.
    """

    def __init__(self, max_concurrent_updates: int, first_time=None):
        super().__init__(max_concurrent_updates)
        self._locks: dict[object, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._users: dict[object, int] = defaultdict(int)
        self._first_time = first_time

    async def do_process_update(self, update: object, coroutine) -> None:
        chat = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
        if chat is None:
            await self._once(update, coroutine)
            return
        self._users[chat] += 1
        try:
            # The chat's turn is taken on arrival, before the duplicate check's database call:
            # checked first, a later message whose check returned sooner overtook an earlier one.
            async with self._locks[chat]:
                await self._once(update, coroutine)
        finally:
            self._users[chat] -= 1
            if not self._users[chat]:
                del self._users[chat], self._locks[chat]

    async def _once(self, update: object, coroutine) -> None:
        """Run the update's handlers unless the shared database has seen its id."""
        if (isinstance(update, Update) and self._first_time is not None
                and not await asyncio.to_thread(self._first_time, update.update_id)):
            log.debug("duplicate delivery of update %s ignored", update.update_id)
            coroutine.close()
            return
        await coroutine

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def incoming(update: Update, bot) -> Incoming | None:
    """The update as the core sees it; the bot's @mention is taken out of the text."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if user is None or chat is None or message is None:
        return None
    text = message.text or message.caption or ""
    mention = f"@{bot.username}" if bot.username else None
    entities = message.parse_entities() if message.text else message.parse_caption_entities()
    mentioned = any((e.type == MessageEntity.MENTION and mention and value.lower() == mention.lower())
                    or (e.type == MessageEntity.TEXT_MENTION and e.user and e.user.id == bot.id)
                    for e, value in entities.items())
    if mention:
        text = re.sub(re.escape(mention) + r"\b", " ", text, flags=re.I).strip()
    replied = message.reply_to_message and message.reply_to_message.from_user
    addressed = mentioned or bool(replied and replied.id == bot.id)
    return Incoming(user.id, chat.id, text, chat.type in (ChatType.GROUP, ChatType.SUPERGROUP),
                    addressed, user.first_name or "")


def _markup(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
                                 for row in reply.buttons])


async def _send(bot, chat_id: int, reply: Reply, reply_to: int | None = None) -> Message:
    return await bot.send_message(
        chat_id, reply.text, reply_markup=_markup(reply),
        reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None)


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def _work(bot, sent: Message, reply: Reply, jobs: ThreadPoolExecutor) -> None:
    """Run an admin job in a worker thread, editing `sent` as it progresses, then with the outcome.

    Jobs get their own small pool: uploads waiting for a running build must
    never take the threads that answer questions.
    """
    loop = asyncio.get_running_loop()

    def progress(text: str) -> None:
        # Wait for each edit, so a late progress edit can never overwrite the outcome.
        future = asyncio.run_coroutine_threadsafe(_edit(sent, text), loop)
        try:
            future.result(timeout=30)
        except Exception:  # a failed edit must not stop the build
            log.warning("progress edit failed", exc_info=True)

    try:
        outcome = await loop.run_in_executor(jobs, reply.work, progress)
    except Exception:  # the progress message must never stay "⏳" forever
        log.exception("admin job failed")
        outcome = [Reply(HTML.esc(APOLOGY))]
    if outcome:
        await _edit(sent, outcome[0].text)
    for more in outcome[1:]:
        await _send(bot, sent.chat_id, more)


async def _deliver(context: ContextTypes.DEFAULT_TYPE, msg: Incoming, replies: list[Reply],
                   reply_to: int | None, file_id: str | None = None) -> None:
    for i, reply in enumerate(replies):
        sent = await _send(context.bot, msg.chat_id, reply, reply_to if i == 0 and msg.is_group else None)
        if reply.upload is not None and file_id:
            try:
                telegram_file = await context.bot.get_file(file_id)
                await telegram_file.download_to_drive(reply.upload)
            except TelegramError:
                log.warning("document download failed", exc_info=True)
                reply.upload.unlink(missing_ok=True)
                await _edit(sent, HTML.esc("❌ Không tải được tệp; anh/chị vui lòng gửi lại."))
                continue
        if reply.work is not None:  # its own task: a long build must not hold the chat's turn
            context.application.create_task(_work(context.bot, sent, reply, context.bot_data[JOBS]))


@contextlib.asynccontextmanager
async def _typing(bot, chat_id: int):
    async def keep_typing() -> None:
        while True:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            await asyncio.sleep(TYPING_EVERY)
    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A question or a command."""
    conv: Conversation = context.bot_data[CORE]
    msg = incoming(update, context.bot)
    if msg is None or not conv.addressed(msg):
        return
    replies = conv.admit(msg)  # no I/O: refused or flooding users never see "typing…"
    if replies is None:
        async with _typing(context.bot, msg.chat_id):
            replies = await asyncio.to_thread(conv.handle, msg)
    await _deliver(context, msg, replies, update.effective_message.message_id)


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file from an admin: checked before download, then saved and indexed."""
    conv: Conversation = context.bot_data[CORE]
    msg = incoming(update, context.bot)
    document = update.effective_message.document
    if msg is None or not conv.addressed(msg):
        return
    replies = await asyncio.to_thread(conv.document, msg, document.file_name or "",
                                      document.file_size, msg.text)
    await _deliver(context, msg, replies, update.effective_message.message_id, document.file_id)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Toàn văn Điều, Nguồn khác, 👍 / 👎."""
    conv: Conversation = context.bot_data[CORE]
    query = update.callback_query
    msg = incoming(update, context.bot)
    if msg is None:
        await query.answer()
        return
    msg.text, msg.addressed = "", True
    pressed = await asyncio.to_thread(conv.press, msg, query.data or "")  # cheap checks only
    await query.answer(pressed.toast)  # first: Telegram expects it within seconds
    replies = await asyncio.to_thread(pressed.replies)
    await _deliver(context, msg, replies, None)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with the traceback; tell the user, briefly, in Vietnamese."""
    log.error("update failed", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        try:
            await context.bot.send_message(update.effective_chat.id, APOLOGY)
        except TelegramError:
            log.warning("could not send the apology", exc_info=True)


class WebhookSecret(str):
    """The webhook secret, compared in constant time.

    PTB's webhook handler checks the X-Telegram-Bot-Api-Secret-Token header with
    `header != secret`. Python runs a str subclass's own comparison first, so with
    this object as the secret that check goes through hmac.compare_digest.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and hmac.compare_digest(self.encode(), other.encode())

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = str.__hash__


def _first_time(runtime: Runtime):
    """Is this the first delivery of the update, across every worker sharing the database?"""
    def check(update_id: int) -> bool:
        try:
            seen = runtime.database.seen
        except DatabaseError as exc:  # not reachable yet: answer (twice beats never) and say why
            log.warning("duplicate check skipped: %s", exc)
            return True
        return seen.first_time("telegram", update_id)
    return check


def build_application(runtime: Runtime, settings: Settings) -> Application:
    """The Application with every handler, talking to `settings.telegram_api_url`."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    root = settings.telegram_api_url.rstrip("/")
    defaults = Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
    app = (Application.builder().token(settings.telegram_bot_token.get_secret_value())
           .base_url(f"{root}/bot").base_file_url(f"{root}/file/bot").defaults(defaults)
           .rate_limiter(AIORateLimiter(max_retries=3))
           .concurrent_updates(ChatOrder(CONCURRENT_UPDATES, _first_time(runtime))).build())
    access = Access(set(settings.admin_ids), set(settings.allowed_user_ids), set(settings.allowed_chat_ids))
    app.bot_data[CORE] = Conversation.from_settings(runtime, HTML, "telegram", access)
    app.bot_data[JOBS] = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cadrebot-admin")
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, on_text))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.Document.ALL, on_document))
    app.add_error_handler(on_error)
    return app


async def _ready(app: Application) -> None:
    conv: Conversation = app.bot_data[CORE]
    conv.username = app.bot.username
    with contextlib.suppress(TelegramError):
        await app.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
    try:  # load the model and open the index now, so the first question is quick
        await asyncio.to_thread(conv.runtime.searcher)
    except CadreBotError as exc:
        log.warning("the index is not usable yet: %s", exc)


def webhook_secret(settings: Settings) -> WebhookSecret | None:
    """The checked secret in webhook mode (None in polling mode); refuses to run without one."""
    if not settings.webhook_url:
        return None
    if settings.webhook_secret is None:
        raise BadUsage("Chế độ webhook (WEBHOOK_URL) cần WEBHOOK_SECRET: không có nó, ai biết địa chỉ "
                       "webhook cũng gửi được lệnh quản trị. Đặt WEBHOOK_SECRET (1–256 ký tự A-Z, a-z, "
                       "0-9, _ và -) trong .env.")
    secret = settings.webhook_secret.get_secret_value()
    if not _SECRET.match(secret):
        raise BadUsage("WEBHOOK_SECRET chỉ được gồm 1–256 ký tự A-Z, a-z, 0-9, _ và -.")
    return WebhookSecret(secret)


async def _initialize(app: Application) -> None:
    """`app.initialize()` (getMe) with retries: one network blip at start-up must not stop the bot."""
    delay = BOOTSTRAP_DELAY
    for attempt in range(BOOTSTRAP_RETRIES + 1):
        try:
            await app.initialize()
            return
        except InvalidToken:  # its message quotes the token: never shown
            raise CadreBotError("Telegram từ chối TELEGRAM_BOT_TOKEN: mã không đúng hoặc đã bị thu hồi.") from None
        except NetworkError as exc:  # includes TimedOut; a bad token is not retried
            if attempt == BOOTSTRAP_RETRIES:
                raise CadreBotError(f"Không kết nối được Telegram sau {attempt + 1} lần thử "
                                    f"({type(exc).__name__}).") from None
            log.warning("start-up call failed; retrying in %.0f s: %s", delay, exc)
            await asyncio.sleep(delay)
            delay *= 2


async def _stop(app: Application) -> None:
    """Stop what started, so a start-up error is reported as itself, not as "still running"."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()


async def serve(runtime: Runtime, settings: Settings, stop: asyncio.Event) -> None:
    """Run until `stop` is set: webhook mode when WEBHOOK_URL is set, long polling otherwise."""
    secret = webhook_secret(settings)  # before anything starts: a refused setting is the whole answer
    app = build_application(runtime, settings)
    try:
        await _initialize(app)
        try:
            await _ready(app)
            await app.start()
            if secret is not None:
                await app.updater.start_webhook(
                    listen=settings.webhook_listen, port=settings.webhook_port,
                    url_path=urlsplit(settings.webhook_url).path.lstrip("/"), webhook_url=settings.webhook_url,
                    secret_token=secret, allowed_updates=ALLOWED_UPDATES, bootstrap_retries=BOOTSTRAP_RETRIES)
            else:
                await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES,
                                                bootstrap_retries=BOOTSTRAP_RETRIES)
            await stop.wait()
        finally:
            await _stop(app)
            await app.shutdown()
    finally:
        app.bot_data[JOBS].shutdown(wait=False, cancel_futures=True)  # never block the loop
        app.bot_data[CORE].close()


def run(runtime: Runtime, settings: Settings) -> None:
    """`cadrebot telegram`: serve until SIGINT or SIGTERM."""
    secrets = [s.get_secret_value() for s in (settings.telegram_bot_token, settings.webhook_secret) if s]
    for handler in logging.getLogger().handlers:
        handler.addFilter(Redact(secrets))
    logging.getLogger("httpx").setLevel(logging.WARNING)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(runtime, settings, stop)
    asyncio.run(main())
