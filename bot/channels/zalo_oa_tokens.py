"""The Official Account's OAuth v4 token pair: kept, refreshed ahead of expiry, rotated safely.

Zalo's refresh call (`POST {oauth}/v4/oa/access_token`, form `refresh_token`,
`app_id`, `grant_type=refresh_token`, header `secret_key: <app secret>`, as in
Zalo's PHP and Java SDKs) answers `{"access_token", "refresh_token",
"expires_in"}`, `expires_in` being seconds as a string. The access token lives
about 25 hours; the refresh token three months, and only once: the old one dies
when the new pair is issued. So the rules are:

- refresh under the store's lock, and re-read the pair inside it: another
  worker may have refreshed while this one waited, and refreshing again with
  the dead token would fail;
- save the new pair before returning it, so a crash right after leaves the
  live pair on disk, not the dead one;
- refresh ahead of expiry, so users rarely meet an expired token.

The pair in the settings only seeds the store. It is remembered by a
fingerprint, so when an admin pastes a new pair into the settings (after a
failed refresh) it replaces the stored one on the next start.

A failed refresh is logged once with what to do, and `status()` says so for
/stats and doctor. Token values never reach a log line.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

import httpx

from bot.channels.zalo_oa_store import PairStore, TokenPair
from bot.errors import CadreBotError

log = logging.getLogger(__name__)

AHEAD_SECONDS = 30 * 60  # refresh this long before the access token runs out
TIMEOUT = 15.0
CONNECT_ATTEMPTS, CONNECT_BACKOFF = 3, 0.5


class RefreshFailed(CadreBotError):
    """Zalo refused to refresh the pair, or could not be reached; the message names no token."""


def fingerprint(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode()).hexdigest()


@dataclass
class Status:
    """What an admin sees: whether there is a pair, when it expires, the last failed refresh."""

    stored: bool
    expires_at: float | None
    failure: str | None

    def line(self) -> str:
        """One Vietnamese line for /stats and doctor."""
        if not self.stored:
            return "Zalo OA: chưa có token (đặt ZALO_OA_ACCESS_TOKEN, ZALO_OA_REFRESH_TOKEN)."
        if self.failure:
            return (f"Zalo OA: ❌ không làm mới được token ({self.failure}). "
                    "Cần cấp lại cặp token (README, mục Zalo Official Account).")
        if self.expires_at is None:
            return "Zalo OA: có token, chưa rõ hạn (sẽ làm mới khi Zalo báo hết hạn)."
        expires = time.strftime("%d/%m/%Y %H:%M", time.localtime(self.expires_at))
        state = "hợp lệ" if self.expires_at > time.time() else "đã hết hạn, sẽ làm mới khi gửi tin"
        return f"Zalo OA: token {state}, hạn {expires}."


def status(store: PairStore) -> Status:
    """The token status as stored: what any worker, or doctor, can tell without calling Zalo."""
    pair = store.load_pair()
    return Status(pair is not None, pair.expires_at if pair else None, store.failure() if pair else None)


class Tokens:
    """The current access token for the OA client; `refresh(stale)` when the API refuses it."""

    def __init__(self, store: PairStore, oauth_url: str, app_id: str, app_secret: str,
                 seed: TokenPair | None, http: httpx.Client | None = None,
                 on_change: Callable[[TokenPair], None] | None = None):
        self.store = store
        self.url = f"{oauth_url.rstrip('/')}/v4/oa/access_token"
        self.app_id = app_id
        self._secret = app_secret
        self._http = http or httpx.Client(timeout=TIMEOUT)
        self._on_change = on_change or (lambda pair: None)
        self._local = threading.Lock()
        self._pair = self._adopt(seed)

    def _adopt(self, seed: TokenPair | None) -> TokenPair | None:
        """The stored pair, unless the settings hold a different one than the one they seeded."""
        with self.store.lock():
            stored = self.store.load_pair()
            if seed is not None:
                seed = TokenPair(seed.access_token, seed.refresh_token, seed.expires_at,
                                 fingerprint(seed.refresh_token))
                if stored is None or stored.seed != seed.seed:
                    log.info("Zalo OA: using the token pair from the settings")
                    self.store.save_pair(seed)
                    stored = seed
        if stored is not None:
            self._on_change(stored)
        return stored

    def access_token(self) -> str:
        """A token to send with; refreshed first when it is about to expire."""
        pair = self.store.load_pair() or self._pair  # another worker may have rotated it
        if pair is None:
            raise RefreshFailed("chưa có token Zalo OA (ZALO_OA_ACCESS_TOKEN / ZALO_OA_REFRESH_TOKEN)")
        if pair != self._pair:
            self._pair = pair
            self._on_change(pair)
        if pair.expires_at is not None and pair.expires_at - time.time() < AHEAD_SECONDS:
            return self.refresh(pair.access_token)
        return pair.access_token

    def refresh(self, stale: str) -> str:
        """A new access token in place of `stale`; only one worker calls Zalo, the others reuse its pair."""
        with self._local, self.store.lock():
            current = self.store.load_pair()
            if current is None:
                raise RefreshFailed("chưa có token Zalo OA để làm mới")
            fresh_enough = current.expires_at is None or current.expires_at - time.time() >= AHEAD_SECONDS
            if current.access_token != stale and fresh_enough:
                self._pair = current  # someone else already rotated it
            else:
                self._pair = self._rotate(current)
        self._on_change(self._pair)
        return self._pair.access_token

    def _post(self, current: TokenPair) -> httpx.Response:
        """The refresh call. Only a failed connection is retried: once the request is out, Zalo may
        have rotated the pair already, and resending the old refresh token could only fail."""
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                return self._http.post(self.url, headers={"secret_key": self._secret},
                                       data={"refresh_token": current.refresh_token, "app_id": self.app_id,
                                             "grant_type": "refresh_token"})
            except (httpx.ConnectError, httpx.ConnectTimeout):
                if attempt == CONNECT_ATTEMPTS - 1:
                    raise
                time.sleep(CONNECT_BACKOFF * 2 ** attempt)
        raise AssertionError("unreachable")

    def _rotate(self, current: TokenPair) -> TokenPair:
        try:
            resp = self._post(current)
            body = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            self._failed(f"{type(exc).__name__}")
            raise RefreshFailed("không kết nối được máy chủ OAuth của Zalo") from None
        if not isinstance(body, dict) or not body.get("access_token") or not body.get("refresh_token"):
            body = body if isinstance(body, dict) else {}
            why = " ".join(str(body.get(k)) for k in ("error", "error_name", "error_description", "message")
                           if body.get(k) not in (None, ""))
            self._failed(why or f"HTTP {resp.status_code}")
            raise RefreshFailed(f"Zalo từ chối làm mới token: {why or resp.status_code}")
        try:
            expires_at = time.time() + float(body.get("expires_in") or 0) if body.get("expires_in") else None
        except (TypeError, ValueError):
            expires_at = None
        pair = TokenPair(str(body["access_token"]), str(body["refresh_token"]), expires_at, current.seed)
        self.store.save_pair(pair)  # before anyone uses it: the old refresh token is dead now
        log.info("Zalo OA: token pair refreshed and saved")
        return pair

    def _failed(self, why: str) -> None:
        try:
            self.store.note_failure(why)
        except Exception:  # the log line below matters more
            log.exception("Zalo OA: cannot record the failed refresh")
        log.error("Zalo OA: token refresh failed (%s). Replies cannot be sent until a new pair is set: "
                  "get one in the Zalo developer console and put it in ZALO_OA_ACCESS_TOKEN and "
                  "ZALO_OA_REFRESH_TOKEN, then restart.", why)

    def close(self) -> None:
        self._http.close()
