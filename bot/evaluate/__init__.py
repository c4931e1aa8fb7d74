"""`cadrebot eval`: measure whether the bot finds the right passage, and see every miss.

    metrics.py  R@k, MRR, nDCG, rates, latency: pure functions of ranks
    cases.py    the two question formats (ALQAC/Zalo JSON, JSON Lines) and the hit rule
    alqac.py    an ALQAC/Zalo law corpus written out as documents and indexed for real
    runner.py   search + answer for every question, the report and its text form

`run_file` picks the format from what it is given: a folder holding `law.json`
(and `train.json`/`test.json`), or a corpus file with `questions`, is ALQAC/Zalo
and is scored per article on a temporary index; anything else is JSON Lines,
scored per passage on the current index.
"""

from __future__ import annotations

from pathlib import Path

from bot.errors import BadQuery
from bot.evaluate.alqac import temporary_index
from bot.evaluate.cases import Case, load_alqac_questions, load_jsonl, load_laws
from bot.evaluate.runner import Report, evaluate, render_text

__all__ = ["Case", "Report", "evaluate", "evaluate_alqac", "evaluate_jsonl", "render_text", "run_file"]

_CORPUS_NAMES = ("law.json", "legal_corpus.json")
_QUESTION_NAMES = ("train.json", "test.json", "questions.json")
ALQAC_FETCH = 30  # passages fetched so that 10 distinct articles remain after de-duplication


def evaluate_jsonl(runtime, path: Path, strip: bool = False) -> Report:
    """Format (b) over the runtime's current index."""
    return evaluate(runtime.search, load_jsonl(path), strip=strip, name=str(path))


def evaluate_alqac(corpus: Path, questions: Path, embedder, settings, strip: bool = False,
                   progress=None) -> Report:
    """Format (a): build a temporary index from the corpus, score per article."""
    from bot.retrieve.search import Searcher

    laws, cases = load_laws(corpus), load_alqac_questions(questions)
    with temporary_index(laws, embedder, settings.ann_threshold, progress) as built:
        searcher = Searcher(built.index, embedder, settings.dense_weight, settings.max_query_chars)
        report = evaluate(searcher.search, cases, strip=strip, fetch=ALQAC_FETCH, key=built.key,
                          is_hit=lambda case, p: built.key(p) in case.gold,
                          name=str(questions), set_format="alqac")
        report.info = {"chunks": built.report.chunks, "build_seconds": built.seconds,
                       "model": embedder.name, "backend": embedder.backend,
                       "dense_weight": searcher.dense_weight}
    return report


def _alqac_files(path: Path, questions: Path | None) -> tuple[Path, Path] | None:
    if path.is_dir():
        corpus = next((path / n for n in _CORPUS_NAMES if (path / n).is_file()), None)
        found = questions or next((path / n for n in _QUESTION_NAMES if (path / n).is_file()), None)
        if corpus is None or found is None:
            raise BadQuery(f"Thư mục {path} cần có {' hoặc '.join(_CORPUS_NAMES)} và một tệp câu hỏi "
                           f"({', '.join(_QUESTION_NAMES)}), hoặc chỉ rõ bằng --questions.")
        return corpus, found
    return (path, questions) if questions else None


def run_file(runtime, path: Path, questions: Path | None = None, strip: bool = False,
             progress=None) -> Report:
    """Evaluate whatever `path` holds (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise BadQuery(f"Không tìm thấy {path}.")
    alqac = _alqac_files(path, questions)
    if alqac:
        return evaluate_alqac(*alqac, runtime.embedder, runtime.settings, strip, progress)
    return evaluate_jsonl(runtime, path, strip)
