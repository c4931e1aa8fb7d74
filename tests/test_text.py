"""bot.text: the one matching form (fold), accent stripping and syllables."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.text import clean_question, fold, has_diacritics, nfc, normalize_tones, strip_diacritics, words

VOWELS = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵ"
CONSONANTS = "bcdđghklmnpqrstvx"
VIETNAMESE_ALPHABET = VOWELS + VOWELS.upper() + CONSONANTS + CONSONANTS.upper()
vietnamese_text = st.text(alphabet=VIETNAMESE_ALPHABET + " .,;:-\n0123456789")
# Syllable-shaped words: onset + vowel nucleus + coda, the shapes tone placement cares about.
syllable = st.builds(
    lambda onset, nucleus, coda: onset + nucleus + coda,
    st.sampled_from(["", "b", "ch", "gi", "qu", "ng", "th", "tr", "kh", "đ", "h", "nh"]),
    st.text(alphabet=VOWELS, min_size=1, max_size=3),
    st.sampled_from(["", "n", "ng", "nh", "c", "ch", "t", "m", "p", "i", "y", "u", "o"]),
)
vietnamese_sentence = st.lists(syllable, min_size=1, max_size=12).map(" ".join)


@pytest.mark.parametrize(
    ("old_style", "new_style"),
    [
        ("hòa", "hoà"),
        ("thúy", "thuý"),
        ("qúy", "quý"),
        ("HÒA", "hoà"),
        ("Hòa Bình", "hoà bình"),
        ("khỏe", "khoẻ"),
        ("Thủy", "thuỷ"),
        ("tòa án", "toà án"),
        ("hủy bỏ", "huỷ bỏ"),
    ],
)
def test_fold_makes_tone_mark_styles_identical(old_style: str, new_style: str) -> None:
    assert old_style != new_style
    assert fold(old_style) == fold(new_style)
    assert fold(old_style) == new_style.lower()


@pytest.mark.parametrize("word", ["hoàng", "toán", "quốc", "người", "mía", "múa", "hài", "giá", "gìn", "tuổi"])
def test_fold_keeps_correctly_placed_tones(word: str) -> None:
    assert fold(word) == word


def test_fold_keeps_different_words_apart() -> None:
    # Normalising tone placement must not merge different tones or different vowels.
    assert fold("hoà") != fold("hoá")
    assert fold("cán bộ") != fold("cạn bộ")
    assert fold("đảng") != fold("dảng")


@pytest.mark.parametrize(
    "text", ["Nghị định 73/2023/NĐ-CP", "Hòa thuận, thúy, QÚY", "Luật Cán bộ, công chức", "Điều 11. Biện pháp"]
)
def test_nfd_input_equals_nfc(text: str) -> None:
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text  # really a different code point sequence
    assert nfc(decomposed) == text
    assert fold(decomposed) == fold(text)
    assert words(decomposed) == words(text)
    assert strip_diacritics(decomposed) == strip_diacritics(text)


def test_strip_diacritics() -> None:
    assert strip_diacritics("Nghị định") == "Nghi dinh"
    assert strip_diacritics("đ") == "d"
    assert strip_diacritics("Đảng Cộng sản") == "Dang Cong san"
    assert strip_diacritics("Ủy ban nhân dân") == "Uy ban nhan dan"
    assert strip_diacritics("quỹ lương, thuỷ, ưu tiên, ơn") == "quy luong, thuy, uu tien, on"
    assert strip_diacritics("73/2023/NĐ-CP") == "73/2023/ND-CP"


def test_has_diacritics() -> None:
    assert has_diacritics("cán bộ")
    assert has_diacritics("đi")
    assert not has_diacritics("can bo 73/2023")


def test_words_drops_punctuation_and_folds() -> None:
    assert words("Điều 11. Biện pháp (bảo vệ) cán bộ: hòa, thúy!!! ...") == [
        "điều", "11", "biện", "pháp", "bảo", "vệ", "cán", "bộ", "hoà", "thuý"
    ]
    assert words("— … ; : ! ?") == []
    assert words("") == []


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_fold_and_normalize_tones_are_idempotent_on_any_text(text: str) -> None:
    once = fold(text)
    assert fold(once) == once
    toned = normalize_tones(text)
    assert normalize_tones(toned) == toned
    assert unicodedata.is_normalized("NFC", once)


@settings(max_examples=400, deadline=None)
@given(st.one_of(vietnamese_text, vietnamese_sentence))
def test_fold_properties_on_vietnamese_text(text: str) -> None:
    once = fold(text)
    assert fold(once) == once
    assert normalize_tones(normalize_tones(text)) == normalize_tones(text)
    # Case, composition and tone placement style never change the matching form.
    assert fold(text.upper()) == once
    assert fold(unicodedata.normalize("NFD", text)) == once
    # Tone normalisation only moves marks: the accent-free form is unchanged.
    assert strip_diacritics(once) == strip_diacritics(text.lower())
    assert strip_diacritics(strip_diacritics(text)) == strip_diacritics(text)
    assert not has_diacritics(strip_diacritics(text))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), vietnamese_text))
@example("\u0300")  # a lone combining mark once came out as a "word"
@example("q\u0301 \u0301a")
def test_words_are_word_characters_only(text: str) -> None:
    for word in words(text):
        assert word
        # Starts with a letter or digit; marks NFC cannot compose may follow.
        assert re.fullmatch(r"[^\W_](?:[^\W_]|[\u0300-\u036f])*", word)
        assert word == fold(word)


# --- clean_question: what every question becomes, whatever channel it came from -----


# Surrogates, format and control characters drawn as often as letters and marks.
hostile_text = st.text(st.one_of(*(st.characters(categories=[c]) for c in ("Cs", "Cf", "Cc", "Zl")),
                                 st.sampled_from(VIETNAMESE_ALPHABET + " 0123456789\u0323\u0301"),
                                 st.characters()))


@given(hostile_text)
@example("Nghị định 73 \udcff bảo vệ")
@example("\ud83d\ude00 \ud800 Ngh\u200bị đ\u200cịnh\u200b73\x00x\x1b[31m")
def test_clean_question_gives_valid_visible_nfc_text_and_is_idempotent(text: str) -> None:
    cleaned = clean_question(text)
    cleaned.encode("utf-8")  # no lone surrogate left
    assert not any(unicodedata.category(c) in {"Cc", "Cf", "Cs"} for c in cleaned)
    assert cleaned == unicodedata.normalize("NFC", cleaned)
    assert clean_question(cleaned) == cleaned


@pytest.mark.parametrize(("raw", "clean"), [
    ("Ngh\u200bị đ\u200cịnh 73", "Nghị định 73"),  # inside a word: joined
    ("Nghị định\u200b73", "Nghị định 73"),  # before a number: a space
    ("Nghị định\x0073", "Nghị định 73"),
    ("Nghi\u200b\u0323", "Nghị"),  # the mark composes once the gap is gone
    ("Ngh\udce1\udcbb\udc8b định", "Nghị định"),  # UTF-8 bytes carried as escapes: recovered
    ("a \udcff b", "a   b"),  # a byte that is no UTF-8: a space
    ("\ud83d\ude00 \ud800", "😀  "),  # a pair rejoined, a half dropped
    ("\x1b[1;31mđỏ\x1b[0m", " đỏ "),
    ("Điều 11 < Điều 12 <b", "Điều 11 < Điều 12 <b"),  # markup is the query parser's job
])
def test_clean_question_examples(raw: str, clean: str) -> None:
    assert clean_question(raw) == clean
