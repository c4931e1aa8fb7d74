"""Read scans: PDF pages without a text layer, and image files, with Tesseract's Vietnamese model.

Wrapper: pytesseract, not ocrmypdf. The index needs plain text per page, to
split into Chương/Điều/Khoản; ocrmypdf's product is a new PDF with a text layer
(the text would then be extracted again), it needs Ghostscript and qpdf
besides Tesseract, and it takes PDFs only, while admins also send photos
(PNG, JPG, TIFF). pytesseract is the maintained thin wrapper over the
`tesseract` binary: one image in, its text out, with a timeout.

Rasteriser: pypdfium2 (PDFium, Chrome's PDF engine, shipped inside the wheel):
no poppler/Ghostscript binary to install, renders a page straight to a PIL
image, and reads the damaged PDFs pypdf already accepted.

Parallelism: the work happens in `tesseract` subprocesses, so a thread pool of
os.cpu_count() threads keeps every core busy without a process pool (which
would fork a process holding torch's threads, or re-import the bot under
spawn). Each tesseract runs one OpenMP thread: two pages on two cores beat one
page on two threads. PDFium is not thread-safe, so pages are rendered in the
calling thread, a few ahead of the workers (bounded memory: ~9 MB a page).

Tesseract's raw text is cached by file hash under the index folder
(`index/ocr-cache/<sha256>.json`, outside the version folders, so it survives
version swaps): a re-index, or a rebuild, does not OCR again. The correction
of hat and tone marks (`ocr_fix`) runs after the cache, so improving it needs
no new OCR.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import threading
import warnings
from collections import deque
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from bot.errors import DocumentError

LANG = "vie"
DPI = 300  # the scans are 200 dpi bilevel; rendering at 300 measured fewer mark errors (2026-12-01)
PAGE_TIMEOUT = 180  # seconds for one page: a hung tesseract must not hang the build
MAX_FRAMES = 2000  # pages of a multi-page TIFF, like loaders.MAX_PDF_PAGES
CACHE_VERSION = 1
INSTALL = "apt-get install tesseract-ocr tesseract-ocr-vie"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")

Progress = Callable[[str, int, int], None]  # (stage, done, total), as in build_index


@dataclass(frozen=True)
class OcrOptions:
    """Where OCR results are cached and who hears about progress (stage "ocr", pages)."""

    cache_dir: Path | None = None
    progress: Progress | None = None
    workers: int = 0  # 0: one per core


def missing() -> str | None:
    """Why OCR cannot run here (Vietnamese, with the install command), or None when it can."""
    import pytesseract

    if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
        return f"chưa cài Tesseract OCR (cài bằng: {INSTALL})"
    try:
        languages = pytesseract.get_languages(config="")
    except Exception:  # a broken install answers with an error, not a list
        return f"Tesseract OCR không chạy được (cài lại bằng: {INSTALL})"
    if LANG not in languages:
        return f"Tesseract thiếu mô hình tiếng Việt (cài bằng: {INSTALL})"
    return None


class OcrUnavailable(DocumentError):
    """A scan needs OCR and this machine cannot run it; `reason` says what to install."""

    def __init__(self, reason: str):
        super().__init__(f"Bản quét cần OCR nhưng {reason}; tệp được bỏ qua")
        self.reason = reason


def require() -> None:
    """Raise OcrUnavailable saying what to install when OCR cannot run."""
    reason = missing()
    if reason:
        raise OcrUnavailable(reason)


def ocr_pdf(raw: bytes, pages: list[int], options: OcrOptions | None = None) -> dict[int, str]:
    """Tesseract's text of the given PDF pages (0-based), cached by the file's hash."""
    def render(todo: list[int]) -> Iterator[object]:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(raw)
        try:
            for index in todo:
                page = pdf[index]
                try:
                    yield page.render(scale=DPI / 72, grayscale=True).to_pil()
                finally:
                    page.close()
        finally:
            pdf.close()
    return _cached(raw, pages, render, options or OcrOptions())


def ocr_image(raw: bytes, options: OcrOptions | None = None) -> list[str]:
    """Tesseract's text of each frame of an image file (a TIFF may hold many pages)."""
    frames = _frame_count(raw)

    def render(todo: list[int]) -> Iterator[object]:
        from PIL import ImageOps

        image = _open_image(raw)
        for index in todo:
            image.seek(index)
            # A phone photo is stored sideways with an EXIF rotation; "L" also applies palettes.
            yield ImageOps.exif_transpose(image).convert("L")
    found = _cached(raw, list(range(frames)), render, options or OcrOptions())
    return [found[i] for i in range(frames)]


def _open_image(raw: bytes):
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # A decompression bomb is refused, not merely warned about.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw))
            image.load()
        return image
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise DocumentError(f"Ảnh không đọc được hoặc quá lớn: {exc}") from exc
    except Exception as exc:  # truncated files raise OSError, SyntaxError, ValueError...
        raise DocumentError(f"Ảnh bị hỏng, không đọc được: {exc}") from exc


def _frame_count(raw: bytes) -> int:
    frames = getattr(_open_image(raw), "n_frames", 1)
    if frames > MAX_FRAMES:
        raise DocumentError(f"Ảnh có {frames} trang, quá giới hạn {MAX_FRAMES} trang")
    return frames


def _cached(raw: bytes, pages: list[int], render, options: OcrOptions) -> dict[int, str]:
    """The pages' text from the cache, OCR-ing (and caching) only the pages it lacks.

    Raises OcrUnavailable only when a page must be read and Tesseract cannot run.
    """
    path = options.cache_dir / f"{hashlib.sha256(raw).hexdigest()}.json" if options.cache_dir else None
    found = _read_cache(path)
    todo = [p for p in pages if p not in found]
    if todo:
        require()
        found.update(zip(todo, _recognise(render(todo), len(todo), options)))
        _write_cache(path, found)
    return {p: found[p] for p in pages}


def _recognise(images: Iterator[object], total: int, options: OcrOptions) -> list[str]:
    """OCR `total` images in parallel, in order, reporting ("ocr", done, total)."""
    import pytesseract

    pytesseract.pytesseract.environ = _ONE_THREAD
    workers = options.workers or os.cpu_count() or 1
    progress = options.progress or (lambda *_: None)
    lock = threading.Lock()
    done = [0]

    def read(image) -> str:
        try:
            text = pytesseract.image_to_string(image, lang=LANG, timeout=PAGE_TIMEOUT)
        except RuntimeError as exc:  # pytesseract's timeout
            raise DocumentError(f"OCR quá thời gian ({PAGE_TIMEOUT} giây một trang)") from exc
        except pytesseract.TesseractError as exc:
            raise DocumentError(f"Tesseract báo lỗi: {exc.message}") from exc
        with lock:
            done[0] += 1
            progress("ocr", done[0], total)
        return text

    progress("ocr", 0, total)
    results: list[str] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocr") as pool:
        pending: deque = deque()
        for image in images:
            pending.append(pool.submit(read, image))
            if len(pending) >= 2 * workers:  # render ahead, but not the whole file
                results.append(pending.popleft().result())
        results += [future.result() for future in pending]
    return results


class _OneThreadEnviron(Mapping):
    """os.environ as it is now, plus OMP_THREAD_LIMIT=1: what tesseract subprocesses get.

    pytesseract hands its module-level `environ` to Popen. Setting the variable
    in os.environ instead would also reach torch's OpenMP and every later child.
    """

    def __getitem__(self, key: str) -> str:
        return "1" if key == "OMP_THREAD_LIMIT" else os.environ[key]

    def __iter__(self):
        return iter({**os.environ, "OMP_THREAD_LIMIT": "1"})

    def __len__(self) -> int:
        return len({**os.environ, "OMP_THREAD_LIMIT": "1"})


_ONE_THREAD = _OneThreadEnviron()


def _read_cache(path: Path | None) -> dict[int, str]:
    """Cached pages, or {} when absent, damaged or written by another engine/version."""
    if path is None or not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != CACHE_VERSION or data.get("lang") != LANG or data.get("dpi") != DPI:
            return {}
        return {int(k): v for k, v in data["pages"].items() if isinstance(v, str)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}  # a damaged cache only costs a new OCR


def _write_cache(path: Path | None, pages: dict[int, str]) -> None:
    if path is None:
        return
    data = {"version": CACHE_VERSION, "lang": LANG, "dpi": DPI,
            "pages": {str(k): v for k, v in sorted(pages.items())}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only index folder only costs a new OCR next time
