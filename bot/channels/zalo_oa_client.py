"""A thin Zalo Official Account API client: send a text reply, handle what the API answers.

No maintained Python SDK exists for the OA Open API v3 (the old ones target
retired versions), so this is a few lines over httpx, as for the Bot Platform.
The request is Zalo's own SDKs': `POST {api}/v3.0/oa/message/cs` with the
header `access_token` (not `Authorization: Bearer`) and the JSON body
`{"recipient": {"user_id"}, "message": {"text"}}`. The API answers HTTP 200
whatever happened; the outcome is the body's `error` field:

    0                                  sent
    -216, -220, -124                   token invalid or expired: refresh once, resend
    -32                                rate limited: back off, resend
    -230, -232, -213, -217, -227, -244 the user is out of reach (no interaction for
                                       7 days, blocked the OA, ...): log, count, give up
    anything else                      an OAError

A failed token refresh is the token keeper's RefreshFailed, raised as it is.

A transport failure (no connection, timeout, HTTP 5xx) is an OATransportError
and is retried with the Bot Platform client's back-off (`zalo_client.backoff`:
1, 2, 4, 8 s). Domain errors and transport errors are separate classes
because only the latter say nothing about the message itself (a timeout after
the request went out may mean it was delivered: a retry can then repeat it).
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

import httpx

from bot.channels.zalo_client import backoff
from bot.channels.zalo_oa_tokens import RefreshFailed, Tokens
from bot.errors import CadreBotError

log = logging.getLogger(__name__)

LIMIT = 2000  # characters in one text message
TOKEN_EXPIRED = {-216, -220, -124}
RATE_LIMITED = -32
UNREACHABLE = {-230, -232, -213, -217, -227, -244}
ATTEMPTS = 5  # as the Bot Platform's sends: one try and four retries
TIMEOUT = 15.0


class OAError(CadreBotError):
    """The API refused the message; `code` is its `error` field."""

    def __init__(self, code: int | None, description: str):
        super().__init__(f"Zalo OA API báo lỗi {code}: {description}")
        self.code = code


class Unreachable(OAError):
    """The user cannot receive a consultation message now (the 7-day window, a block...)."""


class OATransportError(CadreBotError):
    """The API could not be reached or answered garbage; the message may or may not have been sent."""


class Client:
    """`send_text(user_id, text)` returns the API's `data` or raises one of the errors above."""

    def __init__(self, api_url: str, tokens: Tokens, stopping: threading.Event | None = None,
                 count: Callable[[str], object] = lambda outcome: None, timeout: float = TIMEOUT):
        self.tokens = tokens
        self.url = f"{api_url.rstrip('/')}/v3.0/oa/message/cs"
        self.stopping = stopping or threading.Event()  # ends a back-off wait when the bot stops
        self._count = count  # called with "sent", "unreachable" or "failed", once per message
        self._http = httpx.Client(timeout=timeout)

    def send_text(self, user_id: str, text: str) -> dict:
        if not text.strip() or len(text) > LIMIT:
            raise ValueError(f"a Zalo OA text message holds 1 to {LIMIT} characters, not {len(text)}")
        try:
            return self._send({"recipient": {"user_id": user_id}, "message": {"text": text}})
        except RefreshFailed:  # logged where it happened, with what to do
            self._count("failed")
            raise

    def _send(self, payload: dict) -> dict:
        user_id = payload["recipient"]["user_id"]
        refreshed = False
        for attempt in range(ATTEMPTS):
            last = attempt == ATTEMPTS - 1
            token = self.tokens.access_token()
            try:
                body = self._post(token, payload)
            except OATransportError as exc:
                if last or not self._back_off(attempt, exc):
                    self._count("failed")
                    raise
                continue
            code = body.get("error")
            if code == 0:
                self._count("sent")
                data = body.get("data")
                return data if isinstance(data, dict) else {}
            error = OAError(code, str(body.get("message") or ""))
            if code in TOKEN_EXPIRED and not refreshed:
                refreshed = True
                log.info("Zalo OA: access token refused (%s); refreshing once", code)
                self.tokens.refresh(token)
                continue
            if code == RATE_LIMITED and not last and self._back_off(attempt, error):
                continue
            if code in UNREACHABLE:
                self._count("unreachable")
                log.warning("Zalo OA: user %s cannot be messaged now (%s %s); not retried",
                            user_id, code, body.get("message"))
                raise Unreachable(code, str(body.get("message") or ""))
            self._count("failed")
            raise error
        raise AssertionError("unreachable")

    def _post(self, token: str, payload: dict) -> dict:
        try:
            resp = self._http.post(self.url, json=payload, headers={"access_token": token})
        except httpx.HTTPError as exc:
            raise OATransportError(f"Không gọi được Zalo OA API: {type(exc).__name__}") from None
        if resp.status_code >= 500:
            raise OATransportError(f"Zalo OA API trả về HTTP {resp.status_code}")
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("error"), int):
            # Not the API speaking (a proxy's error page, a wrong URL): a failure, but not a transient one.
            return {"error": None, "message": f"HTTP {resp.status_code}, câu trả lời không đúng dạng"}
        return body

    def _back_off(self, attempt: int, why: Exception) -> bool:
        """Wait before the next attempt, as the Bot Platform client does; False when the bot is stopping."""
        delay = backoff(attempt)
        log.info("Zalo OA: %s; retrying in %.1f s", why, delay)
        return not self.stopping.wait(delay)

    def close(self) -> None:
        self._http.close()
