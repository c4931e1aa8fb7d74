"""OCR benchmark: index the shipped scan of Luật Cán bộ, công chức 80/2025 from nothing.

    nohup nice -n 10 python bench/ocr.py [--scan ../shared/corpus/scans/...pdf] > /tmp/ocr.log 2>&1 &

Copies the 20-page scan (no text layer) into an empty documents folder and
runs the real build (Tesseract `vie`, pages in parallel, correction, chunking,
embedding) with an empty OCR cache. Reports the time per page and in total,
the articles found (target: Điều 1..45, each once as a heading), the machine's
load average, and syllable accuracy before and after correction on the
proofread pages in tests/data/ocr. Then a second build with the cache warm.
Writes results/ocr.json. Targets: <= 3 minutes on 2 cores, 45 articles, >= 99%.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.embed import Embedder  # noqa: E402
from bot.index import layout  # noqa: E402
from bot.index.builder import OCR_CACHE, build_index  # noqa: E402
from bot.ingest.ocr_fix import correct_ocr, syllable_accuracy  # noqa: E402

# ../shared beside the checkout (a worktree sits one level deeper), as bench/alqac.py finds ALQAC.
_SCAN = "shared/corpus/scans/luat-can-bo-cong-chuc-80-2025.pdf"
SCAN = next((root / _SCAN for root in REPO.parents[:2] if (root / _SCAN).exists()), REPO.parent / _SCAN)
PROOFREAD = REPO / "tests" / "data" / "ocr"
RESULTS = REPO / "bench" / "results" / "ocr.json"
ARTICLES = 45


def articles(index_dir: Path) -> list[int]:
    """Article numbers of the indexed chunks, in document order, one per article."""
    db = sqlite3.connect(layout.current_version(index_dir) / "meta.sqlite")
    try:
        rows = db.execute("SELECT article FROM chunks ORDER BY document_id, ordinal").fetchall()
    finally:
        db.close()
    seen: list[int] = []
    for (article,) in rows:
        if article and article.isdigit() and (not seen or seen[-1] != int(article)):
            seen.append(int(article))
    return seen


def accuracy(cache: Path) -> dict:
    """Syllable accuracy of Tesseract's raw text and of the corrected text, per proofread page."""
    pages = json.loads(next(cache.glob("*.json")).read_text(encoding="utf-8"))["pages"]
    out, totals = {}, [0, 0.0, 0.0]
    for truth in sorted(PROOFREAD.glob("page-*.txt")):
        number = int(truth.stem.split("-")[1])
        reference = truth.read_text(encoding="utf-8")
        raw = pages[str(number - 1)]
        before, after = syllable_accuracy(reference, raw), syllable_accuracy(reference, correct_ocr(raw))
        size = before["syllables"]
        out[number] = {"syllables": size, "before": before["accuracy"], "after": after["accuracy"]}
        totals[0] += size
        totals[1] += before["accuracy"] * size
        totals[2] += after["accuracy"] * size
    out["all"] = {"syllables": totals[0], "before": round(totals[1] / totals[0], 4),
                  "after": round(totals[2] / totals[0], 4)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scan", type=Path, default=SCAN)
    args = parser.parse_args()
    embedder = Embedder()
    with tempfile.TemporaryDirectory() as tmp:
        docs, index_dir = Path(tmp) / "documents", Path(tmp) / "index"
        docs.mkdir()
        shutil.copy(args.scan, docs / args.scan.name)
        pages_done: list[float] = []
        load_before = os.getloadavg()
        started = time.perf_counter()

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "ocr" and done:
                pages_done.append(time.perf_counter() - started)
                print(f"  OCR {done}/{total} at {pages_done[-1]:.1f} s", flush=True)

        report = build_index(docs, index_dir, embedder, progress=progress)
        total = time.perf_counter() - started
        load_after = os.getloadavg()
        found = articles(index_dir)
        started = time.perf_counter()
        build_index(docs, index_dir, embedder, rebuild=True)  # cache warm: no OCR
        warm = time.perf_counter() - started
        result = {
            "scan": args.scan.name, "pages": len(pages_done), "cores": os.cpu_count(),
            "ocr_seconds": round(pages_done[-1], 1) if pages_done else None,
            "seconds_per_page": round(pages_done[-1] / len(pages_done), 2) if pages_done else None,
            "total_seconds": round(total, 1), "rebuild_with_cache_seconds": round(warm, 1),
            "articles_found": len(found), "articles_in_order": found == list(range(1, ARTICLES + 1)),
            "missing": sorted(set(range(1, ARTICLES + 1)) - set(found)),
            "unexpected": [n for n in found if not 1 <= n <= ARTICLES],
            "skipped": report.skipped, "load_average": {"start": load_before, "end": load_after},
            "accuracy": accuracy(index_dir / OCR_CACHE),
        }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
