"""OCR on real scans: Vietnamese pages rendered, rasterised and read back by the real Tesseract.

Every scan here is made the way a scanner makes one: text typeset with a font
that has Vietnamese glyphs (fpdf2 + DejaVu Sans), rendered to grey pixels, and
saved as an image-only PDF or image file, with no text layer left.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import tempfile
import threading
import zlib
from pathlib import Path

import pypdfium2 as pdfium
import pytesseract
import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from bot.answer import build_answer
from bot.errors import DocumentError
from bot.index import Index
from bot.index.builder import OCR_CACHE, build_index
from bot.ingest import ocr
from bot.ingest.loaders import load_document
from bot.retrieve.search import Searcher
from tests.pdfgen import make_pdf


LAW = [
    "LUẬT\nNGHỈ PHÉP CỦA CÁN BỘ\n\nĐiều 1. Phạm vi điều chỉnh\n"
    "Luật này quy định chế độ nghỉ phép hằng năm của cán bộ, công chức.\n\n"
    "Điều 2. Thời gian nghỉ phép\n"
    "Cán bộ, công chức được nghỉ phép hằng năm mười hai ngày làm việc.",
    "Điều 3. Trách nhiệm của cơ quan\n"
    "Cơ quan sử dụng cán bộ, công chức bố trí thời gian nghỉ phép hợp lý và "
    "bảo đảm thẩm quyền quyết định.",
]
DPI = 200  # what the shipped scan was made at


def pages_as_images(pages: list[str]) -> list[Image.Image]:
    """The pages typeset in a real PDF, then rendered to grey pixels like a scanner's."""
    with tempfile.TemporaryDirectory() as folder:
        pdf = pdfium.PdfDocument(make_pdf(Path(folder) / "typeset.pdf", pages).read_bytes())
    try:
        return [pdf[i].render(scale=DPI / 72, grayscale=True).to_pil() for i in range(len(pdf))]
    finally:
        pdf.close()


def scanned_pdf(path: Path, pages: list[str]) -> Path:
    """An image-only PDF of `pages` (no text layer: pypdf extracts nothing)."""
    images = pages_as_images(pages)
    images[0].save(path, "PDF", resolution=DPI, save_all=True, append_images=images[1:])
    assert not "".join(p.extract_text() for p in PdfReader(path).pages).strip()
    return path


@pytest.fixture
def tesseract_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the pages Tesseract is actually asked to read."""
    calls: list[int] = []
    real = pytesseract.image_to_string

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(pytesseract, "image_to_string", counted)
    return calls


def test_scanned_pdf_is_indexed_and_answers(tmp_path: Path, embedder, tesseract_calls) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    scanned_pdf(docs / "luat-nghi-phep.pdf", LAW)
    (docs / "khac.txt").write_text("Điều 1. Khen thưởng\nCông chức được khen thưởng khi lập thành tích.",
                                   encoding="utf-8")
    stages: list[tuple[str, int, int]] = []
    report = build_index(docs, tmp_path / "index", embedder, progress=lambda *a: stages.append(a))

    assert sorted(report.added) == ["khac.txt", "luat-nghi-phep.pdf"], report.skipped
    assert len(tesseract_calls) == 2
    assert ("ocr", 2, 2) in stages  # progress counts the scanned pages
    assert any("OCR" in w for w in report.warnings["luat-nghi-phep.pdf"])
    index = Index.open(tmp_path / "index", embedder.name)
    try:
        result = Searcher(index, embedder).search("Công chức được nghỉ phép hằng năm bao nhiêu ngày?")
        answer = build_answer(result)
    finally:
        index.close()
    top = result.hits[0].passage
    assert top.source == "luat-nghi-phep.pdf" and top.meta.ocr is True
    assert answer.found and answer.quotes[0].source == "luat-nghi-phep.pdf"
    assert answer.quotes[0].article == "2"
    assert "mười hai ngày làm việc" in answer.quotes[0].text


def test_image_files_are_read(tmp_path: Path) -> None:
    first, second = pages_as_images(LAW)
    png = tmp_path / "trang-1.png"
    first.save(png)
    loaded = load_document(png)
    assert loaded.ocr and loaded.format == "image" and loaded.pages == 1
    assert "Điều 2. Thời gian nghỉ phép" in loaded.text

    tiff = tmp_path / "ca-luat.tiff"  # a multi-page TIFF: every page is read, in order
    first.save(tiff, save_all=True, append_images=[second], compression="tiff_lzw")
    loaded = load_document(tiff)
    assert loaded.pages == 2
    assert loaded.text.index("Điều 2.") < loaded.text.index("Điều 3. Trách nhiệm của cơ quan")

    jpg = tmp_path / "anh-chup.jpg"  # a phone photo: pixels stored sideways, EXIF says turn right
    exif = Image.Exif()
    exif[0x0112] = 6
    second.rotate(90, expand=True).save(jpg, quality=90, exif=exif)
    assert "Điều 3. Trách nhiệm của cơ quan" in load_document(jpg).text


def test_without_tesseract_a_scan_is_skipped_with_what_to_install(tmp_path: Path, embedder,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    scanned_pdf(docs / "ban-quet.pdf", LAW)
    pages_as_images(LAW[:1])[0].save(docs / "anh.png")
    (docs / "khac.txt").write_text("Điều 1. Khen thưởng\nCông chức được khen thưởng.", encoding="utf-8")
    monkeypatch.setenv("PATH", str(tmp_path / "no-binaries"))

    report = build_index(docs, tmp_path / "index", embedder)

    assert report.added == ["khac.txt"]
    for source in ("ban-quet.pdf", "anh.png"):
        assert "apt-get install tesseract-ocr tesseract-ocr-vie" in report.skipped[source]
        assert report.skipped[source].startswith("Bản quét cần OCR nhưng chưa cài Tesseract OCR")


def test_a_text_pdf_with_one_scanned_page_keeps_its_text_without_tesseract(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    typeset = make_pdf(tmp_path / "chu.pdf", [LAW[0]])
    scan = pages_as_images(LAW[1:])[0]
    buf = io.BytesIO()
    scan.save(buf, "PDF", resolution=DPI)
    writer = PdfWriter()
    writer.append(str(typeset))
    writer.append(io.BytesIO(buf.getvalue()))
    mixed = tmp_path / "hon-hop.pdf"
    writer.write(mixed)

    with monkeypatch.context() as without:
        without.setenv("PATH", str(tmp_path / "no-binaries"))
        loaded = load_document(mixed)
    assert "Điều 2. Thời gian nghỉ phép" in loaded.text and not loaded.ocr
    assert any("apt-get install tesseract-ocr tesseract-ocr-vie" in w for w in loaded.warnings)

    loaded = load_document(mixed)
    assert loaded.ocr and "Điều 3. Trách nhiệm của cơ quan" in loaded.text


def test_ocr_is_cached_by_file_hash(tmp_path: Path, embedder, tesseract_calls,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    scan = scanned_pdf(docs / "luat.pdf", LAW)
    index_dir = tmp_path / "index"
    build_index(docs, index_dir, embedder)
    assert len(tesseract_calls) == 2
    cache = index_dir / OCR_CACHE / f"{hashlib.sha256(scan.read_bytes()).hexdigest()}.json"
    assert sorted(json.loads(cache.read_text(encoding="utf-8"))["pages"]) == ["0", "1"]

    report = build_index(docs, index_dir, embedder, rebuild=True)  # everything re-read, nothing re-OCR'd
    assert report.added == ["luat.pdf"] and len(tesseract_calls) == 2

    with monkeypatch.context() as without:  # what was read once is read from the cache even
        without.setenv("PATH", str(tmp_path / "no-binaries"))  # where Tesseract is gone
        report = build_index(docs, index_dir, embedder, rebuild=True)
    assert report.added == ["luat.pdf"] and len(tesseract_calls) == 2

    cache.write_text("{not json", encoding="utf-8")  # a damaged cache only costs a new OCR
    build_index(docs, index_dir, embedder, rebuild=True)
    assert len(tesseract_calls) == 4
    assert json.loads(cache.read_text(encoding="utf-8"))["pages"]


def test_pages_are_read_in_parallel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two pages must be in Tesseract at the same time: the barrier only opens for two.
    barrier = threading.Barrier(2, timeout=120)
    real = pytesseract.image_to_string

    def together(*args, **kwargs):
        barrier.wait()
        return real(*args, **kwargs)
    monkeypatch.setattr(pytesseract, "image_to_string", together)
    raw = scanned_pdf(tmp_path / "luat.pdf", LAW).read_bytes()
    found = ocr.ocr_pdf(raw, [0, 1], ocr.OcrOptions(workers=2))
    assert "Điều 3" in found[1]


def test_unreadable_images_are_refused_politely(tmp_path: Path) -> None:
    broken = tmp_path / "hong.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    with pytest.raises(DocumentError, match="Ảnh"):
        load_document(broken)
    bomb = tmp_path / "bom.png"  # a header claiming 40000 x 40000 pixels: refused before decoding
    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 0, 0, 0, 0)
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
                     + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + bytes(12))
    with pytest.raises(DocumentError, match="quá lớn"):
        load_document(bomb)
    blank = tmp_path / "trang.png"
    Image.new("L", (800, 600), 255).save(blank)
    with pytest.raises(DocumentError, match="Không nhận dạng được chữ nào"):
        load_document(blank)
