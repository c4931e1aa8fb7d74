"""Run a question set through search and answer, and report what an admin needs to see.

Each question is searched once (top `depth` results, de-duplicated by `key`
when the set is scored per article) and the same result is turned into the
bot's answer, so the ranking metrics and the refusal rates come from one call,
timed together as the query latency.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable, Hashable

from bot.answer import build_answer, citation
from bot.errors import BadQuery
from bot.evaluate.cases import Case, passage_matches
from bot.evaluate.metrics import first_rank, latency, ranking_metrics, rate
from bot.text import strip_diacritics

ANSWER_K = 8  # Runtime.ask answers from the top 8 hits
SHOWN = 3  # results listed per miss


@dataclass
class Outcome:
    case: Case
    asked: str  # the question as sent (accents stripped with --strip-diacritics)
    rank: int | None
    found: bool
    ms: float
    top: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def problem(self) -> str | None:
        """Why this question is listed among the misses, or None."""
        if not self.case.in_scope:
            return "trả lời câu ngoài phạm vi" if self.found else None
        if self.rank != 1:
            where = f"hạng {self.rank}" if self.rank else "không có trong kết quả đầu"
            return where + ("" if self.found else ", bot từ chối")
        return None if self.found else "đúng hạng 1 nhưng bot từ chối"


@dataclass
class Report:
    name: str
    format: str  # "jsonl" or "alqac"
    stripped: bool
    outcomes: list[Outcome]
    info: dict = field(default_factory=dict)  # index size, build time, model

    def summary(self) -> dict:
        inside = [o for o in self.outcomes if o.case.in_scope]
        outside = [o for o in self.outcomes if not o.case.in_scope]
        return {"questions": len(self.outcomes), "in_scope": len(inside), "out_of_scope": len(outside),
                **ranking_metrics([o.rank for o in inside]),
                "refusal_rate": rate([not o.found for o in outside]),
                "false_refusal_rate": rate([not o.found for o in inside]),
                "latency_ms": latency([o.ms for o in self.outcomes])}

    def by_kind(self) -> dict:
        kinds: dict[str, list[Outcome]] = {}
        for o in self.outcomes:
            if o.case.kind:
                kinds.setdefault(o.case.kind, []).append(o)
        out = {}
        for kind, group in kinds.items():
            ranks = [o.rank for o in group if o.case.in_scope]
            m = ranking_metrics(ranks) if ranks else {}
            out[kind] = {"questions": len(group), "R@1": m.get("R@1"), "R@10": m.get("R@10"),
                         "refused": rate([not o.found for o in group])}
        return out

    def misses(self) -> list[dict]:
        return [{"line": o.case.line, "question": o.asked, "kind": o.case.kind, "problem": o.problem,
                 "expected": o.case.wanted, "rank": o.rank, "found": o.found, "got": o.top,
                 **({"error": o.error} if o.error else {})}
                for o in self.outcomes if o.problem]

    def to_dict(self) -> dict:
        return {"set": self.name, "format": self.format, "stripped": self.stripped,
                **self.summary(), "by_kind": self.by_kind(), **self.info, "misses": self.misses()}


def evaluate(search: Callable, cases: list[Case], *, strip: bool = False, depth: int = 10,
             fetch: int | None = None, key: Callable[[object], Hashable] | None = None,
             is_hit: Callable[[Case, object], bool] = passage_matches,
             name: str = "", set_format: str = "jsonl") -> Report:
    """Search and answer every case; `search(text, k)` is Runtime.search or Searcher.search."""
    outcomes = []
    _warm_up(search, cases, fetch or depth)
    for case in cases:
        asked = strip_diacritics(case.question) if strip else case.question
        started = time.perf_counter()
        try:
            result = search(asked, fetch or depth)
            found = build_answer(replace(result, hits=result.hits[:ANSWER_K])).found
        except BadQuery as exc:
            ms = (time.perf_counter() - started) * 1000
            outcomes.append(Outcome(case, asked, None, False, ms, error=str(exc)))
            continue
        ms = (time.perf_counter() - started) * 1000
        passages = [h.passage for h in result.hits]
        rank = first_rank(passages, lambda p: is_hit(case, p), key, depth) if case.in_scope else None
        top = [_cite(p) for p in passages[:SHOWN]]
        outcomes.append(Outcome(case, asked, rank, found, ms, top))
    return Report(name, set_format, strip, outcomes)


def _cite(p) -> str:
    clause = p.clause if p.clause and "-" not in p.clause else None
    return f"{citation(p, clause)} ({p.source})"


def _warm_up(search: Callable, cases: list[Case], k: int) -> None:
    """One untimed search first: the model and index load lazily on first use."""
    if not cases:
        return
    try:
        search(cases[0].question, k)
    except BadQuery:
        pass


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def render_text(report: Report) -> str:
    """The report for a person: figures first, then every miss with what came instead."""
    s = report.summary()
    kind = "JSON Lines" if report.format == "jsonl" else "ALQAC/Zalo"
    lines = [f"Bộ câu hỏi: {report.name} ({kind}){', câu hỏi đã bỏ dấu' if report.stripped else ''}",
             f"{s['questions']} câu: {s['in_scope']} trong phạm vi, {s['out_of_scope']} ngoài phạm vi"]
    if report.info:
        lines.append(", ".join(f"{k}: {v}" for k, v in report.info.items()))
    lines.append(" | ".join(f"{m} {_num(s[m])}" for m in ("R@1", "R@5", "R@10", "MRR@10", "nDCG@10")))
    lines.append(f"Từ chối đúng (câu ngoài phạm vi): {_pct(s['refusal_rate'])} | "
                 f"từ chối nhầm (câu trong phạm vi): {_pct(s['false_refusal_rate'])}")
    lat = s["latency_ms"]
    if lat["median"] is not None:
        lines.append(f"Thời gian tìm + trả lời: trung vị {lat['median']} ms, p95 {lat['p95']} ms")
    kinds = report.by_kind()
    if kinds:
        lines.append("Theo loại câu hỏi:")
        for name, k in sorted(kinds.items()):
            lines.append(f"  {name:16s} {k['questions']:3d} câu | R@1 {_num(k['R@1'])} | "
                         f"R@10 {_num(k['R@10'])} | từ chối {_pct(k['refused'])}")
    misses = report.misses()
    lines.append(f"Câu trượt: {len(misses)}")
    for m in misses:
        lines.append(f"  [{m['line']}] {m['problem']}: {m['question']}")
        lines.append(f"      cần: {m['expected']}")
        for i, got in enumerate(m["got"], 1):
            lines.append(f"      {i}. {got}")
        if m.get("error"):
            lines.append(f"      lỗi: {m['error']}")
    return "\n".join(lines)
