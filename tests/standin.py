"""The HTTP plumbing every platform stand-in shares: a stdlib server on 127.0.0.1 in a thread."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Call:
    """One API call as a stand-in received and answered it."""

    method: str
    params: dict
    at: float
    status: int = 200
    result: object = None


class LocalServer:
    """Routes every GET and POST to `self._serve(request)`; `url` is its root once created."""

    def _listen(self) -> None:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                api._serve(self)

            def do_GET(self):
                api._serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _json(self, request, status: int, payload: dict) -> None:
        self._respond(request, status, json.dumps(payload, ensure_ascii=False).encode(), "application/json")

    @staticmethod
    def _respond(request, status: int, body: bytes, content_type: str) -> None:
        try:
            request.send_response(status)
            request.send_header("Content-Type", content_type)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the bot stopped mid long poll
            pass

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- the call log (subclasses keep `calls`, `_cond` and their own `sent`) -----------

    def wait(self, predicate, timeout: float = 30.0):
        """Block until predicate() is truthy (checked on every call the stand-in records)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (value := predicate()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"condition not met in {timeout}s; calls: "
                                       f"{[c.method for c in self.calls[-15:]]}")
                self._cond.wait(min(left, 0.1))
            return value

    def replies(self, chat_id, start: int, settle: float = 0.6, timeout: float = 30.0) -> list[dict]:
        """The messages sent to `chat_id` after call number `start`, once the bot has gone quiet."""
        self.wait(lambda: self.sent(chat_id, start), timeout)
        while True:
            count = len(self.calls)
            time.sleep(settle)
            with self._cond:
                quiet = all(c.method == "getUpdates" for c in self.calls[count:])
            if quiet:
                return self.sent(chat_id, start)

    def mark(self) -> int:
        """A position in the call log: pass it as `start` to see only what comes after."""
        with self._cond:
            return len(self.calls)

    def called(self, method: str, start: int = 0) -> list:
        with self._cond:
            return [c for c in self.calls[start:] if c.method == method]
