"""The law in force (issue 15): sidecar dates and relations, the question's date, retrieval by date,
successor articles, document status, and the shipped Luật 80/2025 read from its scan.

Retrieval tests run on the session index of the shipped documents with the real model; the
clock is fixed through CADREBOT_TODAY (bot.clock), read at every search.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from conftest import DOCUMENTS, REPO

from bot.answer import build_answer
from bot.channels.render import notes, render_text
from bot.clock import CLOCK_ENV
from bot.errors import DocumentError
from bot.index import store
from bot.index.catalog import expiry_note, label_for, labels, status
from bot.ingest import prepare
from bot.ingest.metadata import DocumentMeta, write_sidecar
from bot.retrieve.successor import best_match
from bot.retrieve.validity import (
    ABSENT_REPLACEMENT_PENALTY,
    PENALTY,
    Period,
    asked_period,
    in_force,
    named_years,
    penalties,
)

TODAY = date(2026, 12, 1)
PAGES = REPO / "bench" / "data" / "luat-80-2025"
LAW_2008 = DocumentMeta(title="Luật Cán bộ, công chức", number="22/2008/QH12", type="Luật",
                        date="2008-11-13", valid_from="2010-01-01", valid_until="2025-07-01",
                        replaced_by=["80/2025/QH15"])
LAW_2025 = DocumentMeta(title="Luật Cán bộ, công chức", number="80/2025/QH15", type="Luật",
                        date="2025-06-24", valid_from="2025-07-01", replaces=["22/2008/QH12"], ocr=True)
LAW_VC = DocumentMeta(title="Luật Viên chức", number="58/2010/QH12", type="Luật", date="2010-11-15",
                      valid_until="2026-07-01", replaced_by=["129/2025/QH15"])


# --- sidecar keys: read, checked, stored ---------------------------------------------------

def test_new_keys_round_trip_through_dict_and_json() -> None:
    again = DocumentMeta.from_dict(json.loads(json.dumps(LAW_2025.to_dict(), ensure_ascii=False)))
    assert again == LAW_2025
    assert (again.valid_from, again.replaces, again.replaced_by, again.ocr) == \
        ("2025-07-01", ["22/2008/QH12"], [], True)


def test_one_number_given_as_a_string_becomes_a_list() -> None:
    meta = DocumentMeta.from_dict({"replaced_by": "80/2025/QH15", "replaces": None, "ocr": 1})
    assert meta.replaced_by == ["80/2025/QH15"] and meta.replaces == [] and meta.ocr is True


def test_sidecar_keys_reach_the_prepared_document(tmp_path: Path) -> None:
    doc = tmp_path / "luat.txt"
    doc.write_text("Điều 1. Phạm vi\nNội dung.\n", encoding="utf-8")
    write_sidecar(doc, {"number": "80/2025/QH15", "valid_from": "2025-07-01",
                        "replaces": ["22/2008/QH12"], "ocr": True})
    meta = prepare(doc, "luat.txt").meta
    assert (meta.valid_from, meta.replaces, meta.ocr, meta.valid_until) == \
        ("2025-07-01", ["22/2008/QH12"], True, None)


@pytest.mark.parametrize("fields", [{"replaced_by": 80}, {"replaces": [2025]}, {"ocr": "yes"},
                                    {"valid_from": 20250701}])
def test_sidecar_with_wrong_kinds_is_refused_in_vietnamese(tmp_path: Path, fields: dict) -> None:
    doc = tmp_path / "luat.txt"
    doc.write_text("Điều 1. Phạm vi\nNội dung.\n", encoding="utf-8")
    doc.with_name("luat.txt.meta.json").write_text(json.dumps(fields), encoding="utf-8")
    with pytest.raises(DocumentError, match="sai kiểu giá trị"):
        prepare(doc, "luat.txt")


def test_migration_adds_columns_and_fills_them_from_older_rows(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "meta.sqlite")
    store.migrate(db, store.MIGRATIONS[:2])  # an index built before issue 15
    db.execute("INSERT INTO documents (source, sha256, meta, indexed_at) VALUES (?, ?, ?, 'now')",
               ("luat.txt", "x", json.dumps(LAW_2008.to_dict(), ensure_ascii=False)))
    db.commit()
    store.migrate(db)
    row = db.execute("SELECT number, valid_from, valid_until, replaced_by, ocr FROM documents").fetchone()
    assert row == ("22/2008/QH12", "2010-01-01", "2025-07-01", '["80/2025/QH15"]', 0)


def test_index_stores_dates_and_relations_per_document(shipped_opened) -> None:
    rows = {r[0]: r[1:] for r in shipped_opened.db.execute(
        "SELECT number, valid_from, valid_until, replaces, replaced_by, ocr FROM documents")}
    assert rows["80/2025/QH15"] == ("2025-07-01", None, '["22/2008/QH12"]', "[]", 1)
    assert rows["22/2008/QH12"] == ("2010-01-01", "2025-07-01", "[]", '["80/2025/QH15"]', 0)
    assert json.loads(rows["112/2020/NĐ-CP"][3]) == ["172/2025/NĐ-CP", "234/2026/NĐ-CP"]


# --- the date a question asks about ---------------------------------------------------------

@pytest.mark.parametrize("question, start, end, said", [
    ("Thời hiệu xử lý kỷ luật công chức là bao lâu?", TODAY, TODAY, ""),
    ("Năm 2020 công chức bị kỷ luật thế nào?", date(2020, 1, 1), date(2020, 12, 31), "năm 2020"),
    ("thoi hieu ky luat nam 2020", date(2020, 1, 1), date(2020, 12, 31), "năm 2020"),
    ("Trước 1/7/2025 thời hiệu kỷ luật là bao lâu?", date(2025, 6, 30), date(2025, 6, 30), "trước 01/07/2025"),
    ("truoc ngay 01/07/2025 thoi hieu", date(2025, 6, 30), date(2025, 6, 30), "trước 01/07/2025"),
    ("vi phạm ngày 15 tháng 3 năm 2021", date(2021, 3, 15), date(2021, 3, 15), "15/03/2021"),
    ("trong tháng 7/2025", date(2025, 7, 1), date(2025, 7, 31), "tháng 7/2025"),
    ("trước năm 2025", date(2024, 12, 31), date(2024, 12, 31), "trước năm 2025"),
    ("sau 1/7/2025", date(2025, 7, 2), TODAY, "sau 01/07/2025"),
    ("ngày 31/2/2020 thì sao", TODAY, TODAY, ""),  # no such day: today
])
def test_asked_period(question: str, start: date, end: date, said: str) -> None:
    assert asked_period(question, TODAY) == Period(start, end, said)


@pytest.mark.parametrize("question, years", [
    ("theo luật 2008 thời hiệu kỷ luật", [("luat", "2008")]),
    ("Theo Luật cán bộ, công chức năm 2008 thì sao", [("luat", "2008")]),
    ("nghi dinh 2020 ve ky luat", [("nghi dinh", "2020")]),
    ("kỷ luật năm 2020", []),  # "kỷ luật" is not a law
    ("Nghị định 112/2020 quy định gì", []),  # a number, not a year
])
def test_texts_named_by_year_are_not_dates(question: str, years: list) -> None:
    assert named_years(question) == years
    assert asked_period(question, TODAY).is_today or not years


def test_old_rules_asked_for() -> None:
    period = asked_period("luật cũ quy định thời hiệu thế nào", TODAY)
    assert period.old and not in_force(LAW_2025, period) and in_force(LAW_2008, period)


def test_the_clock_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLOCK_ENV, "2020-05-01")
    assert asked_period("thời hiệu kỷ luật").end == date(2020, 5, 1)
    assert LAW_2008.expired() is False and LAW_VC.expired() is False
    monkeypatch.setenv(CLOCK_ENV, "2026-12-01")
    assert LAW_2008.expired() is True and LAW_VC.expired() is True


# --- in force, penalties ---------------------------------------------------------------

def test_in_force_by_date() -> None:
    today, y2020 = Period(TODAY, TODAY), Period(date(2020, 1, 1), date(2020, 12, 31), "năm 2020")
    assert in_force(LAW_2025, today) and not in_force(LAW_2008, today)
    assert in_force(LAW_2008, y2020) and not in_force(LAW_2025, y2020)
    assert in_force(LAW_2008, Period(date(2025, 6, 30), date(2025, 6, 30)))
    assert not in_force(LAW_2008, Period(date(2009, 6, 1), date(2009, 6, 1)))  # not yet in force
    assert in_force(DocumentMeta(title="Tin", type="Tin tức"), y2020)  # news: no dates
    assert in_force(DocumentMeta(title="Không có ngày"), today)


def test_penalty_is_full_when_the_replacement_is_in_the_corpus() -> None:
    metas = {1: LAW_2008, 2: LAW_2025, 3: LAW_VC}
    today = Period(TODAY, TODAY)
    assert penalties(metas, today) == {1: PENALTY, 3: ABSENT_REPLACEMENT_PENALTY}
    assert penalties(metas, today, spared={1}) == {3: ABSENT_REPLACEMENT_PENALTY}
    assert penalties(metas, Period(date(2020, 1, 1), date(2020, 12, 31))) == {2: PENALTY}


# --- status and warnings ----------------------------------------------------------------

def test_status_in_words() -> None:
    known = labels([LAW_2008, LAW_2025])
    assert status(LAW_2008, known, TODAY) == ["hết hiệu lực từ 01/07/2025",
                                              "được thay thế bởi Luật 80/2025/QH15"]
    assert status(LAW_2025, known, TODAY) == ["còn hiệu lực (từ 01/07/2025)",
                                              "thay thế Luật 22/2008/QH12", "đọc từ bản quét (OCR)"]
    assert status(LAW_2025, known, date(2025, 1, 1))[0] == "chưa có hiệu lực (từ 01/07/2025)"
    assert status(DocumentMeta(title="x", complete=False), known, TODAY) == ["bản trích"]
    assert label_for("129/2025/QH15") == "Luật 129/2025/QH15"
    assert label_for("172/2025/NĐ-CP (phần)") == "Nghị định 172/2025/NĐ-CP"


def test_expiry_note_names_the_replacement() -> None:
    note = expiry_note(LAW_VC)
    assert "không còn hiệu lực (từ 01/07/2026)" in note and "Luật 129/2025/QH15" in note


# --- successor articles ----------------------------------------------------------------

def test_best_match_prefers_the_article_with_the_same_heading_and_content() -> None:
    old = ("Thời hiệu, thời hạn xử lý kỷ luật", "1. Thời hiệu xử lý kỷ luật là thời hạn mà khi hết")
    new = {"36": ("Hình thức kỷ luật đối với công chức", "a) Khiển trách; b) Cảnh cáo;"),
           "37": ("Thời hiệu, thời hạn xử lý kỷ luật", "1. Thời hiệu xử lý kỷ luật là thời hạn mà khi")}
    assert best_match(old, new)[0] == "37"
    assert best_match(("Thanh tra công vụ", "Phạm vi thanh tra"), new) is None


# --- retrieval on the shipped documents ------------------------------------------------

@pytest.fixture
def today_is(monkeypatch: pytest.MonkeyPatch):
    def set_day(day: str) -> None:
        monkeypatch.setenv(CLOCK_ENV, day)
    set_day(TODAY.isoformat())
    return set_day


def _first(searcher, question: str):
    result = searcher.search(question, k=5)
    top = result.hits[0].passage
    return result, (top.meta.number, top.article)


NEW, OLD = "80/2025/QH15", "22/2008/QH12"


@pytest.mark.parametrize("question, number, article", [
    # Today's rules, with or without naming the law: the law in force.
    ("Thời hiệu xử lý kỷ luật công chức là bao lâu?", NEW, "37"),
    ("Công chức có những hình thức kỷ luật nào?", NEW, "36"),
    ("thoi hieu xu ly ky luat cong chuc la bao lau", NEW, "37"),
    ("Thời hiệu xử lý kỷ luật theo Luật cán bộ, công chức là bao lâu?", NEW, "37"),
    # The old rules, asked for by the law's year or by a date before 01/7/2025.
    ("theo luật 2008 thời hiệu xử lý kỷ luật công chức là bao lâu", OLD, "80"),
    ("Theo luật 2008, công chức có những hình thức kỷ luật nào?", OLD, "79"),
    ("Theo Luật cán bộ, công chức năm 2008, thời hiệu xử lý kỷ luật là bao lâu?", OLD, "80"),
    ("Năm 2020 thời hiệu xử lý kỷ luật công chức là bao lâu?", OLD, "80"),
    ("Trước 1/7/2025 công chức có những hình thức kỷ luật nào?", OLD, "79"),
])
def test_the_text_in_force_on_the_asked_date_comes_first(searcher, today_is, question: str,
                                                         number: str, article: str) -> None:
    result, first = _first(searcher, question)
    assert first == (number, article)
    assert not result.missing  # "luật 2008" is the law of 2008, not a law numbered 2008
    answer = build_answer(result)
    assert answer.found and f"Điều {article} Luật {number}" in answer.quotes[0].citation
    expired = [n for n in notes(answer.quotes[0]) if "không còn hiệu lực" in n]
    assert bool(expired) is (number == OLD)
    assert all("được thay thế bởi Luật 80/2025/QH15" in n for n in expired)


def test_the_same_question_on_a_day_before_the_new_law_gets_the_old_one(searcher, today_is) -> None:
    today_is("2025-03-01")
    assert _first(searcher, "Thời hiệu xử lý kỷ luật công chức là bao lâu?")[1] == ("22/2008/QH12", "80")


def test_a_superseded_citation_names_its_replacement_and_article(searcher, today_is) -> None:
    result = searcher.search("Điều 79 Luật 22/2008", k=3)
    top = result.hits[0].passage
    assert (top.meta.number, top.article) == ("22/2008/QH12", "79")
    assert top.meta.replaced_by == ["80/2025/QH15"]
    assert (top.successor.number, top.successor.article) == ("80/2025/QH15", "36")
    answer = build_answer(result)
    note = next(n for n in notes(answer.quotes[0]) if "không còn hiệu lực" in n)
    assert "Luật 80/2025/QH15" in note and "Điều 36. Hình thức kỷ luật đối với công chức" in note
    assert "Điều 36" in render_text(answer)


@pytest.mark.parametrize("question, old, new", [
    ("Điều 80 Luật 22/2008", ("22/2008/QH12", "80"), ("80/2025/QH15", "37")),
    ("Điều 78 Luật 22/2008", ("22/2008/QH12", "78"), ("80/2025/QH15", "35")),
    ("Điều 15 Nghị định 112/2020", ("112/2020/NĐ-CP", "15"), ("234/2026/NĐ-CP", "7")),
])
def test_successor_articles(searcher, today_is, question: str, old: tuple, new: tuple) -> None:
    top = searcher.search(question, k=1).hits[0].passage
    assert (top.meta.number, top.article) == old
    assert (top.successor.number, top.successor.article) == new


def test_no_successor_when_the_replacement_is_not_in_the_corpus(searcher, today_is) -> None:
    result = searcher.search("Điều 52 Luật viên chức 2010", k=1)
    top = result.hits[0].passage
    assert top.meta.number == "58/2010/QH12" and top.successor is None
    note = next(n for n in notes(build_answer(result).quotes[0]) if "không còn hiệu lực" in n)
    assert "Luật 129/2025/QH15" in note


# --- the shipped scan ---------------------------------------------------------------------

def test_law_80_2025_ships_all_45_articles_in_order(shipped_opened) -> None:
    doc = next(d for d in shipped_opened.documents.values() if d.meta.number == "80/2025/QH15")
    assert list(shipped_opened.articles(doc.id)) == [str(n) for n in range(1, 46)]
    meta = doc.meta
    assert (meta.ocr, meta.complete, meta.valid_from, meta.replaces) == \
        (True, True, "2025-07-01", ["22/2008/QH12"])
    assert shipped_opened.articles(doc.id)["37"][0] == "Thời hiệu, thời hạn xử lý kỷ luật"


def test_shipped_law_is_the_proofread_pages_word_for_word() -> None:
    pages = " ".join(p.read_text(encoding="utf-8") for p in sorted(PAGES.glob("p-*.txt")))
    law = (DOCUMENTS / "luat-can-bo-cong-chuc-80-2025.txt").read_text(encoding="utf-8")
    assert pages.split() == law.split()
    assert len(sorted(PAGES.glob("p-*.txt"))) == 20 == len(sorted((PAGES / "tesseract").glob("p-*.txt")))
    # Tesseract's typical misreadings are gone.
    for wrong in ("chât", "bỗ nhiệm", "thâm quyên", "dự tuyến", "thầm quyền"):
        assert wrong not in law


def test_shipped_decrees_keep_no_markdown_and_no_front_matter() -> None:
    for name in ("nghi-dinh-234-2026-ky-luat-vien-chuc.txt", "nghi-dinh-233-2026-danh-gia-vien-chuc.txt",
                 "nghi-dinh-161-2026-luong-co-so.txt"):
        text = (DOCUMENTS / name).read_text(encoding="utf-8")
        meta = json.loads((DOCUMENTS / f"{name}.meta.json").read_text(encoding="utf-8"))
        assert meta["ocr"] is True and meta["valid_from"] == "2026-07-01" and meta["replaces"]
        assert not re.search(r"(?m)^(#|---|\*\*)", text) and "TRÍCH YẾU" not in text
        assert "GHI CHÚ SỐ HÓA" not in text and "layout:" not in text
