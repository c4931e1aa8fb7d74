"""OCR correction: Tesseract's hat and tone mark errors fixed, right words left alone.

The ground truth is four pages of the signed Luật 80/2025 scan, proofread
against the page images (tests/data/ocr/README.md); the scan pages themselves
(tests/data/ocr/*.pdf, cut from the signed PDF) are read by the real Tesseract.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ingest.ocr import ocr_pdf
from bot.ingest.ocr_fix import correct_ocr, is_syllable, page_text, syllable_accuracy

DATA = Path(__file__).parent / "data" / "ocr"
SCAN = DATA / "luat-80-2025-trang-3-9-15-18.pdf"
PAGES = (3, 9, 15, 18)  # the scan excerpt's pages, in order


def truth(page: int) -> str:
    return (DATA / f"page-{page:02d}.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("read, meant", [
    ("thâm quyên", "thẩm quyền"),
    ("chât", "chất"),
    ("bỗ nhiệm", "bổ nhiệm"),
    ("dự tuyến", "dự tuyển"),
    ("Điêu 7 của Luật này", "Điều 7 của Luật này"),
    ("NGHĨA VỤ, QUYÈN CỦA CÁN BỘ", "NGHĨA VỤ, QUYỀN CỦA CÁN BỘ"),
    ("tính chật, mức độ vi phạm", "tính chất, mức độ vi phạm"),
    ("các cơ quan, tô chức, đơn vị", "các cơ quan, tổ chức, đơn vị"),
    ("Điều l6. Thời hiệu", "Điều 16. Thời hiệu"),
    ("tổ chức, đơn VỊ trong", "tổ chức, đơn vị trong"),
    # A replaced syllable takes the text's own tone-mark style (signed laws: hòa, ủy).
    ("Cộng hòa, ủy quyền; phân cấp, ùy quyền", "Cộng hòa, ủy quyền; phân cấp, ủy quyền"),
    ("Cộng hoà, uỷ quyền; phân cấp, ùy quyền", "Cộng hoà, uỷ quyền; phân cấp, uỷ quyền"),
])
def test_typical_tesseract_errors_are_corrected(read: str, meant: str) -> None:
    assert correct_ocr(read) == meant


@pytest.mark.parametrize("text", [
    "Ủy ban nhân dân cấp tỉnh, HĐND, UBND và Bộ Nội vụ (BNV) theo Nghị định số 73/2023/NĐ-CP.",
    "a) Khiển trách;\nb) Cảnh cáo;\nđ) Các trường hợp khác.",
    "Chương VII\nĐIỀU KHOẢN THI HÀNH",
    "Tạm đình chỉ công tác là việc cán bộ, công chức dừng thực hiện chức trách.",
])
def test_right_text_is_left_alone(text: str) -> None:
    assert correct_ocr(text) == text


def test_the_printed_page_number_is_dropped_and_nothing_else() -> None:
    assert page_text("l5\n\na) Phải chấp hành quyết định\n") == "\na) Phải chấp hành quyết định\n"
    assert page_text("3. Cơ quan sử dụng\n15\n") == "3. Cơ quan sử dụng\n15\n"  # a clause, and a later line


def test_proofread_pages_are_left_almost_untouched() -> None:
    # Right words the model would still "correct": at most 1 in 200.
    for page in PAGES:
        assert syllable_accuracy(truth(page), correct_ocr(truth(page)))["accuracy"] >= 0.995


@pytest.mark.parametrize("word", ["thẩm", "quyền", "chất", "nghiêng", "khuya", "giếng", "gì", "quốc",
                                  "thuỷ", "thủy", "ngoặt", "được", "hoà", "hòa", "ưu", "yêu", "kỹ", "khiển"])
def test_vietnamese_syllables_are_valid(word: str) -> None:
    assert is_syllable(word)


@pytest.mark.parametrize("word", ["chât", "quyèn", "thâmm", "ngie", "ca\u0301\u0300", "kan", "ghat",
                                  "tiep", "uiy", "qwe", "bk"])
def test_impossible_syllables_are_invalid(word: str) -> None:
    assert not is_syllable(word)


def test_real_scan_pages_reach_99_percent_after_correction() -> None:
    raw = ocr_pdf(SCAN.read_bytes(), list(range(len(PAGES))))
    before = after = size = 0
    for i, page in enumerate(PAGES):
        first = syllable_accuracy(truth(page), raw[i])
        fixed = syllable_accuracy(truth(page), correct_ocr(raw[i]))
        assert fixed["accuracy"] >= first["accuracy"], (page, fixed["wrong"])
        before += first["accuracy"] * first["syllables"]
        after += fixed["accuracy"] * fixed["syllables"]
        size += first["syllables"]
    assert after / size >= 0.99
    assert after / size > before / size + 0.02  # the correction is what gets it there
