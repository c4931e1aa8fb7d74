"""load_document on real files built in tmp_path: PDFs, DOCX, text encodings, HTML."""

from __future__ import annotations

import random
import time
import unicodedata
import zipfile
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pdfgen import make_docx, make_image_only_pdf, make_pdf
from pypdf import PdfReader, PdfWriter

from bot.errors import DocumentError
from bot.ingest import loaders
from bot.ingest.loaders import MAX_PDF_PAGES, SUPPORTED_SUFFIXES, Loaded, load_document
from bot.text import TONE_MARKS

ARTICLE = (
    "Điều 11. Biện pháp bảo vệ cán bộ\n"
    "1. Cán bộ thực hiện đề xuất đổi mới, sáng tạo được bảo vệ theo quy định.\n"
    "2. Người đứng đầu cơ quan, tổ chức, đơn vị có trách nhiệm khuyến khích, "
    "ưu tiên bố trí nguồn lực; không xử lý kỷ luật đối với cán bộ."
)
PARAGRAPH = (
    "Nghị định số 73/2023/NĐ-CP quy định về khuyến khích, bảo vệ cán bộ năng động, "
    "sáng tạo, dám nghĩ, dám làm, dám chịu trách nhiệm vì lợi ích chung.\n"
    "Ưu tiên xem xét, bổ nhiệm; thuỷ, quỹ, hoà, khoẻ, ĐẶNG, Ỷ, ữ."
)


def is_nfc(text: str) -> bool:
    return unicodedata.is_normalized("NFC", text)


def reason(excinfo: pytest.ExceptionInfo[DocumentError]) -> str:
    return str(excinfo.value)


def to_cp1258(text: str) -> bytes:
    """Real Windows-1258 bytes, as Windows writes them.

    Python's cp1258 codec is a plain character map: it has â ê ô ă ơ ư đ and
    some toned letters (à á é...) precomposed, and the five tone marks only as
    combining characters. So a letter the map lacks (ệ, ạ, ỷ) is written as
    its base letter (ê, a, y) followed by the combining tone mark.
    """
    out = []
    for char in unicodedata.normalize("NFC", text):
        try:
            out.append(char.encode("cp1258"))
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
            out.append((base + "".join(c for c in parts if c in TONE_MARKS)).encode("cp1258"))
    return b"".join(out)


# --- dispatch and generic refusals -------------------------------------------------


def test_unsupported_suffix_named_in_reason(tmp_path: Path) -> None:
    path = tmp_path / "setup.exe"
    path.write_bytes(b"MZ\x90\x00" + bytes(100))
    with pytest.raises(DocumentError) as excinfo:
        load_document(path)
    assert reason(excinfo) == (
        "Định dạng .exe không được hỗ trợ (chỉ nhận PDF, DOCX, TXT, MD, HTML, "
        "ảnh quét PNG, JPG, TIFF)"
    )


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_zero_byte_file_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    with pytest.raises(DocumentError) as excinfo:
        load_document(path)
    assert reason(excinfo) == "Tệp rỗng (0 byte)"


def test_missing_file_is_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="Không mở được tệp"):
        load_document(tmp_path / "khong-co.pdf")


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "VAN-BAN.HTM"
    path.write_text("<p>Điều 1. Phạm vi điều chỉnh</p>", encoding="utf-8")
    loaded = load_document(path)
    assert (loaded.format, loaded.text) == ("html", "Điều 1. Phạm vi điều chỉnh")


def test_whitespace_only_text_refused(tmp_path: Path) -> None:
    path = tmp_path / "trang.txt"
    path.write_text(" \n\t\n  ", encoding="utf-8")
    with pytest.raises(DocumentError, match="không có nội dung chữ"):
        load_document(path)


# --- PDF ---------------------------------------------------------------------------


def test_pdf_round_trip_keeps_vietnamese(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "nd73.pdf", [ARTICLE, "Điều 12. Trách nhiệm của người đứng đầu"])
    loaded = load_document(path)
    assert isinstance(loaded, Loaded)
    assert (loaded.format, loaded.pages, loaded.warnings) == ("pdf", 2, [])
    assert is_nfc(loaded.text)
    lines = loaded.text.split("\n")
    assert lines[0] == "Điều 11. Biện pháp bảo vệ cán bộ"
    assert lines[-1] == "Điều 12. Trách nhiệm của người đứng đầu"
    squeezed = " ".join(loaded.text.split())
    for phrase in ("đề xuất đổi mới, sáng tạo", "Người đứng đầu", "ưu tiên bố trí nguồn lực",
                   "không xử lý kỷ luật đối với cán bộ."):
        assert phrase in squeezed


def test_pdf_page_without_text_is_warned(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "mixed.pdf", [ARTICLE, "", "Điều 13. Hiệu lực thi hành"])
    loaded = load_document(path)
    assert loaded.pages == 3
    assert loaded.warnings == ["Trang 2 không có chữ (có thể là ảnh quét)"]
    assert "Điều 13. Hiệu lực thi hành" in loaded.text


def test_pdf_with_user_password_refused(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "mat.pdf", [ARTICLE], password="bimat")
    assert PdfReader(path).is_encrypted  # the test file really is encrypted
    with pytest.raises(DocumentError) as excinfo:
        load_document(path)
    assert reason(excinfo) == "PDF được mã hoá bằng mật khẩu mở tệp: hãy gỡ mật khẩu rồi đưa vào lại"


def test_pdf_encrypted_with_empty_user_password_opens(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "han-che-in.pdf", [ARTICLE], password="")
    assert PdfReader(path).is_encrypted
    loaded = load_document(path)
    assert loaded.text.startswith("Điều 11. Biện pháp bảo vệ cán bộ")


def test_image_only_pdf_without_words_refused(tmp_path: Path) -> None:
    path = make_image_only_pdf(tmp_path / "scan.pdf", pages=2)
    with pytest.raises(DocumentError) as excinfo:
        load_document(path)
    assert reason(excinfo) == "PDF là bản quét nhưng OCR không nhận ra chữ nào (trang trắng hoặc ảnh quá mờ)"


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_truncated_pdf_refused_as_corrupt(tmp_path: Path, keep: float) -> None:
    whole = make_pdf(tmp_path / "whole.pdf", [ARTICLE]).read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(whole[: int(len(whole) * keep)])
    with pytest.raises(DocumentError) as excinfo:
        load_document(path)
    assert reason(excinfo).startswith("PDF bị hỏng, không đọc được: ")


def test_exe_renamed_pdf_refused(tmp_path: Path) -> None:
    path = tmp_path / "nghi-dinh.pdf"
    path.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00" + random.Random(1).randbytes(4000))
    with pytest.raises(DocumentError) as excinfo:
        load_document(path)
    assert reason(excinfo) == "Tệp không phải PDF thật (nội dung không khớp đuôi .pdf)"


def test_pdf_over_page_limit_refused_quickly(tmp_path: Path) -> None:
    writer = PdfWriter()
    for _ in range(3000):
        writer.add_blank_page(width=595, height=842)
    path = tmp_path / "3000-trang.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    assert MAX_PDF_PAGES < 3000
    start = time.perf_counter()
    with pytest.raises(DocumentError) as excinfo:
        load_document(path)
    assert time.perf_counter() - start < 5
    assert "3000 trang" in reason(excinfo) and str(MAX_PDF_PAGES) in reason(excinfo)


# --- DOCX --------------------------------------------------------------------------


def test_docx_round_trip_with_table_in_order(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Điều 5. Thẩm quyền quyết định")
    table = document.add_table(rows=2, cols=3)
    for cell, text in zip(table.rows[0].cells, ("Chức vụ", "Cấp tỉnh", "Cấp xã")):
        cell.text = text
    table.rows[1].cells[0].text = "Chủ tịch"
    merged = table.rows[1].cells[1].merge(table.rows[1].cells[2])
    merged.text = "Ủy ban nhân dân quyết định"
    document.add_paragraph("Điều 6. Hiệu lực thi hành")
    path = tmp_path / "bang.docx"
    document.save(str(path))

    loaded = load_document(path)
    assert (loaded.format, loaded.pages, loaded.warnings) == ("docx", None, [])
    assert loaded.text.split("\n") == [
        "Điều 5. Thẩm quyền quyết định",
        "Chức vụ | Cấp tỉnh | Cấp xã",
        "Chủ tịch | Ủy ban nhân dân quyết định",
        "Điều 6. Hiệu lực thi hành",
    ]


def test_docx_paragraphs_nfc(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", PARAGRAPH)
    path = make_docx(tmp_path / "nfd.docx", nfd.split("\n"))
    loaded = load_document(path)
    assert loaded.text == PARAGRAPH
    assert is_nfc(loaded.text)


def _zip_with(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_docx_zip_bomb_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "bom.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as member:
            chunk = b"<w:t>" + b"a" * (1 << 20)
            for _ in range(60):  # 60 MB that deflates to ~60 KB
                member.write(chunk)
    assert path.stat().st_size < 1_000_000
    start = time.perf_counter()
    with pytest.raises(DocumentError) as excinfo:
        load_document(path)
    assert time.perf_counter() - start < 2
    assert reason(excinfo) == "DOCX bất thường (giải nén quá lớn), có thể là zip bomb"


def test_docx_unzipping_past_the_size_limit_is_refused(tmp_path: Path) -> None:
    """The unzipped size counts against the file size limit, even at an honest ratio."""
    path = make_docx(tmp_path / "lon.docx", [f"{PARAGRAPH} {n}" for n in range(3000)])
    assert path.stat().st_size < 0.5 * 1024 * 1024
    load_document(path, max_mb=2)  # fine under a limit it fits
    with pytest.raises(DocumentError, match=r"DOCX giải nén ra 1\.\d MB, quá giới hạn 1 MB"):
        load_document(path, max_mb=1)


def test_pdf_renamed_docx_refused(tmp_path: Path) -> None:
    path = tmp_path / "sai.docx"
    path.write_bytes(make_pdf(tmp_path / "a.pdf", [ARTICLE]).read_bytes())
    with pytest.raises(DocumentError) as excinfo:
        load_document(path)
    assert reason(excinfo) == "Tệp không phải DOCX thật (nội dung không khớp đuôi .docx)"


def test_plain_zip_renamed_docx_refused(tmp_path: Path) -> None:
    path = _zip_with(tmp_path / "anh.docx", {"anh.txt": b"khong phai word"})
    with pytest.raises(DocumentError, match="không phải DOCX thật"):
        load_document(path)


@pytest.mark.parametrize("keep", [0.3, 0.8])
def test_truncated_docx_refused(tmp_path: Path, keep: float) -> None:
    whole = make_docx(tmp_path / "a.docx", [PARAGRAPH] * 20).read_bytes()
    path = tmp_path / "cut.docx"
    path.write_bytes(whole[: int(len(whole) * keep)])
    with pytest.raises(DocumentError, match="DOCX bị hỏng"):
        load_document(path)


def test_docx_with_broken_xml_refused(tmp_path: Path) -> None:
    good = make_docx(tmp_path / "a.docx", [PARAGRAPH])
    with zipfile.ZipFile(good) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["word/document.xml"] = b"<w:document><w:body><w:p>"  # unclosed XML
    path = _zip_with(tmp_path / "hong.docx", members)
    with pytest.raises(DocumentError, match="DOCX bị hỏng"):
        load_document(path)


# --- text files and encodings ------------------------------------------------------


ENCODINGS = {
    "utf-8": lambda s: s.encode("utf-8"),
    "utf-8-bom": lambda s: s.encode("utf-8-sig"),
    "utf-16-bom": lambda s: s.encode("utf-16"),
    "utf-16-be-bom": lambda s: b"\xfe\xff" + s.encode("utf-16-be"),
    "utf-16-le-no-bom": lambda s: s.encode("utf-16-le"),
    "utf-16-be-no-bom": lambda s: s.encode("utf-16-be"),
    "windows-1258": to_cp1258,
    "utf-8-nfd": lambda s: unicodedata.normalize("NFD", s).encode("utf-8"),
}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_text_encodings_decode_to_same_nfc(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "nd73.txt"
    path.write_bytes(ENCODINGS[encoding](PARAGRAPH))
    loaded = load_document(path)
    assert (loaded.format, loaded.pages, loaded.warnings) == ("txt", None, [])
    assert loaded.text == PARAGRAPH
    assert is_nfc(loaded.text)


def test_cp1258_bytes_are_the_real_thing() -> None:
    raw = to_cp1258(PARAGRAPH)
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert b"\xea\xf2" in raw  # "ệ" as ê + combining dot below, Windows style
    assert unicodedata.normalize("NFC", raw.decode("cp1258")) == PARAGRAPH


def test_markdown_keeps_format_and_crlf_becomes_lf(tmp_path: Path) -> None:
    path = tmp_path / "ghi-chu.md"
    path.write_bytes("# Điều 1\r\n\r\nNội dung\x00 chính\x07.\rHết".encode())
    loaded = load_document(path)
    assert loaded.format == "md"
    assert loaded.text == "# Điều 1\n\nNội dung chính.\nHết"


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("size", [64, 5000, 200_000])
def test_random_bytes_refused(tmp_path: Path, seed: int, size: int) -> None:
    path = tmp_path / "rac.txt"
    path.write_bytes(random.Random(seed).randbytes(size))
    with pytest.raises(DocumentError) as excinfo:
        load_document(path)
    assert reason(excinfo) == (
        "Tệp văn bản không đọc được: không phải UTF-8, UTF-16 hay Windows-1258"
    )


def test_symbol_soup_valid_in_cp1258_refused(tmp_path: Path) -> None:
    # Every byte decodes in cp1258 and none is a control char: only the
    # "does this look like Vietnamese" check can refuse it.
    raw = bytes(b for b in range(0xA0, 0xC0)) * 50
    raw.decode("cp1258")
    path = tmp_path / "ky-hieu.txt"
    path.write_bytes(raw)
    with pytest.raises(DocumentError, match="không phải UTF-8, UTF-16 hay Windows-1258"):
        load_document(path)


def test_binary_with_nuls_refused_even_if_valid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "zeros.txt"
    path.write_bytes(b"abc" + bytes(10_000))
    with pytest.raises(DocumentError, match="không đọc được"):
        load_document(path)


def test_pdf_renamed_txt_refused(tmp_path: Path) -> None:
    path = tmp_path / "van-ban.txt"
    path.write_bytes(make_pdf(tmp_path / "a.pdf", [ARTICLE]).read_bytes())
    with pytest.raises(DocumentError, match="PDF/DOCX bị đổi đuôi"):
        load_document(path)


def test_one_megabyte_single_line_is_fast(tmp_path: Path) -> None:
    sentence = "Cán bộ dám nghĩ, dám làm, dám chịu trách nhiệm vì lợi ích chung. "
    text = sentence * (1_000_000 // len(sentence.encode()))
    path = tmp_path / "mot-dong.txt"
    path.write_text(text, encoding="utf-8")
    assert path.stat().st_size > 990_000
    start = time.perf_counter()
    loaded = load_document(path)
    assert time.perf_counter() - start < 2
    assert loaded.text == text and "\n" not in loaded.text


def test_one_megabyte_cp1258_is_fast(tmp_path: Path) -> None:
    path = tmp_path / "cu.txt"
    path.write_bytes(to_cp1258(PARAGRAPH.replace("\n", " ") + " ") * 5000)
    start = time.perf_counter()
    loaded = load_document(path)
    assert time.perf_counter() - start < 3
    assert loaded.text.startswith(PARAGRAPH.replace("\n", " "))


VIETNAMESE_CHARS = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxy"
    "àảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
    "AĂÂĐÊÔƠƯẶẬỆỘỢỰỲ0123456789 .,;:()"
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(alphabet=VIETNAMESE_CHARS + "\n", min_size=1, max_size=300).filter(
        lambda s: any(c in "đĐăĂơƠưƯ" or "\u1ea0" <= c <= "\u1ef9" for c in s)
    ),
    encoding=st.sampled_from(["utf-8", "utf-8-bom", "utf-16-bom", "windows-1258", "utf-8-nfd"]),
)
def test_any_vietnamese_text_round_trips(tmp_path: Path, text: str, encoding: str) -> None:
    path = tmp_path / "h.txt"
    path.write_bytes(ENCODINGS[encoding](text))
    assert load_document(path).text == text


# --- HTML --------------------------------------------------------------------------


HTML = """<!DOCTYPE html>
<html><head><title>Cổng thông tin</title>
<style>p { color: red; }</style>
<script>var dieu = "Điều giả trong script";</script></head>
<body>
<header>Trang chủ | Tin tức</header>
<nav><a href="/">Văn bản</a> <a href="/lh">Liên hệ</a></nav>
<article>
  <h1>Nghị định 73/2023/NĐ-CP</h1>
  <p>Điều 1. Phạm vi
     điều chỉnh: <b>khuyến khích</b>, bảo vệ cán bộ &amp; công chức.</p>
  <!-- bình luận ẩn -->
  <p>Điều 2. Đối tượng áp dụng<br>a) Cán bộ;</p>
  <table><tr><td>Cấp</td><td>Thẩm quyền</td></tr></table>
</article>
<footer>© 2024 Bộ Nội vụ</footer>
<script>console.log("Điều giả 2")</script>
</body></html>"""


def test_html_visible_text_only(tmp_path: Path) -> None:
    path = tmp_path / "nd73.html"
    path.write_text(HTML, encoding="utf-8")
    loaded = load_document(path)
    assert loaded.format == "html"
    lines = [line for line in loaded.text.split("\n") if line]
    assert lines == [
        "Nghị định 73/2023/NĐ-CP",
        "Điều 1. Phạm vi điều chỉnh: khuyến khích, bảo vệ cán bộ & công chức.",
        "Điều 2. Đối tượng áp dụng",
        "a) Cán bộ;",
        "Cấp | Thẩm quyền",
    ]
    for gone in ("script", "color", "giả", "Trang chủ", "Liên hệ", "©", "bình luận", "Cổng"):
        assert gone not in loaded.text
    assert "\n\n\n" not in loaded.text


def test_html_in_windows_1258(tmp_path: Path) -> None:
    path = tmp_path / "cu.htm"
    path.write_bytes(to_cp1258("<html><body><p>Điều 3. Nguyên tắc bảo vệ</p></body></html>"))
    assert load_document(path).text == "Điều 3. Nguyên tắc bảo vệ"


def test_loaded_text_never_has_control_chars(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("Điều 1.\x0bKhoản 1\x0c\u2028Hết\x1b[0m\ufeff\tcột", encoding="utf-8")
    text = load_document(path).text
    assert text == "Điều 1.\nKhoản 1\n\nHết[0m\tcột"
    assert not any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text)



@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.one_of(
        st.binary(min_size=1, max_size=3000),
        st.binary(max_size=500).map(lambda b: b"%PDF-1.7\n" + b),
        st.binary(max_size=500).map(lambda b: b"PK\x03\x04" + b),
        st.text(max_size=500).map(lambda s: s.encode("utf-8")),
    ),
    suffix=st.sampled_from(SUPPORTED_SUFFIXES),
)
def test_any_bytes_give_clean_text_or_document_error(
    tmp_path: Path, raw: bytes, suffix: str
) -> None:
    path = tmp_path / f"f{suffix}"
    path.write_bytes(raw)
    try:
        loaded = load_document(path)
    except DocumentError as exc:
        assert str(exc)  # always a reason for the admin
        return
    assert is_nfc(loaded.text) and loaded.text.strip()
    assert not any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in loaded.text)
