"""Files an admin sends: checked, named safely, described by the caption, put in place.

Uploaded bytes land in `documents/.uploads/` (a hidden folder, which the
indexer skips) and are moved under a clean name only once the build may start,
so a half-downloaded file is never indexed.
"""

from __future__ import annotations

import re
import shutil
import uuid
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Callable

from bot.errors import DocumentError
from bot.ingest.metadata import find_number, sidecar_path, write_sidecar
from bot.ingest.ocr import IMAGE_SUFFIXES
from bot.text import fold, nfc, strip_diacritics

UPLOAD_SUFFIXES = (".pdf", ".docx", ".txt") + IMAGE_SUFFIXES  # scans and photos are read by OCR
UPLOAD_FOLDER = ".uploads"


def clean_name(name: str) -> str:
    """A safe file name: no folders, no diacritics, lower case, letters, digits and dashes."""
    base = PurePosixPath(nfc(name).replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^a-z0-9]+", "-", strip_diacritics(stem).lower()).strip("-")[:80].strip("-")
    suffix = re.sub(r"[^a-z0-9]", "", suffix.lower())
    return f"{stem or 'van-ban'}.{suffix}" if suffix else stem or "van-ban"


def check_upload(file_name: str, size: int | None, max_bytes: int) -> str | None:
    """Why this file is refused before downloading it, or None."""
    suffix = PurePosixPath(file_name or "").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        return "Chỉ nhận tệp PDF, DOCX, TXT hoặc ảnh bản quét (PNG, JPG, TIFF)."
    if size is None or size > max_bytes:
        return f"Tệp quá lớn (tối đa {max_bytes / 1e6:.0f} MB)."
    if size == 0:
        return "Tệp rỗng."
    return None


_CAPTION_KEYS = {
    "so": "number", "so hieu": "number", "ngay": "date", "ngay ban hanh": "date",
    "tieu de": "title", "ten": "title", "loai": "type", "co quan": "issuer",
    "co quan ban hanh": "issuer", "tinh trang": "status", "trang thai": "status",
    "het hieu luc": "valid_until", "hieu luc den": "valid_until",
}
_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})|(\d{4})-(\d{2})-(\d{2})")


def _iso(text: str) -> str | None:
    m = _DATE.search(text)
    if not m:
        return None
    d, mo, y = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(6), m.group(5), m.group(4))
    try:
        return date(int(y), int(mo), int(d)).isoformat()
    except ValueError:
        return None


def caption_metadata(caption: str | None) -> dict:
    """Sidecar fields from a caption such as "Số: 99/2024/NĐ-CP; ngày 01/02/2024; bản trích"."""
    fields: dict = {}
    for part in re.split(r"[\n;]+", nfc(caption or "")):
        part = part.strip()
        key, sep, value = part.partition(":")
        name = _CAPTION_KEYS.get(" ".join(strip_diacritics(fold(key)).split())) if sep else None
        plain = strip_diacritics(fold(part))
        if name in ("date", "valid_until"):
            fields[name] = _iso(value)
        elif name:
            fields[name] = value.strip() or None
        elif plain in ("trich", "ban trich"):
            fields["complete"] = False
        elif plain.startswith(("het hieu luc", "khong con hieu luc")):
            fields["valid_until"] = _iso(part) or date.today().isoformat()
        elif plain.startswith("ngay") and _iso(part):
            fields["date"] = _iso(part)
        elif find_number(part):
            fields["number"] = find_number(part)
    return {k: v for k, v in fields.items() if v is not None}


def upload_path(documents_dir: Path, token: str) -> Path:
    """Where a channel saves the bytes before the build takes them."""
    folder = documents_dir / UPLOAD_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{token}.part"


def place(documents_dir: Path, downloaded: Path, name: str, meta: dict) -> Callable[[bool], None]:
    """Move the download to documents/<name> and write its sidecar.

    Returns `undo(failed)`: when the new file could not be read, it restores
    the previous file of that name (the index kept its old version) or removes
    the new one, so the folder and the index agree.
    """
    target = documents_dir / name
    side = sidecar_path(target)
    backup = documents_dir / UPLOAD_FOLDER / f"{downloaded.stem}.previous"
    kept = [(p, backup.with_suffix(f".{i}")) for i, p in enumerate((target, side)) if p.exists()]
    for original, saved in kept:
        shutil.copy2(original, saved)
    downloaded.replace(target)
    if meta:
        write_sidecar(target, meta)

    def undo(failed: bool) -> None:
        if failed:
            target.unlink(missing_ok=True)
            side.unlink(missing_ok=True)
            for original, saved in kept:
                saved.replace(original)
        for _, saved in kept:
            saved.unlink(missing_ok=True)
    return undo


def removable(documents_dir: Path, source: str) -> str | None:
    """Why `source` cannot be removed from the chat (a link, or outside the folder), or None."""
    path = documents_dir / source
    if path.is_symlink():
        return ("tệp là một liên kết (symlink), không phải văn bản nằm trong thư mục documents/. "
                "Quản trị viên máy chủ cần xoá liên kết đó rồi gõ /reindex.")
    root = documents_dir.resolve()
    resolved = path.resolve()
    if not resolved.is_relative_to(root) or resolved == root:
        return "tệp không nằm trong thư mục documents/."
    return None


def park(documents_dir: Path, source: str) -> Callable[[object], None]:
    """Move a document and its sidecar aside, for a build without them.

    Returns `settle(report)`: with a report (the build without the file was
    published) the parked files are deleted; with None (the build failed) they
    are put back, so the folder never loses a file the index still serves.
    """
    why = removable(documents_dir, source)
    if why:
        raise DocumentError(f"Không xoá được {source}: {why}")
    path = documents_dir / source
    parked_dir = documents_dir / UPLOAD_FOLDER
    parked_dir.mkdir(parents=True, exist_ok=True)
    stamp = uuid.uuid4().hex
    moved = []
    for i, original in enumerate((path, sidecar_path(path))):
        if original.exists():
            aside = parked_dir / f"{stamp}.removed.{i}"
            original.replace(aside)
            moved.append((original, aside))

    def settle(report) -> None:
        for original, aside in moved:
            if report is None:
                aside.replace(original)
            else:
                aside.unlink(missing_ok=True)
    return settle
