"""Document metadata: read from the text's opening, overridden by the JSON sidecar."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from conftest import DOCUMENTS

from bot.errors import DocumentError
from bot.ingest import prepare
from bot.ingest.metadata import (
    NEWS,
    DocumentMeta,
    extract_metadata,
    find_number,
    read_sidecar,
    resolve_metadata,
    sidecar_path,
    write_sidecar,
)


def opening(name: str, lines: int = 12) -> str:
    text = (DOCUMENTS / name).read_text(encoding="utf-8")
    return "\n".join(text.splitlines()[:lines])


def test_law_cbcc_from_its_first_lines() -> None:
    found = extract_metadata(opening("luat-can-bo-cong-chuc-2008.txt"))
    assert found["number"] == "22/2008/QH12"
    assert found["type"] == "Luật"
    assert found["issuer"] == "Quốc hội"
    assert found["date"] == "2008-11-13"
    assert found["title"] == "Luật cán bộ, công chức"


def test_law_vien_chuc_from_its_first_lines() -> None:
    found = extract_metadata(opening("luat-vien-chuc-2010.txt"))
    assert found == {"number": "58/2010/QH12", "type": "Luật", "issuer": "Quốc hội",
                     "date": "2010-11-15", "title": "Luật viên chức"}


def test_decree_73_from_its_first_lines() -> None:
    found = extract_metadata(opening("nghi-dinh-73-2023-trich.txt", 3))
    assert found["number"] == "73/2023/NĐ-CP"
    assert found["type"] == "Nghị định"
    assert found["issuer"] == "Chính phủ"  # from the number's suffix
    assert found["date"] is None  # the excerpt gives no date
    assert found["title"].startswith("Nghị định quy định về khuyến khích, bảo vệ cán bộ năng động")


def test_party_conclusion_from_its_first_lines() -> None:
    found = extract_metadata(opening("ket-luan-14-kltw-2021-trich.txt", 3))
    assert found["number"] == "14-KL/TW"
    assert found["type"] == "Kết luận"
    assert found["date"] == "2021-09-22"  # "Ngày 22/9/2021"
    assert found["issuer"]


@pytest.mark.parametrize(
    ("text", "number", "kind", "issuer"),
    [
        ("CHÍNH PHỦ\nSố: 112/2020/NĐ-CP\nHà Nội, ngày 18 tháng 9 năm 2020", "112/2020/NĐ-CP", "Nghị định", "Chính phủ"),
        ("BỘ NỘI VỤ\nSố: 11/2025/TT-BNV", "11/2025/TT-BNV", "Thông tư", "Bộ Nội vụ"),
        ("BAN CHẤP HÀNH TRUNG ƯƠNG\nSố 26-NQ/TW", "26-NQ/TW", "Nghị quyết", "Ban Chấp hành Trung ương"),
        ("Quy định số 205-QĐ/TW về kiểm soát quyền lực", "205-QĐ/TW", "Quy định", "Ban Chấp hành Trung ương"),
        ("THỦ TƯỚNG CHÍNH PHỦ\nSố: 05/2024/QĐ-TTg", "05/2024/QĐ-TTg", "Quyết định", "Thủ tướng Chính phủ"),
    ],
)
def test_number_type_and_issuer_from_other_headers(text: str, number: str, kind: str, issuer: str) -> None:
    found = extract_metadata(text)
    assert (found["number"], found["type"], found["issuer"]) == (number, kind, issuer)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hà Nội, ngày 13 tháng 11 năm 2008", "2008-11-13"),
        ("ngày 01/7/2025", "2025-07-01"),
        ("ngày 31 tháng 2 năm 2020", None),  # not a date: ignored, not a crash
        ("không có ngày tháng", None),
    ],
)
def test_dates(text: str, expected: str | None) -> None:
    assert extract_metadata(text)["date"] == expected


def test_number_only_from_the_opening() -> None:
    assert find_number("x " * 2000 + "Nghị định 73/2023/NĐ-CP") is None
    assert find_number("Căn cứ Luật số 22/2008/QH12") == "22/2008/QH12"
    assert extract_metadata("Một đoạn văn không có số hiệu.")["number"] is None


def test_sidecar_wins_over_the_text() -> None:
    text = opening("luat-can-bo-cong-chuc-2008.txt")
    sidecar = {"title": "Luật Cán bộ, công chức", "number": "22/2008/QH12", "issuer": "Quốc hội khoá XII",
               "valid_until": "2025-07-01", "complete": True, "catalog_id": 7, "date": None, "type": ""}
    meta = resolve_metadata(text, sidecar)
    assert meta.title == "Luật Cán bộ, công chức"  # sidecar, not "Luật cán bộ, công chức"
    assert meta.issuer == "Quốc hội khoá XII"
    assert meta.valid_until == "2025-07-01"
    # Empty or null sidecar values do not erase what the text says.
    assert meta.date == "2008-11-13"
    assert meta.type == "Luật"
    # Unknown keys are kept, not dropped.
    assert meta.extra == {"catalog_id": 7}


def test_shipped_sidecars_are_used(tmp_path: Path) -> None:
    prepared = prepare(DOCUMENTS / "ket-luan-14-kltw-2021-trich.txt", "ket-luan-14-kltw-2021-trich.txt")
    meta = prepared.meta
    assert meta.issuer == "Bộ Chính trị"
    assert meta.title == "Kết luận về chủ trương khuyến khích và bảo vệ cán bộ năng động, sáng tạo vì lợi ích chung"
    assert meta.complete is False
    assert meta.label == "Kết luận 14-KL/TW"


def test_news_keep_no_number() -> None:
    text = "Tin: Hội nghị quán triệt Nghị quyết 26-NQ/TW ngày 19/5/2018 của Ban Chấp hành Trung ương."
    meta = resolve_metadata(text, {}, news=True)
    assert meta.type == NEWS
    assert meta.number is None and meta.issuer is None
    assert meta.date == "2018-05-19"
    # A news page is named by its first line (its headline).
    assert meta.label == meta.title
    assert meta.title.rstrip(".…") and text.startswith(meta.title.rstrip(".…"))
    assert "Tin tức" not in meta.label


def test_write_sidecar_merges_and_is_valid_json(tmp_path: Path) -> None:
    document = tmp_path / "nd-73.pdf"
    document.write_bytes(b"%PDF-1.4")
    path = write_sidecar(document, {"number": "73/2023/NĐ-CP", "type": "Nghị định", "issuer": None})
    assert path == sidecar_path(document) == tmp_path / "nd-73.pdf.meta.json"
    assert json.loads(path.read_text(encoding="utf-8")) == {"number": "73/2023/NĐ-CP", "type": "Nghị định"}
    write_sidecar(document, {"date": "2023-09-29", "type": "Nghị định (trích)", "number": None})
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == {"number": "73/2023/NĐ-CP", "type": "Nghị định (trích)", "date": "2023-09-29"}
    assert "NĐ-CP" in path.read_text(encoding="utf-8")  # written as UTF-8, not \u escapes
    assert read_sidecar(document) == data
    assert not list(tmp_path.glob("*.tmp"))


def test_read_sidecar_without_sidecar(tmp_path: Path) -> None:
    assert read_sidecar(tmp_path / "none.txt") == {}


def test_read_sidecar_normalises_to_nfc(tmp_path: Path) -> None:
    import unicodedata

    document = tmp_path / "a.txt"
    sidecar_path(document).write_text(json.dumps({"type": unicodedata.normalize("NFD", "Nghị định")}),
                                      encoding="utf-8")
    assert read_sidecar(document)["type"] == "Nghị định"


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2, 3]", b"\"just a string\"", b"\xff\xfe\x00garbage", b""],
    ids=["syntax", "list", "string", "binary", "empty"],
)
def test_invalid_sidecar_raises_document_error(tmp_path: Path, content: bytes) -> None:
    document = tmp_path / "luat.txt"
    document.write_text("Điều 1. Phạm vi\nNội dung.", encoding="utf-8")
    sidecar_path(document).write_bytes(content)
    with pytest.raises(DocumentError, match="luat.txt.meta.json"):
        read_sidecar(document)
    with pytest.raises(DocumentError):
        prepare(document, "luat.txt")
    with pytest.raises(DocumentError):
        write_sidecar(document, {"number": "1/2020/QH14"})


@pytest.mark.parametrize(
    ("valid_until", "today", "expired"),
    [
        ("2025-07-01", date(2025, 7, 2), True),
        ("2025-07-01", date(2025, 7, 1), True),  # the date from which it no longer applies
        ("2025-07-01", date(2025, 6, 30), False),
        ("2026-07-01", date(2026, 1, 1), False),
        (None, date(2030, 1, 1), False),
        ("01/7/2025", date(2030, 1, 1), False),  # not ISO: not treated as expired
    ],
)
def test_expired(valid_until: str | None, today: date, expired: bool) -> None:
    assert DocumentMeta(valid_until=valid_until).expired(today) is expired


def test_expired_defaults_to_today() -> None:
    assert DocumentMeta(valid_until="2000-01-01").expired() is True
    assert DocumentMeta(valid_until="2999-01-01").expired() is False


def test_label_formats() -> None:
    assert DocumentMeta(title="Luật Cán bộ, công chức", number="22/2008/QH12", type="Luật").label == \
        "Luật 22/2008/QH12"
    assert DocumentMeta(number="73/2023/NĐ-CP", type="Nghị định").label == "Nghị định 73/2023/NĐ-CP"
    assert DocumentMeta(number="14-KL/TW", type="Kết luận").label == "Kết luận 14-KL/TW"
    assert DocumentMeta(title="Một bài báo", type=NEWS, number="1/2020/X").label == "1/2020/X"
    assert DocumentMeta(title="Một bài báo", type=NEWS).label == "Một bài báo"
    assert DocumentMeta(title="Văn bản", number="5/2020/QĐ-UBND").label == "5/2020/QĐ-UBND"
    assert DocumentMeta(title="Chỉ có tiêu đề", type="Luật").label == "Chỉ có tiêu đề"


def test_meta_round_trips_through_dict() -> None:
    meta = DocumentMeta(title="T", number="22/2008/QH12", type="Luật", complete=False,
                        valid_until="2025-07-01", extra={"k": 1})
    again = DocumentMeta.from_dict(json.loads(json.dumps(meta.to_dict(), ensure_ascii=False)))
    assert again == meta


def test_shipped_sidecars_all_parse() -> None:
    sidecars = sorted(DOCUMENTS.rglob("*.meta.json"))
    assert len(sidecars) == 15
    for sidecar in sidecars:
        document = sidecar.with_name(sidecar.name.removesuffix(".meta.json"))
        assert document.is_file()
        data = read_sidecar(document)
        assert isinstance(data, dict) and data
