"""Query understanding: what the official typed, made searchable.

Officials type on phones: without diacritics, with either tone-mark style,
with the civil service's abbreviations, naming documents the way they speak
("NĐ 73", "luật CBCC", "điều 53 luật cán bộ công chức"). This module turns
the raw question into lexical tokens for both fields (the accented one after
diacritic restoration by the index's accent model), and the document, article
and clause it refers to. References are matched on the diacritic-free,
lower-case form, so "nghi dinh 73" is found exactly like "Nghị định 73".
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Callable

from bot.index.lexical import with_bigrams
from bot.retrieve.thesaurus import terms_of
from bot.text import WORD, clean_question, fold, strip_diacritics

# Abbreviations of cadre work, expanded for matching (the abbreviation is kept too).
ABBREVIATIONS = {
    "cbccvc": "cán bộ công chức viên chức", "cbcc": "cán bộ công chức", "ccvc": "công chức viên chức",
    "vc": "viên chức", "cb": "cán bộ", "cc": "công chức",
    "bct": "bộ chính trị", "bch": "ban chấp hành", "btc": "ban tổ chức", "bcs": "ban cán sự",
    "ubnd": "ủy ban nhân dân", "hđnd": "hội đồng nhân dân", "hdnd": "hội đồng nhân dân",
    "tw": "trung ương", "tu": "tỉnh ủy", "bnv": "bộ nội vụ", "ttg": "thủ tướng chính phủ",
    "nđ": "nghị định", "nd": "nghị định", "qđ": "quyết định", "qd": "quyết định",
    "kl": "kết luận", "nq": "nghị quyết", "hd": "hướng dẫn", "ct": "chỉ thị", "tt": "thông tư",
    "cp": "chính phủ", "qh": "quốc hội", "đvsncl": "đơn vị sự nghiệp công lập",
}

# Question phrases that say nothing about the topic. They are rare in legal
# text, so BM25 would give them a high weight if they were left in.
QUESTION_PHRASES = sorted([
    "như thế nào", "thế nào", "ra sao", "là gì", "là những gì", "gồm những gì", "những gì",
    "bao gồm những gì", "bao nhiêu", "có được không", "được không", "có phải", "hay không",
    "đúng hay sai", "đúng không", "phải không", "cho tôi hỏi", "xin hỏi", "cho hỏi",
    "tôi muốn biết", "hãy cho biết", "cho biết", "vậy", "ạ", "nhé", "gì", "nào",
    "quy định gì", "quy định như thế nào",
], key=len, reverse=True)

TYPE_WORDS = {  # diacritic-free spoken form -> document type
    "nghi dinh": "Nghị định", "nd": "Nghị định", "luat": "Luật", "ket luan": "Kết luận",
    "kl": "Kết luận", "quyet dinh": "Quyết định", "qd": "Quyết định", "nghi quyet": "Nghị quyết",
    "nq": "Nghị quyết", "thong tu": "Thông tư", "tt": "Thông tư", "chi thi": "Chỉ thị",
    "ct": "Chỉ thị", "huong dan": "Hướng dẫn", "hd": "Hướng dẫn", "quy dinh": "Quy định",
}
_TYPE_ALT = "|".join(sorted(TYPE_WORDS, key=len, reverse=True))
_REF = re.compile(
    rf"\b(?P<type>{_TYPE_ALT})\s*(?:so\s*)?[:.]?\s*(?P<num>\d{{1,4}})"
    rf"(?:\s*[/-]\s*(?P<year>(?:19|20)\d\d)\b)?(?P<suffix>[/-][a-z0-9/-]+)?")
_BARE_NUMBER = re.compile(
    r"\b(?P<num>\d{1,4})(?:/(?P<year>(?:19|20)\d\d))?[/-](?P<suffix>[a-z]{2,5}(?:[-/][a-z0-9]{1,8})+)\b")
# HTML tags, links and chat markup (*bold*, _italic_, `code`) say nothing about the topic.
# A tag is a name and attribute-shaped words (ASCII names, values after "="), so
# a lone "<" in "Điều 11 < Điều 12 <i nghị định 73 ... >" is text, not a tag
# that swallows the reference up to the next ">".
_TAG = (r"</?[a-z][a-z0-9-]*(?:\s+[a-z_:][-a-z0-9_:.]*"
        r"""(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'=<>`]+))?)*\s*/?>|<!--[^<>]{0,300}-->""")
_MARKUP = re.compile(rf"{_TAG}|https?://\S+|[*_`~|]+", re.I)
_ARTICLE = re.compile(r"\bdieu\s+(\d{1,3}[a-z]?)\b")
_CLAUSE = re.compile(r"\bkhoan\s+(\d{1,3})\b")
# "luật viên chức", but not "kỷ luật", "pháp luật", "quy luật".
_NAMED_LAW = re.compile(r"(?<!ky )(?<!phap )(?<!quy )\bluat\s+([a-z ,]+)")
# Words that end a law's spoken name: "luật viên chức điều 15 quy định ...", and the
# question's own tail: "... theo Bộ luật hình sự, đúng hay sai?" (not bare "không":
# Luật Hàng không dân dụng).
_NAME_STOP = re.compile(r"\b(dieu|khoan|diem|so|nam|quy dinh|ve viec|thi|co|la|nhu|the nao"
                        r"|dung hay sai|dung khong|phai khong|hay khong|duoc khong)\b.*$")


@dataclass
class DocumentRef:
    """A document the question names: "Nghị định 73", "14-KL/TW", "luật viên chức"."""

    type: str | None
    number: str | None  # "73", the bare number
    year: str | None
    words: str = ""  # for a law named by its subject: "vien chuc"
    said: str = ""  # the number or name as the user wrote it: "205-QĐ/TW", "Cán bộ, công chức"

    @property
    def label(self) -> str:
        """How to name it back to the user: "Quyết định 205-QĐ/TW", "Luật Cán bộ, công chức"."""
        if self.said:
            return f"{self.type} {self.said}" if self.type else self.said
        if self.number:
            number = self.number + (f"/{self.year}" if self.year else "")
            return f"{self.type} {number}" if self.type else number
        return f"{self.type} {self.words}".strip()


@dataclass
class Query:
    """A question ready for retrieval."""

    text: str
    accented: bool  # the user typed diacritics on a fair share of the words
    restored: str = ""  # the topic words with diacritics restored (folded)
    tokens: dict[str, list[str]] = field(default_factory=dict)  # lexical field -> tokens
    documents: list[DocumentRef] = field(default_factory=list)
    article: str | None = None
    clause: str | None = None
    # (official's phrase, its legal terms) as the thesaurus found them; answer.covers reads the
    # question with each phrase or one of its terms, never with all the terms added.
    phrases: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    own_words: list[str] = field(default_factory=list)  # the question's words (restored, abbreviations spelled out)
    subject: str | None = None  # "cán bộ" / "công chức" / "viên chức" when the question is about one

    @property
    def expansions(self) -> list[str]:
        """The law's words for the official's (thesaurus), each once, in order."""
        return terms_of(self.phrases)

    @property
    def dense_text(self) -> str:
        """What the embedding model reads: the question (restored when typed without
        diacritics), then the thesaurus' legal terms."""
        base = self.text if self.accented else self.restored or self.text
        return f"{base} ({'; '.join(self.expansions)})" if self.expansions else base

    @property
    def content_words(self) -> list[str]:
        """Distinct topic syllables (no bigrams) of the plain field."""
        return sorted({t for t in self.tokens.get("plain", []) if "_" not in t})


# Abbreviations that are also common syllables ("tu" is usually từ / tư / tự):
# expanded only when typed in capitals.
_SYLLABLE_LIKE = {"tu"}


def _expand(folded: str, caps: frozenset[str] = frozenset()) -> str:
    """Abbreviations replaced by their words (so bigrams run on: "bch tw" ->
    "ban chấp hành trung ương"), the abbreviations themselves kept at the end."""
    found: list[str] = []

    def repl(m: re.Match) -> str:
        word = m.group(0)
        if word not in ABBREVIATIONS or (word in _SYLLABLE_LIKE and word not in caps):
            return word
        found.append(word)
        return ABBREVIATIONS[word]
    expanded = WORD.sub(repl, folded)
    return " ".join([expanded, *found])


def _drop_questions(folded: str) -> str:
    """Remove question phrases; a question made only of them is kept whole."""
    out = folded
    for phrase in QUESTION_PHRASES:
        for variant in {fold(phrase), strip_diacritics(fold(phrase))}:
            out = re.sub(rf"(?<!\w){re.escape(variant)}(?!\w)", " ", out)
    return out if re.search(r"\w", out) else folded


def _references(plain: str, typed: str) -> tuple[list[DocumentRef], str | None, str | None]:
    """References found in `plain`; `typed` is the same text as written, to quote back."""
    def said(start: int, end: int) -> str:
        # Folding and stripping keep Vietnamese text's length, so spans line up.
        source = typed if len(typed) == len(plain) else plain
        return source[start:end].strip(" ,.;:?!")

    refs: list[DocumentRef] = []
    for m in _REF.finditer(plain):
        kind = TYPE_WORDS[m.group("type")]
        refs.append(DocumentRef(kind, m.group("num"), m.group("year"), said=said(m.start("num"), m.end())))
    for m in _BARE_NUMBER.finditer(plain):
        if not any(r.number == m.group("num") for r in refs):
            suffix = m.group("suffix")
            kind = next((TYPE_WORDS[w] for w in re.split(r"[-/]", suffix) if w in TYPE_WORDS), None)
            refs.append(DocumentRef(kind, m.group("num"), m.group("year"), said=said(m.start(), m.end())))
    if not any(r.type == "Luật" for r in refs):
        m = _NAMED_LAW.search(plain)
        name = _NAME_STOP.sub("", m.group(1)).replace(",", " ").strip() if m else ""
        if name and not name[0].isdigit():
            start = m.start(1)
            end = start + len(_NAME_STOP.sub("", m.group(1)).rstrip(" ,"))
            refs.append(DocumentRef("Luật", None, None, words=_expand_plain(name), said=said(start, end)))
    article = _ARTICLE.search(plain)
    clause = _CLAUSE.search(plain)
    return refs, article.group(1) if article else None, clause.group(1) if clause else None


# The three groups of the civil service, in the order a mixed phrase names them.
SUBJECTS = {"can bo": "cán bộ", "cong chuc": "công chức", "vien chuc": "viên chức"}
_SUBJECT = re.compile(r"\b(can bo|cong chuc|vien chuc)\b")


def subjects_in(plain: str) -> set[str]:
    """The groups a diacritic-free text names ("cán bộ, công chức" names two)."""
    return {SUBJECTS[m] for m in _SUBJECT.findall(plain)}


def subject_of(plain: str) -> str | None:
    """The one group a question is about, or None when it names none or several."""
    found = subjects_in(plain)
    return found.pop() if len(found) == 1 else None


def _expand_plain(words: str) -> str:
    return " ".join(strip_diacritics(ABBREVIATIONS.get(w, w)) for w in words.split())


def parse(text: str, restore: Callable[..., list[str]] | None = None, thesaurus=None) -> Query:
    """Normalise a raw question and find what it refers to.

    `restore(syllables, keep=...)` puts back missing diacritics (the index's
    accent model); without it the accented field gets the words as typed.
    `thesaurus` (bot/retrieve/thesaurus.py) adds the law's words for the official's.
    """
    text = " ".join(clean_question(text).split())  # single spaces: no long runs for _MARKUP
    text = " ".join(_MARKUP.sub(" ", html.unescape(text)).split())
    folded = fold(text)
    plain = strip_diacritics(folded)
    refs, article, clause = _references(plain, text)
    typed = WORD.findall(_drop_questions(folded))
    letters = [w for w in typed if not w.isdigit()]
    # Accented when a fair share of the words carry marks: "nghi dinh 73" is not.
    marked = sum(1 for w in letters if strip_diacritics(w) != w)
    accented = bool(letters) and marked >= max(1, len(letters) // 3)
    # Abbreviations typed in capitals ("TU", "CT") are not syllables to accent.
    caps = frozenset(w.lower() for w in WORD.findall(text)
                     if len(w) > 1 and w.isupper() and w.lower() in ABBREVIATIONS)
    restored = restore(typed, keep=caps) if restore else typed
    accented_words = WORD.findall(_expand(" ".join(restored), caps))
    matched = thesaurus.matches(folded, " ".join(restored), plain) if thesaurus else []
    # Each legal term is its own run of words: bigrams never run across from the question into it.
    runs = [accented_words] + [WORD.findall(fold(term)) for term in terms_of(matched)]
    tokens = {"accented": [t for words_ in runs for t in with_bigrams(words_)],
              "plain": [t for words_ in runs for t in with_bigrams([strip_diacritics(w) for w in words_])]}
    return Query(text=text, accented=accented, restored=" ".join(restored), tokens=tokens,
                 documents=refs, article=article, clause=clause, phrases=matched, own_words=accented_words,
                 subject=subject_of(" ".join([plain, *strip_diacritics(" ".join(restored)).split()])))
