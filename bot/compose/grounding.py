"""Grounding checks for a written answer, and renumbering of its citations.

A written answer is sent only when it stays inside the passages it was given:
it cites at least one of them, every [n] it cites exists, and every number,
date and document number it states appears in the passages it cites. Any
failure sends the extractive answer instead; these checks are the reason a
model can be let near legal text at all.
"""

from __future__ import annotations

import re

from bot.answer import Quote
from bot.text import nfc, strip_diacritics

_CITE = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
# A number, possibly compound: "3", "03", "29/9/2023", "29.09.2023",
# "73/2023/NĐ-CP", "14-KL/TW", "1.000.000", "5,5". Codes are upper case, so
# "2-3 năm" stays numeric and words after a hyphen are not swallowed.
_TOKEN = re.compile(r"\d+(?:[/.,-]\d+|[/-][A-ZĐ][A-ZĐ0-9]*)*")
_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+,\d+")  # 1.000.000 / 5,5
_WORD_DATE = re.compile(r"(?:ngày\s+(\d{1,2})\s+)?tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.I)
# "1. ..." at the start of a line numbers the answer's own list; it states nothing.
_LIST_MARK = re.compile(r"(?m)^\s*\d{1,2}[.)]\s")


def citations(text: str) -> list[int]:
    """Every cited passage number, in order of appearance ("[1]", "[1, 3]", "[2][3]")."""
    return [int(n) for m in _CITE.finditer(text) for n in re.split(r"\s*[,;]\s*", m.group(1))]


def _norm(token: str) -> tuple[str, ...]:
    """One spelling per value: "03" = "3", "29/09/2023" = "29.9.2023", "NĐ" = "ND"."""
    if _GROUPED.fullmatch(token):
        return (token.replace(".", "").replace(",", "."),)
    parts = re.split(r"[/.,-]", token)
    return tuple(str(int(p)) if p.isdigit() else strip_diacritics(p).upper() for p in parts)


def _word_dates(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """"ngày 29 tháng 9 năm 2023" -> ("29", "9", "2023"), the value of "29/9/2023"."""
    return [(m.group(0), tuple(str(int(x)) for x in m.groups() if x))
            for m in _WORD_DATE.finditer(text)]


def claims(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """The numbers, dates and document numbers an answer states: (as written, normalised)."""
    text = _LIST_MARK.sub("", _CITE.sub(" ", nfc(text)))
    # Whole dates first, so a rejection names "ngày 15 tháng 3 năm 2024" rather than "15".
    return _word_dates(text) + [(m.group(0), _norm(m.group(0))) for m in _TOKEN.finditer(text)]


def facts(text: str) -> set[tuple[str, ...]]:
    """What a passage supports: each token and every contiguous part of it
    ("73/2023/NĐ-CP" supports "73", "2023" and "73/2023"; "29/9/2023" supports "29/9")."""
    text = nfc(text)
    out: set[tuple[str, ...]] = set()
    values = [_norm(m.group(0)) for m in _TOKEN.finditer(text)] + [v for _, v in _word_dates(text)]
    for value in values:
        for i in range(len(value)):
            for j in range(i + 1, len(value) + 1):
                out.add(value[i:j])
    return out


def check(text: str, passages: list[Quote]) -> str | None:
    """Why `text` is not grounded in the numbered `passages`, or None when it is."""
    cited = citations(text)
    if not cited:
        return "no citation"
    wrong = [n for n in cited if not 1 <= n <= len(passages)]
    if wrong:
        return f"cites [{wrong[0]}] but only {len(passages)} passages were given"
    known: set[tuple[str, ...]] = set()
    for n in set(cited):
        known |= facts(f"{passages[n - 1].citation}\n{passages[n - 1].text}")
    for written, value in claims(text):
        if value not in known:
            return f"states {written!r}, which is not in the cited passages"
    return None


def renumber(text: str, passages: list[Quote]) -> tuple[str, list[Quote]]:
    """Number the cited passages 1, 2, ... in order of first citation; drop the uncited.

    The reference list then holds exactly what the answer cites, and [k] is its k-th item.
    """
    order: list[int] = []
    for n in citations(text):
        if n not in order:
            order.append(n)
    new = {old: i for i, old in enumerate(order, 1)}

    def swap(m: re.Match) -> str:
        return "[" + ", ".join(str(new[int(n)]) for n in re.split(r"\s*[,;]\s*", m.group(1))) + "]"

    return _CITE.sub(swap, text), [passages[n - 1] for n in order]
