"""The writer: asks a language model for a short answer from the retrieved passages only.

The model sees nothing but the passages the extractive answer already chose,
numbered with their citations, and the question. Its reply is used only when it
passes the grounding checks; otherwise, and on any timeout, HTTP error, rate
limit or malformed reply, the extractive answer goes out unchanged and the
reason is logged. Each call logs its latency and token usage (its cost).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from bot.answer import Answer, Quote
from bot.compose.chat import ChatClient, ChatError
from bot.compose.grounding import check, renumber
from bot.config import Settings

log = logging.getLogger(__name__)

MAX_PASSAGES = 6
# Long articles are cut so the prompt stays small for local models; the checks
# read the same cut text the model saw.
MAX_PASSAGE_CHARS = 2500

SYSTEM = """Bạn giúp cán bộ, công chức Việt Nam hiểu các quy định về công tác cán bộ.
Chỉ dựa vào các đoạn văn bản được đánh số mà người dùng đưa ra; không dùng hiểu biết bên ngoài.
- Trả lời bằng tiếng Việt, ngắn gọn (không quá 5 câu), lời lẽ giản dị, dễ hiểu.
- Sau mỗi ý, ghi số của đoạn làm căn cứ trong ngoặc vuông, ví dụ [1] hoặc [1, 2]. Chỉ dùng các số đã cho.
- Không nêu con số, ngày tháng hay số hiệu văn bản nào không có trong đoạn được dẫn.
- Nếu các đoạn không trả lời được câu hỏi, hãy nói rõ: "Các đoạn văn bản được cung cấp không trả lời câu hỏi này." và không suy đoán."""


def _clip(text: str) -> str:
    return text if len(text) <= MAX_PASSAGE_CHARS else text[:MAX_PASSAGE_CHARS].rstrip() + " …"


def passages(answer: Answer) -> list[Quote]:
    """What the model may use: the extractive answer's quotes, then its further sources."""
    return [replace(q, text=_clip(q.text)) for q in (answer.quotes + answer.more)[:MAX_PASSAGES]]


def messages(question: str, given: list[Quote]) -> list[dict]:
    """The chat messages: instructions, then only the numbered passages and the question."""
    blocks = [f"[{i}] {q.citation}\n{q.text}" for i, q in enumerate(given, 1)]
    user = "Các đoạn văn bản:\n\n" + "\n\n".join(blocks) + f"\n\nCâu hỏi: {question}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


class Writer:
    """Turns a found extractive answer into a written one, or leaves it as it is."""

    def __init__(self, client: ChatClient):
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> Writer | None:
        """A writer when LLM_BASE_URL and LLM_MODEL are set; None keeps answers extractive."""
        if not settings.llm_base_url:
            return None
        if not settings.llm_model:
            log.warning("LLM_BASE_URL is set but LLM_MODEL is not: answers stay extractive")
            return None
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return cls(ChatClient(settings.llm_base_url, settings.llm_model, key, settings.llm_timeout))

    def write(self, answer: Answer) -> Answer:
        """The answer with `written` and `references` set, or `answer` unchanged on any failure."""
        if not answer.found:
            return answer  # nothing relevant was retrieved: the model is never asked
        given = passages(answer)
        start = time.monotonic()
        try:
            reply = self.client.complete(messages(answer.question, given))
        except ChatError as e:
            log.warning("llm fallback to extractive answer after %.2fs: %s",
                        time.monotonic() - start, e)
            return answer
        log.info("llm call: model=%s latency=%.2fs prompt_tokens=%s completion_tokens=%s",
                 self.client.model, reply.seconds, reply.prompt_tokens, reply.completion_tokens)
        problem = check(reply.content, given)
        if problem:
            log.warning("llm fallback to extractive answer: ungrounded reply (%s)", problem)
            log.debug("rejected reply: %s", reply.content)
            return answer
        text, cited = renumber(reply.content, given)
        # References keep the full passage (not the cut one) for channels that show it.
        full = {id(g): q for g, q in zip(given, answer.quotes + answer.more)}
        return replace(answer, written=text, references=[full[id(q)] for q in cited])

    def close(self) -> None:
        self.client.close()
