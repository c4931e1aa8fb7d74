"""ALQAC 2023 retrieval benchmark: this project's hybrid vs BM25 alone vs dense alone, one run.

    python bench/alqac.py [--bench ../shared/bench/alqac2023] [--strip-diacritics] [--json]

The laws are written out as documents and indexed by the real builder; the
hybrid is the real Searcher. "BM25 alone" is bm25s over whole articles with
syllable tokens (the floor the issue names); "dense alone" is FAISS over the
same chunks with the configured model. Scored at article level.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import bm25s
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.embed import Embedder  # noqa: E402
from bot.index import Index  # noqa: E402
from bot.index.builder import build_index  # noqa: E402
from bot.retrieve.search import Searcher  # noqa: E402
from bot.text import strip_diacritics, words  # noqa: E402


def write_corpus(laws: list, folder: Path) -> dict[str, str]:
    names = {}
    for i, law in enumerate(laws):
        if not law["articles"]:
            continue
        name = f"law-{i:02d}.txt"
        parts = []
        for art in law["articles"]:
            title, _, body = art["text"].partition("\n")
            parts.append(f"Điều {art['id']}. {title.strip()}\n{body.strip()}")
        (folder / name).write_text("\n\n".join(parts), encoding="utf-8")
        (folder / (name + ".meta.json")).write_text(
            json.dumps({"title": law["id"], "type": "Luật"}, ensure_ascii=False), encoding="utf-8")
        names[name] = law["id"]
    return names


def score(ranked: list[list[tuple]], gold: list[tuple]) -> dict:
    out = {"R@1": 0, "R@5": 0, "R@10": 0, "MRR@10": 0.0}
    for r, g in zip(ranked, gold):
        if g in r[:10]:
            rank = r.index(g) + 1
            out["MRR@10"] += 1 / rank
            for k in (1, 5, 10):
                out[f"R@{k}"] += rank <= k
    return {k: round(v / len(gold), 3) for k, v in out.items()}


def dedupe(keys) -> list[tuple]:
    seen = []
    for key in keys:
        if key not in seen:
            seen.append(key)
        if len(seen) == 10:
            break
    return seen


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default=str(Path(__file__).resolve().parents[2] / "shared/bench/alqac2023"))
    ap.add_argument("--strip-diacritics", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    laws = json.loads((Path(args.bench) / "law.json").read_text(encoding="utf-8"))
    questions = json.loads((Path(args.bench) / "train.json").read_text(encoding="utf-8"))
    texts = [strip_diacritics(q["text"]) if args.strip_diacritics else q["text"] for q in questions]
    gold = [(q["relevant_articles"][0]["law_id"], q["relevant_articles"][0]["article_id"]) for q in questions]

    embedder = Embedder()
    with tempfile.TemporaryDirectory() as tmp:
        docs, idx = Path(tmp, "docs"), Path(tmp, "index")
        docs.mkdir()
        names = write_corpus(laws, docs)
        started = time.perf_counter()
        report = build_index(docs, idx, embedder)
        build_seconds = time.perf_counter() - started
        index = Index.open(idx, embedder.name)
        searcher = Searcher(index, embedder)
        key = lambda p: (names[p.source], p.article)  # noqa: E731

        hybrid, latencies = [], []
        for text in texts:
            t0 = time.perf_counter()
            result = searcher.search(text, k=30)
            latencies.append((time.perf_counter() - t0) * 1000)
            hybrid.append(dedupe(key(h.passage) for h in result.hits))

        dense = []
        for text in texts:
            _, pos = index.dense.search(embedder.encode_query(text), 60)
            dense.append(dedupe(key(p) for p in index.passages(pos.tolist())))

        arts = [(law["id"], a["id"], a["text"]) for law in laws for a in law["articles"]]
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        bm25.index([words(t) for _, _, t in arts], show_progress=False)
        lexical = []
        for text in texts:
            known = [bm25.vocab_dict[w] for w in words(text) if w in bm25.vocab_dict]
            s = bm25.get_scores(known) if known else np.zeros(len(arts))
            lexical.append([(arts[i][0], arts[i][1]) for i in np.argsort(-s)[:10]])

    rows = {"hybrid (this project)": score(hybrid, gold), "BM25 alone, whole articles": score(lexical, gold),
            "dense alone (chunks)": score(dense, gold)}
    lat = sorted(latencies)
    meta = {"questions": len(questions), "stripped": args.strip_diacritics, "chunks": report.chunks,
            "build_seconds": round(build_seconds, 1), "model": embedder.name,
            "hybrid_latency_ms": {"median": round(statistics.median(lat), 1),
                                  "p95": round(lat[int(0.95 * (len(lat) - 1))], 1)}}
    if args.json:
        print(json.dumps({"results": rows, **meta}, ensure_ascii=False, indent=1))
        return
    print(f"ALQAC 2023, {meta['questions']} questions, article level"
          f"{', diacritics stripped' if args.strip_diacritics else ''}; model {meta['model']}")
    print(f"{'system':30s} {'R@1':>6s} {'R@5':>6s} {'R@10':>6s} {'MRR@10':>7s}")
    for name, r in rows.items():
        print(f"{name:30s} {r['R@1']:6.2f} {r['R@5']:6.2f} {r['R@10']:6.2f} {r['MRR@10']:7.3f}")
    print(f"index: {meta['chunks']} chunks built in {meta['build_seconds']} s; "
          f"hybrid query latency median {meta['hybrid_latency_ms']['median']} ms, p95 {meta['hybrid_latency_ms']['p95']} ms")


if __name__ == "__main__":
    main()
