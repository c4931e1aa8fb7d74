"""The Zalo Bot Platform API over HTTP: calls, retries with back-off, and its own error class.

The platform's API is shaped like Telegram's (`POST <root>/bot<TOKEN>/<method>`,
answers `{"ok", "result", "error_code", "description"}`) but has no maintained
Python SDK, so this is a few lines over httpx (already a dependency through
python-telegram-bot). Synchronous: the adapter runs in threads.

`ZaloError` is a transport/platform error, not a domain error: it never
reaches a user as such. `transient` says whether trying again may help: a
network error, 408, 425, 429 or any 5xx (what OpenClaw's Zalo channel retries
too). `call(..., attempts=n)` retries those, waiting `retry_after` when the
platform gives one, else backing off exponentially.
"""

from __future__ import annotations

import logging
import threading

import httpx

log = logging.getLogger("bot.channels.zalo")

TRANSIENT = {408, 425, 429}
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0  # seconds, doubled after each failure
RETRY_AFTER_CAP = 30.0


class ZaloError(Exception):
    """A failed API call. The message names the method, never the URL (it holds the token)."""

    def __init__(self, method: str, code: int | None, description: str, retry_after: float | None = None):
        super().__init__(f"{method}: {code or ''} {description}".replace("  ", " ").strip())
        self.method = method
        self.code = code  # None: no answer at all (network)
        self.description = description
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        return self.code is None or self.code in TRANSIENT or self.code >= 500


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


def backoff(attempt: int, error: ZaloError | None = None, first: float | None = None) -> float:
    """Seconds before retry number `attempt` (0-based): as told, else doubling from `first`."""
    if error is not None and error.retry_after is not None:
        return min(error.retry_after, RETRY_AFTER_CAP)
    return min(BACKOFF_MAX, (BACKOFF_FIRST if first is None else first) * 2 ** attempt)


class Client:
    """`call(method, payload)` returns `result` or raises ZaloError."""

    def __init__(self, root: str, token: str, timeout: float = 15.0, stopping: threading.Event | None = None):
        self._token = token
        self._http = httpx.Client(base_url=f"{root.rstrip('/')}/bot{token}/", timeout=timeout)
        self.stopping = stopping or threading.Event()  # set: retries give up at once

    def _once(self, method: str, payload: dict | None, timeout: float | None):
        try:
            resp = self._http.post(method, json=payload or {},
                                   timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout)
        except httpx.HTTPError as exc:  # its text can hold the URL, hence the token
            raise ZaloError(method, None, f"{type(exc).__name__}: {exc}".replace(self._token, "***")) from None
        except RuntimeError:  # closed while a worker was still sending: the bot is stopping
            raise ZaloError(method, None, "the client is closed") from None
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

    def call(self, method: str, payload: dict | None = None, timeout: float | None = None, attempts: int = 1):
        """One call; with `attempts` > 1, transient failures are retried after a back-off."""
        for attempt in range(attempts):
            try:
                return self._once(method, payload, timeout)
            except ZaloError as exc:
                if not exc.transient or attempt == attempts - 1:
                    raise
                delay = backoff(attempt, exc)
                kind = "rate-limited" if exc.code == 429 else "failed"
                log.info("%s %s; retrying in %.1f s (%s)", method, kind, delay, exc)
                if self.stopping.wait(delay):
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.stopping.set()
        self._http.close()
