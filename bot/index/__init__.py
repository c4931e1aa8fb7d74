"""The built index: dense (FAISS), lexical (bm25s) and metadata (SQLite), opened together.

    builder.py  documents folder -> a new published version (incremental, atomic)
    layout.py   version folders, CURRENT pointer, config.json and checksums
    dense.py    FAISS backend
    lexical.py  BM25 backend and the Vietnamese analyzer
    accents.py  diacritic restoration from the lexical field's term counts
    store.py    SQLite schema, migrations and queries

`Index.open` checks that the published version was built with the configured
model and the current chunker, and that no file is damaged, before anything
is searched.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.errors import CadreBotError, IndexCorrupt, IndexMismatch
from bot.index import layout, store
from bot.index.accents import AccentModel
from bot.index.dense import DenseIndex
from bot.index.lexical import ANALYZER_VERSION, LexicalIndex
from bot.ingest.chunker import CHUNKER_VERSION
from bot.ingest.metadata import NEWS, DocumentMeta
from bot.retrieve import thesaurus
from bot.retrieve.thesaurus import Thesaurus

__all__ = ["Index", "Passage"]


@dataclass
class Passage:
    """A chunk as stored, with its document: what retrieval returns and answers quote."""

    position: int
    chunk_id: int
    document_id: int
    source: str
    meta: DocumentMeta
    article: str | None
    article_title: str | None
    clause: str | None
    heading: str
    text: str
    # The matching article of the text that replaced this one (bot.retrieve.successor),
    # set by search on passages of superseded documents; None when unknown.
    successor: object | None = None

    @property
    def article_heading(self) -> str:
        """The heading the passage stands under: "Điều 11. Biện pháp bảo vệ cán bộ", or the
        last heading (a section, "Phần mở đầu", a news title) when it is not in an article."""
        if self.article:
            return f"Điều {self.article}. {self.article_title}" if self.article_title else f"Điều {self.article}"
        return self.heading.split(" › ")[-1] if self.heading else ""


class Index:
    """A published index version, opened read-only. Safe to share between threads."""

    def __init__(self, folder: Path, config: dict, db, dense: DenseIndex, lexical: LexicalIndex,
                 chunk_ids: np.ndarray, accents: AccentModel):
        self.folder = folder
        self.accents = accents
        self.config = config
        self.db = db
        self.dense = dense
        self.lexical = lexical
        self.chunk_ids = chunk_ids
        self._lock = threading.Lock()
        self.thesaurus = Thesaurus.shipped()  # replaced by the version's own in `open`
        self.documents = {d.id: d for d in store.documents(db)}
        rows = db.execute("SELECT id, document_id, article, heading FROM chunks ORDER BY id").fetchall()
        self.doc_of = np.array([r[1] for r in rows], dtype=np.int64)
        self.article_of = [r[2] for r in rows]
        self._articles: dict[tuple[int, str], list[int]] = {}
        for position, r in enumerate(rows):
            if r[2]:
                self._articles.setdefault((r[1], r[2]), []).append(position)
        news = [d.id for d in self.documents.values() if d.meta.type == NEWS]
        self.is_news = np.isin(self.doc_of, news).astype(np.float32)
        # The last heading segment: the article line or an unnumbered heading.
        self.heading_of = [r[3].split(" › ")[-1] if r[3] else "" for r in rows]

    @classmethod
    def open(cls, index_dir: Path, model: str, verify: bool = True,
             backend: str | None = None, folder: Path | None = None) -> "Index":
        """Open the published version built with `model` (and `backend`, when given), or `folder`
        (a version the caller read from CURRENT: bot/index/watch.py)."""
        folder = folder or layout.require_version(index_dir)
        config = layout.read_config(folder)
        reindex = "Hãy lập chỉ mục lại: cadrebot index --rebuild"
        built = (config.get("backend", layout.LEGACY_BACKEND), config.get("model"))
        if built[1] != model or (backend is not None and built[0] != backend):
            raise IndexMismatch(f"Chỉ mục được tạo bằng mô hình '{built[1]}' ({built[0]}), "
                                f"nhưng cấu hình hiện dùng '{model}' ({backend or built[0]}). {reindex}")
        if config.get("chunker") != CHUNKER_VERSION or config.get("analyzer") != ANALYZER_VERSION:
            raise IndexMismatch(f"Chỉ mục được tạo bằng bộ tách đoạn/phân tích phiên bản cũ. {reindex}")
        if verify:
            layout.verify(folder, config)
        try:
            db = store.connect(folder / "meta.sqlite", readonly=True)
            dense = DenseIndex.load(folder)
            lexical = LexicalIndex.load(folder)
            chunk_ids = np.load(folder / "chunk_ids.npy", allow_pickle=False)
            index = cls(folder, config, db, dense, lexical, chunk_ids,
                        AccentModel.with_lexicon(*lexical.totals("accented")))
            words = folder / thesaurus.FILE_NAME
            index.thesaurus = (Thesaurus.from_text(words.read_text(encoding="utf-8")) if words.is_file()
                               else Thesaurus.shipped())
        except CadreBotError:
            raise
        except Exception as exc:  # faiss/bm25s/sqlite errors on a damaged folder
            raise IndexCorrupt(f"Không mở được chỉ mục ({exc}). {reindex}") from exc
        if not (len(chunk_ids) == dense.index.ntotal == len(index.doc_of)
                == lexical.fields["accented"].scores["num_docs"]):
            raise IndexCorrupt(f"Các tệp chỉ mục không khớp nhau. {reindex}")
        return index

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def passages(self, positions) -> list[Passage]:
        """Passages at these positions, in the order given."""
        ids = [int(self.chunk_ids[p]) for p in positions]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        with self._lock:
            rows = self.db.execute(f"SELECT * FROM chunks WHERE id IN ({marks})", ids).fetchall()
        by_id = {r["id"]: r for r in rows}
        out = []
        for pos, cid in zip(positions, ids):
            r = by_id[cid]
            doc = self.documents[r["document_id"]]
            out.append(Passage(int(pos), cid, doc.id, doc.source, doc.meta, r["article"],
                               r["article_title"], r["clause"], r["heading"], r["text"]))
        return out

    def article_positions(self, document_id: int, article: str) -> list[int]:
        """Positions of every chunk of one article, in reading order."""
        return list(self._articles.get((document_id, article), []))

    def counts(self, document_id: int) -> tuple[int, int]:
        """(articles, passages) of one document."""
        mine = [a for d, a in zip(self.doc_of.tolist(), self.article_of) if d == document_id]
        return len({a for a in mine if a}), len(mine)

    def articles(self, document_id: int) -> dict[str, tuple[str, str]]:
        """Article number -> (title, whole text) of one document, in reading order."""
        with self._lock:
            rows = self.db.execute("SELECT article, article_title, text FROM chunks "
                                   "WHERE document_id = ? AND article IS NOT NULL ORDER BY ordinal",
                                   (document_id,)).fetchall()
        out: dict[str, tuple[str, str]] = {}
        for article, title, text in rows:
            have = out.get(article)
            out[article] = (title or "", f"{have[1]}\n{text}" if have else text)
        return out

    def stats(self) -> dict:
        size = sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())
        return {"version": self.folder.name, "backend": self.config.get("backend", layout.LEGACY_BACKEND),
                "model": self.config.get("model"), "dense_weight": self.config.get("dense_weight"),
                "dimension": self.config.get("dimension"), "chunker": self.config.get("chunker"),
                "documents": len(self.documents), "chunks": len(self), "bytes": size,
                "built_at": self.config.get("built_at")}

    def close(self) -> None:
        self.db.close()
