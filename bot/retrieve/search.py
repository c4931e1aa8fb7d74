"""Hybrid search: lexical (BM25, two fields) and dense (FAISS), fused, with references honoured.

Order of precedence, from the user's point of view:
1. an article they named ("Điều 11 Nghị định 73") comes first, the named clause first of all;
2. passages of a document they named come before other documents;
3. within those, the fused lexical + dense score decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from bot import embed
from bot.errors import BadQuery
from bot.index import Index, Passage
from bot.retrieve import dating
from bot.retrieve.fusion import convex, minmax, rrf, top
from bot.retrieve.query import DocumentRef, Query, parse, subjects_in
from bot.retrieve.successor import Successors
from bot.index.lexical import with_bigrams
from bot.ingest.chunker import PREAMBLE
from bot.text import strip_diacritics, words

_ARTICLE_LINE = re.compile(r"^Điều\s+\d+\w?\.?\s*")

CANDIDATES = 100
# How much a passage gains when the question covers its heading's bigrams
# ("bảo vệ cán bộ" -> "Điều 11. Biện pháp bảo vệ cán bộ"): ALQAC R@1 0.88 -> 0.90 (0.3-0.4 best; 0.7 falls to 0.87).
HEADING_WEIGHT = 0.4
# ... for a question of up to this many bigrams; a longer one gets a proportionally
# smaller share. A short question names its topic, which a heading names too; a long
# one states the rule, and the text that holds the statement (lexical and dense alike)
# is the better witness than a heading it happens to contain. ALQAC line 3 ("... thông
# tin trong Cơ sở dữ liệu về cư trú ..." -> Điều 38, not "Điều 36. Cơ sở dữ liệu về
# cư trú") and line 39. ALQAC R@1 0.92 -> 0.93, paraphrase set unchanged (8-15 alike).
HEADING_BIGRAMS = 10
# Structural priors. A legal text's title block and "Căn cứ ..." answer nothing
# on their own; "Phạm vi điều chỉnh" / "Đối tượng áp dụng" restate the document's
# subject and so match every topical question about it. Both are lowered unless
# the question asks about them (heading covered). Neutral on ALQAC (no gold
# answer is such a passage); without them the header of Nghị định 73 and its
# Điều 1 outrank Điều 11 for "bảo vệ cán bộ ... như thế nào".
PREAMBLE_PENALTY = 0.5
SCOPE_PENALTY = 0.3
_SCOPE = re.compile(r"phạm vi điều chỉnh|đối tượng áp dụng", re.I)
# Closing provisions ("Hiệu lực thi hành", "Trách nhiệm thi hành", "Nơi nhận") name
# every minister, chairman and body, so a question about who does what meets them;
# they say only who executes the text. Lowered as the scope articles are, unless asked.
# Paraphrase set: "Thủ trưởng cơ quan có trách nhiệm gì ...?" met NĐ 161's "Trách
# nhiệm thi hành". A question with "hiệu lực" or "thi hành" asks about them.
_CLOSING = re.compile(r"^(?:nơi nhận|hiệu lực thi hành|trách nhiệm thi hành|điều khoản thi hành"
                      r"|tổ chức thực hiện)", re.I)
_IN_EFFECT = frozenset({"hieu_luc", "thi_hanh"})
# The law's term for the official's word (thesaurus: "ai có quyền" -> "thẩm quyền")
# in an article's heading marks the article about it: "Điều 12. Thẩm quyền xử lý
# kỷ luật đối với viên chức", whose other heading words the question shares with
# Điều 15-18 ("Hội đồng kỷ luật viên chức") as well. Paraphrase R@1 0.72 -> 0.77.
TERM_WEIGHT = 0.2
# A heading that only names the groups ("Điều 1. Cán bộ, công chức", "Điều 2. Viên chức")
# is covered by every question about that group; it counts only when the question asks
# what the group is ("công chức là gì", "... là ..."). Paraphrase set: such articles
# took rank 1 from the rule asked about ("Ai là người quyết định số lượng biên chế?").
_GROUP_WORDS = frozenset({"can", "bo", "cong", "chuc", "vien"})
_DEFINITION = re.compile(r"\b(?:la|nghia|hieu|khai niem|dinh nghia)\b")
# "Giải thích từ ngữ" defines every term of a text, so it meets most questions about
# it; it answers one that asks what something is ("... là gì", "... là ... đúng hay sai").
_GLOSSARY = re.compile(r"^giải thích từ ngữ", re.I)
# A question about one group (cán bộ / công chức / viên chức) is answered first from
# a text about that group: a passage whose heading (or, failing that, document
# title) names only other groups is lowered. "Công chức bị kỷ luật có mấy hình
# thức?" otherwise meets Nghị định 112's "hình thức kỷ luật đối với viên chức".
SUBJECT_PENALTY = 0.3
# News articles retell the law in other words and in many chunks; with a model that
# reads them, they crowd the legal texts out. They are lowered, not removed: a
# question only news answers still finds them.
NEWS_PENALTY = 0.2
# An article out of force on the asked date, among the best candidates, whose
# replacing text has a matching article (bot/retrieve/successor.py): that
# article is the answer in force, and is ranked just above it. Only confident
# matches: of the Luật 22/2008 -> 80/2025 pairs, read one by one, those scoring
# 0.41 or more were right but for 2 of 32 (Điều 62 -> 11, 68 -> 41), those below
# mostly wrong (Điều 15 "Đạo đức" -> 1 at 0.409, 45 -> 19 at 0.402, 71 "Nhà ở
# công vụ" -> 12 "Đạo đức công vụ" at 0.31). Paraphrase set R@1: bench/REPORT.md.
SUCCESSOR_MIN = 0.41
SUCCESSOR_DEPTH = 10
# A passage that defines what the question defines ("Chất hướng thần là gì?" ->
# "... Chất hướng thần là chất ..."; "X là Y, đúng hay sai?" -> "X là ...") answers
# it, whatever else the glossary around it says. ALQAC R@1: see bench/REPORT.md.
DEFINES_WEIGHT = 0.45
DEFINES_DEPTH = 50
_DEFINED = re.compile(r"^(?:viec |khai niem |the nao la )?(?P<term>.+?)(?: duoc (?:dinh nghia|hieu|goi))? la\b")
_DOC_BONUS = 1.0
_ARTICLE_BONUS = 2.0
_CLAUSE_BONUS = 0.5


@dataclass
class Hit:
    passage: Passage
    score: float
    rank: int
    similarity: float = 0.0  # cosine of the question and the passage (dense model)
    subjects: frozenset = frozenset()  # the groups the passage's rule is about (subject_groups)


@dataclass
class SearchResult:
    query: Query
    hits: list[Hit]
    documents: list[int] = field(default_factory=list)  # ids of the documents the query named
    missing: list[DocumentRef] = field(default_factory=list)  # named but not in the corpus
    period: object | None = None  # validity.Period: the dates the question asks about
    # A named article the named document(s) do not have: (article, document label).
    missing_article: tuple[str, str] | None = None
    # The model's calibrated (floor, strong) cosines for answer-or-refuse (bot/embed.REFUSAL).
    similarity_bounds: tuple[float, float] | None = None


def _plain(text: str | None) -> str:
    return strip_diacritics(text or "").lower()


def resolve(ref: DocumentRef, index: Index) -> list[int]:
    """Ids of the indexed documents a reference points at."""
    found = []
    for doc in index.documents.values():
        meta = doc.meta
        if ref.number:
            number = _plain(meta.number)
            head = re.match(r"\d+", number)
            if not head or head.group(0) != ref.number:
                continue
            if ref.year and ref.year not in number:
                continue
            if ref.type and meta.type and ref.type != meta.type:
                continue
            found.append(doc.id)
        elif ref.words and meta.type == ref.type:
            # Padded so that parts match whole words only: "hình sự" is not in
            # "hành chính" although "hinh" is in "chinh" (ALQAC: "Bộ luật hình sự"
            # named Luật Tố tụng hành chính).
            title = " " + " ".join(re.findall(r"\w+", _plain(meta.title))) + " "
            words = ref.words.split()
            # The longest leading part of what was said that the title contains.
            while words and f" {' '.join(words)} " not in title:
                words.pop()
            if len(words) >= 2 or (words and title.endswith(f" {' '.join(words)} ")):
                found.append((len(words), doc.id))
    if found and isinstance(found[0], tuple):
        best = max(n for n, _ in found)
        return [d for n, d in found if n == best]
    return found


class Searcher:
    """Answers `search(text, k)` over one opened index with one embedder."""

    def __init__(self, index: Index, embedder, dense_weight: float | None = None,
                 max_query_chars: int = 2000, clock=None, fusion: str = "convex"):
        self.index = index
        self.embedder = embedder
        self.fusion = fusion  # "rrf" only for the benchmark's comparison
        # None: the weight the index was built for (measured per model, bot/embed).
        recorded = index.config.get("dense_weight")
        self.dense_weight = (dense_weight if dense_weight is not None
                             else recorded if recorded is not None else embed.dense_weight(embedder.name))
        self.max_query_chars = max_query_chars
        self.clock = clock  # () -> date; None: bot.clock.today
        self.successors = Successors(index)

    def parse(self, text: str) -> Query:
        text = (text or "").strip()
        if not text:
            raise BadQuery("Câu hỏi đang trống. Hãy nhập nội dung cần tra cứu.")
        if len(text) > self.max_query_chars:
            raise BadQuery(f"Câu hỏi quá dài ({len(text)} ký tự; tối đa {self.max_query_chars}). "
                           "Hãy rút gọn câu hỏi.")
        query = parse(text, self.index.accents.restore, self.index.thesaurus)
        if not query.tokens["plain"] and not query.article:
            raise BadQuery("Câu hỏi không có chữ hay số nào để tra cứu. Hãy nhập câu hỏi bằng chữ.")
        return query

    def lexical_scores(self, query: Query) -> np.ndarray:
        """BM25 of the restored accented words plus BM25 of the accent-free words.

        Measured on ALQAC (README): restoration lifts half-accented questions
        from R@1 0.70 to 0.88; the accent-free field adds a safety net for a
        wrong restoration (fully stripped R@1 0.86 -> 0.87) and costs ~1 ms.
        """
        lex = self.index.lexical
        return (lex.scores("accented", query.tokens["accented"])
                + lex.scores("plain", query.tokens["plain"]))

    def search(self, text: str, k: int = 5) -> SearchResult:
        query = self.parse(text)
        n = len(self.index)
        result = SearchResult(query, [], similarity_bounds=embed.REFUSAL.get(self.embedder.name))
        for ref in query.documents:
            ids = resolve(ref, self.index)
            (result.documents.extend(ids) if ids else result.missing.append(ref))
        # The text in force on the asked date first (issue 15): see bot/retrieve/dating.py.
        outdated = dating.date_query(result, self.index, self.clock() if self.clock else None)
        if n == 0:
            return result

        fetch = _Fetched(self.index)  # passage texts, read from SQLite once for every step below
        lexical = self.lexical_scores(query)
        qvec = self.embedder.encode_query(query.dense_text)
        _, dense_top = self.index.dense.search(qvec, CANDIDATES)
        in_docs = np.isin(self.index.doc_of, result.documents) if result.documents else None
        pools = [top(lexical, CANDIDATES), dense_top]
        if in_docs is not None:  # the named document's best passages are always candidates
            own = np.flatnonzero(in_docs)
            pools.append(own[top(lexical[own], CANDIDATES)])
        articles = self._named_article(query, result.documents)
        pools.append(np.array(articles, dtype=np.int64))
        candidates = np.unique(np.concatenate(pools).astype(np.int64))

        fused = self.fuse(lexical[candidates], self.index.dense.similarity(qvec, candidates))
        fused = fused + self._structure(query, candidates)
        if DEFINES_WEIGHT:
            fused = fused + DEFINES_WEIGHT * self._defines(query, candidates, fused, fetch)
        if query.subject:
            fused = fused - SUBJECT_PENALTY * self._other_subject(query.subject, candidates)
        if NEWS_PENALTY:
            fused = fused - NEWS_PENALTY * self.index.is_news[candidates]
        if in_docs is not None:
            fused = fused + _DOC_BONUS * in_docs[candidates]
        if articles:
            fused = fused + _ARTICLE_BONUS * np.isin(candidates, articles)
            fused = fused + _CLAUSE_BONUS * self._clause_match(query, candidates, articles, fetch)
        fused = fused - dating.penalty_of(outdated, self.index.doc_of[candidates])
        if outdated and not result.documents:
            candidates, fused = self._in_force_first(candidates, fused, outdated, fetch)
        order = candidates[top(fused, k)]
        scores = dict(zip(candidates.tolist(), fused.tolist()))
        similarity = dict(zip(order.tolist(), self.index.dense.similarity(qvec, order).tolist()))
        result.hits = [Hit(p, round(scores[p.position], 4), i + 1, round(similarity[p.position], 4),
                           self.subjects(p.position))
                       for i, p in enumerate(fetch(order.tolist()))]
        self.successors.annotate([h.passage for h in result.hits])
        if query.article and not articles and result.documents:
            names = {self.index.documents[d].meta.label for d in result.documents}
            result.missing_article = (query.article, ", ".join(sorted(names)))
        return result

    def fuse(self, lexical: np.ndarray, dense: np.ndarray) -> np.ndarray:
        """Convex (shipped) or reciprocal-rank fusion of the candidates' two scores."""
        if self.fusion == "rrf":
            ranks = [np.argsort(-lexical, kind="stable"), np.argsort(-dense, kind="stable")]
            fused = rrf(ranks, len(lexical), weights=[1.0 - self.dense_weight, self.dense_weight])
            return minmax(fused)  # on the same 0..1 scale as convex, so the bonuses keep their meaning
        return convex(lexical, dense, self.dense_weight)

    def _in_force_first(self, candidates: np.ndarray, fused: np.ndarray, outdated: dict[int, float],
                        fetch: "_Fetched") -> tuple[np.ndarray, np.ndarray]:
        """Rank the in-force successor of a leading out-of-force article just above it."""
        best = top(fused, SUCCESSOR_DEPTH)
        lifted: dict[int, float] = {}
        for passage, score in zip(fetch(candidates[best].tolist()), fused[best].tolist()):
            if passage.document_id not in outdated:
                continue
            found = self.successors.find(passage)
            if found is None or found.score < SUCCESSOR_MIN:
                continue
            for pos in self.index.article_positions(found.document_id, found.article):
                lifted[pos] = max(lifted.get(pos, -np.inf), score + 1e-3)
        if not lifted:
            return candidates, fused
        scores = dict(zip(candidates.tolist(), fused.tolist()))
        for pos, score in lifted.items():
            scores[pos] = max(scores.get(pos, -np.inf), score)
        positions = np.fromiter(scores, dtype=np.int64, count=len(scores))
        return positions, np.fromiter(scores.values(), dtype=np.float32, count=len(scores))

    def subjects(self, position: int) -> frozenset:
        """The groups a passage's rule is about: those its heading names, else its document's title."""
        named = subject_groups(self.index.heading_of[position])
        if not named:
            doc = self.index.documents[int(self.index.doc_of[position])]
            named = subject_groups(doc.meta.title or "")
        return named

    def _other_subject(self, subject: str, candidates: np.ndarray) -> np.ndarray:
        """1 where a candidate is about other groups only."""
        out = np.zeros(len(candidates), dtype=np.float32)
        for i, pos in enumerate(candidates.tolist()):
            named = self.subjects(pos)
            out[i] = bool(named) and subject not in named
        return out

    def _structure(self, query: Query, candidates: np.ndarray) -> np.ndarray:
        """Heading coverage (the share of a heading's bigrams the question holds, weighted)
        and the structural priors (title block, scope and closing articles not asked about).

        Compared without diacritics: the third-party OCR of the 2026 decrees has
        headings such as "Thẫm quyền xử lý kỷ luật", which "ai có quyền" (thẩm
        quyền) must still cover."""
        asked = {t for t in query.tokens["plain"] if "_" in t}
        weight = HEADING_WEIGHT * min(1.0, HEADING_BIGRAMS / max(1, len(asked)))
        defining = bool(_DEFINITION.search(_plain(query.text)))
        terms = [" ".join(words(_plain(t))) for t in query.expansions]
        out = np.zeros(len(candidates), dtype=np.float32)
        for i, pos in enumerate(candidates.tolist()):
            heading = self.index.heading_of[pos]
            if heading == PREAMBLE:
                out[i] = -PREAMBLE_PENALTY
                continue
            grams, topic, scope, closing, glossary = _heading_grams(heading)
            if not defining:
                grams, scope = topic, scope or glossary
            cover = len(grams & asked) / len(grams) if grams else 0.0
            if closing and not asked & _IN_EFFECT:  # "trách nhiệm" alone does not ask who executes it
                out[i] = -SCOPE_PENALTY
            else:
                out[i] = weight * cover if cover else (-SCOPE_PENALTY if scope else 0.0)
            if terms and any(t in _plain_heading(heading) for t in terms):
                out[i] += TERM_WEIGHT
        return out

    def _defines(self, query: Query, candidates: np.ndarray, fused: np.ndarray, fetch: "_Fetched") -> np.ndarray:
        """1 where one of the best candidates' text says "<the question's term> là" (defines it).

        Only the best DEFINES_DEPTH are read: their text comes from SQLite."""
        out = np.zeros(len(candidates), dtype=np.float32)
        m = _DEFINED.match(" ".join(words(_plain(query.text))))
        term = m.group("term").split() if m else []
        if not 2 <= len(term) <= 12:
            return out
        said = re.compile(rf"(?<!\w){re.escape(' '.join(term))} (?:duoc hieu )?la\b")
        best = top(fused, DEFINES_DEPTH)
        for i, p in zip(best.tolist(), fetch(candidates[best].tolist())):
            out[i] = bool(said.search(" ".join(words(_plain(p.text)))))
        return out

    def _named_article(self, query: Query, documents: list[int]) -> list[int]:
        """Positions of the article the question names, in the named document(s)."""
        if not query.article:
            return []
        docs = documents or list(self.index.documents)
        positions = []
        for doc in docs:
            positions.extend(self.index.article_positions(doc, query.article))
        # Without a named document an article number alone is too ambiguous to pin.
        if not documents and len({self.index.doc_of[p] for p in positions}) > 1:
            return []
        return positions

    def _clause_match(self, query: Query, candidates: np.ndarray, articles: list[int],
                      fetch: "_Fetched") -> np.ndarray:
        if not query.clause:
            return np.zeros(len(candidates))
        wanted = set(articles)
        rows = fetch([int(c) for c in candidates if int(c) in wanted])
        hit = {p.position for p in rows if _holds_clause(p, query.clause)}
        return np.array([int(c) in hit for c in candidates], dtype=np.float32)


def _heading_grams(heading: str) -> tuple[frozenset[str], frozenset[str], bool, bool, bool]:
    """A heading's accent-free bigrams, those not made of group words only, and whether
    it is a scope, a closing or a glossary article (lowered unless asked)."""
    return _title_grams(_ARTICLE_LINE.sub("", heading))


@lru_cache(maxsize=65536)
def _title_grams(title: str) -> tuple[frozenset[str], frozenset[str], bool, bool, bool]:
    # Cached on the title without its article number: titles repeat across
    # documents ("Hiệu lực thi hành"), and folding every candidate's heading on
    # each query was a top non-model cost in cProfile.
    grams = frozenset(t for t in with_bigrams([strip_diacritics(w) for w in words(title)]) if "_" in t)
    topic = frozenset(g for g in grams if not set(g.split("_")) <= _GROUP_WORDS)
    return (grams, topic, bool(_SCOPE.search(title)), bool(_CLOSING.search(title)),
            bool(_GLOSSARY.search(title)))


class _Fetched:
    """Passages read from SQLite once per search: the definition, successor, clause and
    result steps read overlapping sets of the best candidates."""

    def __init__(self, index: Index):
        self.index, self.known = index, {}

    def __call__(self, positions: list[int]) -> list[Passage]:
        missing = [p for p in dict.fromkeys(positions) if p not in self.known]
        self.known.update((p.position, p) for p in self.index.passages(missing))
        return [self.known[p] for p in positions]


@lru_cache(maxsize=65536)
def _plain_heading(heading: str) -> str:
    return " ".join(words(_plain(_ARTICLE_LINE.sub("", heading))))


@lru_cache(maxsize=65536)
def subject_groups(text: str) -> frozenset:
    """cán bộ / công chức / viên chức named in a heading or title (cached: headings repeat)."""
    return frozenset(subjects_in(strip_diacritics(text).lower()))


def _holds_clause(passage: Passage, clause: str) -> bool:
    if passage.clause:
        first, _, last = passage.clause.partition("-")
        if last and first.isdigit() and last.isdigit() and clause.isdigit():
            return int(first) <= int(clause) <= int(last)
        return passage.clause == clause
    return bool(re.search(rf"(?m)^{re.escape(clause)}\.\s", passage.text))
