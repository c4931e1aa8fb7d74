"""Build the index from the documents folder: incremental, atomic, one writer at a time.

Each build writes a complete new version folder (`index/v-<time>/`) and then
publishes it by atomically replacing the one-line file `index/CURRENT`. A
crash or kill at any point leaves CURRENT naming the previous, complete
version; readers resolve CURRENT once and never see a half-written folder.

Incremental: the previous version's SQLite file is copied, documents whose
file + sidecar hash is unchanged keep their chunks, changed ones are re-read
and re-embedded, removed ones dropped. The previous version's vectors and term
counts are carried over by position (`_Carried`): the rows of kept chunks,
then the new ones. FAISS and the BM25 scores are derived from those arrays
with no model call and no re-tokenising (bench/REPORT.md: adding a document to
100k chunks).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from bot.errors import CadreBotError, DocumentError, IndexBusy, IndexCorrupt
from bot.index import layout, lexical, store
from bot.index.dense import DenseIndex, write_vectors
from bot.index.lexical import ANALYZER_VERSION, FIELDS, TermCounts, analyze
from bot.ingest import CHUNKER_VERSION, Prepared, list_documents, prepare
from bot.ingest.metadata import sidecar_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildOptions:
    """How to build, as one object: the runtime makes it from the settings once.

    `rebuild` ignores the previous version; `ann_threshold` is the chunk count
    past which FAISS switches to IVF; `max_document_mb` refuses larger files
    by their size, before they are read (None: no limit).
    """

    rebuild: bool = False
    ann_threshold: int = 200_000
    max_document_mb: float | None = None


@dataclass
class BuildReport:
    """What a build did, for the CLI summary and the admin's chat message."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # source -> reason
    warnings: dict[str, list[str]] = field(default_factory=dict)
    documents: int = 0
    chunks: int = 0
    seconds: float = 0.0
    version: str = ""
    rebuilt: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def file_hash(path: Path) -> str:
    """sha256 of the file and its sidecar: editing metadata re-indexes the document."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:  # streamed: a huge file is never held in memory
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    meta = sidecar_path(path)
    if meta.exists():
        digest.update(b"\0meta\0" + meta.read_bytes())
    return digest.hexdigest()


class _Lock:
    """An exclusive, non-blocking lock file: a second indexer is told, not queued."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.handle = open(self.path, "w")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.close()
            raise IndexBusy("Đang có một lượt lập chỉ mục khác chạy; hãy thử lại sau.") from None
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _reusable(previous: Path | None, model: str, rebuild: bool) -> dict | None:
    """The previous version's config when its chunks and vectors can be reused."""
    if previous is None or rebuild:
        return None
    try:
        config = layout.read_config(previous)
        # A damaged previous version must not seed the new one: rebuild instead.
        layout.verify(previous, config, _Carried.FILES)
    except CadreBotError as exc:
        log.warning("previous index version unusable, rebuilding everything: %s", exc)
        return None
    same = (config.get("model") == model and config.get("chunker") == CHUNKER_VERSION
            and config.get("analyzer") == ANALYZER_VERSION)
    return config if same else None


def build_index(documents_dir: Path, index_dir: Path, embedder, options: BuildOptions | None = None, *,
                progress: Callable[[str, int, int], None] | None = None, **overrides) -> BuildReport:
    """Bring the index in line with the documents folder and publish it atomically.

    `progress(stage, done, total)` is called as documents are read and embedded.
    `overrides` are BuildOptions fields (`rebuild=True`), for callers without an options object.
    """
    options = replace(options or BuildOptions(), **overrides)
    started = time.perf_counter()
    if not documents_dir.is_dir():
        raise DocumentError(f"Không tìm thấy thư mục tài liệu: {documents_dir}")
    layout.ensure_folder(index_dir)
    report = BuildReport()
    with _Lock(index_dir / ".lock"):
        layout.clean_stale(index_dir)
        previous = layout.current_version(index_dir)
        config = _reusable(previous, embedder.name, options.rebuild)
        report.rebuilt = config is None
        work = layout.new_version_dir(index_dir)
        try:
            changed = _build_version(work, previous if config else None, documents_dir, embedder,
                                     options, report, progress)
        except BaseException:
            # A failed build leaves nothing behind; the published version is untouched.
            shutil.rmtree(work, ignore_errors=True)
            raise
        report.seconds = round(time.perf_counter() - started, 2)
        if not changed:
            # Nothing to do: keep the published version, readers need not switch.
            shutil.rmtree(work, ignore_errors=True)
            report.documents, report.chunks = config["documents"], config["chunks"]
            report.version = previous.name
            return report
        layout.write_config(work, {
            "model": embedder.name, "dimension": embedder.dimension,
            "chunker": CHUNKER_VERSION, "analyzer": ANALYZER_VERSION,
            "documents": report.documents, "chunks": report.chunks,
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "build_seconds": report.seconds, "versions": layout.library_versions(),
        })
        _fsync_tree(work)
        report.version = layout.publish(index_dir, work)
    return report


@dataclass
class _Carried:
    """What the previous version hands on, row by chunk position: ids, vectors, term counts."""

    ids: np.ndarray
    vectors: np.ndarray
    counts: dict[str, TermCounts]

    # What a new version reads from the previous one (checksums verified first).
    FILES = ("meta.sqlite", "chunk_ids.npy", "vectors.npy", "bm25-*/counts.*", "bm25-*/vocab.index.json")

    @classmethod
    def load(cls, folder: Path | None, dimension: int) -> "_Carried":
        if folder is None:
            return cls(np.zeros(0, np.int64), np.zeros((0, dimension), np.float32),
                       {name: TermCounts() for name in FIELDS})
        return cls(np.load(folder / "chunk_ids.npy", allow_pickle=False),
                   np.load(folder / "vectors.npy", allow_pickle=False, mmap_mode="r"),
                   {name: TermCounts.load(folder / f"bm25-{name}") for name in FIELDS})


def _build_version(work: Path, previous: Path | None, documents_dir: Path, embedder,
                   options: BuildOptions, report: BuildReport, progress) -> bool:
    """Fill `work` from `previous` (when reusable) plus the changes; False when there were none."""
    db_path = work / "meta.sqlite"
    if previous is not None:
        shutil.copyfile(previous / "meta.sqlite", db_path)
    carried = _Carried.load(previous, embedder.dimension)
    db = store.connect(db_path)
    try:
        new_ids, new_vectors = _apply_changes(db, documents_dir, embedder, report, progress,
                                              carried.counts, options)
        if previous is not None and not report.changed:
            return False
        _write_backends(db, work, carried, new_ids, new_vectors, options.ann_threshold, report)
        return True
    finally:
        db.close()


def _apply_changes(db: sqlite3.Connection, documents_dir: Path, embedder, report: BuildReport,
                   progress, counts: dict[str, TermCounts],
                   options: BuildOptions) -> tuple[list[int], list[np.ndarray]]:
    """Delete removed documents, insert new and changed ones; their chunk ids and vectors."""
    known = {d.source: d for d in store.documents(db)}
    files = list_documents(documents_dir)
    present = {source for source, _ in files}
    for source in sorted(set(known) - present):
        store.delete_document(db, source)
        report.removed.append(source)

    todo: list[tuple[str, str, Prepared] | None] = []
    for i, (source, path) in enumerate(files):
        if progress:
            progress("read", i, len(files))
        try:
            digest = file_hash(path)
        except OSError as exc:
            report.skipped[source] = f"Không đọc được tệp: {exc.strerror or exc}"
            continue
        if source in known and known[source].sha256 == digest:
            report.unchanged.append(source)
            continue
        try:
            prepared = prepare(path, source, options.max_document_mb)
        except DocumentError as exc:
            # An unreadable new version never erases the old one from the index.
            report.skipped[source] = str(exc)
            continue
        if prepared.warnings:
            report.warnings[source] = prepared.warnings
        todo.append((source, digest, prepared))

    total = sum(len(item[2].passages) for item in todo)
    ids: list[int] = []
    vectors: list[np.ndarray] = []
    with db:
        for n, (source, digest, prep) in enumerate(todo):
            vectors.append(_embed(embedder, prep.passages, progress, len(ids), total))
            ids += store.insert_document(db, source, digest, prep.meta, prep.format, prep.pages,
                                         prep.warnings, prep.chunks)
            for passage, chunk in zip(prep.passages, prep.chunks):
                tokens = analyze(passage, chunk.heading.split(" › ")[-1])
                for name in FIELDS:
                    counts[name].add(tokens[name])
            todo[n] = None  # one document's text and tokens in memory at a time
            (report.updated if source in known else report.added).append(source)
    if progress:
        progress("embed", total, total)
    return ids, vectors


def _embed(embedder, passages: list[str], progress, offset: int, total: int) -> np.ndarray:
    batch = 64
    parts = []
    for start in range(0, len(passages), batch):
        if progress:
            progress("embed", offset + start, total)
        parts.append(embedder.encode_documents(passages[start:start + batch]))
    return np.concatenate(parts) if parts else np.zeros((0, embedder.dimension), np.float32)


def _write_backends(db: sqlite3.Connection, work: Path, carried: _Carried, new_ids: list[int],
                    new_vectors: list[np.ndarray], ann_threshold: int, report: BuildReport) -> None:
    """The kept rows of the carried arrays, then the new rows, in chunk id order."""
    ids_now = store.chunk_ids(db)
    if not len(ids_now):
        # Publishing an empty index would silently answer nothing; keep the old one.
        raise DocumentError("Không có văn bản nào đọc được trong thư mục tài liệu; "
                            "chỉ mục cũ (nếu có) được giữ nguyên.")
    fresh = np.array(new_ids, dtype=np.int64)
    keep = np.flatnonzero(np.isin(carried.ids, ids_now) & ~np.isin(carried.ids, fresh))
    ids = np.concatenate([carried.ids[keep], fresh])
    # New ids follow the kept ones (SQLite gives max(id) + 1); sort anyway, cheaply.
    order = np.argsort(ids, kind="stable") if np.any(np.diff(ids) <= 0) else None
    if order is not None:
        ids = ids[order]
    if not np.array_equal(ids, ids_now):
        raise IndexCorrupt("Chỉ mục trước không khớp dữ liệu văn bản. "
                           "Hãy lập chỉ mục lại: cadrebot index --rebuild")
    vectors = write_vectors(work / "vectors.npy", carried.vectors, keep, new_vectors, order)
    DenseIndex.write_ann(work, vectors, ann_threshold)
    del vectors
    carried.vectors = None  # unmapped: the old version's pages leave this process
    lexical.write(work, carried.counts, keep, order)
    np.save(work / "chunk_ids.npy", ids, allow_pickle=False)
    report.chunks = len(ids)
    report.documents = db.execute("SELECT count(*) FROM documents").fetchone()[0]
