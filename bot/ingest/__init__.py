"""Ingestion: turn admin-supplied files (PDF, DOCX, TXT, MD, HTML) into cited chunks.

    loaders.py   file -> NFC text (or a DocumentError with the reason)
    clean.py     web noise out of news pages
    metadata.py  sidecar JSON, or number/type/date/issuer read from the text
    chunker.py   Phần/Chương/Mục/Điều/Khoản/Điểm -> chunks
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.errors import DocumentError
from bot.ingest.chunker import CHUNKER_VERSION, Chunk, chunk_document  # noqa: F401
from bot.ingest.clean import clean_web_text
from bot.ingest.loaders import SUPPORTED_SUFFIXES, load_document
from bot.ingest.metadata import NEWS, SIDECAR_SUFFIX, DocumentMeta, read_sidecar, resolve_metadata

__all__ = ["CHUNKER_VERSION", "Prepared", "prepare", "list_documents", "passage_text"]

_NEWS_FOLDERS = {"news", "tin-tuc", "tintuc"}


@dataclass
class Prepared:
    """One document, read and split, ready to embed."""

    meta: DocumentMeta
    format: str
    pages: int | None
    warnings: list[str]
    chunks: list[Chunk]
    passages: list[str]  # what is embedded and matched: citation context + chunk text


def list_documents(folder: Path) -> list[tuple[str, Path]]:
    """(source, path) of every supported file below `folder`; source is the relative posix path."""
    found = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.name.endswith(SIDECAR_SUFFIX) or path.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        if path.name.lower() in {"readme.md"}:
            continue
        found.append((rel.as_posix(), path))
    return found


def passage_text(meta: DocumentMeta, chunk: Chunk) -> str:
    """The text both retrievers see: document name, heading path, then the passage.

    A numbered document is named by its label only ("Nghị định 73/2023/NĐ-CP"):
    repeating a decree's long title in every passage made every passage match
    the title's words equally and buried the article that answers.
    """
    return "\n".join(part for part in (meta.label, chunk.heading, chunk.text) if part)


def prepare(path: Path, source: str) -> Prepared:
    """Load, clean, describe and split one file. Raises DocumentError when unusable."""
    loaded = load_document(path)
    sidecar = read_sidecar(path)
    news = sidecar.get("type") == NEWS or (
        "type" not in sidecar and bool(_NEWS_FOLDERS & set(Path(source).parts[:-1])))
    text = clean_web_text(loaded.text) if news or loaded.format == "html" else loaded.text
    meta = resolve_metadata(text, sidecar, news=news)
    chunks = chunk_document(text, title=meta.title)
    if not chunks:
        raise DocumentError("Không tìm thấy nội dung chữ nào để lập chỉ mục")
    return Prepared(meta, loaded.format, loaded.pages, loaded.warnings, chunks,
                    [passage_text(meta, c) for c in chunks])
