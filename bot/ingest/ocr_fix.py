"""Correct Tesseract's hat and tone mark errors: "thâm quyên" -> "thẩm quyền", "chât" -> "chất".

Tesseract's Vietnamese model reads the letters of a scanned law well and
loses or swaps the small marks above them. So the candidates for a syllable
are the syllables with the same base letters and other marks (the readings
of its accent-free form), and the judge is the syllable bigram model the
index already uses to restore accents (`bot.index.accents.AccentModel`),
here counted from the shipped legal texts (`ocr_counts.json`, built by
`python -m bot.ingest.ocr_counts`).

A syllable is replaced only when
- it cannot be Vietnamese (`is_syllable`: onset, rhyme and tone rules) and a
  reading fits its neighbours; or
- a reading is far more likely in context: the path through it must beat
  keeping the syllable by `KEEP_BONUS` (natural log), so what the model cannot
  tell is left alone. Decoding is Viterbi over the whole text, so two wrong
  neighbours ("thâm quyên") are corrected together.
The replacement keeps the original's case and the text's tone-mark style
(hòa or hoà); punctuation and line breaks are never touched, and numbers only
where Tesseract read a digit as a letter ("Điều l6"). Measured on four pages
proofread against the scan (tests/data/ocr): 95.7% of syllables right as read,
99.7% after correction (bench/results/ocr.json).
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from bot.index.accents import AccentModel
from bot.text import TONE_MARKS, WORD, fold, nfc, normalize_tones, strip_diacritics

COUNTS = Path(__file__).with_name("ocr_counts.json")
# Keeping a well-formed syllable as read is worth this much log-probability: a
# reading must be e^7 ~ 1100 times likelier with its neighbours to replace it;
# an impossible syllable ("chât", "QUYÈN") has no claim to be kept. Tuned on
# three proofread pages of Luật 80/2025 (pages 3, 9, 15), then checked on a fourth
# (page 18: 95.9% -> 99.5%); 5 and 9 each lost 0.1-0.2% on the three.
KEEP_BONUS = 7.0

_ONSETS = ("ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "th", "tr", "qu",
           "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "")
# Every rhyme of standard Vietnamese spelling, toneless (after the onset; the
# u of "qu" and the i of "gi" belong to the onset).
_RHYMES = frozenset("""
a ac ach ai am an ang anh ao ap at au ay ăc ăm ăn ăng ăp ăt âc âm ân âng âp ât âu ây
e ec em en eng eo ep et ê êch êm ên ênh êp êt êu
i ia ich iêc iêm iên iêng iêp iêt iêu im in inh ip it iu
o oa oac oach oai oam oan oang oanh oao oap oat oay oăc oăm oăn oăng oăt oc oe oen oeo oet
oi om on ong ooc oong op ot ô ôc ôi ôm ôn ông ôp ôt ơ ơi ơm ơn ơp ơt
u ua uân uâng uât uây uc uê uêch uênh ui um un ung uơ uôc uôi uôm uôn uông uôt up ut
uy uya uych uyên uyêt uyn uynh uyp uyt uyu
ư ưa ưc ưi ưm ưn ưng ưt ưu ươc ươi ươm ươn ương ươp ươt ươu
y yêm yên yêng yêt yêu
""".split())
_STOPS = ("p", "t", "c", "ch")  # a rhyme ending in a stop takes only sắc or nặng
_STOP_TONES = frozenset({"\u0301", "\u0323"})
_FRONT = ("i", "e", "ê", "y")  # k, gh, ngh spell /k ɣ ŋ/ before these; c, g, ng elsewhere
_DIGIT_LOOKALIKES = str.maketrans({"l": "1", "I": "1", "|": "1", "O": "0", "o": "0"})
_NUMBERISH = re.compile(r"(?=.*\d)[\dlI|Oo]+")
# Open oa / oe / uy with the tone on the first vowel (old style) or the second (new).
_OLD_STYLE = re.compile(r"[òóỏõọ][ae]\b|(?<!q)[ùúủũụ]y\b")
_NEW_STYLE = re.compile(r"o[àáảãạèéẻẽẹ]\b|(?<!q)u[ỳýỷỹỵ]\b")
_PAGE_NUMBER = re.compile(r"\s*-?\s*\d{1,3}\s*-?\s*")


def is_syllable(word: str) -> bool:
    """True when `word` (one lower-case syllable) is well-formed Vietnamese."""
    decomposed = unicodedata.normalize("NFD", nfc(word))
    tones = [c for c in decomposed if c in TONE_MARKS]
    if len(tones) > 1:
        return False
    base = nfc("".join(c for c in decomposed if c not in TONE_MARKS))
    for onset in _ONSETS:
        if not base.startswith(onset):
            continue
        rhyme = base[len(onset):]
        if onset == "gi" and rhyme not in _RHYMES:
            rhyme = "i" + rhyme  # gì, gìn, giếng: the i is also the rhyme's
        if rhyme not in _RHYMES:
            continue
        if onset in ("k", "gh", "ngh") and not rhyme.startswith(_FRONT):
            continue
        if onset in ("c", "g", "ng") and rhyme.startswith(_FRONT):
            continue
        if rhyme.endswith(_STOPS) and (not tones or tones[0] not in _STOP_TONES):
            continue
        return True
    return False


@lru_cache(maxsize=1)
def default_model() -> AccentModel:
    """The syllable model counted from the shipped texts (loaded once)."""
    counts = json.loads(COUNTS.read_text(encoding="utf-8"))["counts"]
    return AccentModel.from_counts(counts)


def page_text(raw: str) -> str:
    """One page as Tesseract read it, made text: marks corrected, the printed page number dropped.

    The number a scanned page carries at its top ("15", read "l5") is no part of
    the law; left in, it would sit inside whatever article runs across the page.
    """
    lines = correct_ocr(raw).split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and _PAGE_NUMBER.fullmatch(lines[first]):
        del lines[first]
    return "\n".join(lines)


def correct_ocr(text: str, model: AccentModel | None = None) -> str:
    """`text` with impossible or context-rejected syllables replaced by their likeliest reading."""
    model = model or default_model()
    matches = list(WORD.finditer(text))
    if not matches:
        return text
    old_style = _old_tone_style(text)
    observed = [fold(m.group(0)) for m in matches]
    columns = [_candidates(model, m.group(0), o) for m, o in zip(matches, observed)]
    best = model.decode(columns, lambda i, word: _keep_bonus(observed[i], word))
    out, last = [], 0
    for i, (match, seen, chosen) in enumerate(zip(matches, observed, best)):
        raw = match.group(0)
        if chosen == seen and _capitalised_by_mistake(raw, matches[i - 1:i] + matches[i + 1:i + 2]):
            chosen, raw = seen, seen.lower()  # "đơn VỊ trong" -> "đơn vị trong"
        out.append(text[last:match.start()])
        out.append(raw if chosen == seen else _cased(_styled(chosen, old_style), raw))
        last = match.end()
    out.append(text[last:])
    return _fix_numbers("".join(out))


def _candidates(model: AccentModel, raw: str, seen: str) -> list[str]:
    """The syllable itself, plus its other readings when it is a plain word of letters."""
    if len(raw) < 2 or not raw.isalpha():
        return [seen]  # list markers (a, b, đ), numbers, codes: never changed
    # Same base letters, other marks; Tesseract keeps đ and d apart, so they stay apart.
    readings = [r for r in model.readings.get(strip_diacritics(seen), [])
                if r != seen and (r[0] == "đ") == (seen[0] == "đ")]
    return [seen] + readings


def _keep_bonus(seen: str, word: str) -> float:
    if word != seen:
        return 0.0
    return KEEP_BONUS if is_syllable(seen) else 0.0


def _capitalised_by_mistake(raw: str, neighbours: list[re.Match]) -> bool:
    """A short upper-case syllable amid lower-case words: Tesseract's v/V, x/X confusion.

    Acronyms (UBND, HĐND) are no syllables, and headings are upper case throughout.
    """
    return (len(raw) <= 3 and raw.isupper() and is_syllable(raw.lower()) and len(neighbours) == 2
            and all(n.group(0).isalpha() and n.group(0).islower() for n in neighbours))


def _old_tone_style(text: str) -> bool:
    """True when the text writes "hòa, ủy" (most signed laws) rather than "hoà, uỷ"."""
    lower = text.lower()
    return len(_OLD_STYLE.findall(lower)) > len(_NEW_STYLE.findall(lower))


def _styled(word: str, old_style: bool) -> str:
    """A corpus syllable (new style, "hoà") written in the text's own style."""
    if not old_style or word.startswith("qu"):
        return word
    decomposed = unicodedata.normalize("NFD", word)
    tone = next((c for c in decomposed if c in TONE_MARKS), "")
    base = nfc("".join(c for c in decomposed if c not in TONE_MARKS))
    if not tone or not base.endswith(("oa", "oe", "uy")):
        return word
    return nfc(base[:-1] + tone + base[-1])  # the tone on the first vowel of the pair


def _cased(word: str, like: str) -> str:
    if like.isupper():
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def _fix_numbers(text: str) -> str:
    """"Điều l6" -> "Điều 16": a digit run with an l, I or O in it is a number."""
    def fix(match: re.Match) -> str:
        token = match.group(0)
        return token.translate(_DIGIT_LOOKALIKES) if _NUMBERISH.fullmatch(token) else token
    return WORD.sub(fix, text)


def syllable_accuracy(reference: str, text: str) -> dict:
    """Share of the reference's syllables (words, numbers) that `text` has right, in order.

    The two are aligned (difflib) so a missed or extra word costs one syllable,
    not the rest of the page; tone-mark placement style (hoà/hòa) is no error.
    """
    ref = [normalize_tones(w) for w in WORD.findall(nfc(reference))]
    got = [normalize_tones(w) for w in WORD.findall(nfc(text))]
    matcher = difflib.SequenceMatcher(None, ref, got, autojunk=False)
    right = sum(block.size for block in matcher.get_matching_blocks())
    wrong = [(" ".join(ref[i1:i2]), " ".join(got[j1:j2]))
             for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal"]
    return {"syllables": len(ref), "accuracy": round(right / max(1, len(ref)), 4), "wrong": wrong}
