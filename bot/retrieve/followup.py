"""Follow-up questions read with the previous turn: pure functions of text and the last result.

In a chat an official asks "Công chức bị kỷ luật có mấy hình thức?", then
"Còn viên chức thì sao?", "khoản 2 thì sao?", "điều đó áp dụng cho ai?" or
"thế còn theo luật cũ?". Alone those say nothing searchable; read with the
previous question's subject, document and article they do. Only a message
that is nothing but a follow-up (its words, once the reference it makes and
filler words are removed, are empty) is rewritten; any question with a topic of
its own is searched as typed, so a fresh topic is never polluted by the old one.

The conversation core keeps each asker's last turn (with a time limit) and
calls `resolve_turn` before searching; `context_of` reads the turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.retrieve.query import SUBJECTS, parse, subject_of
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


_CITED = re.compile(r"^(?:(?:Điểm|Khoản|Mục)\s+\S+\s+)*Điều\s+\S+\s+(?P<label>.+)$")


def context_of(question: str, answer) -> Context:
    """The context an answer leaves for the next turn (`question`: as it was searched;
    `answer`: the bot/answer.Answer built for it)."""
    query = parse(question)
    first = (answer.quotes or answer.more or [None])[0] if answer is not None else None
    cited = _CITED.match(first.citation) if first is not None and first.article else None
    document = cited.group("label") if cited else None
    article = query.article or (first.article if first is not None else None)
    topic = question
    if query.article and first is not None and first.heading:
        # "Điều 79 Luật CBCC" is about "Các hình thức kỷ luật đối với công chức"
        topic = re.sub(r"^Điều\s+\S+\.\s*", "", first.heading)
    subject = query.subject or subject_of(_plain(topic))
    return Context(question, topic, subject, document, article, query.clause)


def resolve_turn(text: str, last) -> str:
    """The conversation core's hook: `last` is its Turn (searched question and answer) or None."""
    return resolve(text, context_of(last.searched, last.answer) if last is not None else None).text


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
        # Kept in the question: the search's date step reads "luật cũ" (validity.asked_period)
        # and puts the replaced text first.
        return Resolved(f"{context.question.rstrip(' ?.')} theo luật cũ?", "old")
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


__all__ = ["Context", "Resolved", "context_of", "resolve", "resolve_turn", "with_subject", "SUBJECTS"]

