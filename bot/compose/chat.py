"""A minimal OpenAI-compatible chat-completions client over plain httpx.

Why not the `openai` package: we call one endpoint, without streaming, and
httpx is already a dependency, so this costs no new packages. More important is
the deadline: the openai client retries twice by default and its timeout covers
each attempt, while here one call either returns or gives up within `timeout`
seconds whatever the server does (slow to connect, slow to answer, trickling
bytes), so the extractive fallback is never late. Any server that speaks
POST {base}/chat/completions works: Ollama, vLLM, llama.cpp, hosted APIs.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import httpx

MAX_TOKENS = 800
# Calls in flight at once; more wait in the queue and count against their deadline.
WORKERS = 8


class ChatError(Exception):
    """Why no usable reply came back. The caller logs it and falls back."""


@dataclass
class Completion:
    content: str
    seconds: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class ChatClient:
    """POST chat/completions with a hard deadline. Never logs or repeats the API key."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None,
                 timeout: float = 20.0, max_tokens: int = MAX_TOKENS):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.model = model
        self.timeout = timeout
        self.max_tokens = max_tokens
        self._http = httpx.Client(base_url=base_url.rstrip("/") + "/", headers=headers,
                                  timeout=timeout)
        # httpx timeouts apply per phase (connect, each read), not to the whole call;
        # running the call in a worker lets us stop waiting at the deadline. The worker
        # itself ends soon after, on httpx's own timeouts or the deadline check below.
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="llm")

    def complete(self, messages: list[dict]) -> Completion:
        """One chat completion, or ChatError no later than `timeout` seconds from now."""
        start = time.monotonic()
        future = self._pool.submit(self._call, messages, start + self.timeout)
        try:
            return future.result(timeout=self.timeout)
        except FutureTimeout:
            future.cancel()
            raise ChatError(f"timeout after {self.timeout:g}s") from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    def _call(self, messages: list[dict], deadline: float) -> Completion:
        body = {"model": self.model, "messages": messages, "temperature": 0,
                "max_tokens": self.max_tokens, "stream": False}
        start = time.monotonic()
        try:
            with self._http.stream("POST", "chat/completions", json=body) as response:
                if response.status_code != 200:
                    # The body is not logged: some servers echo request details in errors.
                    retry = response.headers.get("retry-after")
                    raise ChatError(f"HTTP {response.status_code}"
                                    + (f" (retry after {retry}s)" if retry else ""))
                raw = bytearray()
                for chunk in response.iter_bytes():
                    raw += chunk
                    if time.monotonic() > deadline:
                        raise ChatError(f"timeout after {self.timeout:g}s (reply still arriving)")
        except httpx.TimeoutException:
            raise ChatError(f"timeout after {self.timeout:g}s") from None
        except httpx.HTTPError as e:
            raise ChatError(f"{type(e).__name__}: {e}") from None
        return _parse(bytes(raw), time.monotonic() - start)


def _parse(raw: bytes, seconds: float) -> Completion:
    try:
        data = json.loads(raw)
        choice = data["choices"][0]
        content = choice["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ChatError("malformed reply (not a chat completion)") from None
    if not isinstance(content, str) or not content.strip():
        raise ChatError("empty reply")
    if choice.get("finish_reason") == "length":
        raise ChatError("reply cut off at max_tokens")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return Completion(content.strip(), seconds, usage.get("prompt_tokens"),
                      usage.get("completion_tokens"))
