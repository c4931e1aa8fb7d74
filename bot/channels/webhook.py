"""A small webhook server: one POST route, the caller's check, 200 at once, the work handed off.

The stdlib's ThreadingHTTPServer: it needs one route and adds no dependency.
Put a TLS reverse proxy in front of it (the platforms only call HTTPS URLs).
`authentic(headers, body)` is the channel's own check (a secret header compared
in constant time for Zalo Bot; a signature for other platforms); `deliver(body)`
gets the parsed JSON and must return at once (hand the work to a pool), so
the platform gets its 200 before any answer is computed.
"""

from __future__ import annotations

import hmac
import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Mapping
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000


def secret_header(name: str, secret: str) -> Callable[[Mapping[str, str], bytes], bool]:
    """A check that header `name` equals `secret`, compared in constant time."""
    expected = secret.encode()

    def authentic(headers: Mapping[str, str], body: bytes) -> bool:
        return hmac.compare_digest((headers.get(name) or "").encode(), expected)
    return authentic


def webhook_server(path: str, host: str, port: int, authentic: Callable[[Mapping[str, str], bytes], bool],
                   deliver: Callable[[object], None]) -> ThreadingHTTPServer:
    """A server (not yet serving) for POST `path`: 404 elsewhere, 403 if not authentic, 413, 400."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # the default writes every request to stderr
            log.debug("webhook: " + fmt, *args)

        def _answer(self, status: int) -> None:
            body = json.dumps({"ok": status == 200}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            if urlsplit(self.path).path != path:
                return self._answer(404)
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                return self._answer(400)
            if length > MAX_BODY or length < 0:
                return self._answer(413)
            raw = self.rfile.read(length)
            if not authentic(self.headers, raw):
                log.warning("webhook call failing authentication from %s refused", self.client_address[0])
                return self._answer(403)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self._answer(400)
            self._answer(200)
            deliver(body)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
