"""An OpenAI-compatible chat-completions stand-in on 127.0.0.1 that each test scripts.

Real HTTP on a real socket (stdlib ThreadingHTTPServer on port 0, in a thread):
only the model behind the endpoint is fake. A test sets what the next replies
look like (content, delay, status, raw body, slow trickle) and reads back every
request the server received, headers included.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Script:
    content: str = "Câu trả lời [1]."
    status: int = 200
    delay: float = 0.0  # seconds before the status line
    body: bytes | None = None  # raw body instead of a chat completion
    trickle: float = 0.0  # seconds between body bytes (headers go out at once)
    finish_reason: str = "stop"


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    json: dict


@dataclass
class StandIn:
    script: Script = field(default_factory=Script)
    requests: list[Request] = field(default_factory=list)

    def start(self) -> StandIn:
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes handlers still sleeping through a scripted delay
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def reply(self, **kwargs) -> None:
        """Script every following reply: content=, status=, delay=, body=, trickle=."""
        self.script = Script(**kwargs)

    def _body(self, script: Script, model: str) -> bytes:
        if script.body is not None:
            return script.body
        if script.status != 200:
            return json.dumps({"error": {"message": "scripted failure", "code": script.status}}).encode()
        return json.dumps({
            "id": "chatcmpl-standin", "object": "chat.completion", "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "finish_reason": script.finish_reason,
                         "message": {"role": "assistant", "content": script.content}}],
            "usage": {"prompt_tokens": 321, "completion_tokens": 45, "total_tokens": 366},
        }, ensure_ascii=False).encode()


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server naming)
            length = int(self.headers.get("Content-Length", 0))
            payload = json.loads(self.rfile.read(length) or b"{}")
            standin.requests.append(Request(self.path, dict(self.headers), payload))
            script = standin.script
            if script.delay and standin._stop.wait(script.delay):
                return
            body = standin._body(script, payload.get("model", ""))
            self.send_response(script.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if script.status == 429:
                self.send_header("Retry-After", "30")
            self.end_headers()
            try:
                if not script.trickle:
                    self.wfile.write(body)
                    return
                for i in range(len(body)):
                    if standin._stop.wait(script.trickle):
                        return
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should

        def log_message(self, format: str, *args) -> None:
            pass  # keep test output clean

    return Handler
