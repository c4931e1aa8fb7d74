"""SQLite metadata: documents and their chunks.

The schema changes only through the numbered MIGRATIONS below (simonw/llm
style), applied in order and recorded in `_migrations`. Every query is
parameterised. Vectors and term counts live in the version's array files
(vectors.npy, bm25-*/counts.*), which the next build carries over by position.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.ingest.chunker import Chunk
from bot.ingest.metadata import DocumentMeta

MIGRATIONS: list[tuple[str, str]] = [
    ("001_initial", """
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            source TEXT UNIQUE NOT NULL,      -- path relative to the documents folder
            sha256 TEXT NOT NULL,             -- of the file and its sidecar
            meta TEXT NOT NULL,               -- DocumentMeta as JSON
            format TEXT, pages INTEGER, warnings TEXT NOT NULL DEFAULT '[]',
            indexed_at TEXT NOT NULL
        );
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            article TEXT, article_title TEXT, clause TEXT,
            heading TEXT NOT NULL, text TEXT NOT NULL,
            tokens TEXT NOT NULL,             -- lexical fields as JSON {field: [tokens]}
            embedding BLOB NOT NULL           -- float32, normalised
        );
        CREATE INDEX chunks_document ON chunks(document_id, ordinal);
    """),
    # Tokens and vectors moved to array files: at 100k chunks, reading them back
    # from here took longer than the 10 s an incremental build may take.
    ("002_arrays_out_of_sqlite", """
        ALTER TABLE chunks DROP COLUMN tokens;
        ALTER TABLE chunks DROP COLUMN embedding;
    """),
    # Dates and relations as columns (issue 15), so "which text replaced 22/2008"
    # and "what was in force on 2020-06-01" are queries, not a scan of every
    # document's JSON. Filled from `meta` for documents indexed before.
    ("003_validity_and_relations", """
        ALTER TABLE documents ADD COLUMN number TEXT;
        ALTER TABLE documents ADD COLUMN valid_from TEXT;
        ALTER TABLE documents ADD COLUMN valid_until TEXT;
        ALTER TABLE documents ADD COLUMN replaces TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE documents ADD COLUMN replaced_by TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE documents ADD COLUMN ocr INTEGER NOT NULL DEFAULT 0;
        UPDATE documents SET
            number = json_extract(meta, '$.number'),
            valid_from = json_extract(meta, '$.valid_from'),
            valid_until = json_extract(meta, '$.valid_until'),
            replaces = coalesce(json_extract(meta, '$.replaces'), '[]'),
            replaced_by = coalesce(json_extract(meta, '$.replaced_by'), '[]'),
            ocr = coalesce(json_extract(meta, '$.ocr'), 0);
        CREATE INDEX documents_number ON documents(number);
    """),
]


@dataclass
class StoredDocument:
    id: int
    source: str
    sha256: str
    meta: DocumentMeta
    format: str | None
    pages: int | None
    warnings: list[str]


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    """Open the database; read-only connections cannot change a published index."""
    if readonly:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        db = sqlite3.connect(path)
        db.execute("PRAGMA foreign_keys = ON")
        migrate(db)
    db.row_factory = sqlite3.Row
    return db


def migrate(db: sqlite3.Connection, migrations: list[tuple[str, str]] | None = None) -> None:
    """Apply the named migrations not yet recorded, in order (also used by the question log)."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    for name, sql in MIGRATIONS if migrations is None else migrations:
        if name not in done:
            with db:
                db.executescript(sql)
                db.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", (name,))


def _document(row: sqlite3.Row) -> StoredDocument:
    return StoredDocument(row["id"], row["source"], row["sha256"],
                          DocumentMeta.from_dict(json.loads(row["meta"])), row["format"],
                          row["pages"], json.loads(row["warnings"]))


def documents(db: sqlite3.Connection) -> list[StoredDocument]:
    return [_document(r) for r in db.execute("SELECT * FROM documents ORDER BY source")]


def delete_document(db: sqlite3.Connection, source: str) -> None:
    db.execute("DELETE FROM chunks WHERE document_id IN (SELECT id FROM documents WHERE source = ?)",
               (source,))
    db.execute("DELETE FROM documents WHERE source = ?", (source,))


def insert_document(db: sqlite3.Connection, source: str, sha256: str, meta: DocumentMeta,
                    fmt: str, pages: int | None, warnings: list[str], chunks: list[Chunk]) -> list[int]:
    """Replace `source` with a new version; the new chunks' ids, in order. In the caller's transaction."""
    delete_document(db, source)
    cur = db.execute(
        "INSERT INTO documents (source, sha256, meta, format, pages, warnings, indexed_at, "
        "number, valid_from, valid_until, replaces, replaced_by, ocr) "
        "VALUES (?, ?, ?, ?, ?, ?, datetime('now'), ?, ?, ?, ?, ?, ?)",
        (source, sha256, json.dumps(meta.to_dict(), ensure_ascii=False), fmt, pages,
         json.dumps(warnings, ensure_ascii=False), meta.number, meta.valid_from, meta.valid_until,
         json.dumps(meta.replaces, ensure_ascii=False),
         json.dumps(meta.replaced_by, ensure_ascii=False), int(meta.ocr)))
    doc_id = cur.lastrowid
    db.executemany(
        "INSERT INTO chunks (document_id, ordinal, article, article_title, clause, heading, text) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(doc_id, i, c.article, c.article_title, c.clause, c.heading, c.text)
         for i, c in enumerate(chunks)])
    return [r[0] for r in db.execute("SELECT id FROM chunks WHERE document_id = ? ORDER BY ordinal",
                                     (doc_id,))]


def chunk_ids(db: sqlite3.Connection) -> np.ndarray:
    """Every chunk id in ascending order: chunk positions in the index files."""
    return np.array([r[0] for r in db.execute("SELECT id FROM chunks ORDER BY id")], dtype=np.int64)
