"""Ingestion: turn admin-supplied files (PDF, DOCX, TXT, MD, HTML, scans) into cited chunks.

    loaders.py   file -> NFC text (or a DocumentError with the reason)
    ocr.py       scanned PDF pages and images -> text (Tesseract, cached by file hash)
    ocr_fix.py   Tesseract's hat and tone mark errors corrected
    clean.py     web noise out of news pages
    metadata.py  sidecar JSON, or number/type/date/issuer read from the text
    chunker.py   Phần/Chương/Mục/Điều/Khoản/Điểm -> chunks
    files.py     file names: safe to save (uploads), safe to show (escaped)
    limits.py    what one document may cost: passages, text made of words
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from bot.errors import DocumentError
from bot.ingest.chunker import CHUNKER_VERSION, Chunk, chunk_document  # noqa: F401
from bot.ingest.clean import clean_web_text
from bot.ingest.files import is_clean_name, shown_name
from bot.ingest.limits import check_length, check_passages, check_words
from bot.ingest.loaders import SUPPORTED_SUFFIXES, load_document
from bot.ingest.ocr import OcrOptions
from bot.ingest.metadata import (NEWS, SIDECAR_SUFFIX, DocumentMeta, read_sidecar, resolve_metadata,
                                 sidecar_path)

__all__ = ["CHUNKER_VERSION", "Listing", "Prepared", "prepare", "list_documents", "passage_text",
           "scan_documents"]

_NEWS_FOLDERS = {"news", "tin-tuc", "tintuc"}
_META_FIELDS = {f.name for f in dataclasses.fields(DocumentMeta)}


@dataclass
class Prepared:
    """One document, read and split, ready to embed."""

    meta: DocumentMeta
    format: str
    pages: int | None
    warnings: list[str]
    chunks: list[Chunk]
    passages: list[str]  # what is embedded and matched: citation context + chunk text


@dataclass
class Listing:
    """What the documents folder holds: files to index, and entries refused with a reason."""

    found: list[tuple[str, Path]]  # (source, path), sorted by path
    refused: dict[str, str]  # source -> Vietnamese reason


def scan_documents(folder: Path) -> Listing:
    """Every supported file below `folder`, and every symbolic link refused.

    Symbolic links are never followed, to files or to folders, wherever they
    point: one pointing outside quoted the host's password file to any chat
    user (an archive unpacked or a `cp -a` brings links along), and one
    pointing inside would index the same text twice, under two names. The
    real file is indexed under its own name. A link is reported when its name
    could be a document or it is a folder, so the admin knows what was left
    out; a real file must also resolve inside the (resolved) folder.

    A name that is not valid UTF-8 or holds control characters gets a source
    with those escaped ("quy-\\xf0inh.txt"), so it can be stored and shown;
    `prepare` then refuses the file with advice to rename it.
    """
    root = folder.resolve()
    found, refused = [], {}
    # os.walk with followlinks=False: the walk itself never enters a linked folder.
    for top, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel_top = Path(top).relative_to(root)
        for name in dirs:
            if os.path.islink(os.path.join(top, name)):
                refused[shown_name((rel_top / name).as_posix())] = _LINKED_FOLDER
        for name in names:
            path, rel = folder / rel_top / name, rel_top / name
            if name.startswith(".") or name.endswith(SIDECAR_SUFFIX) or name.lower() == "readme.md":
                continue
            if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            if path.is_symlink() or not path.resolve().is_relative_to(root):
                refused[shown_name(rel.as_posix())] = _LINKED_FILE
            elif path.is_file():  # not a FIFO or a device: reading one would block the build
                found.append((shown_name(rel.as_posix()), path))
    return Listing(sorted(found, key=lambda item: item[1]), refused)


def list_documents(folder: Path) -> list[tuple[str, Path]]:
    """(source, path) of every supported file below `folder`; source is the relative posix path."""
    return scan_documents(folder).found


_LINKED_FILE = ("Là liên kết tượng trưng (symlink), không phải tệp thật trong thư mục tài liệu; "
                "không lập chỉ mục. Hãy chép chính tệp văn bản vào thư mục tài liệu")
_LINKED_FOLDER = ("Là thư mục liên kết (symlink); không đọc các tệp bên trong. "
                  "Hãy chép chính thư mục đó vào thư mục tài liệu")


def passage_text(meta: DocumentMeta, chunk: Chunk) -> str:
    """The text both retrievers see: document name, heading path, then the passage.

    A numbered document is named by its label only ("Nghị định 73/2023/NĐ-CP"):
    repeating a decree's long title in every passage made every passage match
    the title's words equally and buried the article that answers.
    """
    return "\n".join(part for part in (meta.label, chunk.heading, chunk.text) if part)


_KINDS = {"complete": bool, "ocr": bool, "extra": dict}
_NUMBER_LISTS = {"replaces", "replaced_by"}  # a list of numbers, or one number as a string


def _right_kind(key: str, value) -> bool:
    if key in _NUMBER_LISTS:
        return isinstance(value, str) or (isinstance(value, list)
                                          and all(isinstance(x, str) for x in value))
    return isinstance(value, _KINDS.get(key, str))


def _checked_sidecar(path: Path) -> dict:
    """The sidecar, refused when a value has the wrong type or is not valid Unicode.

    A number where text belongs crashed the build (`extra`), every search naming
    a document (`number`) or every answer citing it (`valid_until`); a JSON
    escape of half a surrogate pair cannot be stored in SQLite.
    """
    if sidecar_path(path).is_symlink():  # a planted link would read metadata from outside
        raise DocumentError(f"Tệp mô tả {sidecar_path(path).name}: {_LINKED_FILE[0].lower()}{_LINKED_FILE[1:]}")
    sidecar = read_sidecar(path)
    wrong = sorted(k for k, v in sidecar.items()
                   if k in _META_FIELDS and v is not None and not _right_kind(k, v))
    name = sidecar_path(path).name
    if wrong:
        raise DocumentError(f"Tệp mô tả {name}: sai kiểu giá trị ở {', '.join(wrong)} "
                            "(cần chuỗi ký tự; \"complete\", \"ocr\" là true/false; "
                            "\"replaces\", \"replaced_by\" là danh sách số hiệu)")
    try:
        json.dumps(sidecar, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DocumentError(f"Tệp mô tả {name} chứa ký tự Unicode không hợp lệ") from exc
    return sidecar


def prepare(path: Path, source: str, max_mb: float | None = None,
            ocr: OcrOptions | None = None) -> Prepared:
    """Load, clean, describe and split one file. Raises DocumentError when unusable.

    `max_mb` overrides the loader's size limit (MAX_DOCUMENT_MB); `ocr` gives
    scans their OCR cache and progress callback.
    """
    depth = max(1, len(Path(source).parts))  # the name and its folders inside documents/
    if not all(is_clean_name(part) for part in path.parts[-depth:]):
        raise DocumentError("Tên tệp có ký tự điều khiển hoặc không phải UTF-8; "
                            "hãy đổi tên tệp (chỉ dùng chữ, số, dấu gạch) rồi lập chỉ mục lại")
    if path.is_symlink():  # listed as a file, then swapped for a link: still never followed
        raise DocumentError(_LINKED_FILE)
    loaded = load_document(path, max_mb, ocr)
    sidecar = _checked_sidecar(path)
    news = sidecar.get("type") == NEWS or (
        "type" not in sidecar and bool(_NEWS_FOLDERS & set(Path(source).parts[:-1])))
    text = clean_web_text(loaded.text) if news or loaded.format == "html" else loaded.text
    check_length(text)  # first: two str.count passes refuse a huge text at once
    check_words(text)
    meta = resolve_metadata(text, sidecar, news=news)
    meta.ocr = meta.ocr or loaded.ocr  # the contract: set whenever the loader used OCR
    chunks = chunk_document(text, title=meta.title)
    if not chunks:
        raise DocumentError("Không tìm thấy nội dung chữ nào để lập chỉ mục")
    check_passages(len(chunks))
    return Prepared(meta, loaded.format, loaded.pages, loaded.warnings, chunks,
                    [passage_text(meta, c) for c in chunks])
