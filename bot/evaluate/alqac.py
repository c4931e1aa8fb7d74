"""An ALQAC/Zalo law corpus written out as documents and indexed by the real builder.

Each law becomes one text file ("Điều <id>. <title>" then the body, article
after article) with a sidecar naming it, so the chunker, the metadata reader,
the lexical analyzer and the searcher all run exactly as on real documents.
The benchmarks reuse `law_document` to know where each article stands in the
text (the tutorial stack's chunks are scored by overlap with those spans).
"""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, NamedTuple

from bot.index import Index
from bot.index.builder import BuildReport, build_index


class Span(NamedTuple):
    article: str
    start: int
    end: int


def law_document(law: dict) -> tuple[str, list[Span]]:
    """The text a law is indexed as, and the character span of each article in it."""
    parts: list[str] = []
    spans: list[Span] = []
    pos = 0
    for art in law["articles"]:
        title, body = art.get("title") or "", art["text"]
        if not title:  # ALQAC puts the title on the first line of the text
            title, _, body = body.partition("\n")
        block = f"Điều {art['id']}. {title.strip()}\n{body.strip()}"
        spans.append(Span(art["id"], pos, pos + len(block)))
        parts.append(block)
        pos += len(block) + 2  # the "\n\n" between articles
    return "\n\n".join(parts), spans


def write_corpus(laws: list[dict], folder: Path) -> dict[str, str]:
    """Write one document per law (with a sidecar); returns file name -> law id."""
    names = {}
    for i, law in enumerate(laws):
        if not law["articles"]:
            continue
        name = f"law-{i:03d}.txt"
        text, _ = law_document(law)
        (folder / name).write_text(text, encoding="utf-8")
        sidecar = {"title": law["id"], "type": "Luật"}
        (folder / f"{name}.meta.json").write_text(json.dumps(sidecar, ensure_ascii=False), encoding="utf-8")
        names[name] = law["id"]
    return names


class Built(NamedTuple):
    index: Index
    names: dict[str, str]  # file name -> law id
    report: BuildReport
    seconds: float

    def key(self, passage) -> tuple[str, str | None]:
        """(law id, article id): the unit ALQAC scores."""
        return self.names.get(passage.source, passage.source), passage.article


@contextmanager
def temporary_index(laws: list[dict], embedder, ann_threshold: int = 200_000,
                    progress=None) -> Iterator[Built]:
    """Index the corpus in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="cadrebot-eval-") as tmp:
        docs, folder = Path(tmp, "documents"), Path(tmp, "index")
        docs.mkdir()
        names = write_corpus(laws, docs)
        started = time.perf_counter()
        report = build_index(docs, folder, embedder, ann_threshold=ann_threshold, progress=progress)
        seconds = time.perf_counter() - started
        index = Index.open(folder, embedder.name, backend=embedder.backend)
        try:
            yield Built(index, names, report, round(seconds, 1))
        finally:
            index.close()
