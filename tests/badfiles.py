"""A corpus of bad inputs, generated on demand: what admins and strangers really send.

Each `make_*` function writes one file into a folder and returns its path.
`BAD_FILES` lists every bad document with the words its refusal reason must
contain (None: the file is odd but usable and must be indexed sanely), so one
test can drop them all beside a good document and check the build.
"""

from __future__ import annotations

import io
import os
import random
import struct
import zipfile
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable

import docx
from pdfgen import encrypt_aes, make_image_only_pdf, make_pdf
from pypdf import PdfWriter

GOOD_TEXT = """CHÍNH PHỦ
Số: 41/2024/NĐ-CP
Hà Nội, ngày 10 tháng 4 năm 2024

NGHỊ ĐỊNH
Quy định chế độ phụ cấp cho cán bộ làm công tác cứu hộ đê điều

Điều 1. Phạm vi điều chỉnh
Nghị định này quy định chế độ phụ cấp cho cán bộ làm công tác cứu hộ đê điều.

Điều 2. Phụ cấp trực đê
1. Cán bộ trực đê trong mùa lũ được hưởng phụ cấp trực đê bằng 30% mức lương cơ sở mỗi ngày.
2. Thời gian hưởng phụ cấp trực đê tính theo số ngày thực tế trực tại điếm canh đê.
"""
GOOD_QUESTION = "phụ cấp trực đê mùa lũ bao nhiêu"
LEGAL_PAGE = ("NGHỊ ĐỊNH 52/2024/NĐ-CP\nĐiều 1. Chế độ nghỉ phép\n"
              "Cán bộ được nghỉ phép mười hai ngày mỗi năm.")


def make_good(folder: Path) -> Path:
    path = folder / "nd-41-2024.txt"
    path.write_text(GOOD_TEXT, encoding="utf-8")
    return path


def make_corrupt_pdf(folder: Path) -> Path:
    """A real PDF cut in half with its middle overwritten: no xref, broken streams."""
    good = make_pdf(folder / "tmp-source.pdf", [LEGAL_PAGE] * 3)
    raw = bytearray(good.read_bytes())
    good.unlink()
    half = raw[: len(raw) // 2]
    half[200:600] = random.Random(7).randbytes(400)
    path = folder / "hong.pdf"
    path.write_bytes(bytes(half))
    return path


def make_encrypted_pdf(folder: Path, password: str = "mat-khau-2024") -> Path:
    """A PDF that cannot be opened without its user password (written by pypdf)."""
    path = make_pdf(folder / "ma-hoa.pdf", [LEGAL_PAGE])
    return encrypt_aes(path, user_password=password, owner_password=password + "-chu")


def make_scanned_pdf(folder: Path) -> Path:
    return make_image_only_pdf(folder / "ban-quet.pdf", pages=3)


def make_blank_pages_pdf(folder: Path, pages: int = 1500, name: str = "trang-trang.pdf") -> Path:
    """Thousands of empty pages: every page is walked, none has text."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    path = folder / name
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def make_too_many_pages_pdf(folder: Path) -> Path:
    return make_blank_pages_pdf(folder, pages=5000, name="qua-nhieu-trang.pdf")


def make_forged_page_count_pdf(folder: Path) -> Path:
    """2,500 pages whose page tree claims a /Count of 1: the real count must be checked too."""
    path = make_blank_pages_pdf(folder, pages=2500, name="so-trang-gia.pdf")
    path.write_bytes(path.read_bytes().replace(b"/Count 2500", b"/Count 1   ", 1))
    return path


def make_zero_byte(folder: Path) -> Path:
    path = folder / "rong.txt"
    path.write_bytes(b"")
    return path


def make_oversized(folder: Path, megabytes: int = 60) -> Path:
    """A text file over the size limit. Sparse, so it costs no disk space."""
    path = folder / "qua-lon.txt"
    with path.open("wb") as handle:
        handle.write("Điều 1. Văn bản rất lớn\n".encode())
        handle.truncate(megabytes * 1024 * 1024)
    return path


def make_exe_as_pdf(folder: Path) -> Path:
    """A Windows executable (MZ header, PE stub) renamed .pdf."""
    stub = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(44)
    stub += struct.pack("<I", 0x80) + b"This program cannot be run in DOS mode.\r\r\n$"
    path = folder / "nghi-dinh-moi.pdf"
    path.write_bytes(stub + random.Random(3).randbytes(8000))
    return path


@cache
def _deflated_zeros(megabytes: int) -> tuple[bytes, int]:
    """Raw deflate data that inflates to `megabytes` MB of zero bytes (~1000:1), and its CRC."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk, crc, parts = bytes(1 << 20), 0, []
    for _ in range(megabytes):
        parts.append(deflate.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    return b"".join(parts) + deflate.flush(), crc


def _docx_with(document_xml: bytes, declared: int, crc: int) -> bytes:
    """A real DOCX whose word/document.xml is replaced by raw deflate data with forged sizes.

    Written by hand because zipfile always records the true sizes.
    """
    source, parts = io.BytesIO(), io.BytesIO()
    document = docx.Document()
    document.add_paragraph("Điều 1. Văn bản thử")
    document.save(source)
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(parts, "w", zipfile.ZIP_DEFLATED) as out:
        others = [info for info in original.infolist() if info.filename != "word/document.xml"]
        for info in others:
            out.writestr(info, original.read(info))
    kept = parts.getvalue()
    start = kept.index(b"PK\x01\x02")  # the central directory follows the members
    directory = kept[start:kept.index(b"PK\x05\x06")]
    name = b"word/document.xml"
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc,
                        len(document_xml), declared, len(name), 0) + name
    record = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc,
                         len(document_xml), declared, len(name), 0, 0, 0, 0, 0, start) + name
    body = kept[:start] + local + document_xml
    directory += record
    count = len(others) + 1
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(directory), len(body), 0)
    return body + directory + end


def make_zip_bomb_docx(folder: Path, megabytes: int = 300) -> Path:
    """A DOCX whose document.xml honestly declares that it inflates to hundreds of MB."""
    data, crc = _deflated_zeros(megabytes)
    path = folder / "bom.docx"
    path.write_bytes(_docx_with(data, megabytes << 20, crc))
    return path


def make_lying_zip_bomb_docx(folder: Path, megabytes: int = 300) -> Path:
    """A DOCX whose document.xml declares 2 KB, with the CRC of its first 2 KB, but
    inflates to hundreds of MB: a guard that trusts the declared sizes lets it through.
    """
    path = folder / "bom-gia.docx"
    data, _ = _deflated_zeros(megabytes)
    path.write_bytes(_docx_with(data, 2048, zlib.crc32(bytes(2048))))
    return path


def make_random_bytes_txt(folder: Path) -> Path:
    path = folder / "ngau-nhien.txt"
    path.write_bytes(random.Random(11).randbytes(200_000))
    return path


def make_single_line_txt(folder: Path, size: int = 1_000_000) -> Path:
    """1 MB of Vietnamese prose on one line: no line break, no structure."""
    sentence = "Cán bộ phải giữ gìn phẩm chất đạo đức và tận tụy phục vụ nhân dân. "
    raw = (sentence * (size // len(sentence) + 1)).encode()[:size]
    path = folder / "mot-dong.txt"
    path.write_bytes(raw.decode("utf-8", "ignore").encode())
    return path


def make_six_megabyte_line_txt(folder: Path) -> Path:
    """6 MB of prose on one line: 5,000 passages, once minutes of embedding (issue 18)."""
    path = make_single_line_txt(folder, 6_000_000)
    return path.rename(folder / "sau-mb-mot-dong.txt")


def make_wordless_txt(folder: Path, size: int = 2_000_000) -> Path:
    """2 MB of "aaaa…": no word, no line, no structure. The issue's 5 MB (once 4,173
    passages) is refused from its length first; 2 MB fits the length and has no word."""
    path = folder / "aaaa.txt"
    path.write_bytes(b"a" * size)
    return path


def make_many_lines_txt(folder: Path, lines: int = 200_000) -> Path:
    """A decision listing 200,000 short lines: splitting it was quadratic (161 s, issue 18)."""
    path = folder / "danh-sach.txt"
    header = "THỦ TƯỚNG CHÍNH PHỦ\nSố: 12/2024/QĐ-TTg\n\nQUYẾT ĐỊNH\nVề danh sách cán bộ\n\n"
    path.write_text(header + "".join(f"cán bộ {n}\n" for n in range(lines)), encoding="utf-8")
    return path


@cache
def _deflated_lines(megabytes: int) -> tuple[bytes, int, int]:
    """Raw deflate of a WordprocessingML body of numbered paragraphs (~30:1), its CRC and size."""
    deflate = zlib.compressobj(1, zlib.DEFLATED, -15)
    parts, crc, size, n = [], 0, 0, 0
    head = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w='
            b'"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>')
    tail = b"</w:body></w:document>"
    for block in (head, *(b"".join(f"<w:p><w:r><w:t>cán bộ {n}</w:t></w:r></w:p>".encode()
                                   for n in range(start, start + 20_000))
                          for start in range(0, megabytes * 22_000, 20_000)), tail):
        parts.append(deflate.compress(block))
        crc, size = zlib.crc32(block, crc), size + len(block)
    return b"".join(parts) + deflate.flush(), crc, size


def make_inflating_docx(folder: Path, megabytes: int = 60) -> Path:
    """An honest DOCX of a few MB that unzips past the size limit at a ratio (~30) a
    zip-bomb guard accepts; 200 MB of it kept the build lock for ten minutes (issue 18)."""
    data, crc, size = _deflated_lines(megabytes)
    path = folder / "phu-luc-lon.docx"
    path.write_bytes(_docx_with(data, size, crc))
    return path


def _outside(folder: Path) -> Path:
    """A folder beside `folder`, holding what a link must never lead the indexer to."""
    outside = folder.parent / f"{folder.name}-ngoai"
    outside.mkdir(exist_ok=True)
    return outside


def make_link_outside(folder: Path) -> Path:
    """A link to a secret outside the documents folder (an archive or `cp -a` brings these)."""
    secret = _outside(folder) / "env.txt"
    secret.write_text("Điều 1. TELEGRAM_BOT_TOKEN=123456:bi-mat\n", encoding="utf-8")
    path = folder / "bi-mat.txt"
    path.symlink_to(secret)
    return path


def make_linked_folder(folder: Path) -> Path:
    """A link to a folder outside, holding a secret document."""
    private = _outside(folder) / "mat"
    private.mkdir(exist_ok=True)
    (private / "luong.txt").write_text("Điều 1. Bảng lương mật\n", encoding="utf-8")
    path = folder / "tuyet-mat"
    path.symlink_to(private, target_is_directory=True)
    return path


def make_duplicate(folder: Path) -> Path:
    """The good document again under another name."""
    path = folder / "ban-sao-nd-41.txt"
    path.write_text(GOOD_TEXT, encoding="utf-8")
    return path


def _odd_name(folder: Path, name: str | bytes, text: str) -> Path:
    path = folder / (os.fsdecode(name) if isinstance(name, bytes) else name)
    path.write_text(text, encoding="utf-8")
    return path


NAMED_TEXT = "Điều 1. Quy định về trang phục\nCán bộ mặc trang phục lịch sự khi tiếp dân."


def make_backslash_name(folder: Path) -> Path:
    """A Windows path traversal that is one plain name on Linux.

    (A name starting with "." is a hidden file, which the indexer skips like
    the upload folder; a "/" cannot be part of a name on disk at all.)
    """
    return _odd_name(folder, "van-ban\\..\\..\\windows\\win.ini.txt", NAMED_TEXT)


def make_control_char_name(folder: Path) -> Path:
    """A terminal escape sequence and a line break inside the file name."""
    return _odd_name(folder, "quy-dinh\x1b[31m\nmoi.txt", NAMED_TEXT)


def make_long_name(folder: Path) -> Path:
    """Close to the 255-byte file-name limit, in Vietnamese (3 bytes a letter)."""
    return _odd_name(folder, "quy-định-về-" + "đường" * 19 + ".txt", NAMED_TEXT)


def make_non_utf8_name(folder: Path) -> Path:
    """A name in Windows-1258 bytes (copied from an old machine): not valid UTF-8."""
    return _odd_name(folder, "quy-\xf0inh-c\xe1n-b\xf4".encode("latin-1") + b".txt", NAMED_TEXT)


@dataclass(frozen=True)
class BadFile:
    make: Callable[[Path], Path]
    reason: str | None  # words the skip reason must contain; None: indexed sanely


BAD_FILES = [
    BadFile(make_corrupt_pdf, "PDF bị hỏng"),
    BadFile(make_encrypted_pdf, "mật khẩu"),
    BadFile(make_scanned_pdf, "OCR"),
    BadFile(make_blank_pages_pdf, "không có lớp chữ"),
    BadFile(make_too_many_pages_pdf, "quá giới hạn"),
    BadFile(make_forged_page_count_pdf, "quá giới hạn"),
    BadFile(make_zero_byte, "rỗng"),
    BadFile(make_oversized, "quá lớn"),
    BadFile(make_exe_as_pdf, "không phải PDF"),
    BadFile(make_zip_bomb_docx, "zip bomb"),
    BadFile(make_lying_zip_bomb_docx, "DOCX"),
    BadFile(make_random_bytes_txt, "không đọc được"),
    BadFile(make_control_char_name, "Tên tệp"),
    BadFile(make_non_utf8_name, "Tên tệp"),
    BadFile(make_six_megabyte_line_txt, "quá dài"),
    BadFile(make_wordless_txt, "không có từ ngữ"),
    BadFile(make_inflating_docx, "giải nén ra"),
    BadFile(make_link_outside, "liên kết"),
    BadFile(make_linked_folder, "liên kết"),
    BadFile(make_single_line_txt, None),
    BadFile(make_duplicate, None),
    BadFile(make_backslash_name, None),
    BadFile(make_long_name, None),
]


# Questions that reached the bot broken (issue 18), each still about Điều 11 of
# Nghị định 73/2023/NĐ-CP: an undecodable byte (a lone surrogate, as argv,
# stdin and surrogateescape deliver it), half a UTF-16 pair (as a JSON escape
# delivers it), zero-width characters inside words and between a word and a
# number, a NUL between words, terminal colour codes, and literal "<" that are
# not tags.
HOSTILE_QUESTIONS = [
    "Nghị định 73 \udcff bảo vệ cán bộ dám nghĩ dám làm như thế nào?",
    "Nghị định 73 \ud800 bảo vệ cán bộ dám nghĩ dám làm như thế nào?",
    "Ngh\u200bị đ\u200cịnh 73 bảo vệ cán bộ dám nghĩ dám làm",
    "Nghị định\u200b73 bảo vệ cán bộ dám nghĩ dám làm",
    "Nghị định\x0073 bảo vệ cán bộ dám nghĩ dám làm",
    "\x1b[31mNghị định 73\x1b[0m bảo vệ cán bộ dám nghĩ dám làm",
    "Điều 11 < Điều 12 <b <i nghị định 73 & bảo vệ cán bộ >",
]
