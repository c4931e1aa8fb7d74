"""Lexical backend: BM25 (bm25s) over Vietnamese syllables and syllable bigrams.

bm25s was chosen because it is maintained, fast (sparse matrices, no Python
loop per document), returns a full score vector for fusion, and saves as
.npy + JSON (no pickle). Two fields are indexed: `accented` (folded text) and
`plain` (diacritics stripped), so a query typed without accents still matches.
Syllable bigrams stand in for Vietnamese words: on ALQAC they lifted R@1 from
0.75 to 0.83 at chunk level, while pyvi word segmentation gave 0.76 at 3x the
cost (README, "Measurements").

bm25s cannot add documents to an index (xhluca/bm25s#5, #98): `BM25.index`
re-tokenises the whole corpus in Python, 48 s and 8 GB at 100k chunks. So each
index version also keeps its term counts (`TermCounts`, a sparse chunk x term
matrix). A build carries them over, drops the rows of removed chunks, appends
the new ones, and derives bm25s's score matrix from them with bm25s's own
Lucene formulas, vectorised. bm25s then saves, loads and scores as usual.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import bm25s
import numpy as np
import scipy.sparse as sp

from bot.text import strip_diacritics, words

# Bump when tokens or the files built from them change
# (3: accents.json; 4: "_" is no letter; 5: term counts kept, a lone mark is no word).
ANALYZER_VERSION = "5"
FIELDS = ("accented", "plain")
K1, B = 1.2, 0.75
_COUNTS = ("indptr", "indices", "data")
_BLOCK = 1 << 20


def with_bigrams(syllables: list[str]) -> list[str]:
    return syllables + [f"{a}_{b}" for a, b in zip(syllables, syllables[1:])]


# The passage's own heading counts this many extra times (a BM25F-style field
# weight): on ALQAC it lifted R@1 from 0.83 to 0.88 (x2: 0.87).
HEADING_BOOST = 2


def analyze(text: str, heading: str = "") -> dict[str, list[str]]:
    """The lexical fields of a passage; `heading` (its article line) is weighted up."""
    accented = words(text)
    if heading:
        accented += words(heading) * HEADING_BOOST
    plain = [strip_diacritics(w) for w in accented]
    return {"accented": with_bigrams(accented), "plain": with_bigrams(plain)}


class TermCounts:
    """How often each term occurs in each chunk of one field: the state a build carries over.

    A CSR matrix (row = chunk position, column = id in `vocab`) from the previous
    version, plus rows appended by `add` for new chunks.
    """

    def __init__(self, vocab: list[str] | None = None, matrix: sp.csr_matrix | None = None):
        self.vocab = list(vocab or [])
        self.ids = {t: i for i, t in enumerate(self.vocab)}
        self.old = matrix if matrix is not None else sp.csr_matrix((0, len(self.vocab)), dtype=np.uint16)
        self._new: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, tokens: list[str]) -> None:
        """Append one chunk's row."""
        counted = Counter(tokens)
        for token in counted:
            if token not in self.ids:
                self.ids[token] = len(self.vocab)
                self.vocab.append(token)
        ids = np.fromiter((self.ids[t] for t in counted), np.int32, len(counted))
        # 16 bits: BM25's tf term is saturated long before 65535 occurrences.
        n = np.fromiter(counted.values(), np.int64, len(counted))
        self._new.append((ids, np.minimum(n, np.iinfo(np.uint16).max).astype(np.uint16)))

    def merged(self, keep: np.ndarray | None = None) -> sp.csr_matrix:
        """Old rows at `keep` (all when None), then the added rows, as one matrix."""
        width = len(self.vocab)
        whole = keep is None or (len(keep) == self.old.shape[0] and np.array_equal(keep, np.arange(len(keep))))
        old = self.old if whole else self.old[keep]
        old = sp.csr_matrix((old.data, old.indices, old.indptr), shape=(old.shape[0], width))
        lengths = [len(ids) for ids, _ in self._new]
        new = sp.csr_matrix(
            (np.concatenate([c for _, c in self._new]) if lengths else np.zeros(0, np.uint16),
             np.concatenate([i for i, _ in self._new]) if lengths else np.zeros(0, np.int32),
             np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)),
            shape=(len(lengths), width))
        return sp.vstack([old, new], format="csr", dtype=np.uint16)

    @staticmethod
    def compact(matrix: sp.csr_matrix, vocab: list[str]) -> tuple[sp.csr_matrix, list[str]]:
        """Drop the terms no chunk has any more (their documents were removed)."""
        used = np.zeros(len(vocab), dtype=bool)
        used[matrix.indices] = True
        if used.all():
            return matrix, vocab
        new_id = np.cumsum(used) - 1
        matrix = sp.csr_matrix((matrix.data, new_id[matrix.indices].astype(np.int32), matrix.indptr),
                               shape=(matrix.shape[0], int(used.sum())))
        return matrix, [t for t, u in zip(vocab, used) if u]

    @staticmethod
    def save(matrix: sp.csr_matrix, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in _COUNTS:
            np.save(folder / f"counts.{name}.npy", getattr(matrix, name), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> "TermCounts":
        """A saved field (`bm25-<field>/`): the counts, and the vocabulary from bm25s's file."""
        with open(folder / "vocab.index.json", encoding="utf-8") as fh:
            ids = json.load(fh)
        vocab = sorted(ids, key=ids.__getitem__)
        arrays = [np.load(folder / f"counts.{name}.npy", allow_pickle=False, mmap_mode="r")
                  for name in _COUNTS]
        return cls(vocab, sp.csr_matrix((arrays[2], arrays[1], arrays[0]),
                                        shape=(len(arrays[0]) - 1, len(vocab))))


def bm25_model(counts: sp.csr_matrix, vocab: list[str]) -> bm25s.BM25:
    """A bm25s model scoring as `bm25s.BM25(k1, b).index(tokens)` would (method "lucene",
    checked by tests/test_properties.py), computed from counts in one vectorised pass.
    float32 throughout, as bm25s stores scores: at 100k chunks float64 temporaries
    doubled both the time and the peak memory of a build."""
    n = counts.shape[0]
    doc_len = _range_sums(counts.data, counts.indptr).astype(np.float64)
    norm = (K1 * (1 - B + B * doc_len / (doc_len.mean() if n else 1.0))).astype(np.float32)
    by_term = counts.tocsc()  # bm25s's layout: one column of chunks per term
    df = np.diff(by_term.indptr)
    idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
    # score = idf * tf / (tf + norm), in blocks: no nnz-sized temporaries (memory at 100k).
    scores = np.repeat(idf, df)
    for start in range(0, len(scores), _BLOCK):
        tf = by_term.data[start:start + _BLOCK].astype(np.float32)
        scores[start:start + _BLOCK] *= tf / (tf + norm[by_term.indices[start:start + _BLOCK]])
    model = bm25s.BM25(k1=K1, b=B)
    model.scores = {"data": scores, "indices": by_term.indices.astype(np.int32, copy=False),
                    "indptr": by_term.indptr, "num_docs": n}
    model.vocab_dict = {t: i for i, t in enumerate(vocab)}
    model.unique_token_ids_set = set(model.vocab_dict.values())
    model.nonoccurrence_array = None
    # Occurrences of each term in the whole field: the accent model's counts.
    model.totals = _range_sums(by_term.data, by_term.indptr)
    return model


def _range_sums(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """values[indptr[i]:indptr[i + 1]].sum() for every i (row or column totals).

    np.add.reduceat, not a cumulative sum: a fresh 150 MB temporary costs 0.3 s of
    page faults on this VM, more than the arithmetic.
    """
    out = np.zeros(len(indptr) - 1, dtype=np.int64)
    filled = np.diff(indptr) > 0  # reduceat would repeat the next value for an empty range
    if filled.any():
        out[filled] = np.add.reduceat(values, indptr[:-1][filled], dtype=np.int64)
    return out


def _merged(counts: TermCounts, keep: np.ndarray | None, order: np.ndarray | None
            ) -> tuple[sp.csr_matrix, list[str]]:
    """One field's counts for the new version: kept old rows, then the added ones, compacted."""
    matrix = counts.merged(keep)
    counts.old = None  # the previous version's rows, unmapped once merged
    if order is not None:
        matrix = matrix[order]
    return TermCounts.compact(matrix, counts.vocab)


def write(folder: Path, counts: dict[str, TermCounts], keep: np.ndarray | None = None,
          order: np.ndarray | None = None) -> None:
    """The builder's path: each field's counts and bm25s model written, one field in memory at a time."""
    for name in FIELDS:
        target = folder / f"bm25-{name}"
        matrix, vocab = _merged(counts[name], keep, order)
        TermCounts.save(matrix, target)
        model = bm25_model(matrix, vocab)
        del matrix
        model.save(target, show_progress=False)
        np.save(target / "totals.npy", model.totals, allow_pickle=False)


class LexicalIndex:
    """One BM25 index per field; scores are full vectors over chunk positions."""

    def __init__(self, fields: dict[str, bm25s.BM25]):
        self.fields = fields

    @classmethod
    def from_counts(cls, counts: dict[str, TermCounts], keep: np.ndarray | None = None,
                    order: np.ndarray | None = None) -> "LexicalIndex":
        """In memory, the index `write` would save (kept old rows, then the added ones)."""
        return cls({name: bm25_model(*_merged(counts[name], keep, order)) for name in FIELDS})

    def scores(self, field: str, tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk for these tokens (unknown tokens ignored)."""
        model = self.fields[field]
        vocab = model.vocab_dict
        known = [vocab[t] for t in tokens if t in vocab]
        if not known:
            return np.zeros(model.scores["num_docs"], dtype=np.float32)
        return model.get_scores(known)

    def knows(self, field: str, token: str) -> bool:
        return token in self.fields[field].vocab_dict

    def totals(self, field: str) -> tuple[dict[str, int], np.ndarray]:
        """Term ids and occurrences of every term in the whole field (the accent model's counts)."""
        model = self.fields[field]
        return model.vocab_dict, model.totals

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        fields = {}
        for name in FIELDS:
            # Memory-mapped: a query reads only its terms' columns.
            model = bm25s.BM25.load(folder / f"bm25-{name}", show_progress=False, allow_pickle=False,
                                    mmap=True)
            model.totals = np.load(folder / f"bm25-{name}" / "totals.npy", allow_pickle=False)
            fields[name] = model
        return cls(fields)

