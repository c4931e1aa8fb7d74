"""A Zalo Official Account stand-in on 127.0.0.1: the OA API, its OAuth server, and its webhook calls.

It behaves as Zalo's SDKs and the issue describe the platform:

- `POST /v3.0/oa/message/cs` with the header `access_token` and the JSON body
  `{"recipient": {"user_id"}, "message": {"text"}}`; always HTTP 200, the outcome
  in `error`: 0 with `data` on success, -216 for an unknown or expired token,
  -230 for a user outside the 7-day window, and whatever `fail` queued (-32...).
  Like the platform it refuses empty texts and texts over 2,000 characters.
- `POST /v4/oa/access_token`, a form (`refresh_token`, `app_id`,
  `grant_type=refresh_token`) with the header `secret_key`: answers a new pair,
  `expires_in` as a string, and kills the refresh token it was given, which is
  single-use. A dead or unknown refresh token gets an OAuth error body.
- `deliver(url, event)` posts an event to the bot's webhook the way Zalo does:
  compact JSON, signed `X-ZEvent-Signature: mac=sha256(app_id + body +
  timestamp + oa_secret_key)`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

import httpx

from standin import Call, LocalServer

APP_ID = "3608465248940903967"
OA_ID = "388613280878808645"
OA_SECRET_KEY = "TEST_OA_SECRET_KEY"  # signs webhooks
APP_SECRET = "test-app-secret-4f1c"  # the OAuth `secret_key` header
LIMIT = 2000
SEND, REFRESH = "message/cs", "access_token"
LIFETIME = 90000  # seconds, as Zalo answers (about 25 h)


def sign(body: bytes, timestamp: str, app_id: str = APP_ID, secret: str = OA_SECRET_KEY) -> str:
    return "mac=" + hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret.encode()).hexdigest()


class ZaloOAAPI(LocalServer):
    """Start with `start()`; `url` is both ZALO_OA_API_URL and ZALO_OA_OAUTH_URL."""

    def __init__(self):
        self.calls: list[Call] = []
        self._cond = threading.Condition()
        self._serial = itertools.count(1)
        self.access = {self._new("access"): time.time() + LIFETIME}  # token -> expires at
        self.refresh = {self._new("refresh")}  # live refresh tokens
        self.initial = (next(iter(self.access)), next(iter(self.refresh)))
        self.unreachable: set[str] = set()  # users outside the 7-day window
        self.refresh_delay = 0.0  # seconds a refresh takes: widens races in tests
        self._failures: dict[str, list[tuple[int, str]]] = {}
        self._listen()

    def _new(self, kind: str) -> str:
        return f"{kind}-{next(self._serial)}-not-a-real-token"

    # --- HTTP -------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        raw = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        if request.command == "POST" and request.path == "/v3.0/oa/message/cs":
            method, headers = SEND, {"access_token": request.headers.get("access_token")}
            params = json.loads(raw or b"{}")
            handler = self._send
        elif request.command == "POST" and request.path == "/v4/oa/access_token":
            method, headers = REFRESH, {"secret_key": request.headers.get("secret_key")}
            params = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            handler = self._refresh
        else:
            self._json(request, 404, {"error": 404, "message": "Not found"})
            return
        with self._cond:
            failures = self._failures.get(method)
            failure = failures.pop(0) if failures else None
        if failure is not None and failure[0] >= 500:
            status, payload = failure[0], {"message": failure[1]}
        elif failure is not None:
            status, payload = 200, {"error": failure[0], "message": failure[1]}
        else:
            status, payload = 200, handler(headers, params)
        with self._cond:
            self.calls.append(Call(method, {**params, "headers": headers}, time.monotonic(), status, payload))
            self._cond.notify_all()
        self._json(request, status, payload)

    def _send(self, headers: dict, body: dict) -> dict:
        token = headers.get("access_token")
        if token not in self.access or self.access[token] < time.time():
            return {"error": -216, "message": "Access token is invalid"}
        user = (body.get("recipient") or {}).get("user_id")
        text = (body.get("message") or {}).get("text")
        if not user or not isinstance(text, str) or not text.strip() or len(text) > LIMIT:
            return {"error": -201, "message": "Parameters are invalid"}
        if user in self.unreachable:
            return {"error": -230, "message": "User has not interacted with the OA in the past 7 days"}
        return {"error": 0, "message": "Success",
                "data": {"message_id": f"m-{next(self._serial)}", "user_id": user,
                         "sent_time": str(int(time.time() * 1000))}}

    def _refresh(self, headers: dict, form: dict) -> dict:
        time.sleep(self.refresh_delay)
        if headers.get("secret_key") != APP_SECRET or form.get("app_id") != APP_ID:
            return {"error": -14002, "error_name": "Invalid app", "error_description": "app_id or secret_key"}
        if form.get("grant_type") != "refresh_token":
            return {"error": -14001, "error_name": "Invalid parameter", "error_description": "grant_type"}
        with self._cond:
            if form.get("refresh_token") not in self.refresh:
                return {"error": -14014, "error_name": "Invalid refresh token",
                        "error_description": "refresh_token is invalid or already used"}
            self.refresh.discard(form["refresh_token"])  # single-use: dead from now on
            access, refresh = self._new("access"), self._new("refresh")
            self.access[access] = time.time() + LIFETIME
            self.refresh.add(refresh)
        return {"access_token": access, "refresh_token": refresh, "expires_in": str(LIFETIME)}

    # --- what tests use -------------------------------------------------------------------

    def expire(self, token: str | None = None) -> None:
        """Make an access token (default: all of them) expired."""
        with self._cond:
            for t in [token] if token else list(self.access):
                self.access[t] = 0.0

    def fail(self, method: str, times: int = 1, code: int = -32, message: str = "Rate limit exceeded") -> None:
        """Answer the next `times` calls of `method` with `error: code` (HTTP 200), or HTTP `code` when >= 500."""
        with self._cond:
            self._failures.setdefault(method, []).extend([(code, message)] * times)

    def event(self, user: str, text: str | None = None, *, name: str = "user_send_text",
              msg_id: str | None = None) -> dict:
        """An event as the OA webhook sends it."""
        event = {"app_id": APP_ID, "sender": {"id": user}, "user_id_by_app": f"app-{user}",
                 "recipient": {"id": OA_ID}, "event_name": name,
                 "timestamp": str(int(time.time() * 1000))}
        if name == "follow":
            event = {"app_id": APP_ID, "oa_id": OA_ID, "follower": {"id": user}, "event_name": name,
                     "source": "oa_profile", "timestamp": event["timestamp"]}
        elif name.startswith("oa_send_"):  # an echo: the OA is the sender
            event.update(sender={"id": OA_ID}, recipient={"id": user})
        if name != "follow":
            event["message"] = {"msg_id": msg_id or f"in-{next(self._serial)}"}
            if text is not None:
                event["message"]["text"] = text
            if name == "user_send_image":
                event["message"]["attachments"] = [{"type": "image", "payload": {"url": "https://x.invalid/a.jpg"}}]
        return event

    def deliver(self, url: str, event: dict | bytes, signature: str | None = None) -> httpx.Response:
        """POST an event to the webhook, signed as Zalo signs it unless `signature` is given."""
        body = event if isinstance(event, bytes) else json.dumps(event, ensure_ascii=False,
                                                                  separators=(",", ":")).encode()
        timestamp = str(json.loads(body).get("timestamp", ""))
        headers = {"Content-Type": "application/json",
                   "X-ZEvent-Signature": signature if signature is not None else sign(body, timestamp)}
        return httpx.post(url, content=body, headers=headers, timeout=10)

    def sent(self, user: str | None = None, start: int = 0) -> list[str]:
        """Texts the API accepted for `user` after call number `start`, in order."""
        with self._cond:
            return [c.params["message"]["text"] for c in self.calls[start:]
                    if c.method == SEND and c.result.get("error") == 0
                    and (user is None or c.params["recipient"]["user_id"] == user)]
