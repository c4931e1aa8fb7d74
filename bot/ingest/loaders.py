"""Read one document file into NFC text, or refuse it with a clear Vietnamese reason.

Admins drop whatever they have into the documents folder: real PDFs, scans, Word
files, exports from old Windows machines in Windows-1258, renamed binaries.
Every failure becomes a `DocumentError` that says what is wrong with the file;
no pypdf/zip/lxml exception leaks out for bad input.
"""

from __future__ import annotations

import copy
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

import docx
from bs4 import BeautifulSoup, NavigableString
from docx.table import Table
from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError

from bot.errors import DocumentError
from bot.ingest import ocr as scans
from bot.ingest.ocr_fix import page_text
from bot.text import nfc

SUPPORTED_SUFFIXES = (".pdf", ".docx", ".txt", ".md", ".html", ".htm") + scans.IMAGE_SUFFIXES
MAX_DOCUMENT_MB = 50  # a larger file is refused before it is read into memory
MAX_PDF_PAGES = 2000  # a PDF with more pages is refused, not read
MAX_DOCX_RATIO = 100  # real DOCX compress ~5-20x; zip bombs compress ~1000x

_PASSWORD = "PDF được mã hoá bằng mật khẩu mở tệp: hãy gỡ mật khẩu rồi đưa vào lại"
# pypdf needs the `cryptography` package (the pypdf[crypto] extra) for AES; without
# it an AES-encrypted PDF, even one that opens without a password, cannot be read.
_NO_AES = ("PDF được mã hoá AES nhưng máy chưa có gói giải mã: "
           "pip install 'pypdf[crypto]' (gói cryptography)")
_ZIP_BOMB = "DOCX bất thường (giải nén quá lớn), có thể là zip bomb"
_BLANK_PAGES = "PDF không có lớp chữ và không có ảnh quét nào: mọi trang đều trắng"
_BLANK_SCAN = "PDF là bản quét nhưng OCR không nhận ra chữ nào (trang trắng hoặc ảnh quá mờ)"
_NOT_TEXT = "Tệp văn bản không đọc được: không phải UTF-8, UTF-16 hay Windows-1258"
_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# C0/C1 controls except \t and \n, DEL, and stray BOMs inside the text.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ufeff]")
# Letters only Vietnamese uses: đ ă ơ ư and the Latin Extended Additional block
# (ạ ả ấ ầ ẩ ẫ ậ ... ỹ) that holds most toned vowels.
_VIETNAMESE = re.compile(r"[đĐăĂơƠưƯ\u1ea0-\u1ef9]")
_HTML_CHROME = ["head", "script", "style", "noscript", "template", "nav", "aside", "iframe"]
_HTML_BLOCKS = ["p", "div", "br", "li", "tr", "table", "ul", "ol", "dl", "dt", "dd", "hr",
                "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "main", "header",
                "footer", "blockquote", "pre", "figure", "figcaption", "address", "form", "caption"]


@dataclass
class Loaded:
    text: str  # NFC, "\n"-separated lines, no NUL/control chars except \n and \t
    format: str  # "pdf" | "docx" | "txt" | "md" | "html" | "image"
    pages: int | None  # page count for PDFs, else None
    warnings: list[str] = field(default_factory=list)  # Vietnamese, for the admin
    ocr: bool = False  # some text was read by OCR from a scan: citations must say so


def load_document(path: Path, max_mb: float | None = None,
                  ocr: scans.OcrOptions | None = None) -> Loaded:
    """Read `path` by its suffix; raise `DocumentError` when it cannot be used.

    Files over `max_mb` (default MAX_DOCUMENT_MB) are refused by their size alone.
    Scans (PDF pages without text, images) are read by OCR with `ocr`'s cache and progress.
    """
    path = Path(path)
    limit = MAX_DOCUMENT_MB if max_mb is None else max_mb
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = suffix or "(không có đuôi)"
        raise DocumentError(
            f"Định dạng {shown} không được hỗ trợ (chỉ nhận PDF, DOCX, TXT, MD, HTML, "
            "ảnh quét PNG, JPG, TIFF)"
        )
    try:
        size = path.stat().st_size
        if size > limit * 1024 * 1024:
            raise DocumentError(f"Tệp quá lớn ({size / 1024 / 1024:.1f} MB; tối đa {limit:g} MB)")
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"Không mở được tệp: {exc.strerror or exc}") from exc
    if not raw:
        raise DocumentError("Tệp rỗng (0 byte)")
    if suffix == ".pdf":
        loaded = _load_pdf(raw, ocr)
    elif suffix in scans.IMAGE_SUFFIXES:
        loaded = _load_image(raw, ocr)
    elif suffix == ".docx":
        loaded = _load_docx(raw, limit)
    elif suffix in (".html", ".htm"):
        loaded = Loaded(_html_text(_decode_text(raw)), "html", None)
    else:
        loaded = Loaded(_decode_text(raw), suffix[1:], None)
    loaded.text = _clean(loaded.text)
    if not loaded.text.strip():
        raise DocumentError("Tệp không có nội dung chữ")
    return loaded


def _clean(text: str) -> str:
    """NFC, "\\n" line breaks, no control characters."""
    return nfc(_CONTROL.sub("", _LINE_BREAKS.sub("\n", text)))


def _load_pdf(raw: bytes, ocr: scans.OcrOptions | None = None) -> Loaded:
    # Readers (Acrobat, pypdf) accept junk before the header in the first 1 KB.
    if b"%PDF-" not in raw[:1024]:
        raise DocumentError("Tệp không phải PDF thật (nội dung không khớp đuôi .pdf)")
    # pypdf raises many exception types on damaged files (PdfReadError,
    # KeyError, ValueError, RecursionError...): all mean the same to an admin.
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            # Most "encrypted" PDFs only restrict printing and open with "".
            raise DocumentError(_PASSWORD)
        # /Count is read without walking the page tree, so a PDF with a
        # million pages is refused before any per-page work.
        tree = reader.root_object["/Pages"]
        declared = int(tree["/Count"]) if "/Count" in tree else 0
        pages = declared if declared > MAX_PDF_PAGES else len(reader.pages)
        if pages > MAX_PDF_PAGES:
            raise DocumentError(f"PDF có {pages} trang, quá giới hạn {MAX_PDF_PAGES} trang")
    except DocumentError:
        raise
    except DependencyError as exc:
        raise DocumentError(_NO_AES) from exc
    except FileNotDecryptedError as exc:
        raise DocumentError(_PASSWORD) from exc
    except Exception as exc:
        raise DocumentError(f"PDF bị hỏng, không đọc được: {exc}") from exc

    texts, failed, empty = [], [], []
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception:  # one damaged content stream should not lose the rest
            text = ""
            failed.append(number)
        else:
            if not text.strip():
                empty.append(number)
        texts.append(text)
    if pages == 0 or len(failed) == pages:
        raise DocumentError("PDF bị hỏng, không đọc được: không có trang nào đọc được")
    # Only a page that holds an image can be a scan: blank pages (no text, no image) are
    # never rendered and OCR'd, so 1,500 empty pages cost a page-tree walk, not 1,500 OCRs.
    scanned = [n for n in empty if _has_image(reader.pages[n - 1])]
    if not scanned and not any(t.strip() for t in texts):
        raise DocumentError(_BLANK_PAGES)
    read, unread, cannot = _ocr_pdf_pages(raw, texts, scanned, ocr)
    unread = sorted(unread + [n for n in empty if n not in scanned])
    # One warning per kind, pages as ranges: a PDF with 1,500 blank pages says so in one line.
    warnings = [f"Trang {_ranges(numbers)} {what}" for numbers, what in (
        (failed, "bị hỏng, không đọc được chữ"), (read, "là ảnh quét, đọc bằng OCR: cần đối chiếu bản gốc"),
        (unread, "không có chữ (có thể là ảnh quét)")) if numbers]
    if cannot:
        warnings.append(f"Không OCR được: {cannot}")
    # No de-hyphenation: Vietnamese syllables are short and rarely split.
    return Loaded("\n".join(texts), "pdf", pages, warnings, ocr=bool(read))


def _has_image(page) -> bool:
    """Whether a page draws any image (XObject or inline, nested forms included)."""
    try:
        return len(page.images) > 0
    except Exception:  # a damaged resource dictionary: let OCR have a look
        return True


def _ocr_pdf_pages(raw: bytes, texts: list[str], empty: list[int],
                   ocr: scans.OcrOptions | None) -> tuple[list[int], list[int], str | None]:
    """OCR the pages without a text layer into `texts`: (pages read, pages still empty,
    why OCR cannot run here).

    A PDF that is all scan cannot be used without OCR (DocumentError saying what
    to install); a few scanned pages in a text PDF only cost a warning.
    """
    if not empty:
        return [], [], None
    try:
        found = scans.ocr_pdf(raw, [n - 1 for n in empty], ocr)
    except scans.OcrUnavailable as exc:
        if not any(t.strip() for t in texts):
            raise
        return [], empty, exc.reason
    read = [n for n in empty if found[n - 1].strip()]
    if not read and not any(t.strip() for t in texts):
        raise DocumentError(_BLANK_SCAN)
    for n in read:
        texts[n - 1] = page_text(found[n - 1])
    return read, [n for n in empty if n not in read], None


def _load_image(raw: bytes, ocr: scans.OcrOptions | None) -> Loaded:
    """A scanned page (or a multi-page TIFF), read by OCR."""
    frames = scans.ocr_image(raw, ocr)
    if not any(f.strip() for f in frames):
        raise DocumentError("Không nhận dạng được chữ nào trong ảnh")
    warnings = ["Văn bản đọc bằng OCR từ ảnh quét: cần đối chiếu bản gốc"]
    return Loaded("\n".join(page_text(f) for f in frames), "image", len(frames), warnings, ocr=True)


def _ranges(numbers: list[int]) -> str:
    """[2, 3, 4, 7] -> "2-4, 7" (consecutive numbers share their offset from their index)."""
    runs = [[n for _, n in run] for _, run in groupby(enumerate(numbers), lambda t: t[1] - t[0])]
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def _load_docx(raw: bytes, limit_mb: float) -> Loaded:
    if not raw.startswith(b"PK\x03\x04"):
        raise DocumentError("Tệp không phải DOCX thật (nội dung không khớp đuôi .docx)")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = archive.infolist()
            _check_unzipped_size(archive, members, limit_mb)
    except DocumentError:
        raise
    except Exception as exc:  # BadZipFile (bad CRC too), EOFError, ValueError on damaged archives
        raise DocumentError(f"DOCX bị hỏng, không đọc được: {exc}") from exc
    if "word/document.xml" not in {m.filename for m in members}:
        raise DocumentError("Tệp không phải DOCX thật (nội dung không khớp đuôi .docx)")
    try:
        document = docx.Document(io.BytesIO(raw))
        lines = []
        for block in document.iter_inner_content():  # paragraphs and tables in order
            if isinstance(block, Table):
                lines.extend(_table_rows(block))
            else:
                lines.append(block.text)
    except Exception as exc:  # lxml, KeyError, python-docx's own errors
        raise DocumentError(f"DOCX bị hỏng, không đọc được: {exc}") from exc
    return Loaded("\n".join(lines), "docx", None)


def _check_unzipped_size(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo],
                         limit_mb: float) -> None:
    """Refuse a zip bomb before python-docx inflates anything: declared sizes first,
    then each member inflated in 64 KB steps, since zipfile's read() inflates a whole
    member before cutting it to the declared size (a lying member would fill memory).

    The unzipped size counts against the same limit as a file on disk: python-docx
    parses ~1 MB of XML a second here, so a 6 MB DOCX unzipping to 200 MB (ratio 33,
    under the ratio guard) held the build lock for over ten minutes (issue 18)."""
    unzipped = sum(m.file_size for m in members)
    zipped = sum(m.compress_size for m in members)
    if unzipped > MAX_DOCX_RATIO * max(zipped, 1):
        raise DocumentError(_ZIP_BOMB)
    if unzipped > limit_mb * 1024 * 1024:
        raise DocumentError(f"DOCX giải nén ra {unzipped / 1024 / 1024:.1f} MB, quá giới hạn "
                            f"{limit_mb:g} MB (có thể là zip bomb)")
    for member in members:
        probe = copy.copy(member)
        probe.file_size += 1  # run one byte past the declared size (a lie also fails its CRC)
        with archive.open(probe) as stream:
            size = sum(len(block) for block in iter(lambda: stream.read(1 << 16), b""))
        if size > member.file_size:
            raise DocumentError(_ZIP_BOMB)


def _table_rows(table: Table) -> list[str]:
    """One line per row, cells joined by " | "; a merged cell counts once."""
    rows = []
    for row in table.rows:
        cells, seen = [], None
        for cell in row.cells:
            # A horizontally merged cell comes back once per grid column.
            if cell._tc is not seen:
                cells.append(" ".join(cell.text.split()))
                seen = cell._tc
        rows.append(" | ".join(cells))
    return rows


def _decode_text(raw: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 (BOM or NUL pattern), else Windows-1258."""
    if raw[:5] == b"%PDF-" or raw[:4] == b"PK\x03\x04":
        # An uncompressed PDF is valid ASCII and would be "read" as syntax soup.
        raise DocumentError("Tệp không phải văn bản thuần (có vẻ là PDF/DOCX bị đổi đuôi)")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _checked(raw, "utf-16")
    if raw.startswith(b"\xef\xbb\xbf"):
        return _checked(raw, "utf-8-sig")
    # ASCII-range characters, the bulk of Vietnamese text too, put a NUL in
    # every other byte of BOM-less UTF-16; which half says the byte order.
    head = raw[:4096]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if len(head) >= 4 and odd > len(head) // 6 and even <= odd // 10:
        return _checked(raw, "utf-16-le")
    if len(head) >= 4 and even > len(head) // 6 and odd <= even // 10:
        return _checked(raw, "utf-16-be")
    try:
        return _checked(raw, "utf-8")
    except DocumentError:
        pass
    # Windows-1258 writes tone marks as separate combining characters; NFC
    # composes them. Python's codec also refuses the 7 bytes the page leaves
    # undefined, which already rejects most binary files.
    text = nfc(_checked(raw, "cp1258"))
    odd_chars = [c for c in text if ord(c) > 0x7F and not _is_texty(c)]
    non_ascii = sum(ord(c) > 0x7F for c in text)
    if len(odd_chars) > 0.05 * non_ascii or not _VIETNAMESE.search(text):
        raise DocumentError(_NOT_TEXT)
    return text


def _checked(raw: bytes, encoding: str) -> str:
    """Decode strictly and refuse binary-looking results (many control chars)."""
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DocumentError(_NOT_TEXT) from exc
    # A stray NUL or ESC in a real text is dropped later; binary has lots.
    controls = sum(1 for _ in _CONTROL.finditer(text[:100_000]))
    if controls > max(4, 0.01 * min(len(text), 100_000)):
        raise DocumentError(_NOT_TEXT)
    return text


def _is_texty(char: str) -> bool:
    """Letter, punctuation or space: what non-ASCII characters of real text are.

    A combining mark still left after NFC sits on a letter that cannot take it,
    which only happens when random bytes are read as Windows-1258.
    """
    return unicodedata.category(char)[0] in "LPZ"


def _html_text(markup: str) -> str:
    """Visible text, one line per block element; page chrome dropped."""
    soup = BeautifulSoup(markup, "lxml")
    for tag in soup(_HTML_CHROME):
        tag.decompose()
    # Page-level header/footer are site chrome; inside <article> they hold the
    # title and date of the text itself.
    for tag in soup(["header", "footer"]):
        if not tag.find_parent("article"):
            tag.decompose()
    # Source line breaks inside a paragraph are just spaces in HTML; only
    # block elements break lines. Comments/doctype are other string types.
    for string in soup.find_all(string=True):
        if type(string) is NavigableString and not string.find_parent("pre"):
            string.replace_with(re.sub(r"\s+", " ", string))
    for tag in soup(_HTML_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    for tag in soup(["td", "th"]):
        if tag.find_previous_sibling(["td", "th"]):
            tag.insert_before(" | ")
    lines = (line.strip() for line in soup.get_text().split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
