"""The Official Account webhook: check Zalo's signature, answer 200 at once, hand each new event on.

Zalo signs each POST with `X-ZEvent-Signature: mac=<hex>`, where
hex = sha256(app_id + raw body + timestamp + OA secret key): a plain SHA-256,
not an HMAC, the timestamp being the body's `timestamp` field and the key the
one on the app's Webhook settings page (Zalo's Java SDK, `MacUtils.buildMac`).
It is computed over the raw bytes as received (re-serialised JSON would differ)
and compared in constant time. Some integrations sign with the OA id instead of
the app id, or read the timestamp from a header: the documented form is what
is checked, the id is configurable (ZALO_OA_SIGNATURE_ID), and a signature
that matches one of the other forms is still refused, with a log line that
says which setting to change.

A refused POST gets 403 and causes no work. An accepted one gets 200 before
anything else happens (Zalo wants it within 2 s); the event then goes to
`dispatch` unless its message id was seen before, in the shared store, so a
redelivery is answered once, even across a restart. The server is the stdlib's
ThreadingHTTPServer, as for the Bot Platform webhook: one route, no dependency.
Put a TLS reverse proxy in front of it; Zalo only calls HTTPS URLs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-ZEvent-Signature"
TIMESTAMP_HEADER = "X-ZEvent-Timestamp"  # read by some integrations; only used to explain a mismatch
MAX_BODY = 1_000_000


def mac(signer_id: str, raw: bytes, timestamp: str, secret: str) -> str:
    """The hex digest Zalo puts after "mac=": sha256 over the concatenated bytes."""
    return hashlib.sha256(signer_id.encode() + raw + timestamp.encode() + secret.encode()).hexdigest()


def _given(header: str | None) -> bytes:
    value = (header or "").strip()
    if value[:4].lower() == "mac=":
        value = value[4:].strip()
    return value.lower().encode("utf-8", "replace")


class Verifier:
    """Checks signatures with the configured id (the app id by default) and the OA secret key."""

    def __init__(self, signer_id: str, secret: str):
        self.signer_id = signer_id
        self._secret = secret

    def check(self, raw: bytes, event: dict, header: str | None, header_timestamp: str | None = None) -> bool:
        given = _given(header)
        expected = mac(self.signer_id, raw, str(event.get("timestamp", "")), self._secret).encode()
        if hmac.compare_digest(given, expected):
            return True
        self._explain(raw, event, given, header_timestamp)
        return False

    def _explain(self, raw: bytes, event: dict, given: bytes, header_timestamp: str | None) -> None:
        """Log which undocumented form the signature matches, if any (still refused)."""
        ids = {"app_id": str(event.get("app_id", "")), "oa_id": str(event.get("oa_id", "")),
               "recipient.id": str((event.get("recipient") or {}).get("id", "")),
               "sender.id": str((event.get("sender") or {}).get("id", ""))}
        stamps = {"body": str(event.get("timestamp", "")), "header": header_timestamp or ""}
        for id_name, signer in ids.items():
            for stamp_name, stamp in stamps.items():
                if signer and stamp and hmac.compare_digest(given, mac(signer, raw, stamp, self._secret).encode()):
                    log.warning("Zalo OA webhook refused: the signature matches the %s (%s) with the %s "
                                "timestamp, not the configured form (ZALO_OA_SIGNATURE_ID, body timestamp). "
                                "If this is really Zalo, set ZALO_OA_SIGNATURE_ID=%s.",
                                id_name, signer, stamp_name, signer)
                    return
        log.warning("Zalo OA webhook refused: bad or missing %s (wrong ZALO_OA_SECRET_KEY, or not from Zalo)",
                    SIGNATURE_HEADER)


def message_id(event: dict) -> str | None:
    """The key a redelivery shares with the first delivery: the event name and message.msg_id,
    or, for events without a message (follow), who and when."""
    message = event.get("message")
    msg_id = message.get("msg_id") if isinstance(message, dict) else None
    if msg_id:
        return f"{event.get('event_name')}:{msg_id}"
    who = (event.get("follower") or event.get("sender") or {}).get("id")
    when = event.get("timestamp")
    return f"{event.get('event_name')}:{who}:{when}" if who and when else None


def webhook_server(verifier: Verifier, first_time: Callable[[str], bool], dispatch: Callable[[dict], None],
                   path: str, host: str, port: int) -> ThreadingHTTPServer:
    """The server (not started): POST `path` with a good signature -> 200, then `dispatch(event)`
    if `first_time(message_id(event))` (the shared store's de-duplication) says it is new."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # the platform's calls are not worth a line each
            pass

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            # A plain GET answers 200 so a URL check (and a health probe) finds the route alive.
            self._answer(200 if self.path.split("?")[0] == path else 404)

        def do_POST(self):
            if self.path.split("?")[0] != path:
                return self._answer(404)
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                return self._answer(400)
            if not 0 < length <= MAX_BODY:
                return self._answer(413 if length > MAX_BODY else 400)
            raw = self.rfile.read(length)
            try:
                event = json.loads(raw)
            except ValueError:
                event = None
            if not isinstance(event, dict):
                return self._answer(400)
            if not verifier.check(raw, event, self.headers.get(SIGNATURE_HEADER),
                                  self.headers.get(TIMESTAMP_HEADER)):
                return self._answer(403)
            self._answer(200)  # first: the work happens after Zalo has its answer
            self.wfile.flush()
            key = message_id(event)
            if key is not None and not first_time(key):
                log.debug("redelivery of %s ignored", key)
                return
            dispatch(event)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
