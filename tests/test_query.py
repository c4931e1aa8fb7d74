"""Query understanding, step by step: normalisation, references, abbreviations, question words, accents."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest
from conftest import DOCUMENTS
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.index.accents import AccentModel
from bot.index.lexical import analyze
from bot.ingest import list_documents, prepare
from bot.retrieve.query import parse
from bot.text import strip_diacritics, words


@pytest.fixture(scope="module")
def shipped_passages() -> list[tuple[str, str]]:
    """(text, last heading) of every chunk of the shipped documents."""
    out = []
    for source, path in list_documents(DOCUMENTS):
        prep = prepare(path, source)
        out += [(p, c.heading.split(" › ")[-1]) for p, c in zip(prep.passages, prep.chunks)]
    return out


@pytest.fixture(scope="module")
def model(shipped_passages) -> AccentModel:
    return AccentModel.train(analyze(t, h)["accented"] for t, h in shipped_passages)


def tokens(text: str, model: AccentModel | None = None) -> list[str]:
    q = parse(text, model.restore if model else None)
    return [t for t in q.tokens["accented"] if "_" not in t]


# --- normalisation ------------------------------------------------------------------------


@pytest.mark.parametrize("variant", [
    "Nghị định 73 bảo vệ cán bộ",
    unicodedata.normalize("NFD", "Nghị định 73 bảo vệ cán bộ"),
    "NGHỊ ĐỊNH 73 BẢO VỆ CÁN BỘ",
    "  Nghị   định 73,,, bảo vệ... cán bộ???  ",
    "nghị định 73 - bảo vệ (cán bộ)!",
])
def test_spelling_variants_give_the_same_tokens(variant: str) -> None:
    assert tokens(variant) == tokens("Nghị định 73 bảo vệ cán bộ")


@pytest.mark.parametrize(("old", "new"), [("hòa", "hoà"), ("thúy", "thuý"), ("qúy", "quý"), ("Hóa", "hoá")])
def test_both_tone_mark_placements_match(old: str, new: str) -> None:
    assert tokens(f"chế độ {old} giải") == tokens(f"chế độ {new} giải")


def test_d_typed_for_dj_matches_the_plain_field() -> None:
    assert "dieu" in parse("Điều 11").tokens["plain"]
    assert parse("dieu 11").article == parse("Điều 11").article == "11"


# --- references ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "kind", "number", "year"), [
    ("Nghị định 73 bảo vệ cán bộ", "Nghị định", "73", None),
    ("NĐ 73/2023 quy định gì", "Nghị định", "73", "2023"),
    ("nghị định số 73/2023/NĐ-CP", "Nghị định", "73", "2023"),
    ("73/2023/NĐ-CP có hiệu lực khi nào", "Nghị định", "73", "2023"),
    ("nd 112 danh gia can bo", "Nghị định", "112", None),
    ("Kết luận 14 về khuyến khích", "Kết luận", "14", None),
    ("KL 14", "Kết luận", "14", None),
    ("14-KL/TW nói gì", "Kết luận", "14", None),
    ("QĐ 205 kiểm soát quyền lực", "Quyết định", "205", None),
    ("Quy định 205-QĐ/TW", "Quy định", "205", None),
])
def test_document_references_by_type_and_number(text, kind, number, year) -> None:
    ref = parse(text).documents[0]
    assert (ref.type, ref.number, ref.year) == (kind, number, year)


@pytest.mark.parametrize(("text", "words_"), [
    ("Luật Cán bộ, công chức quy định gì", "can bo cong chuc"),
    ("điều 53 luật CBCC", "can bo cong chuc"),
    ("dieu 15 luat vien chuc", "vien chuc"),
])
def test_laws_named_by_subject(text: str, words_: str) -> None:
    ref = parse(text).documents[0]
    assert ref.type == "Luật" and ref.words == words_


@pytest.mark.parametrize("text", ["Kỷ luật cán bộ vi phạm", "pháp luật về viên chức", "ky luat buoc thoi viec"])
def test_discipline_and_law_in_general_are_not_a_named_law(text: str) -> None:
    assert parse(text).documents == []


@pytest.mark.parametrize(("text", "article", "clause"), [
    ("Điều 11 Nghị định 73", "11", None),
    ("khoản 2 điều 53 luật cán bộ công chức", "53", "2"),
    ("dieu 15 luat vien chuc", "15", None),
    ("Khoan 3 Dieu 7", "7", "3"),
])
def test_article_and_clause_references(text: str, article: str, clause: str | None) -> None:
    q = parse(text)
    assert (q.article, q.clause) == (article, clause)


def test_missing_reference_is_quoted_as_the_user_wrote_it() -> None:
    assert parse("Quyết định 205-QĐ/TW về kiểm soát").documents[0].label == "Quyết định 205-QĐ/TW"
    assert parse("Luật Cán bộ, công chức quy định gì").documents[0].label == "Luật Cán bộ, công chức"


# --- abbreviations and question words ----------------------------------------------------------


@pytest.mark.parametrize(("abbr", "expansion"), [
    ("CBCC", "cán bộ công chức"), ("CBCCVC", "cán bộ công chức viên chức"), ("VC", "viên chức"),
    ("BCT", "bộ chính trị"), ("BCH TW", "ban chấp hành trung ương"), ("BTC TW", "ban tổ chức trung ương"),
    ("BCS", "ban cán sự"), ("UBND", "ủy ban nhân dân"), ("HĐND", "hội đồng nhân dân"),
    ("NĐ-CP", "nghị định chính phủ"), ("QĐ-TTg", "quyết định thủ tướng chính phủ"),
    ("KL", "kết luận"), ("NQ", "nghị quyết"), ("TU", "tỉnh ủy"), ("HD", "hướng dẫn"),
    ("CT", "chỉ thị"), ("BNV", "bộ nội vụ"),
])
def test_abbreviations_are_expanded_and_kept(abbr: str, expansion: str) -> None:
    got = " ".join(tokens(f"{abbr} về tuyển dụng"))
    assert expansion in got
    assert all(strip_diacritics(w) in strip_diacritics(got) for w in words(abbr))


def test_lower_case_tu_is_a_syllable_not_tinh_uy(model: AccentModel) -> None:
    assert "tỉnh" not in tokens("tu choi tuyen dung", model)
    assert "tỉnh" in tokens("TU họp bàn", model)


@pytest.mark.parametrize("text", [
    "Cán bộ là gì?", "Công chức được nghỉ như thế nào", "Viên chức có được không kinh doanh",
    "Phụ cấp bao nhiêu ạ", "cho tôi hỏi tuyển dụng công chức ra sao",
])
def test_question_words_are_dropped(text: str) -> None:
    got = set(tokens(text))
    assert not got & {"gì", "thế", "nào", "bao", "nhiêu", "ạ", "hỏi", "sao"}


def test_a_question_made_only_of_question_words_is_kept() -> None:
    assert tokens("như thế nào?") == ["như", "thế", "nào"]


# --- diacritic restoration -------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "expected"), [
    ("nghi dinh 73 bao ve can bo", "nghị định 73 bảo vệ cán bộ"),
    ("ky luat buoc thoi viec", "kỷ luật buộc thôi việc"),
    ("dieu 15 luat vien chuc", "điều 15 luật viên chức"),
    ("nghị dinh 73 bao ve cán bo", "nghị định 73 bảo vệ cán bộ"),  # half accented
    ("NGHI DINH 73 BAO VE CAN BO", "nghị định 73 bảo vệ cán bộ"),
])
def test_unaccented_and_half_accented_questions_are_restored(model, typed: str, expected: str) -> None:
    assert parse(typed, model.restore).restored == expected


def test_restoration_accuracy_on_the_shipped_sentences(shipped_passages, model) -> None:
    sentences = [s for t, _ in shipped_passages for s in re.split(r"[.;:\n]", t) if len(words(s)) >= 4]
    sample = random.Random(7).sample(sentences, 300)
    right = total = 0
    for sentence in sample:
        gold = words(sentence)
        got = model.restore([strip_diacritics(w) for w in gold])
        right += sum(a == b for a, b in zip(gold, got))
        total += len(gold)
    assert right / total >= 0.98, right / total


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_correctly_accented_sentence_is_never_changed(model, shipped_passages, data) -> None:
    text, _ = data.draw(st.sampled_from(shipped_passages))
    gold = words(text)[:40]
    got = model.restore(gold)
    # Every syllable typed with marks stays; unmarked ones are changed only rarely.
    assert all(g == o for g, o in zip(gold, got) if strip_diacritics(g) != g)
    changed = sum(g != o for g, o in zip(gold, got))
    assert changed <= max(1, len(gold) // 20), list(zip(gold, got))


def test_unknown_syllables_and_numbers_pass_through(model) -> None:
    assert model.restore(["xyzt", "73", "2023"]) == ["xyzt", "73", "2023"]
    assert model.restore([]) == []


def test_index_accent_model_counts_the_accented_field(shipped_opened, shipped_passages) -> None:
    """The index's model reads the lexical totals: the same counts as training on the tokens."""
    from_index = shipped_opened.accents
    trained = AccentModel.train(analyze(t, h)["accented"] for t, h in shipped_passages)
    for token in ("cán", "bộ", "cán_bộ", "bảo_vệ", "dám", "xyz"):
        assert from_index.count(token) == trained.count(token)
    # ... with the general word list for what the corpus lacks (below).
    assert from_index.total == AccentModel.with_lexicon(trained.ids, trained.totals).total > trained.total
    assert from_index.restore(words("bao ve can bo")) == ["bảo", "vệ", "cán", "bộ"]


@pytest.mark.parametrize(("typed", "corpus_only", "listed"), [
    # The laws have no "hôn": alone they read "lý hơn", and "lý" (xử lý) then answered a divorce question.
    ("thu tuc ly hon", "thủ tục lý hơn", "thủ tục ly hôn"),
    ("ket qua bong da", "kết quả bong đã", "kết quả bóng đá"),
    # Question words the laws never write.
    ("cong chuc bi ky luat co may hinh thuc", "công chức bị kỷ luật có máy hình thức",
     "công chức bị kỷ luật có mấy hình thức"),
    ("vien chuc nghi phep duoc bao nhieu ngay", "viên chức nghỉ phép được bảo nhiều ngày",
     "viên chức nghỉ phép được bao nhiêu ngày"),
    # Where the corpus has a say, it decides.
    ("bao ve can bo dam nghi dam lam", "bảo vệ cán bộ dám nghĩ dám làm", "bảo vệ cán bộ dám nghĩ dám làm"),
])
def test_the_general_word_list_reads_what_the_corpus_does_not_know(model, typed, corpus_only, listed) -> None:
    from bot.index.accents import general_lexicon

    with_list = AccentModel(model.ids, model.totals, general_lexicon())
    assert " ".join(model.restore(typed.split())) == corpus_only
    assert " ".join(with_list.restore(typed.split())) == listed


def test_readings_from_the_word_list_come_in_one_order_every_run(model) -> None:
    """The list is a set: ties among its syllables (each seen once) are sorted, so a
    question is read the same in every process (PYTHONHASHSEED differs)."""
    from bot.index.accents import general_lexicon

    tokens = sorted(general_lexicon())
    shuffled = frozenset(reversed(tokens))
    a = AccentModel(model.ids, model.totals, frozenset(tokens))
    b = AccentModel(model.ids, model.totals, shuffled)
    assert a.readings == b.readings and "hôm" in a.readings["hom"]
    once = [w for w in a.readings["hom"] if not model.count(w)]  # only the list knows these
    assert once == sorted(once) and len(once) >= 2