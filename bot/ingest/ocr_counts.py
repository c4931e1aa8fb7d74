"""Build `ocr_counts.json`, the syllable counts OCR correction judges by.

    python -m bot.ingest.ocr_counts documents/ [more OCR texts...]

Counts every syllable and syllable bigram ("a_b", as the lexical analyzer
writes them) of the verbatim texts in the folder. Texts read by OCR (sidecar
`"ocr": true`, and the extra files named) add vocabulary the old laws lack
("dừng", "cơ yếu"), but their errors would teach the model to keep errors; so
they are counted only after correction by the model of the clean texts.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from bot.index.accents import AccentModel
from bot.index.lexical import with_bigrams
from bot.ingest import list_documents
from bot.ingest.loaders import load_document
from bot.ingest.metadata import read_sidecar
from bot.ingest.ocr_fix import correct_ocr
from bot.text import words

OUTPUT = Path(__file__).with_name("ocr_counts.json")
_TEXT = (".txt", ".md", ".docx", ".html", ".htm")


def count(folder: Path, extra_ocr: list[Path]) -> tuple[Counter, list[str]]:
    """Syllable and bigram counts: clean texts as they are, OCR texts corrected first."""
    clean, scanned = [], list(extra_ocr)
    for _, path in list_documents(folder):
        if path.suffix.lower() in _TEXT:
            (scanned if read_sidecar(path).get("ocr") else clean).append(path)
    counts: Counter = Counter()
    for path in clean:
        counts.update(with_bigrams(words(load_document(path).text)))
    model = AccentModel.from_counts(counts)
    for path in scanned:
        counts.update(with_bigrams(words(correct_ocr(load_document(path).text, model))))
    return counts, [p.name for p in clean + scanned]


def main(folder: str, *extra: str) -> None:
    counts, used = count(Path(folder), [Path(p) for p in extra])
    OUTPUT.write_text(json.dumps({"sources": used, "counts": dict(sorted(counts.items()))},
                                 ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(counts)} tokens from {len(used)} texts -> {OUTPUT}")


if __name__ == "__main__":
    main(*(sys.argv[1:] or ["documents"]))
