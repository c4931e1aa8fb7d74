"""The extractive answer: the clauses that answer, quoted verbatim, each with its citation.

Nothing here writes new text about the law. The answer quotes the best
clauses of the best passage, names exactly where they stand ("Khoản 1 Điều 11
Nghị định 73/2023/NĐ-CP"), flags when the source is an excerpt, read by OCR,
or no longer in force (the renderer words the warnings), and lists a few further sources. When the passages do not cover the
question, it says so instead of quoting something unrelated.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date

from bot.index import Passage
from bot.index.lexical import with_bigrams
from bot.ingest.chunker import PREAMBLE
from bot.ingest.metadata import NEWS
from bot.retrieve.query import ABBREVIATIONS
from bot.retrieve.search import SearchResult
from bot.text import strip_diacritics, words

# Words too common to show that a passage is about the question.
_COMMON = {strip_diacritics(w) for w in """của và các những được cho là có không trong với về theo thì người việc này đó
khi nếu để tại từ một hoặc đã sẽ bị do như nào gì sao hay cũng các nhà""".split()}
FOUND_COVERAGE = 0.6  # share of the question's topic words a passage must hold
_UNIT = re.compile(r"(?m)^(?=\d+[a-zđ]?\.\s)")
MAX_QUOTES = 3
MORE_SOURCES = 3



@dataclass
class Quote:
    """A verbatim passage, exactly where it stands, and what a citation of it must say.

    The flags are data; the wording ("bản trích", "hết hiệu lực từ …") is the
    renderer's (bot/channels/render.py). They come from the document's metadata
    (sidecar, loader) and the chunk; each is off when unknown.
    """

    citation: str
    text: str
    source: str
    number: str | None
    article: str | None
    clause: str | None
    heading: str = ""  # the article's heading line: "Điều 11. Biện pháp bảo vệ cán bộ"
    excerpt: bool = False  # the stored text is an excerpt, not the full document
    ocr: bool = False  # the text was read from a scan by OCR
    valid_until: str | None = None  # ISO date from which the document no longer applies
    expired: bool = False  # valid_until has passed (as of the answer's day)
    replaced_by: list[str] = field(default_factory=list)  # numbers of the replacing documents
    successor: str | None = None  # the matching article of the replacing text, when known
    status: str = ""  # the sidecar's free-text status ("Đã sửa đổi bởi …")
    # The group the quoted rule is about ("viên chức") when the question asked about
    # another one ("công chức") and no text about that group answered.
    subject: str | None = None

    @property
    def warned(self) -> bool:
        """Does a citation of this quote carry a warning?"""
        return bool(self.excerpt or self.ocr or self.expired or self.replaced_by or self.status)


@dataclass
class Answer:
    question: str
    found: bool
    quotes: list[Quote] = field(default_factory=list)
    more: list[Quote] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    # Set only when a language model wrote a grounded answer (bot/compose); [k] in
    # `written` refers to references[k - 1].
    written: str | None = None
    references: list[Quote] = field(default_factory=list)
    asked_subject: str | None = None  # the group the question is about, if one
    read_as: str | None = None  # a follow-up, as it was read with the previous turn
    # A named article the named document, as shipped, does not have: (article, document).
    missing_article: tuple[str, str] | None = None

    def citations(self) -> list[dict]:
        return [{"source": q.source, "number": q.number, "article": q.article,
                 "citation": q.citation, "heading": q.heading} for q in self.quotes + self.more]

    def to_dict(self) -> dict:
        return {"question": self.question, "found": self.found, "citations": self.citations(),
                "quotes": [asdict(q) for q in self.quotes], "written": self.written,
                "references": [asdict(q) for q in self.references], "asked_subject": self.asked_subject,
                "read_as": self.read_as,
                "missing_article": list(self.missing_article) if self.missing_article else None}


def _topic(text: str) -> set[str]:
    return {w for w in (strip_diacritics(x) for x in words(text)) if w not in _COMMON}


def _bigrams(text: str) -> set[str]:
    return {t for t in with_bigrams([strip_diacritics(w) for w in words(text)]) if "_" in t}


def citation(p: Passage, clause: str | None = None) -> str:
    """"Khoản 1 Điều 11 Nghị định 73/2023/NĐ-CP", "Điều 3 Luật 58/2010/QH12", a news title."""
    label = p.meta.label
    if p.meta.type == NEWS:
        return f"Tin: {label}"
    if p.article:
        parts = [f"Khoản {clause}" if clause else "", f"Điều {p.article}", label]
        return " ".join(x for x in parts if x)
    heading = p.heading.split(" › ")[-1] if p.heading else ""
    if heading == PREAMBLE:
        return f"{label} (phần mở đầu)"
    if clause:
        return f"Mục {clause} {label}"
    if heading and heading != p.meta.title:
        return f"{label}, phần \"{heading}\""
    return label


def _listed(value) -> list[str]:
    if not value:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _field(p: Passage, name: str):
    """A flag from the chunk, else the document's metadata (attribute or sidecar extra)."""
    value = getattr(p, name, None)
    if not value:  # a sidecar field (ocr, replaced_by) defaults to False / []: then look in extra
        value = getattr(p.meta, name, None) or p.meta.extra.get(name, value)
    return value


def quote_of(p: Passage, text: str | None = None, clause: str | None = None,
             today: date | None = None) -> Quote:
    """A passage (or `text` cut from it) as a cited quote with every flag it must carry."""
    heading = p.heading.split(" › ")[-1] if p.heading else ""
    return Quote(citation(p, clause), p.text if text is None else text, p.source, p.meta.number,
                 p.article, clause, heading=heading if p.article else "", excerpt=not p.meta.complete,
                 ocr=bool(_field(p, "ocr")), valid_until=p.meta.valid_until, expired=p.meta.expired(today),
                 replaced_by=_listed(_field(p, "replaced_by")), successor=_field(p, "successor") or None,
                 status=p.meta.status or "")


def covers(p: Passage, question: str, phrases=()) -> bool:
    """Does this passage hold enough of the question's topic to be an answer?

    Words are compared with their diacritics ("lãi" is not "lại"), as the
    question reads after diacritic restoration: a syllable left without marks
    is a reading of its own ("ly" of "ly hôn" is not "lý" of "xử lý"). Matching
    such words on their plain form answered "thu tuc ly hon" from a decree's
    "thủ tục xử lý", and changed no in-scope answer on any set.
    An everyday phrase the thesaurus knows ("bị phạt", `phrases`) is one unit,
    held when the passage has the phrase or one of its legal terms ("kỷ luật").
    Adding every term to the question instead let "vượt đèn đỏ bị phạt bao
    nhiêu" be covered by an article on "hình thức kỷ luật".
    """
    have = set(words(f"{p.meta.label} {p.meta.title} {p.heading} {p.text}"))
    units = [[[w]] for w in words(question) if strip_diacritics(w) not in _COMMON]
    for phrase, terms in phrases:
        inside = {strip_diacritics(w) for w in words(phrase)}
        units = [u for u in units if len(u) > 1 or strip_diacritics(u[0][0]) not in inside]
        units.append([words(phrase)] + [words(t) for t in terms])
    if not units:
        return False
    hit = sum(1 for u in units if any(have.issuperset(form) for form in u))
    # Shared wording: a bigram of the question, or a legal term for one of its phrases.
    shared = bool(_bigrams(question) & _bigrams(f"{p.heading} {p.text}")) or \
        any(have.issuperset(form) for u in units if len(u) > 1 for form in u[1:])
    return hit / len(units) >= FOUND_COVERAGE and shared


def _asked(query) -> str:
    """The question as retrieval read it: diacritics restored, abbreviations spelled out
    (the thesaurus' terms are not added: `covers` reads them from `query.phrases`)."""
    return " ".join(t for t in query.own_words if t not in ABBREVIATIONS) or query.text


def _units(p: Passage) -> list[tuple[str | None, str]]:
    """The passage cut into clauses (number, text); one unit when it has none."""
    parts = [u.strip() for u in _UNIT.split(p.text) if u.strip()]
    if len(parts) <= 1 or not p.article:
        return [(p.clause if p.clause and "-" not in p.clause else None, p.text.strip())]
    out = []
    for part in parts:
        m = re.match(r"(\d+[a-zđ]?)\.\s", part)
        out.append((m.group(1) if m else None, part))
    return out


def best_clauses(p: Passage, question: str, clause: str | None = None) -> list[tuple[str | None, str]]:
    """The clauses of `p` that answer best, in reading order (the named clause if any)."""
    units = _units(p)
    if clause:
        named = [u for u in units if u[0] == clause]
        if named:
            return named
    if len(units) == 1:
        return units
    asked_words, asked_pairs = _topic(question), _bigrams(question)
    scores = [len(asked_words & _topic(t)) + 2 * len(asked_pairs & _bigrams(t)) for _, t in units]
    best = max(scores)
    if best == 0:
        return units[:MAX_QUOTES]
    keep = sorted(range(len(units)), key=lambda i: -scores[i])[:MAX_QUOTES]
    return [units[i] for i in sorted(keep) if scores[i] >= 0.6 * best]


def _answers(hit, asked: str, bounds: tuple[float, float] | None, phrases=()) -> bool:
    """Does this hit answer the question? Words and meaning together.

    `bounds` (floor, strong) are the model's calibrated cosines (bot/embed.REFUSAL):
    below the floor a passage is off the question's meaning even when its words
    match ("Hà Nội" in a news article for the weather); from `strong` it answers in
    other words than the law's. Without bounds (an uncalibrated model) words decide.
    """
    if bounds is None:
        return covers(hit.passage, asked, phrases)
    floor, strong = bounds
    if hit.similarity < floor:
        return False
    return hit.similarity >= strong or covers(hit.passage, asked, phrases)


def build_answer(result: SearchResult, today: date | None = None) -> Answer:
    """Turn search hits into the reply every channel sends."""
    question = result.query.text
    answer = Answer(question, False, asked_subject=result.query.subject)
    for ref in result.missing:
        answer.notices.append(f"Kho văn bản chưa có {ref.label}.")
    if result.missing_article:
        article, document = answer.missing_article = result.missing_article
        answer.notices.append(f"{document} (bản trong kho) không có Điều {article}.")
        return answer
    hits = [h.passage for h in result.hits]
    named = result.query.article and hits and hits[0].article == result.query.article and \
        (not result.documents or hits[0].document_id in result.documents)
    asked = _asked(result.query)
    best = next((h for h in result.hits[:3]
                 if _answers(h, asked, result.similarity_bounds, result.query.phrases)), None)
    if named:
        best = result.hits[0]
    if best is None:
        return answer
    top = best.passage
    answer.found = True
    clause = result.query.clause if named else None
    for number, text in best_clauses(top, question, clause):
        answer.quotes.append(quote_of(top, text, number, today))
    subject = result.query.subject
    if subject and best.subjects and subject not in best.subjects:
        for q in answer.quotes:  # whose rule this is: another group's
            q.subject = ", ".join(sorted(best.subjects))
    def key(p: Passage) -> tuple:
        return (p.document_id, p.article or (None if p.meta.type == NEWS else p.heading))

    seen = {key(top)}
    for p in hits:
        if key(p) in seen or len(answer.more) >= MORE_SOURCES:
            continue
        seen.add(key(p))
        answer.more.append(quote_of(p, today=today))
    return answer
