"""Median time of each query step on the shipped corpus, typed with and without accents.

    python bench/query_steps.py [--repeat 5] [--questions bench/evalset.jsonl]

Steps: normalise + references + question words (parse without restoration),
diacritic restoration, document resolution, BM25, query embedding + FAISS,
and the whole search (fusion and priors included). The index of documents/
is built in a temporary folder first (model load and build excluded).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bot.embed.sentence_transformers import SentenceTransformerEmbedder as Embedder  # noqa: E402
from bot.index import Index  # noqa: E402
from bot.index.builder import build_index  # noqa: E402
from bot.retrieve.query import parse  # noqa: E402
from bot.retrieve.search import Searcher, resolve  # noqa: E402
from bot.text import strip_diacritics, words  # noqa: E402
from timing import questions as load_questions  # noqa: E402


def timed(fn, items, repeat: int) -> float:
    """Median over `repeat` rounds of the mean milliseconds per item."""
    rounds = []
    for _ in range(repeat):
        started = time.perf_counter()
        for item in items:
            fn(item)
        rounds.append((time.perf_counter() - started) * 1000 / len(items))
    return statistics.median(rounds)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", default=str(ROOT / "bench" / "evalset.jsonl"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    questions = load_questions(args.questions)
    embedder = Embedder()
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp, "documents")
        shutil.copytree(ROOT / "documents", docs)
        build_index(docs, Path(tmp, "index"), embedder)
        index = Index.open(Path(tmp, "index"), embedder.name)
        searcher = Searcher(index, embedder)
        print(f"{len(questions)} questions, median of {args.repeat} rounds, ms per query")
        print(f"{'step':38s} {'accented':>9s} {'unaccented':>11s}")
        sets = {"accented": questions, "unaccented": [strip_diacritics(q) for q in questions]}
        parsed = {k: [parse(q, index.accents.restore) for q in v] for k, v in sets.items()}
        steps = {
            "parse (normalise, references, phrases)": lambda k: (lambda q: parse(q), sets[k]),
            "diacritic restoration": lambda k: (lambda q: index.accents.restore(words(q)), sets[k]),
            "document resolution": lambda k: (lambda q: [resolve(r, index) for r in q.documents], parsed[k]),
            "BM25 (both fields)": lambda k: (searcher.lexical_scores, parsed[k]),
            "query embedding + FAISS": lambda k: (lambda q: index.dense.search(
                embedder.encode_query(q.restored or q.text), 100), parsed[k]),
            "whole search (k=5)": lambda k: (lambda q: searcher.search(q, 5), sets[k]),
        }
        for name, make in steps.items():
            row = [timed(*make(k), args.repeat) for k in sets]
            print(f"{name:38s} {row[0]:9.2f} {row[1]:11.2f}")
        index.close()


if __name__ == "__main__":
    main()
