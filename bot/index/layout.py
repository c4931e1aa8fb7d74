"""The index folder on disk, and how a new version is published atomically.

    index/CURRENT          one line: the name of the published version folder
    index/v-<time>/        config.json, meta.sqlite, vectors.npy, chunk_ids.npy,
                           bm25-accented/, bm25-plain/ (bm25s files + term counts),
                           dense.faiss (only for an IVF index)
    index/.tmp-v-<time>/   a build in progress (removed if it was interrupted)

config.json records the model, its dimension, the chunker and analyzer
versions, library versions and the sha256 of every file, so a damaged or
foreign index is refused at load with a message, not a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from fnmatch import fnmatch
from importlib import metadata
from pathlib import Path

from bot.errors import IndexCorrupt, IndexMissing

CURRENT = "CURRENT"
CONFIG = "config.json"
_REINDEX = "Hãy lập chỉ mục lại: cadrebot index --rebuild"


def _not_a_folder(index_dir: Path) -> IndexMissing:
    return IndexMissing(f"Đường dẫn chỉ mục {index_dir} là một tệp, không phải thư mục. "
                        "Hãy chọn một thư mục khác (--index hoặc INDEX_DIR).")


def ensure_folder(index_dir: Path) -> None:
    """Create the index folder; a file in its place is a clear error, not a traceback."""
    if index_dir.exists() and not index_dir.is_dir():
        raise _not_a_folder(index_dir)
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # a parent is a file
        raise _not_a_folder(index_dir) from None


def current_version(index_dir: Path) -> Path | None:
    """The published version folder, or None when nothing was published yet."""
    if index_dir.exists() and not index_dir.is_dir():
        raise _not_a_folder(index_dir)
    pointer = index_dir / CURRENT
    if not pointer.exists():
        return None
    folder = index_dir / pointer.read_text(encoding="utf-8").strip()
    return folder if folder.is_dir() else None


def require_version(index_dir: Path) -> Path:
    folder = current_version(index_dir)
    if folder is None:
        raise IndexMissing(f"Chưa có chỉ mục trong {index_dir}. Hãy chạy: cadrebot index")
    return folder


def new_version_dir(index_dir: Path) -> Path:
    # One clock reading, to the microsecond, so version names sort by build time.
    now = time.time_ns() // 1000
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now // 1_000_000)) + f"-{now % 1_000_000:06d}"
    folder = index_dir / f".tmp-v-{stamp}"
    folder.mkdir(parents=True)
    return folder


def publish(index_dir: Path, work: Path) -> str:
    """Rename the finished build into place, then swap CURRENT in one atomic step."""
    name = work.name.removeprefix(".tmp-")
    os.rename(work, index_dir / name)
    tmp = index_dir / (CURRENT + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / CURRENT)
    fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return name


def clean_stale(index_dir: Path, keep: int = 2) -> None:
    """Drop interrupted builds and all but the newest `keep` versions (call under the lock).

    The previous version is kept so a reader that resolved CURRENT just before
    a publish can still open it.
    """
    for tmp in index_dir.glob(".tmp-v-*"):
        shutil.rmtree(tmp, ignore_errors=True)
    current = current_version(index_dir)
    versions = sorted(p for p in index_dir.glob("v-*") if p.is_dir())
    for old in versions[:-keep]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _hash_all(paths: list[Path]) -> list[str]:
    # hashlib releases the GIL on large blocks: two threads hash a 100k-chunk version
    # (about 700 MB) in half the time, on the 2 cores this runs on.
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(_sha256, paths))


def write_config(folder: Path, config: dict) -> None:
    paths = [p for p in sorted(folder.rglob("*")) if p.is_file()]
    files = dict(zip((p.relative_to(folder).as_posix() for p in paths), _hash_all(paths)))
    (folder / CONFIG).write_text(json.dumps({**config, "files": files}, ensure_ascii=False,
                                            indent=1), encoding="utf-8")


def read_config(folder: Path) -> dict:
    try:
        config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"Tệp cấu hình chỉ mục hỏng hoặc thiếu ({exc}). {_REINDEX}") from exc
    if not isinstance(config, dict) or "files" not in config:
        raise IndexCorrupt(f"Tệp cấu hình chỉ mục không hợp lệ. {_REINDEX}")
    return config


def verify(folder: Path, config: dict, only: tuple[str, ...] = ("*",)) -> None:
    """Every file the build wrote (or those matching `only`) is present and unchanged."""
    names = [n for n in config["files"] if any(fnmatch(n, pattern) for pattern in only)]
    for name in names:
        if not (folder / name).is_file():
            raise IndexCorrupt(f"Tệp chỉ mục {name} bị hỏng hoặc thiếu. {_REINDEX}")
    for name, digest in zip(names, _hash_all([folder / n for n in names])):
        if digest != config["files"][name]:
            raise IndexCorrupt(f"Tệp chỉ mục {name} bị hỏng hoặc thiếu. {_REINDEX}")


def library_versions() -> dict:
    out = {}
    for package in ("faiss-cpu", "bm25s", "sentence-transformers", "torch"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = None
    return out
