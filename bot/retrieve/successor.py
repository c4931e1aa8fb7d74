"""The article of the replacing text that matches an article of a superseded one.

When an answer cites Điều 79 of Luật 22/2008 (replaced by Luật 80/2025), the
official needs the rule in force: Điều 36 of Luật 80/2025. The match is found
by article heading and content: laws that replace one another keep most of
their headings ("Thời hiệu, thời hạn xử lý kỷ luật") and much of their
wording, while article numbers move.

Computed at query time, only for the few superseded passages a search returns,
and cached per index: it needs nothing the index does not already hold, is
always consistent with the documents as indexed (a replacement added or a
sidecar changed applies at once, without a build step knowing about relations),
and costs a few milliseconds once per article (a successor of ~50 articles).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass

from bot.index import Index, Passage
from bot.index.lexical import with_bigrams
from bot.ingest.metadata import number_key
from bot.text import words

# Weights of heading and content similarity, and the least score accepted.
# Measured on Luật 22/2008 -> 80/2025: true pairs (79->36, 80->37, 78->35)
# score 0.6-0.9, the best wrong candidate of an article with no counterpart
# stays under 0.25.
HEADING_WEIGHT = 0.6
MIN_SCORE = 0.3


@dataclass(frozen=True)
class Successor:
    """Where the replacing text says what a superseded article said."""

    document_id: int
    number: str
    label: str  # "Luật 80/2025/QH15"
    article: str
    heading: str  # "Điều 36. Hình thức kỷ luật đối với công chức"
    score: float


def _terms(text: str) -> Counter:
    return Counter(with_bigrams([w.lower() for w in words(text)]))


def _cosine(a: Counter, b: Counter) -> float:
    dot = sum(v * b.get(k, 0) for k, v in a.items())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def _jaccard(a: Counter, b: Counter) -> float:
    union = len(a.keys() | b.keys())
    return len(a.keys() & b.keys()) / union if union else 0.0


Profile = tuple[Counter, Counter]  # an article's (title, text) terms


def profile(article: tuple[str, str]) -> Profile:
    return _terms(article[0]), _terms(article[1])


def similarity(old: Profile, new: Profile) -> float:
    """Heading overlap and content cosine of two articles' profiles."""
    return HEADING_WEIGHT * _jaccard(old[0], new[0]) + (1 - HEADING_WEIGHT) * _cosine(old[1], new[1])


def best_match(old: tuple[str, str], candidates: dict[str, tuple[str, str]]) -> tuple[str, float] | None:
    """The candidate article (title, text) most like `old`, when it is alike enough."""
    return _best(profile(old), {article: profile(new) for article, new in candidates.items()})


def _best(old: Profile, candidates: dict[str, Profile]) -> tuple[str, float] | None:
    scored = [(similarity(old, new), article) for article, new in candidates.items()]
    if not scored:
        return None
    score, article = max(scored, key=lambda x: (x[0], -int(x[1]) if x[1].isdigit() else 0))
    return (article, score) if score >= MIN_SCORE else None


class Successors:
    """Finds (and remembers) the successor article of superseded passages in one index."""

    def __init__(self, index: Index):
        self.index = index
        self._cache: dict[tuple[int, str], Successor | None] = {}
        # Profiles of each replacing document's articles, built once: building them for
        # every superseded candidate made a cold search take 90 ms (bench/meaning.py p95).
        self._profiles: dict[int, dict[str, Profile]] = {}
        self._lock = threading.Lock()

    def replacing(self, passage: Passage) -> list[int]:
        """Ids of indexed documents whose number is among the passage document's `replaced_by`."""
        wanted = {number_key(n) for n in passage.meta.replaced_by}
        return [d.id for d in self.index.documents.values()
                if d.meta.number and number_key(d.meta.number) in wanted]

    def find(self, passage: Passage) -> Successor | None:
        if not passage.article or not passage.meta.replaced_by:
            return None
        key = (passage.document_id, passage.article)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        found = self._compute(passage)
        with self._lock:
            self._cache[key] = found
        return found

    def _profiles_of(self, doc_id: int) -> dict[str, Profile]:
        with self._lock:
            known = self._profiles.get(doc_id)
        if known is None:
            known = {a: profile(t) for a, t in self.index.articles(doc_id).items()}
            with self._lock:
                self._profiles[doc_id] = known
        return known

    def _compute(self, passage: Passage) -> Successor | None:
        old = self.index.articles(passage.document_id).get(passage.article)
        if old is None:
            return None
        best, mine = None, profile(old)
        for doc_id in self.replacing(passage):
            match = _best(mine, self._profiles_of(doc_id))
            if match and (best is None or match[1] > best[2]):
                best = (doc_id, match[0], match[1])
        if best is None:
            return None
        doc = self.index.documents[best[0]]
        title = self.index.articles(best[0])[best[1]][0]
        heading = f"Điều {best[1]}. {title}" if title else f"Điều {best[1]}"
        return Successor(doc.id, doc.meta.number or "", doc.meta.label, best[1], heading,
                         round(best[2], 3))

    def annotate(self, passages: list[Passage]) -> None:
        """Set `successor` on the superseded passages among these."""
        for p in passages:
            if p.meta.replaced_by:
                p.successor = self.find(p)
