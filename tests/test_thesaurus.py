"""The thesaurus: officials' words expanded to the law's, from a file admins can extend."""

from __future__ import annotations

import pytest
from test_index import small_corpus

from bot.errors import DocumentError
from bot.index import Index, layout
from bot.index.builder import build_index
from bot.retrieve.query import parse
from bot.retrieve.search import Searcher
from bot.retrieve.thesaurus import SHIPPED, Thesaurus, merged_text, parse_lines
from bot.text import fold, strip_diacritics


@pytest.fixture(scope="module")
def shipped() -> Thesaurus:
    return Thesaurus.shipped()


@pytest.mark.parametrize(("question", "term"), [
    ("Khi nào thì viên chức bị đuổi việc?", "buộc thôi việc"),
    ("khi nao vien chuc bi duoi viec", "buộc thôi việc"),
    ("Công chức mới vào phải thử việc bao lâu?", "tập sự"),
    ("vien chuc nghi phep duoc bao nhieu ngay", "nghỉ hằng năm"),
    ("Muốn thi vào làm công chức cần gì?", "dự tuyển"),
    ("Viên chức có được mở công ty không?", "góp vốn"),
    ("Làm hỏng tài sản có phải đền không?", "bồi thường"),
    ("Bao giờ thì được lên lương?", "nâng bậc lương"),
    ("Bao nhiêu tuổi thì về hưu?", "nghỉ hưu"),
])
def test_everyday_words_bring_the_legal_terms(shipped, question, term) -> None:
    query = parse(question, thesaurus=shipped)
    assert term in query.expansions
    # The terms reach the lexical fields as their own phrases, with their bigrams.
    first = fold(term).split()
    assert f"{first[0]}_{first[1]}" in query.tokens["accented"]
    assert f"{strip_diacritics(first[0])}_{strip_diacritics(first[1])}" in query.tokens["plain"]
    assert term in query.dense_text


def test_one_syllable_phrases_need_their_diacritics(shipped) -> None:
    """"đền" must not fire on "den" (đến, đèn...); "đền" typed or restored does."""
    assert parse("toi den co quan lam viec", thesaurus=shipped).expansions == []
    assert parse("Tôi đến cơ quan làm việc", thesaurus=shipped).expansions == []
    assert "bồi thường" in parse("có phải đền không", thesaurus=shipped).expansions


def test_a_question_without_everyday_words_is_unchanged(shipped) -> None:
    plain = parse("Điều 11 Nghị định 73 quy định gì?")
    query = parse("Điều 11 Nghị định 73 quy định gì?", thesaurus=shipped)
    assert query.expansions == [] and query.tokens == plain.tokens


def test_a_malformed_line_is_refused_with_its_number() -> None:
    with pytest.raises(DocumentError, match="Dòng 2"):
        parse_lines("# comment\nđuổi việc buộc thôi việc\n")
    with pytest.raises(DocumentError, match="Dòng 1"):
        parse_lines("đuổi việc\t ; \n")


def test_the_shipped_file_parses_and_every_term_is_non_empty() -> None:
    entries = parse_lines(SHIPPED.read_text(encoding="utf-8"))
    assert len(entries) >= 40 and all(e.terms for e in entries)


def test_admin_additions_are_published_with_the_index_and_reloaded_on_reindex(tmp_path, embedder) -> None:
    docs = small_corpus(tmp_path / "docs")
    index_dir = tmp_path / "index"
    build_index(docs, index_dir, embedder)
    question = "phụ cấp cho người ra đảo xa"
    index = Index.open(index_dir, embedder.name)
    try:
        assert Searcher(index, embedder).parse(question).expansions == []
    finally:
        index.close()
    first = layout.current_version(index_dir)

    (docs / "thesaurus.tsv").write_text("ra đảo xa\tcông tác ở biển đảo; Trường Sa\n", encoding="utf-8")
    report = build_index(docs, index_dir, embedder)
    assert not report.added and not report.updated  # no document changed, nothing embedded
    assert layout.current_version(index_dir) != first  # yet a new version carries the new words
    index = Index.open(index_dir, embedder.name)
    try:
        searcher = Searcher(index, embedder)
        assert searcher.parse(question).expansions == ["công tác ở biển đảo", "Trường Sa"]
        top = searcher.search(question, 3).hits[0].passage
        assert top.source == "nd-15.txt"
    finally:
        index.close()
    assert "ra đảo xa" in merged_text(docs)

    # A broken admin file never replaces the published version.
    (docs / "thesaurus.tsv").write_text("no tab here\n", encoding="utf-8")
    published = layout.current_version(index_dir)
    with pytest.raises(DocumentError, match="thesaurus.tsv"):
        build_index(docs, index_dir, embedder)
    assert layout.current_version(index_dir) == published


def test_matches_name_the_phrase_found_and_its_terms() -> None:
    thesaurus = Thesaurus.from_text("bị phạt\tkỷ luật; hình thức kỷ luật\nđuổi việc\tbuộc thôi việc\n")
    assert thesaurus.matches("viên chức bị đuổi việc") == [("đuổi việc", ("buộc thôi việc",))]
    assert thesaurus.matches("vi pham bi phat") == [("bi phat", ("kỷ luật", "hình thức kỷ luật"))]
    assert thesaurus.expand("bị phạt vì bị đuổi việc") == ["kỷ luật", "hình thức kỷ luật", "buộc thôi việc"]
