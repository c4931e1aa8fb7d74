"""ALQAC 2023 with this project's hybrid alone: the same as `cadrebot eval ../shared/bench/alqac2023`.

    python bench/alqac.py [--bench ../shared/bench/alqac2023] [--strip-diacritics] [--json] [--no-cache]

The model is the configured one (EMBEDDING_BACKEND, EMBEDDING_MODEL); vectors
are cached on disk outside the repository (bench/embed_cache.py).

The corpus writing, temporary index and scoring live in bot/evaluate; the side
by side comparison with BM25, dense alone and the tutorial stack is
bench/quality.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.config import Settings  # noqa: E402
from bot import embed  # noqa: E402
from bench.embed_cache import CachedEmbedder  # noqa: E402
from bot.evaluate import evaluate_alqac, render_text  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", type=Path, default=Path(__file__).resolve().parents[2] / "shared/bench/alqac2023")
    ap.add_argument("--questions", default="train.json")
    ap.add_argument("--strip-diacritics", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-cache", action="store_true", help="embed again instead of reading /work/cache")
    args = ap.parse_args()
    settings = Settings()
    embedder = embed.create(settings)
    if not args.no_cache:
        embedder = CachedEmbedder(embedder)
    report = evaluate_alqac(args.bench / "law.json", args.bench / args.questions, embedder, settings,
                            args.strip_diacritics)
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1) if args.json else render_text(report))


if __name__ == "__main__":
    main()
