"""Search over the shipped documents: references, unaccented typing, abbreviations, missing documents."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REPO

from bot.text import strip_diacritics

REFERENCES = [json.loads(line) for line in (REPO / "bench" / "references.jsonl").read_text(
    encoding="utf-8").splitlines() if line.strip()]

HEADLINE = [
    "Nghị định 73 bảo vệ cán bộ dám nghĩ, dám làm như thế nào?",
    "nghi dinh 73 bao ve can bo the nao",
    "nghi dinh 73 bao ve can bo nhu the nao",
    "NGHI DINH 73 BAO VE CAN BO DAM NGHI DAM LAM",
    "nghị dinh 73 bao ve cán bo dám nghĩ dam lam",
    "NĐ 73 bảo vệ cán bộ",
    "nd 73 bao ve can bo dam nghi dam lam vi loi ich chung",
]


def first(searcher, question: str):
    return searcher.search(question, 5).hits[0].passage


@pytest.mark.parametrize("question", HEADLINE)
def test_the_headline_question_in_every_spelling_finds_article_11_of_decree_73(searcher, question) -> None:
    p = first(searcher, question)
    assert (p.meta.number, p.article) == ("73/2023/NĐ-CP", "11")


def test_reference_set_hits_the_named_article_first(searcher) -> None:
    """bench/references.jsonl: 40+ reference-style, unaccented and abbreviated queries."""
    assert len(REFERENCES) >= 40
    misses = []
    for row in REFERENCES:
        p = first(searcher, row["question"])
        if p.meta.number != row["source"] or (row.get("article") and p.article != row["article"]):
            misses.append((row["question"], p.meta.number, p.article))
    assert misses == []


@pytest.mark.parametrize(("question", "number", "article"), [
    ("khoan 2 dieu 53 luat can bo cong chuc", "22/2008/QH12", "53"),
    ("quyen cua vien chuc ve hoat dong nghe nghiep", "58/2010/QH12", "11"),
    # The law in force since 01/7/2025 (issue 15): Luật 80/2025 replaced Luật 22/2008.
    ("nghia vu cua can bo cong chuc doi voi dang nha nuoc va nhan dan", "80/2025/QH15", "6"),
    ("cac hinh thuc ky luat doi voi cong chuc", "80/2025/QH15", "36"),
    ("thoi hieu xu ly ky luat can bo cong chuc la bao lau", "80/2025/QH15", "37"),
    ("hinh thuc ky luat khien trach doi voi vien chuc nd 112", "112/2020/NĐ-CP", "16"),
])
def test_unaccented_topic_questions(searcher, question: str, number: str, article: str) -> None:
    hits = searcher.search(question, 3).hits
    assert (number, article) in [(h.passage.meta.number, h.passage.article) for h in hits], \
        [(h.passage.meta.number, h.passage.article) for h in hits]


def test_a_named_clause_comes_first(searcher) -> None:
    p = first(searcher, "khoản 2 điều 53 luật cán bộ công chức")
    assert p.article == "53"
    assert "2." in p.text


@pytest.mark.parametrize(("question", "label"), [
    ("QĐ 205 về kiểm soát quyền lực trong công tác cán bộ", "Quyết định 205"),
    ("Quyết định 205-QĐ/TW về kiểm soát quyền lực", "Quyết định 205-QĐ/TW"),
    ("Nghị định 999/2030/NĐ-CP quy định gì", "Nghị định 999/2030/NĐ-CP"),
])
def test_a_document_not_in_the_corpus_is_named_and_related_passages_still_come(searcher, question, label) -> None:
    result = searcher.search(question, 5)
    assert [r.label for r in result.missing] == [label]
    assert result.hits, "related passages are still offered"


def test_missing_document_notice_in_the_answer(searcher) -> None:
    from bot.answer import build_answer
    from bot.channels.render import render_text

    text = render_text(build_answer(searcher.search("Quyết định 205-QĐ/TW về kiểm soát quyền lực", 8)))
    assert text.startswith("Kho văn bản chưa có Quyết định 205-QĐ/TW.")


def test_unaccented_questions_do_as_well_as_accented_on_the_evaluation_set(searcher) -> None:
    rows = [json.loads(line) for line in (REPO / "bench" / "evalset.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r.get("expect")]

    def hits(strip: bool) -> int:
        n = 0
        for r in rows:
            q = strip_diacritics(r["question"]) if strip else r["question"]
            texts = [h.passage.text for h in searcher.search(q, 5).hits]
            n += any(r["expect"] in t for t in texts)
        return n

    accented, stripped = hits(False), hits(True)
    # Within 3 points of the accented figure (issue 3's target), measured at hit@5.
    assert stripped >= accented - 0.03 * len(rows), (accented, stripped, len(rows))


def test_a_thesaurus_phrase_is_one_unit_of_coverage_not_extra_words() -> None:
    """"bị phạt" counts as held when the passage has its legal term ("kỷ luật"), once:
    the rest of the question (theft, prison) must still be there for the passage to answer."""
    from bot.answer import covers
    from bot.index import Passage
    from bot.ingest.metadata import DocumentMeta

    meta = DocumentMeta(title="Luật Cán bộ, công chức", number="80/2025/QH15", type="Luật")
    passage = Passage(0, 1, 1, "luat.txt", meta, "36", "Hình thức kỷ luật đối với công chức", None,
                      "Điều 36. Hình thức kỷ luật đối với công chức",
                      "Công chức vi phạm thì phải chịu một trong những hình thức kỷ luật: khiển trách, "
                      "cảnh cáo, cách chức, buộc thôi việc; công chức bị kết án phạt tù thì bị buộc thôi việc.")
    phrases = [("bị phạt", ("kỷ luật", "hình thức kỷ luật"))]
    assert covers(passage, "công chức bị phạt những hình thức", phrases)
    assert not covers(passage, "tội trộm cắp tài sản bị phạt tù bao nhiêu năm", phrases)


def test_a_named_law_is_matched_on_whole_words_not_inside_another_title(tmp_path, embedder) -> None:
    """"Bộ luật hình sự" is not "Luật Tố tụng hành chính" although "hinh" is inside "chinh":
    the named-document bonus would otherwise put the wrong law first (ALQAC line 6)."""
    from test_index import legal_text

    from bot.index import Index
    from bot.index.builder import build_index
    from bot.retrieve.search import Searcher

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tthc.txt").write_text(legal_text("93/2015/QH13", "Luật", "Tố tụng hành chính", [
        ("Quyền khởi kiện", ["Cơ quan, tổ chức, cá nhân có quyền khởi kiện vụ án hành chính."])]), encoding="utf-8")
    (docs / "tttm.txt").write_text(legal_text("54/2010/QH12", "Luật", "Trọng tài thương mại", [
        ("Thoả thuận trọng tài vô hiệu", ["Người xác lập thoả thuận trọng tài không có năng lực hành vi dân sự "
                                          "theo quy định của Bộ luật dân sự."])]), encoding="utf-8")
    build_index(docs, tmp_path / "index", embedder)
    index = Index.open(tmp_path / "index", embedder.name)
    try:
        searcher = Searcher(index, embedder)
        result = searcher.search("Thoả thuận trọng tài vô hiệu khi người xác lập không có năng lực hành vi "
                                 "dân sự theo Bộ luật hình sự, đúng hay sai?", 3)
        assert result.documents == [] and [r.label for r in result.missing] == ["Luật hình sự"], result.missing
        assert result.hits[0].passage.source == "tttm.txt"
        named = searcher.search("Luật tố tụng hành chính quy định quyền khởi kiện thế nào?", 3)
        assert [index.documents[d].meta.number for d in named.documents] == ["93/2015/QH13"]
    finally:
        index.close()


CU_TRU = [
    ("Cơ sở dữ liệu về cư trú", [
        "Cơ sở dữ liệu về cư trú là cơ sở dữ liệu chuyên ngành, được kết nối với Cơ sở dữ liệu quốc gia về dân cư.",
        "Thông tin trong Cơ sở dữ liệu về cư trú được cập nhật, điều chỉnh khi công dân thay đổi thông tin cư trú.",
    ]),
    ("Điều khoản thi hành", [
        "Luật này có hiệu lực thi hành từ ngày 01 tháng 7 năm 2021.",
        "Sổ hộ khẩu đã được cấp vẫn được sử dụng cho đến hết ngày 31 tháng 12 năm 2022. Trường hợp thông tin "
        "trong Sổ hộ khẩu khác với thông tin trong Cơ sở dữ liệu về cư trú thì sử dụng thông tin trong Cơ sở "
        "dữ liệu về cư trú.",
    ]),
]


def test_a_long_statement_is_answered_by_the_text_that_holds_it_not_a_heading_it_names(tmp_path, embedder) -> None:
    """A short question names its topic, as a heading does; a long one states the rule. The
    statement below names "Cơ sở dữ liệu về cư trú" (Điều 1's whole heading) but is written
    in Điều 2 (ALQAC line 3): heading coverage counts less the longer the question."""
    from test_index import legal_text

    from bot.index import Index
    from bot.index.builder import build_index
    from bot.retrieve import search
    from bot.retrieve.search import Searcher

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "cu-tru.txt").write_text(legal_text("68/2020/QH14", "Luật", "Cư trú", CU_TRU), encoding="utf-8")
    build_index(docs, tmp_path / "index", embedder)
    index = Index.open(tmp_path / "index", embedder.name)
    statement = ("Trường hợp thông tin trong Sổ hộ khẩu còn hiệu lực có thông tin khác với thông tin trong "
                 "Cơ sở dữ liệu về cư trú thì sử dụng thông tin trong Cơ sở dữ liệu về cư trú, đúng hay sai?")
    try:
        searcher = Searcher(index, embedder)
        assert searcher.search(statement, 2).hits[0].passage.article == "2"
        assert searcher.search("Cơ sở dữ liệu về cư trú là gì?", 2).hits[0].passage.article == "1"
        short, long = (searcher.parse(q) for q in ("Cơ sở dữ liệu về cư trú là gì?", statement))
        first = index.article_positions(next(iter(index.documents)), "1")[:1]
        bonus = [float(searcher._structure(q, np.array(first))[0]) for q in (short, long)]
        assert bonus[0] == pytest.approx(search.HEADING_WEIGHT) and 0 < bonus[1] < bonus[0] / 2, bonus
    finally:
        index.close()
