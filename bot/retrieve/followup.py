"""Follow-up questions read with the previous turn: pure functions of text and the last result.

In a chat an official asks "Công chức bị kỷ luật có mấy hình thức?", then
"Còn viên chức thì sao?", "khoản 2 thì sao?", "điều đó áp dụng cho ai?" or
"thế còn theo luật cũ?". Alone those say nothing searchable; read with the
previous question's subject, document and article they do. Only a message
that is nothing but a follow-up (its words, once the reference it makes and
filler words are removed, are empty) is rewritten; any question with a topic of
its own is searched as typed, so a fresh topic is never polluted by the old one.

The conversation core keeps one `Context` per chat (with a time limit) and
calls `resolve` before searching; `context_of` builds the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.retrieve.query import SUBJECTS, subject_of
from bot.text import nfc, strip_diacritics

# Words that carry no topic in a follow-up ("thế còn ... thì sao ạ?").
_FILLERS = set("""con the thi sao nao vay va voi doi a nhi ra sao a ha vay thi sao the nao
sao nua nua oi cho hoi minh toi em anh chi ban duoc khong ve nhu theo""".split())
_SUBJECT_RUN = re.compile(r"\b(?:can bo|cong chuc|vien chuc)(?:\s*,?\s*(?:va\s+)?(?:can bo|cong chuc|vien chuc))*\b")
_CLAUSE = re.compile(r"\bkhoan\s+(\d{1,3})\b")
_ARTICLE = re.compile(r"\bdieu\s+(\d{1,3}[a-z]?)\b")
_POINTER = re.compile(r"\b(?:dieu|van ban|nghi dinh|luat|quy dinh|thong tu|ket luan|khoan)\s+(?:do|nay|tren|vua roi|ay)\b")
_SCOPE = re.compile(r"\bap dung\s+(?:cho|voi|doi voi)\s+(?:ai|nhung ai|doi tuong nao)\b|\bdoi tuong (?:nao|ap dung)\b")
_OLD = re.compile(r"\b(?:luat|van ban|nghi dinh|quy dinh)\s+cu\b|\btruoc (?:day|khi sua)\b")


@dataclass(frozen=True)
class Context:
    """What the previous turn was about."""

    question: str  # as searched (already resolved)
    topic: str  # its topic in words: the question, or the article heading when it only named an article
    subject: str | None = None  # "cán bộ" / "công chức" / "viên chức"
    document: str | None = None  # "Nghị định 73/2023/NĐ-CP"
    article: str | None = None
    clause: str | None = None


@dataclass(frozen=True)
class Resolved:
    text: str  # what to search
    kind: str | None = None  # None: not a follow-up; "subject", "clause", "article", "scope", "old", "pointer"


def context_of(question: str, result) -> Context:
    """The context a search result leaves for the next turn (`result`: a SearchResult)."""
    query = result.query
    top = result.hits[0].passage if result.hits else None
    document = top.meta.label if top is not None and top.meta.number else None
    article = query.article or (top.article if top is not None else None)
    topic = question
    if query.article and top is not None and top.article_title:
        topic = top.article_title  # "Điều 79 Luật CBCC" is about "Các hình thức kỷ luật đối với công chức"
    subject = query.subject or subject_of(_plain(topic))
    return Context(question, topic, subject, document, article, query.clause)


def _plain(text: str) -> str:
    return strip_diacritics(nfc(text)).lower()


def _rest(plain: str, *patterns: re.Pattern) -> list[str]:
    """The words left once the references and fillers are removed."""
    for pattern in patterns:
        plain = pattern.sub(" ", plain)
    return [w for w in re.findall(r"\w+", plain) if w not in _FILLERS]


def with_subject(text: str, subject: str) -> str:
    """`text` about `subject` instead of the group(s) it names; the subject appended if it names none."""
    plain = _plain(text)
    spans = [m.span() for m in _SUBJECT_RUN.finditer(plain)] if len(plain) == len(text) else []
    if not spans:
        return f"{text.rstrip(' ?.')} đối với {subject}?"
    return _replace(text, spans, lambda start: subject.capitalize() if text[start].isupper() else subject)


def _replace(text: str, spans: list[tuple[int, int]], new) -> str:
    """`text` with each span replaced by `new(start)`."""
    out, last = [], 0
    for start, end in spans:
        out += [text[last:start], new(start)]
        last = end
    return "".join(out + [text[last:]])


def resolve(text: str, context: Context | None) -> Resolved:
    """The question to search for `text`, given the previous turn (None: no previous turn)."""
    if context is None:
        return Resolved(text)
    plain = _plain(text)
    named_subject = subject_of(plain)
    if _SCOPE.search(plain) and (_POINTER.search(plain) or not _rest(plain, _SCOPE)) and context.document:
        return Resolved(f"Phạm vi điều chỉnh, đối tượng áp dụng của {context.document}", "scope")
    if _OLD.search(plain) and not _rest(plain, _OLD):
        return Resolved(context.question, "old")
    clause = _CLAUSE.search(plain)
    if clause and not _rest(plain, _CLAUSE) and context.article and context.document:
        return Resolved(f"Khoản {clause.group(1)} Điều {context.article} {context.document}", "clause")
    article = _ARTICLE.search(plain)
    if article and not _rest(plain, _ARTICLE) and context.document:
        return Resolved(f"Điều {article.group(1)} {context.document}", "article")
    if named_subject and not _rest(plain, _SUBJECT_RUN):
        return Resolved(with_subject(context.topic, named_subject), "subject")
    if _POINTER.search(plain) and context.article and context.document and len(plain) == len(text):
        spans = [m.span() for m in _POINTER.finditer(plain)]
        return Resolved(_replace(text, spans, lambda _: f"Điều {context.article} {context.document}"),
                        "pointer")
    return Resolved(text)


__all__ = ["Context", "Resolved", "context_of", "resolve", "with_subject", "SUBJECTS"]


class Memory:
    """The last turn of each chat, forgotten after `ttl` seconds or on `forget` (/moi).

    In-process and bounded (`size` chats, oldest dropped first): a restart or a
    quiet chat starts afresh, which is the safe side for a follow-up.
    """

    def __init__(self, ttl: float = 900.0, size: int = 10_000, clock=None):
        import threading
        import time

        self.ttl, self.size = ttl, size
        self.clock = clock or time.monotonic
        self._turns: dict[str, tuple[float, Context]] = {}
        self._lock = threading.Lock()

    def get(self, chat: str) -> Context | None:
        with self._lock:
            item = self._turns.get(chat)
            if item is None or self.clock() - item[0] > self.ttl:
                self._turns.pop(chat, None)
                return None
            return item[1]

    def put(self, chat: str, context: Context) -> None:
        with self._lock:
            self._turns.pop(chat, None)
            self._turns[chat] = (self.clock(), context)
            while len(self._turns) > self.size:
                self._turns.pop(next(iter(self._turns)))

    def forget(self, chat: str) -> bool:
        """Drop the chat's context; True when there was one."""
        with self._lock:
            return self._turns.pop(chat, None) is not None
