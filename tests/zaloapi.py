"""A Zalo Bot API stand-in on 127.0.0.1: the network edge of the Zalo tests.

It answers what the adapter calls (getMe, getUpdates, setWebhook,
deleteWebhook, getWebhookInfo, sendMessage, sendChatAction) the way the
platform does: `POST /bot<TOKEN>/<method>` with a JSON body, answers
`{"ok", "result"}` or `{"ok": false, "error_code", "description"}`. getUpdates
is a long poll that returns one update, or error 408 when none came before its
(shortened) timeout; there is no offset, and `push` can deliver the same update
twice, as the platform may. Like the platform it refuses empty messages and
messages over 2,000 characters, and `fail` makes the next calls of a method fail
(code 0: the connection is closed without an answer, as a reset or a dying
proxy does). getMe answers what the platform documents, {id, account_name,
account_type, can_join_groups}: no display name.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler

from standin import Call, LocalServer

TOKEN = "8080808080:zalo-TEST-not-a-real-token"
BOT = {"id": "bot-7", "account_name": "bot.VDKyGxQvc", "account_type": "BASIC", "can_join_groups": True}
LIMIT = 2000
POLL_CAP = 0.5  # seconds a getUpdates may wait here, whatever timeout the bot asks for


class ZaloAPI(LocalServer):
    """Start with `start()`; `url` is the root to give as ZALO_API_URL."""

    def __init__(self, token: str = TOKEN):
        self.token = token
        self.calls: list[Call] = []
        self.webhook: dict | None = None
        self._pending: list[dict] = []
        self._failures: dict[str, list[tuple[int, str]]] = {}
        self._message_ids = itertools.count(1)
        self._cond = threading.Condition()
        self._listen()

    # --- HTTP -------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        prefix = f"/bot{self.token}/"
        if not request.path.startswith(prefix):
            self._json(request, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        method = request.path[len(prefix):]
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        params = json.loads(body or b"{}")
        with self._cond:
            failures = self._failures.get(method)
            failure = failures.pop(0) if failures else None
        result, payload = None, None
        if failure is not None and failure[0] == 0:  # no answer at all: the client sees a network error
            with self._cond:
                self.calls.append(Call(method, params, time.monotonic(), 0, None))
                self._cond.notify_all()
            request.close_connection = True
            return
        if failure is not None:
            payload = {"ok": False, "error_code": failure[0], "description": failure[1]}
        else:
            try:
                result = getattr(self, f"_m_{method}", self._unknown)(params)
                payload = {"ok": True, "result": result}
            except LookupError as exc:
                payload = {"ok": False, "error_code": exc.args[0], "description": exc.args[1]}
        status = 200 if payload["ok"] else payload["error_code"]
        with self._cond:
            self.calls.append(Call(method, params, time.monotonic(), status, result))
            self._cond.notify_all()
        # The platform answers errors with HTTP 200 and the code in the body; a 5xx is a real HTTP error.
        self._json(request, status if status >= 500 else 200, payload)

    # --- methods ------------------------------------------------------------------------

    def _unknown(self, params):
        raise LookupError(404, "Not Found")

    def _m_getMe(self, params):
        return BOT

    def _m_getUpdates(self, params):
        if self.webhook:
            raise LookupError(400, "Webhook is enabled; getUpdates is not available")
        deadline = time.monotonic() + min(float(params.get("timeout", 0)), POLL_CAP)
        with self._cond:
            while not self._pending and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            if not self._pending:
                raise LookupError(408, "Request timeout")
            return self._pending.pop(0)

    def _m_setWebhook(self, params):
        if not 8 <= len(params.get("secret_token", "")) <= 256 or not params.get("url", "").startswith("http"):
            raise LookupError(400, "Invalid url or secret_token")
        self.webhook = params
        return {"url": params["url"], "updated_at": int(time.time() * 1000)}

    def _m_deleteWebhook(self, params):
        self.webhook = None
        return {"url": "", "updated_at": int(time.time() * 1000)}

    def _m_getWebhookInfo(self, params):
        return {"url": (self.webhook or {}).get("url", ""), "updated_at": 0}

    def _m_sendChatAction(self, params):
        if params.get("action") != "typing" or not params.get("chat_id"):
            raise LookupError(400, "Invalid chat_id or action")
        return {}

    def _m_sendMessage(self, params):
        text = params.get("text")
        if not params.get("chat_id") or not isinstance(text, str) or not text.strip():
            raise LookupError(400, "Invalid chat_id or text")
        if len(text) > LIMIT:
            raise LookupError(400, f"Text must be at most {LIMIT} characters")
        return {"message_id": f"out-{next(self._message_ids)}", "date": int(time.time() * 1000)}

    # --- what tests use -------------------------------------------------------------------

    def fail(self, method: str, times: int = 1, code: int = 500, description: str = "Internal error") -> None:
        """Answer the next `times` calls of `method` with an error."""
        with self._cond:
            self._failures.setdefault(method, []).extend([(code, description)] * times)

    def event(self, user: str, text: str | None = None, *, kind: str = "text", chat: str | None = None,
              group: bool = False, message_id: str | None = None) -> dict:
        """An update as the platform sends it: "message.<kind>.received"."""
        message = {"message_id": message_id or f"in-{next(self._message_ids)}", "date": int(time.time() * 1000),
                   "from": {"id": user, "display_name": f"Người dùng {user}", "is_bot": False},
                   "chat": {"id": chat or user, "chat_type": "GROUP" if group else "PRIVATE"}}
        if text is not None:
            message["text"] = text
        if kind == "image":
            message.update(photo_url="https://example.invalid/anh.jpg", caption=text or "")
        if kind == "link":  # a pasted link: its text, as the user wrote it
            message.update(text=text or "", link={"url": text or ""})
        return {"event_name": f"message.{kind}.received", "message": message}

    def push(self, update: dict) -> dict:
        """Queue an update for getUpdates."""
        with self._cond:
            self._pending.append(update)
            self._cond.notify_all()
        return update

    def say(self, user: str, text: str, **kwargs) -> dict:
        return self.push(self.event(user, text, **kwargs))

    def sent(self, chat_id: str | None = None, start: int = 0) -> list[str]:
        """Texts the platform accepted for `chat_id` after call number `start`, in order."""
        with self._cond:
            return [c.params["text"] for c in self.calls[start:]
                    if c.method == "sendMessage" and c.status == 200
                    and (chat_id is None or c.params["chat_id"] == chat_id)]

