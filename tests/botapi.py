"""A Telegram Bot API stand-in on 127.0.0.1: the network edge of the Telegram tests.

It answers what python-telegram-bot calls (getMe, getUpdates as a short long
poll, sendMessage, editMessageText, sendChatAction, answerCallbackQuery,
getFile and file downloads, setMyCommands, setWebhook, deleteWebhook),
records every call, and lets a test push updates: text messages, group
messages with mentions or replies, button presses and documents. Like the real
server, it refuses HTML that Telegram would refuse (unknown or unbalanced tags,
a bare "<" or "&") and messages longer than 4,096 UTF-16 units, and it can be
told to answer a method with 429 "retry after N" a number of times.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote

from standin import Call, LocalServer

TOKEN = "123456:TEST-not-a-real-token"
BOT = {"id": 99, "is_bot": True, "first_name": "Trợ lý", "username": "cadre_test_bot"}
LIMIT = 4096
TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
        "blockquote", "tg-spoiler", "span", "tg-emoji"}
_JSON = {"reply_markup", "entities", "allowed_updates", "commands", "reply_parameters",
         "link_preview_options", "scope"}
_INT = {"chat_id", "message_id", "offset", "timeout", "limit"}
_PIECE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z-]*)(?:\s[^<>]*)?>|&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);|[<&]")


def units16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """The text Telegram would show, or ValueError with Telegram's kind of complaint."""
    out, stack, pos = [], [], 0
    for m in _PIECE.finditer(text):
        out.append(text[pos:m.start()])
        pos = m.end()
        token = m.group(0)
        if m.group(2):
            name = m.group(2).lower()
            if name not in TAGS:
                raise ValueError(f"can't parse entities: unsupported start tag \"{name}\"")
            if m.group(1):
                if not stack or stack[-1] != name:
                    raise ValueError(f"can't parse entities: can't find end tag corresponding to \"{name}\"")
                stack.pop()
            else:
                stack.append(name)
        elif token.startswith("&") and token.endswith(";"):
            out.append(html.unescape(token))
        else:
            raise ValueError(f"can't parse entities: unexpected \"{token}\" at byte offset {m.start()}")
    out.append(text[pos:])
    if stack:
        raise ValueError(f"can't parse entities: can't find end tag for \"{stack[-1]}\"")
    return "".join(out)


class BotAPI(LocalServer):
    """Start with `start()`; `url` is the root to give as TELEGRAM_API_URL."""

    def __init__(self, token: str = TOKEN):
        self.token = token
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], dict] = {}  # what each chat shows now
        self.files: dict[str, bytes] = {}
        self.webhook: dict | None = None
        self._pending: list[dict] = []
        self._failures: dict[str, list[dict]] = {}
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._cond = threading.Condition()
        self._listen()

    # --- HTTP -------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        path = unquote(request.path.split("?", 1)[0])
        file_prefix = f"/file/bot{self.token}/"
        if path.startswith(file_prefix):
            data = self.files.get(path[len(file_prefix):])
            self._respond(request, 200 if data is not None else 404, data or b"", "application/octet-stream")
            return
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            self._json(request, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        method = path[len(prefix):]
        length = int(request.headers.get("Content-Length") or 0)
        params = self._params(request.headers.get("Content-Type", ""), request.rfile.read(length))
        with self._cond:
            failures = self._failures.get(method)
            payload = failures.pop(0) if failures else None
        result = None
        if payload is None:
            try:
                result = getattr(self, f"_m_{method}", self._unknown)(params)
                payload = {"ok": True, "result": result}
            except ValueError as exc:
                payload = {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}
        status = payload.get("error_code", 200)
        with self._cond:
            self.calls.append(Call(method, params, time.monotonic(), status, result))
            self._cond.notify_all()
        self._json(request, status, payload)

    @staticmethod
    def _params(content_type: str, body: bytes) -> dict:
        if "json" in content_type:
            return json.loads(body or b"{}")
        params = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        for key in params.keys() & _JSON:
            params[key] = json.loads(params[key])
        for key in params.keys() & _INT:
            params[key] = int(params[key])
        return params

    # --- methods ------------------------------------------------------------------------

    def _unknown(self, params):
        raise ValueError("method not found")

    def _m_getMe(self, params):
        return BOT

    def _m_getUpdates(self, params):
        offset = params.get("offset", 0)
        deadline = time.monotonic() + min(float(params.get("timeout", 0)), 0.5)
        with self._cond:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            while not self._pending and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            return list(self._pending)

    def _ok(self, params):
        return True

    _m_deleteWebhook = _m_setMyCommands = _m_sendChatAction = _m_answerCallbackQuery = _ok

    def _m_setWebhook(self, params):
        self.webhook = params
        return True

    def _checked(self, params) -> str:
        text = params.get("text", "")
        shown = parse_html(text) if params.get("parse_mode") == "HTML" else text
        if not shown.strip():
            raise ValueError("message text is empty")
        if units16(shown.strip()) > LIMIT:
            raise ValueError("message is too long")
        return shown

    def _message(self, chat_id: int, message_id: int, shown: str) -> dict:
        return {"message_id": message_id, "date": int(time.time()), "from": BOT, "text": shown,
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}}

    def _m_sendMessage(self, params):
        shown = self._checked(params)
        chat_id, message_id = params["chat_id"], next(self._message_ids)
        message = self._message(chat_id, message_id, shown)
        with self._cond:
            self.messages[(chat_id, message_id)] = {"html": params["text"], "text": shown,
                                                    "markup": params.get("reply_markup"),
                                                    "message": message, "edits": 0}
        return message

    def _m_editMessageText(self, params):
        shown = self._checked(params)
        key = (params["chat_id"], params["message_id"])
        with self._cond:
            current = self.messages.get(key)
            if current is None:
                raise ValueError("message to edit not found")
            if current["html"] == params["text"]:
                raise ValueError("message is not modified: specified new message content and reply "
                                 "markup are exactly the same as a current content and reply markup")
            current.update(html=params["text"], text=shown, edits=current["edits"] + 1)
            current["message"] = self._message(key[0], key[1], shown)
            return current["message"]

    def _m_getFile(self, params):
        file_id = params["file_id"]
        if file_id not in self.files:
            raise ValueError("invalid file_id")
        return {"file_id": file_id, "file_unique_id": f"u-{file_id}",
                "file_size": len(self.files[file_id]), "file_path": file_id}

    # --- what tests use -------------------------------------------------------------------

    def fail(self, method: str, times: int = 1, retry_after: int = 1, code: int = 429,
             description: str = "Bad Gateway") -> None:
        """Answer the next `times` calls of `method` with flood control (429), or with `code`."""
        body = ({"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {retry_after}",
                 "parameters": {"retry_after": retry_after}} if code == 429 else
                {"ok": False, "error_code": code, "description": description})
        with self._cond:
            self._failures.setdefault(method, []).extend(dict(body) for _ in range(times))

    def push(self, update: dict) -> dict:
        with self._cond:
            update["update_id"] = next(self._ids)
            self._pending.append(update)
            self._cond.notify_all()
        return update

    def user_message(self, user_id: int, text: str | None = None, *, chat_id: int | None = None,
                     reply_to: dict | None = None, **extra) -> dict:
        """A message from a user; "@cadre_test_bot" in the text becomes a mention entity."""
        chat_id = chat_id if chat_id is not None else user_id
        message = {"message_id": next(self._message_ids), "date": int(time.time()),
                   "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                   "from": {"id": user_id, "is_bot": False, "first_name": f"Người dùng {user_id}"}, **extra}
        if text is not None:
            message["text"] = text
            mention = "@" + BOT["username"]
            if mention in text:
                offset = units16(text[:text.index(mention)])
                message["entities"] = [{"type": "mention", "offset": offset, "length": len(mention)}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return message

    def say(self, user_id: int, text: str, **kwargs) -> dict:
        return self.push({"message": self.user_message(user_id, text, **kwargs)})

    def send_document(self, user_id: int, name: str, data: bytes, *, caption: str | None = None,
                      size: int | None = None, mime: str = "application/pdf") -> dict:
        file_id = f"documents/file_{len(self.files) + 1}{name[name.rfind('.'):] if '.' in name else ''}"
        self.files[file_id] = data
        extra = {"document": {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_name": name,
                              "mime_type": mime, "file_size": len(data) if size is None else size}}
        if caption is not None:
            extra["caption"] = caption
        return self.push({"message": self.user_message(user_id, **extra)})

    def press(self, user_id: int, message: dict, data: str) -> dict:
        return self.push({"callback_query": {
            "id": str(next(self._ids)), "chat_instance": "1", "data": data, "message": message,
            "from": {"id": user_id, "is_bot": False, "first_name": f"Người dùng {user_id}"}}})

    def sent(self, chat_id: int | None = None, start: int = 0) -> list[dict]:
        """Messages the bot sent (as the chat shows them now, after edits), in order."""
        with self._cond:
            return [self.messages[(c.params["chat_id"], c.result["message_id"])]
                    for c in self.calls[start:]
                    if c.method == "sendMessage" and c.status == 200
                    and (chat_id is None or c.params["chat_id"] == chat_id)]

