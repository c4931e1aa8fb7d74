"""The stacks a user would pick instead of cadrebot, built from the same law corpus.

- `Bm25Articles`: BM25 alone (bm25s) over whole articles with folded syllable
  tokens, the lexical floor the issue names. Queries go in as typed, so an
  unaccented question only matches unaccented words in the text.
- `TutorialStack`: the LangChain tutorial recipe, RecursiveCharacterTextSplitter
  (chunk_size=1000, chunk_overlap=200) over each law's text, the same embedding
  model, and a flat FAISS inner-product index. A chunk counts for every article
  its character span overlaps.

Both return ranked lists; scoring lives in bot.evaluate.metrics.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

import bm25s
import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.evaluate.alqac import law_document  # noqa: E402
from bot.text import words  # noqa: E402

Key = tuple[str, str]  # (law id, article id)


class Bm25Articles:
    """bm25s over whole articles (title + body), syllable tokens."""

    def __init__(self, laws: list[dict]):
        self.keys: list[Key] = []
        texts = []
        for law in laws:
            for art in law["articles"]:
                self.keys.append((law["id"], art["id"]))
                texts.append(f"{art.get('title') or ''}\n{art['text']}")
        self.bm25 = bm25s.BM25(k1=1.2, b=0.75)
        self.bm25.index([words(t) for t in texts], show_progress=False)

    def ranked(self, question: str, k: int = 10) -> list[Key]:
        known = [self.bm25.vocab_dict[w] for w in words(question) if w in self.bm25.vocab_dict]
        if not known:
            return []
        scores = self.bm25.get_scores(known)
        return [self.keys[i] for i in np.argsort(-scores)[:k]]


class Chunk(NamedTuple):
    law: str
    articles: frozenset[str]  # articles whose text this chunk overlaps
    text: str

    def hits(self, gold: frozenset) -> bool:
        return any((self.law, a) in gold for a in self.articles)


class TutorialStack:
    """RecursiveCharacterTextSplitter(1000, 200) + the embedder + faiss.IndexFlatIP."""

    def __init__(self, laws: list[dict], embedder, chunk_size: int = 1000, overlap: int = 200,
                 progress: bool = False):
        try:
            from langchain_text_splitters import RecursiveCharacterTextSplitter
        except ImportError as exc:
            raise ImportError("pip install langchain-text-splitters (the 'bench' extra)") from exc
        splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=overlap,
                                                  add_start_index=True)
        self.chunks: list[Chunk] = []
        for law in laws:
            if not law["articles"]:
                continue
            text, spans = law_document(law)
            for doc in splitter.create_documents([text]):
                start = doc.metadata["start_index"]
                end = start + len(doc.page_content)
                arts = frozenset(s.article for s in spans if s.start < end and start < s.end)
                self.chunks.append(Chunk(law["id"], arts, doc.page_content))
        self.embedder = embedder
        vectors = embedder.encode_documents([c.text for c in self.chunks], progress=progress)
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)

    def ranked(self, question: str, k: int = 10) -> list[Chunk]:
        _, ids = self.index.search(self.embedder.encode_query(question)[None, :], k)
        return [self.chunks[i] for i in ids[0] if i >= 0]
