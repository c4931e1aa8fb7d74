"""Evaluation questions: the two input formats, read into one `Case` shape.

(a) ALQAC / Zalo legal retrieval: a law corpus `[{"id", "articles": [{"id", "text"}]}]`
    (Zalo's `law_id` / `article_id` / `title` keys are accepted too) and questions
    `{"text" or "question", "relevant_articles": [{"law_id", "article_id"}]}`.
(b) JSON Lines over the current index, one object per line:
    `{"question", "expect", "source", "article", "kind"}`. A result is a hit when
    its text contains `expect` (after NFC, one tone-mark convention and collapsed
    spaces), its document number or file is `source` and its Điều is `article`,
    for each of those given. A line giving none of the three (`"expect": null`)
    is out of scope: the bot must say the documents do not cover it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bot.errors import BadQuery
from bot.index import Passage
from bot.text import normalize_tones


@dataclass(frozen=True)
class Case:
    """One question and what counts as finding its answer."""

    question: str
    expect: str | None = None
    source: str | None = None
    article: str | None = None
    gold: frozenset = frozenset()  # ALQAC: {(law id, article id)}
    kind: str = ""
    line: int = 0

    @property
    def in_scope(self) -> bool:
        return bool(self.expect or self.source or self.article or self.gold)

    @property
    def wanted(self) -> str:
        """What was expected, for the list of misses."""
        if self.gold:
            return "; ".join(f"Điều {a} {law}" for law, a in sorted(self.gold))
        if not self.in_scope:
            return "(ngoài phạm vi: phải trả lời là không có)"
        parts = [f"Điều {self.article}" if self.article else "", self.source or "",
                 f"«{self.expect}»" if self.expect else ""]
        return " ".join(p for p in parts if p)


def norm(text: str | None) -> str:
    """The form `expect` and passage texts are compared in."""
    return " ".join(normalize_tones(text or "").split())


def source_matches(source: str, p: Passage) -> bool:
    """Is `source` this passage's document number, file path or file name?"""
    want = norm(source).lower()
    have = {norm(p.meta.number).lower(), norm(p.source).lower(), Path(p.source).name.lower()}
    return want in have


def passage_matches(case: Case, p: Passage) -> bool:
    """JSON Lines rule: every given constraint holds for this passage."""
    if case.expect and norm(case.expect) not in norm(p.text):
        return False
    if case.source and not source_matches(case.source, p):
        return False
    return not case.article or p.article == case.article


def _read_json(path: Path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadQuery(f"Không tìm thấy tệp {path}.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadQuery(f"Tệp {path} không phải JSON hợp lệ ({exc}).") from None


def _optional(row: dict, name: str) -> str | None:
    value = row.get(name)
    return None if value in (None, "") else str(value).strip()


def load_jsonl(path: Path) -> list[Case]:
    """Read format (b); a malformed line is reported with its number."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise BadQuery(f"Không tìm thấy tệp {path}.") from None
    cases = []
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            row = json.loads(line)
            question = str(row["question"]).strip()
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise BadQuery(f"Dòng {n} của {path} không hợp lệ: cần một đối tượng JSON "
                           f"có \"question\" ({exc}).") from None
        if not question:
            raise BadQuery(f"Dòng {n} của {path}: câu hỏi trống.")
        cases.append(Case(question, _optional(row, "expect"), _optional(row, "source"),
                          _optional(row, "article"), kind=_optional(row, "kind") or "", line=n))
    if not cases:
        raise BadQuery(f"Tệp {path} không có câu hỏi nào.")
    return cases


def _items(data, path: Path) -> list:
    if isinstance(data, dict):
        data = next((data[k] for k in ("items", "data", "questions") if isinstance(data.get(k), list)), None)
    if not isinstance(data, list) or not data:
        raise BadQuery(f"Tệp {path} phải là một danh sách JSON không rỗng.")
    return data


def load_laws(path: Path) -> list[dict]:
    """Read an ALQAC/Zalo law corpus as `[{"id", "articles": [{"id", "title", "text"}]}]`."""
    laws = []
    for law in _items(_read_json(path), path):
        try:
            arts = [{"id": str(a.get("id", a.get("article_id"))).strip(), "title": a.get("title") or "",
                     "text": a["text"]} for a in law["articles"]]
            laws.append({"id": str(law.get("id", law.get("law_id"))).strip(), "articles": arts})
        except (KeyError, TypeError, AttributeError) as exc:
            raise BadQuery(f"Kho luật {path} không đúng dạng [{{\"id\", \"articles\": "
                           f"[{{\"id\", \"text\"}}]}}] ({exc}).") from None
    return laws


def load_alqac_questions(path: Path) -> list[Case]:
    """Read ALQAC/Zalo questions with their relevant articles."""
    cases = []
    for n, row in enumerate(_items(_read_json(path), path), 1):
        try:
            text = str(row.get("text") or row["question"]).strip()
            gold = frozenset((str(r["law_id"]).strip(), str(r["article_id"]).strip())
                             for r in row["relevant_articles"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise BadQuery(f"Câu hỏi thứ {n} trong {path} thiếu \"text\"/\"question\" hoặc "
                           f"\"relevant_articles\" ({exc}).") from None
        cases.append(Case(text, gold=gold, kind=str(row.get("question_type") or ""), line=n))
    return cases
