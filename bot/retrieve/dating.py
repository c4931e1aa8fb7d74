"""The search's date step: which documents the question's date rules out, and texts named by year.

Glue between `validity` (pure date logic) and a search in progress:
- "theo luật 2008" names a law by its year. The query parser reads "2008" as
  a law number and finds none; here it becomes the law of 2008, and the
  question is about the time that law applied. "Luật cán bộ, công chức năm 2008"
  likewise narrows a title shared by two laws to the 2008 one.
- Documents the question names by number or year are never lowered: asking
  for a superseded text by name is how officials look up old rules.
- A law named by its title ("Điều 4 Luật Cán bộ, công chức") is the version
  in force on the asked date when several share the title, unless only an
  older one has the article named ("Điều 79 Luật Cán bộ, công chức": 2008).
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np

from bot.index import Index
from bot.retrieve import validity
from bot.retrieve.query import TYPE_WORDS
from bot.text import strip_diacritics


def _year_of(number: str | None) -> str | None:
    m = re.search(r"/((?:19|20)\d\d)\b", number or "")
    return m.group(1) if m else None


def _by_year(index: Index, kind: str | None, year: str) -> list[int]:
    return [d.id for d in index.documents.values()
            if _year_of(d.meta.number) == year and (kind is None or d.meta.type == kind)]


def date_query(result, index: Index, now: date | None = None) -> dict[int, float]:
    """Resolve texts named by year into `result`, set `result.period`; document id -> penalty."""
    now = now or validity.today()
    spared: set[int] = set()
    named: list[int] = []
    for word, year in validity.named_years(result.query.text):
        kind = TYPE_WORDS.get(word)
        ids = _by_year(index, kind, year)
        if not ids:
            continue
        named += ids
        # "luật 2008" was read as law number 2008; "luật cán bộ, công chức năm 2008"
        # matched every law with that title: keep only the one of that year.
        result.missing = [r for r in result.missing if not (r.number == year and not r.year)]
        result.documents = [d for d in result.documents
                            if index.documents[d].meta.type != kind or d in ids] + ids
    result.documents = list(dict.fromkeys(result.documents))
    for ref in result.query.documents:  # named by number: "Nghị định 112/2020"
        if ref.number and not (len(ref.number) == 4 and ref.number[:2] in ("19", "20") and not ref.year):
            spared.update(d for d in result.documents
                          if re.match(rf"{ref.number}\b", index.documents[d].meta.number or ""))
    spared.update(named)
    period = validity.asked_period(result.query.text, now)
    if period.is_today and named:
        period = validity.period_of([index.documents[d].meta for d in dict.fromkeys(named)], now) or period
    result.documents = _current_versions(result, index, period, spared)
    if period.old:  # "luật cũ" is not a law named "cũ"
        result.missing = [r for r in result.missing if not r.words.startswith("cu")]
    result.period = period
    return validity.penalties({d.id: d.meta for d in index.documents.values()}, period, spared)


def _current_versions(result, index: Index, period: validity.Period, spared: set[int]) -> list[int]:
    """Named documents, keeping of several versions of one title those in force in `period`."""
    groups: dict[tuple, list[int]] = {}
    for d in result.documents:
        meta = index.documents[d].meta
        groups.setdefault((meta.type, " ".join(re.findall(r"\w+", strip_diacritics(meta.title).lower()))),
                          []).append(d)
    drop: set[int] = set()
    article = result.query.article
    for group in groups.values():
        current = [d for d in group if validity.in_force(index.documents[d].meta, period)
                   and (not article or index.article_positions(d, article))]
        if current and len(current) < len(group):
            drop.update(d for d in group if d not in current and d not in spared)
    return [d for d in result.documents if d not in drop]


def penalty_of(penalties: dict[int, float], doc_ids: np.ndarray) -> np.ndarray:
    """Per-candidate penalty from its document's."""
    if not penalties:
        return np.zeros(len(doc_ids), dtype=np.float32)
    return np.array([penalties.get(int(d), 0.0) for d in doc_ids], dtype=np.float32)
