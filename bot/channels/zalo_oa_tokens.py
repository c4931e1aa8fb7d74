"""The Official Account's OAuth v4 token pair: refreshed ahead of expiry, rotated safely, shared by workers.

Zalo's refresh call (`POST {oauth}/v4/oa/access_token`, form `refresh_token`,
`app_id`, `grant_type=refresh_token`, header `secret_key: <app secret>`, as in
Zalo's PHP and Java SDKs) answers `{"access_token", "refresh_token",
"expires_in"}`, `expires_in` being seconds as a string. The access token lives
about 25 hours; the refresh token three months, and only once: the old one dies
when the new pair is issued. The pair therefore lives in the shared database
(`bot.db`, SQLite or PostgreSQL), whose `tokens.rotate` re-reads it under a
database lock, calls `_call` only if no other worker has rotated it meanwhile,
and commits the new pair before anyone uses it.

The pair in the settings only seeds the database: once rotated, the stored pair
wins (the settings' refresh token is dead). A new pair typed into the settings
replaces the stored one only when Zalo has refused the stored one, which is
then dead anyway; an unreachable OAuth server never counts as a refusal.
A seeded pair's expiry is unknown, so it is refreshed at its first use: the
refresh token is proven at once and the expiry becomes known.

A failed refresh is logged once with what to do, and recorded in the database
for /stats and doctor. Token values never reach a log line.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import httpx

from bot.db import TokenPair, TokenStatus
from bot.errors import CadreBotError

log = logging.getLogger(__name__)

NAME = "zalo-oa"  # the pair's name in the shared database
AHEAD_SECONDS = 30 * 60  # refresh this long before the access token runs out
TIMEOUT = 10.0  # the call runs inside the database lock: keep it short
UNKNOWN_LIFETIME = AHEAD_SECONDS + 3600.0  # no expires_in in the answer: refresh again in an hour


class RefreshFailed(CadreBotError):
    """No usable token pair; the message names no token."""


class RefreshRefused(RefreshFailed):
    """Zalo refused the stored refresh token: it is dead, a new pair is needed."""


class RefreshUnreachable(RefreshFailed):
    """The OAuth server could not be asked; the stored pair may still be good."""


def status_line(status: TokenStatus | None) -> str:
    """The pair's state in one Vietnamese line, for /stats and doctor."""
    if status is None:
        return "Zalo OA: chưa có token (đặt ZALO_OA_ACCESS_TOKEN, ZALO_OA_REFRESH_TOKEN)."
    if status.failure:
        why = status.failure.split(": ", 1)[-1]  # without the exception's class name
        return (f"Zalo OA: ❌ không làm mới được token ({why}). "
                "Cần cấp lại cặp token (README, mục Zalo Official Account).")
    if not status.expires_at:
        return "Zalo OA: có token từ cấu hình, sẽ làm mới ở lần gửi tin đầu tiên."
    expires = time.strftime("%d/%m/%Y %H:%M", time.localtime(status.expires_at))
    state = "hợp lệ" if status.expires_at > time.time() else "đã hết hạn, sẽ làm mới khi gửi tin"
    return f"Zalo OA: token {state}, hạn {expires}."


class Tokens:
    """The current access token for the OA client; `refresh(stale)` when the API refuses it."""

    def __init__(self, store, oauth_url: str, app_id: str, app_secret: str, seed: TokenPair,
                 on_change: Callable[[TokenPair], None] | None = None, name: str = NAME):
        self.store = store  # bot.db's `Database.tokens`
        self.name = name
        self.url = f"{oauth_url.rstrip('/')}/v4/oa/access_token"
        self.app_id = app_id
        self._secret = app_secret
        self._http = httpx.Client(timeout=TIMEOUT)
        self._on_change = on_change or (lambda pair: None)
        self._local = threading.Lock()  # this process' threads queue here, not in the database
        self._known = ""  # the access token on_change last heard of
        self._adopt(seed)

    def _adopt(self, seed: TokenPair) -> None:
        stored = self.store.seed(self.name, seed)
        if stored.refresh_token != seed.refresh_token:
            status = self.store.status(self.name)
            if status and (status.failure or "").startswith(RefreshRefused.__name__):
                stored = self.store.rotate(self.name, lambda dead: seed, stale=stored.access_token)
                log.warning("Zalo OA: Zalo had refused the stored token pair; using the new one from the settings")
        self._changed(stored)

    def _changed(self, pair: TokenPair) -> None:
        if pair.access_token != self._known:
            self._known = pair.access_token
            self._on_change(pair)

    def access_token(self) -> str:
        """A token to send with; refreshed first when it is about to expire."""
        pair = self.store.get(self.name)
        if pair is None:
            raise RefreshFailed("chưa có token Zalo OA (ZALO_OA_ACCESS_TOKEN / ZALO_OA_REFRESH_TOKEN)")
        if pair.expires_at - time.time() < AHEAD_SECONDS:
            pair = self._rotate(None)
        self._changed(pair)  # maybe rotated by another worker
        return pair.access_token

    def refresh(self, stale: str) -> str:
        """A new access token in place of `stale` (or the one another worker already got)."""
        return self._rotate(stale).access_token

    def status(self) -> TokenStatus | None:
        return self.store.status(self.name)

    def _rotate(self, stale: str | None) -> TokenPair:
        with self._local:
            pair = self.store.rotate(self.name, self._call, stale=stale, ahead=AHEAD_SECONDS)
        self._changed(pair)
        return pair

    def _call(self, stored: TokenPair) -> TokenPair:
        """The refresh request; not retried: once it is out, the old refresh token may be dead already."""
        try:
            resp = self._http.post(self.url, headers={"secret_key": self._secret},
                                   data={"refresh_token": stored.refresh_token, "app_id": self.app_id,
                                         "grant_type": "refresh_token"})
            body = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise self._failed(RefreshUnreachable, type(exc).__name__) from None
        if not isinstance(body, dict) or not body.get("access_token") or not body.get("refresh_token"):
            body = body if isinstance(body, dict) else {}
            why = " ".join(str(body[k]) for k in ("error", "error_name", "error_description", "message")
                           if body.get(k) not in (None, ""))
            raise self._failed(RefreshRefused, why or f"HTTP {resp.status_code}")
        try:
            lifetime = float(body.get("expires_in"))
        except (TypeError, ValueError):
            lifetime = UNKNOWN_LIFETIME
        log.info("Zalo OA: token pair refreshed")
        return TokenPair(str(body["access_token"]), str(body["refresh_token"]), time.time() + lifetime)

    def _failed(self, kind: type[RefreshFailed], why: str) -> RefreshFailed:
        log.error("Zalo OA: token refresh failed (%s). Replies cannot be sent until it succeeds%s", why,
                  ": get a new pair in the Zalo developer console, put it in ZALO_OA_ACCESS_TOKEN and "
                  "ZALO_OA_REFRESH_TOKEN, then restart." if kind is RefreshRefused else "; retried at the next send.")
        return kind(why)

    def close(self) -> None:
        self._http.close()
