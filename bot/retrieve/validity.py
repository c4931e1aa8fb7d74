"""Which text was in force on the date a question asks about: pure functions.

Officials ask about today's rules without saying so, and about past cases
("năm 2020", "trước 1/7/2025", "theo luật 2008", "luật cũ"). `asked_period`
reads that date from the question (today when it names none); `in_force`
says whether a document applied then, from its sidecar dates (`valid_from`,
else its own date; `valid_until` is the first day it no longer applies);
`penalties` lowers the passages of texts not in force then, so the text in
force comes first while an older text still answers when nothing newer does.

Today's date comes from `bot.clock.today()` (CADREBOT_TODAY, else the system date).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.clock import today
from bot.ingest.metadata import NEWS, DocumentMeta, number_key
from bot.text import strip_diacritics

# Subtracted from the fused score of a passage whose document was not in force
# on the asked date. Fused scores lie in [0, 1] plus the heading bonus (≤ 0.4);
# 0.5 puts a text in force ahead of its predecessor on the same topic (their
# wording is close: Điều 80 Luật 22/2008 and Điều 37 Luật 80/2025 share the
# heading), yet below the 1.0 a document named in the question gains, and an
# old text still answers a topic no text in force covers.
PENALTY = 0.5
# A superseded text whose replacement is not in the corpus (Luật Viên chức 2010:
# Luật 129/2025 is not shipped) may still be the only text on its topic; it
# only gives way to a text in force that covers the question about as well.
ABSENT_REPLACEMENT_PENALTY = 0.15


@dataclass(frozen=True)
class Period:
    """The dates a question is about: [start, end], both inclusive; `old` for "luật cũ"."""

    start: date
    end: date
    said: str = ""  # how the question put it: "năm 2020", "trước 01/07/2025"; "" for today
    old: bool = False

    @property
    def is_today(self) -> bool:
        return not self.said and not self.old


def _iso(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def starts(meta: DocumentMeta) -> date | None:
    """First day the document applies: `valid_from`, else the date it bears."""
    return _iso(meta.valid_from) or _iso(meta.date)


def ends(meta: DocumentMeta) -> date | None:
    """First day it no longer applies (`valid_until`), or None."""
    return _iso(meta.valid_until)


def in_force(meta: DocumentMeta, period: Period) -> bool:
    """Did the document apply on some day of `period`? News and undated texts always count.

    For "luật cũ" (`period.old`) the answer is reversed for the texts that
    replaced another: the old rule is asked for, so the new text gives way.
    """
    if meta.type == NEWS:
        return True
    start, end = starts(meta), ends(meta)
    if period.old:
        return not (meta.replaces and (end is None or end > period.end))
    return (start is None or start <= period.end) and (end is None or end > period.start)


def penalties(metas: dict[int, DocumentMeta], period: Period,
              spared: set[int] = frozenset()) -> dict[int, float]:
    """Document id -> amount to subtract for texts not in force in `period` (named ones spared).

    A text that had ended is lowered fully when the corpus holds what replaced
    it, lightly when it does not (ABSENT_REPLACEMENT_PENALTY).
    """
    present = {number_key(m.number) for m in metas.values() if m.number}
    out = {}
    for doc, meta in metas.items():
        if doc in spared or in_force(meta, period):
            continue
        ended = ends(meta) is not None and ends(meta) <= period.start
        known = any(number_key(n) in present for n in meta.replaced_by)
        out[doc] = ABSENT_REPLACEMENT_PENALTY if ended and not known else PENALTY
    return out


# --- reading the date from the question ---------------------------------------

_TYPES = (r"(?:bo luat|luat|nghi dinh|nd|nghi quyet|nq|quyet dinh|qd|thong tu|tt|ket luan|kl"
          r"|chi thi|phap lenh)")
# "luật 2008", "luật cán bộ, công chức năm 2008", "nghị định năm 2020": a text named by its year.
_NAMED_YEAR = re.compile(rf"(?<!ky )(?<!phap )(?<!quy )\b(?P<type>{_TYPES})\b"
                         rf"(?P<name>[a-z ,]{{0,60}}?)\s(?:nam\s+)?(?P<year>(?:19|20)\d\d)\b")
_NAME_BREAK = re.compile(r"\b(truoc|sau|tu|vao|trong|den|khi|thi|la|co|bi|duoc|quy dinh|ap dung"
                         r"|nhu|hoi)\b")
_WHEN = r"(?P<when>truoc|sau|tu|ke tu|den|vao|tai|trong)?\s*"
_DAY = re.compile(_WHEN + r"(?:ngay\s*)?(?P<d>\d{1,2})\s*(?:/|-|\.|\s+thang\s+)(?P<m>\d{1,2})"
                  r"\s*(?:/|-|\.|\s+nam\s+)(?P<y>(?:19|20)\d\d)\b")
_MONTH = re.compile(_WHEN + r"thang\s+(?P<m>\d{1,2})\s*(?:/|-|\s+nam\s+)(?P<y>(?:19|20)\d\d)\b")
_YEAR = re.compile(_WHEN + r"nam\s+(?P<y>(?:19|20)\d\d)\b")
_OLD = re.compile(r"\b(luat|quy dinh|van ban|nghi dinh|che do)\s+cu\b|\btruoc day\b"
                  r"|\btruoc khi (sua doi|thay the)\b|\b(luat|quy dinh)\s+(truoc|nam xua)\b")


def named_years(text: str) -> list[tuple[str | None, str]]:
    """(document type word, year) for texts named by their year: "theo luật 2008" -> [("luat", "2008")]."""
    plain = strip_diacritics(text or "").lower()
    found = []
    for m in _NAMED_YEAR.finditer(plain):
        if "/" in plain[max(0, m.start("year") - 1):m.start("year")] or _NAME_BREAK.search(m.group("name")):
            continue
        found.append((m.group("type"), m.group("year")))
    return found


def _span(kind: str, when: str | None, first: date, last: date, said: str, now: date) -> Period:
    if when == "truoc":  # the day before: the rules that applied just then
        day = first - timedelta(days=1)
        return Period(day, day, f"trước {said}")
    if when == "sau":
        day = last + timedelta(days=1)
        return Period(day, max(day, now), f"sau {said}")
    if when in ("tu", "ke tu"):
        return Period(first, max(first, now) if kind != "day" else first, f"từ {said}")
    return Period(first, last, said)


def asked_period(text: str, now: date | None = None) -> Period:
    """The dates the question asks about; today when it names none.

    Years that name a document ("luật 2008") are not dates: see `named_years`.
    """
    now = now or today()
    plain = strip_diacritics(text or "").lower()
    for _, year in named_years(text):  # blank out "luật ... 2008" so "năm 2008" there is no date
        plain = re.sub(rf"\b(nam\s+)?{year}\b", " ", plain, count=1)
    m = _DAY.search(plain)
    if m:
        try:
            day = date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
            return _span("day", m.group("when"), day, day, day.strftime("%d/%m/%Y"), now)
        except ValueError:
            pass
    m = _MONTH.search(plain)
    if m and 1 <= int(m.group("m")) <= 12:
        y, mo = int(m.group("y")), int(m.group("m"))
        first, last = date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1])
        return _span("month", m.group("when"), first, last, f"tháng {mo}/{y}", now)
    m = _YEAR.search(plain)
    if m:
        y = int(m.group("y"))
        return _span("year", m.group("when"), date(y, 1, 1), date(y, 12, 31), f"năm {y}", now)
    if _OLD.search(plain):
        return Period(now, now, "văn bản cũ", old=True)
    return Period(now, now)


def period_of(metas: list[DocumentMeta], now: date | None = None) -> Period | None:
    """When the named texts applied together: the question "theo luật 2008" asks about that time."""
    now = now or today()
    spans = [(starts(m) or date.min, (ends(m) - timedelta(days=1)) if ends(m) else now) for m in metas]
    if not spans:
        return None
    start, end = max(s for s, _ in spans), min(e for _, e in spans)
    if start > end:
        return None
    return Period(start, end, " và ".join(m.label for m in metas))
