"""Vietnamese text handling shared by ingestion, indexing and queries.

Matching never happens on raw text. Both sides go through `fold`: Unicode NFC,
lower case, and one tone-mark placement, so "hòa"/"hoà", "thúy"/"thuý" and
"qúy"/"quý" become the same string. `strip_diacritics` gives the accent-free
form that officials type on phones ("nghi dinh"), used for the second lexical
field and for diacritic restoration.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Combining tone marks: huyền, sắc, hỏi, ngã, nặng.
TONE_MARKS = "\u0300\u0301\u0309\u0303\u0323"
_TONE_SET = frozenset(TONE_MARKS)
_VOWELS = frozenset("aăâeêioôơuưy")
_QUALITY_VOWELS = frozenset("ăâêôơư")
# Open two-vowel rhymes whose tone goes on the second vowel (the "new" style,
# hoà / thuý); every other open pair takes it on the first (mía, múa, hài).
_SECOND_VOWEL_PAIRS = frozenset({"oa", "oe", "uy"})
# A syllable: a letter or digit, then letters, digits and any combining marks
# left uncomposed by NFC ("q" + acute). A mark alone is not a word. Not "_":
# the analyzer joins bigrams with it.
WORD = re.compile(r"[^\W_](?:[^\W_]|[\u0300-\u036f])*")


def nfc(text: str) -> str:
    """Unicode NFC: what every stored and compared string is."""
    return unicodedata.normalize("NFC", text)


# Lone surrogates: half a UTF-16 pair (a JSON "\\ud800"), or an undecodable byte
# that Python smuggles in as U+DC80-U+DCFF (surrogateescape: argv, stdin, files).
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_NOT_ESCAPED_BYTE = re.compile(r"[\ud800-\udc7f\udd00-\udfff]")
_TERMINAL_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")  # colour codes pasted from a terminal
_SEPARATING = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})  # become a space
_INVISIBLE = "Cf"  # zero-width and direction marks


def clean_question(text: str) -> str:
    """What a question from any channel becomes before it is read: valid, visible, NFC.

    The same text from the terminal, Telegram or Zalo gives the same query:
    - an undecodable byte (a lone surrogate) crashed the tokenizer with a
      traceback and lost every later line of `chat` and `search --batch`;
      the bytes are decoded again with their neighbours (so UTF-8 split into
      escapes is recovered) and what is still invalid becomes a space;
    - zero-width characters inside a word ("Ngh\\u200bị") made it unknown:
      they are dropped, joining the word; between a word and a number
      ("định\\u200b73") they become a space, keeping the reference;
    - a NUL or other control character between words ("Nghị định\\x0073")
      glued them or hid the reference: it becomes a space.
    Markup is not touched here (bot/retrieve/query.py knows tags from a lone "<").
    """
    if _SURROGATE.search(text):
        text = _NOT_ESCAPED_BYTE.sub(" ", text.encode("utf-16-le", "surrogatepass")
                                     .decode("utf-16-le", "surrogatepass"))  # pairs joined
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace("\ufffd", " ")
    text = _TERMINAL_ESCAPE.sub(" ", text)
    if text.isascii() and text.isprintable():
        return text
    out: list[str] = []
    for i, char in enumerate(text):
        kind = unicodedata.category(char)
        if kind == _INVISIBLE:
            # Inside a word ("Ngh\u200bị") it joins the word; beside a digit, a space or
            # a sign ("định\u200b73") it stood for the space that was not typed.
            if not (out and _in_word(out[-1]) and i + 1 < len(text) and _in_word(text[i + 1])):
                out.append(" ")
        else:
            out.append(" " if kind in _SEPARATING else char)
    return nfc("".join(out))


def _in_word(char: str) -> bool:
    return char.isalpha() or unicodedata.category(char) == "Mn"


def _tone_of(decomposed: str) -> str:
    tones = [c for c in decomposed if c in _TONE_SET]
    return tones[-1] if tones else ""


def _tone_position(base: str) -> int | None:
    """Index in the toneless lower-case syllable where the tone mark belongs."""
    positions = [i for i, ch in enumerate(base) if ch in _VOWELS]
    if not positions:
        return None
    # First contiguous run of vowels is the nucleus.
    run = [positions[0]]
    for i in positions[1:]:
        if i != run[-1] + 1:
            break
        run.append(i)
    # "qu" and "gi": the u / i belong to the onset when a vowel follows.
    if len(run) > 1 and (
        (base.startswith("qu") and run[0] == 1) or (base.startswith("gi") and run[0] == 1)
    ):
        run = run[1:]
    quality = [i for i in run if base[i] in _QUALITY_VOWELS]
    if quality:
        return quality[-1]
    if len(run) == 1:
        return run[0]
    if run[-1] < len(base) - 1:  # closed syllable: hoàng, toán
        return run[-1]
    if len(run) >= 3:
        return run[1]
    pair = base[run[0]] + base[run[1]]
    return run[1] if pair in _SECOND_VOWEL_PAIRS else run[0]


@lru_cache(maxsize=1 << 16)
def _retone_word(word: str) -> str:
    # Cached: a corpus has a few thousand distinct syllables, and re-toning each
    # occurrence was the largest non-model cost of a query (headings, answers).
    decomposed = unicodedata.normalize("NFD", word)
    tone = _tone_of(decomposed)
    if not tone:
        return word
    toneless = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_SET))
    pos = _tone_position(toneless.lower())
    if pos is None:
        return word
    marked = toneless[: pos + 1] + tone + toneless[pos + 1 :]
    return unicodedata.normalize("NFC", marked)


def normalize_tones(text: str) -> str:
    """Put every syllable's tone mark in one place (new style: hoà, thuý, quý)."""
    return WORD.sub(lambda m: _retone_word(m.group(0)), nfc(text))


def fold(text: str) -> str:
    """The matching form: NFC, lower case, one tone-mark convention."""
    return normalize_tones(nfc(text).lower())


def strip_diacritics(text: str) -> str:
    """Remove every Vietnamese diacritic: "Nghị định" -> "Nghi dinh"."""
    if text.isascii():
        return text
    # Single syllables repeat endlessly (analyzer, answers): cache those only,
    # so whole passages never pile up in memory.
    return _strip_short(text) if len(text) <= 16 else _strip(text)


@lru_cache(maxsize=1 << 16)
def _strip_short(text: str) -> str:
    return _strip(text)


def _strip(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare.replace("đ", "d").replace("Đ", "D"))


def has_diacritics(text: str) -> bool:
    """True when any letter carries a Vietnamese diacritic (or is đ)."""
    return strip_diacritics(text) != text


def words(text: str) -> list[str]:
    """Folded syllables (word characters only): the unit of lexical matching."""
    return WORD.findall(fold(text))
