"""`cadrebot eval`: metrics, both question formats, the project's evaluation set and its CI floor.

The ALQAC path builds a real (tiny) index from a generated law corpus; the JSON
Lines path and the floor run on the shipped documents' session index with the
real model. The floor is what the set measured minus a margin, so a retrieval
or answer regression fails CI.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import REPO
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Settings
from bot.errors import BadQuery
from bot.evaluate import evaluate, evaluate_alqac, render_text
from bot.evaluate.alqac import law_document
from bot.evaluate.cases import Case, load_jsonl, load_laws, norm, source_matches
from bot.evaluate.metrics import first_rank, latency, mrr_at, ndcg_at, rate, recall_at
from bot.runtime import Runtime

EVALSET = REPO / "bench" / "evalset.jsonl"
REFERENCES = REPO / "bench" / "references.jsonl"

# Floors for bench/evalset.jsonl on the shipped documents (default settings,
# packaged MiniLM, dense weight 0.1). Measured 2026-12-01 (issue 15: Luật 80/2025
# and NĐ 234/233/161 of 2026 shipped, retrieval of the text in force, the set
# relabelled where the law in force changed the answer: bench/README.md) with
#   CADREBOT_TODAY=2026-12-01 DOCUMENTS_DIR=<copy of documents/> INDEX_DIR=<tmp> cadrebot index
#   cadrebot eval bench/evalset.jsonl [--strip-diacritics]
# as R@1 0.83, R@5 0.98, MRR@10 0.89, refusals 8/10 = 0.80 (0.90 unaccented),
# false refusals 0. (Before, on the 2008-2020 texts alone: R@1 0.87, R@5 0.99,
# MRR@10 0.92, refusals 10/11.) Re-measured 2026-12-02 (issue 14: the in-force
# successor ranked above an out-of-force article, closing provisions lowered,
# thesaurus phrases as one unit of coverage; lines 1, 7, 9, 30, 63 relabelled to
# Luật 80/2025, bench/README.md): R@1 0.84, R@5 0.98, MRR@10 0.91, refusals 9/10.
# Ranking floors are those figures minus about 0.05; the refusal floor allows two
# more out-of-scope questions answered (7/10). The tests run on that day's law:
# CADREBOT_TODAY is set in conftest.py.
FLOOR = {"R@1": 0.79, "R@5": 0.93, "MRR@10": 0.86, "refusal_rate": 0.70}
MAX_FALSE_REFUSALS = 0.05
# bench/references.jsonl measured R@1 1.00 on the same run.
REFERENCES_FLOOR_R1 = 0.95

runner = CliRunner()


# --- metrics: pure functions ---------------------------------------------------------

def test_first_rank_dedupes_by_key_and_stops_at_depth() -> None:
    results = ["a1", "a2", "b1", "c1", "b2", "d1"]
    by_letter = lambda s: s[0]  # noqa: E731
    assert first_rank(results, lambda s: s.startswith("c"), by_letter) == 3
    assert first_rank(results, lambda s: s == "b2", by_letter) is None  # its key was seen at rank 2
    assert first_rank(results, lambda s: s.startswith("d"), by_letter, depth=3) is None
    assert first_rank(results, lambda s: s.startswith("d"), by_letter, depth=4) == 4
    assert first_rank(results, lambda s: s == "b2") == 5  # no key: every result counts


def test_recall_mrr_ndcg_on_known_ranks() -> None:
    ranks = [1, 2, None, 11]
    assert recall_at(ranks, 1) == 0.25
    assert recall_at(ranks, 10) == 0.5
    assert mrr_at(ranks, 10) == pytest.approx((1 + 0.5) / 4, abs=1e-4)
    assert ndcg_at(ranks, 10) == pytest.approx((1 + 1 / math.log2(3)) / 4, abs=1e-4)
    assert ndcg_at([1, 1], 10) == 1.0 and mrr_at([None], 10) == 0.0
    assert recall_at([], 5) is None


def test_rate_and_latency() -> None:
    assert rate([True, False, False, False]) == 0.25
    assert rate([]) is None
    lat = latency([10.0] * 19 + [200.0])
    assert lat["median"] == 10.0 and 10.0 < lat["p95"] <= 200.0
    assert latency([]) == {"median": None, "p95": None}


# --- question files --------------------------------------------------------------------

def test_jsonl_loader_reads_fields_and_scope(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"question": "a?", "expect": "x", "source": "73/2023/NĐ-CP", "kind": "k"}\n\n'
                    '{"question": "b?", "expect": null}\n'
                    '{"question": "dieu 15 luat vien chuc", "source": "58/2010/QH12", "article": 15}\n',
                    encoding="utf-8")
    cases = load_jsonl(path)
    assert [c.in_scope for c in cases] == [True, False, True]
    assert cases[0].kind == "k" and cases[2].article == "15" and cases[2].line == 4
    assert "Điều 15" in cases[2].wanted and "ngoài phạm vi" in cases[1].wanted


def test_malformed_jsonl_line_is_reported_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "a?"}\n{"expect": "no question"}\n', encoding="utf-8")
    with pytest.raises(BadQuery, match="Dòng 2"):
        load_jsonl(path)


def test_zalo_corpus_keys_and_article_spans(tmp_path: Path) -> None:
    path = tmp_path / "legal_corpus.json"
    path.write_text(json.dumps([{"law_id": "01/2009/TT-BNV", "articles": [
        {"article_id": "1", "title": "Phạm vi", "text": "Thông tư này quy định..."},
        {"article_id": "2", "title": "Đối tượng", "text": "Áp dụng với công chức."}]}]), encoding="utf-8")
    laws = load_laws(path)
    text, spans = law_document(laws[0])
    assert [s.article for s in spans] == ["1", "2"]
    assert text[spans[1].start:spans[1].end] == "Điều 2. Đối tượng\nÁp dụng với công chức."


# --- format (a): ALQAC/Zalo on a generated corpus ------------------------------------

LAWS = [
    {"id": "Luật Nuôi ong", "articles": [
        {"id": "1", "text": "Phạm vi điều chỉnh\n\nLuật này quy định về nuôi ong lấy mật trong khu dân cư."},
        {"id": "2", "text": "Khoảng cách đặt thùng ong\n\nThùng ong phải đặt cách nhà ở ít nhất 20 mét."},
        {"id": "3", "text": "Thu hoạch mật ong\n\nMật ong chỉ được thu hoạch vào mùa xuân và mùa thu."}]},
    {"id": "Luật Đánh bắt cá", "articles": [
        {"id": "1", "text": "Phạm vi điều chỉnh\n\nLuật này quy định về đánh bắt cá trên sông."},
        {"id": "2", "text": "Kích thước mắt lưới\n\nMắt lưới đánh cá không được nhỏ hơn 5 centimet."},
        {"id": "3", "text": "Mùa cấm đánh bắt\n\nCấm đánh bắt cá trong mùa sinh sản từ tháng tư đến tháng sáu."}]},
]
QUESTIONS = [
    {"question_id": "q1", "text": "Thùng ong phải đặt cách nhà ở bao xa?",
     "relevant_articles": [{"law_id": "Luật Nuôi ong", "article_id": "2"}]},
    {"question_id": "q2", "text": "Mắt lưới đánh cá nhỏ nhất là bao nhiêu centimet?",
     "relevant_articles": [{"law_id": "Luật Đánh bắt cá", "article_id": "2"}]},
    {"question_id": "q3", "text": "Mùa sinh sản có được đánh bắt cá không?",
     "relevant_articles": [{"law_id": "Luật Đánh bắt cá", "article_id": "3"}]},
    {"question_id": "q4", "text": "Mật ong được thu hoạch vào mùa nào?",  # gold article absent on purpose
     "relevant_articles": [{"law_id": "Luật Nuôi ong", "article_id": "9"}]},
]


@pytest.fixture
def alqac_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "alqac"
    folder.mkdir()
    (folder / "law.json").write_text(json.dumps(LAWS, ensure_ascii=False), encoding="utf-8")
    (folder / "train.json").write_text(json.dumps(QUESTIONS, ensure_ascii=False), encoding="utf-8")
    return folder


def test_alqac_format_scores_articles_on_a_temporary_index(alqac_dir: Path, embedder) -> None:
    report = evaluate_alqac(alqac_dir / "law.json", alqac_dir / "train.json", embedder, Settings())
    s = report.summary()
    ranks = [o.rank for o in report.outcomes]
    assert ranks[:3] == [1, 1, 1] and ranks[3] is None
    assert s["R@1"] == 0.75 and s["R@10"] == 0.75 and s["out_of_scope"] == 0
    assert report.info["chunks"] >= 6 and report.format == "alqac"
    miss = report.misses()
    assert len(miss) == 1 and miss[0]["expected"] == "Điều 9 Luật Nuôi ong"
    assert "Điều 3 Luật Nuôi ong" in miss[0]["got"][0]  # what came first instead


def test_alqac_unaccented_rerun_still_finds_the_articles(alqac_dir: Path, embedder) -> None:
    report = evaluate_alqac(alqac_dir / "law.json", alqac_dir / "train.json", embedder, Settings(),
                            strip=True)
    assert report.stripped and report.outcomes[0].asked == "Thung ong phai dat cach nha o bao xa?"
    assert report.summary()["R@5"] == 0.75


# --- format (b): JSON Lines over an index --------------------------------------------

def test_jsonl_path_ranks_refuses_and_lists_misses(searcher) -> None:
    cases = [
        Case("Theo Luật cán bộ, công chức 2008, thời hạn biệt phái công chức tối đa là bao lâu?",
             "Thời hạn biệt phái  không quá 03 năm", "luat-can-bo-cong-chuc-2008.txt", line=1),
        Case("dieu 15 luat vien chuc", source="58/2010/QH12", article="15", line=2),
        Case("Thời hạn biệt phái công chức tối đa là bao lâu?", "chuỗi không có trong văn bản nào", line=3),
        Case("Giá vàng hôm nay?", line=4),
    ]
    report = evaluate(searcher.search, cases, name="mini")
    assert [o.rank for o in report.outcomes] == [1, 1, None, None]
    s = report.summary()
    assert (s["in_scope"], s["out_of_scope"], s["refusal_rate"]) == (3, 1, 1.0)
    assert [m["line"] for m in report.misses()] == [3]
    text = render_text(report)
    assert "R@1 0.67" in text and "[3] không có trong kết quả đầu" in text


@pytest.mark.parametrize("strip", [False, True], ids=["as-written", "unaccented"])
def test_evalset_floor_on_shipped_documents(searcher, strip: bool) -> None:
    cases = load_jsonl(EVALSET)
    kinds = {c.kind for c in cases}
    assert len(cases) >= 60 and sum(not c.in_scope for c in cases) >= 8
    assert {"luật CBCC", "luật VC", "NĐ 73", "NĐ 112", "NĐ 90", "KL 14", "tin tức", "không dấu",
            "viết tắt", "ngoài phạm vi"} <= kinds
    s = evaluate(searcher.search, cases, strip=strip).summary()
    for metric, floor in FLOOR.items():
        assert s[metric] >= floor, (metric, s)
    assert s["false_refusal_rate"] <= MAX_FALSE_REFUSALS, s


def test_every_expect_string_is_in_exactly_its_document(shipped_opened) -> None:
    texts = {str(p.relative_to(REPO / "documents")): norm(p.read_text(encoding="utf-8"))
             for p in (REPO / "documents").rglob("*.txt")}
    passages = shipped_opened.passages(range(len(shipped_opened)))
    normed = [(p, norm(p.text)) for p in passages]
    for case in load_jsonl(EVALSET):
        if not case.in_scope:
            continue
        assert case.expect and case.source, case
        in_docs = [name for name, text in texts.items() if norm(case.expect) in text]
        holders = [p for p, text in normed if norm(case.expect) in text]
        assert len(in_docs) == 1, (case.line, case.expect, in_docs)
        assert holders and all(source_matches(case.source, p) for p in holders), (case.line, case.expect)
        assert source_matches(case.source, holders[0]) and in_docs[0] == holders[0].source


def test_every_reference_names_an_article_of_the_corpus(shipped_opened) -> None:
    cases = load_jsonl(REFERENCES)
    assert len(cases) >= 40
    passages = shipped_opened.passages(range(len(shipped_opened)))
    for case in cases:
        assert any(source_matches(case.source, p) and (not case.article or p.article == case.article)
                   for p in passages), (case.line, case.question)


# --- the command -----------------------------------------------------------------------

@pytest.fixture
def cli(shipped_index, embedder, monkeypatch):
    monkeypatch.setattr(Runtime, "embedder", property(lambda self: embedder))
    monkeypatch.setenv("DOCUMENTS_DIR", str(shipped_index.documents_dir))
    monkeypatch.setenv("INDEX_DIR", str(shipped_index.index_dir))
    return lambda *args: runner.invoke(app, list(args))


def test_eval_json_end_to_end_on_the_reference_set(cli) -> None:
    result = cli("eval", str(REFERENCES), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["format"] == "jsonl" and data["questions"] == data["in_scope"] >= 40
    assert data["R@1"] >= REFERENCES_FLOOR_R1 and data["false_refusal_rate"] == 0.0
    assert data["latency_ms"]["median"] > 0 and isinstance(data["misses"], list)
    assert set(data["by_kind"]) == {"có dấu", "không dấu", "viết tắt"}


def test_eval_alqac_folder_from_the_command_line(cli, alqac_dir: Path) -> None:
    result = cli("eval", str(alqac_dir), "--json", "--strip-diacritics")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["format"], data["stripped"], data["questions"]) == ("alqac", True, 4)
    assert data["R@10"] == 0.75 and data["misses"][0]["line"] == 4


def test_eval_text_output_and_exit_codes(cli, tmp_path: Path) -> None:
    good = tmp_path / "one.jsonl"
    good.write_text('{"question": "Giá vàng hôm nay?", "expect": null}\n', encoding="utf-8")
    result = cli("eval", str(good))
    assert result.exit_code == 0 and "Từ chối đúng (câu ngoài phạm vi): 100%" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    assert cli("eval", str(bad)).exit_code == 2
    assert cli("eval", str(tmp_path / "missing.jsonl")).exit_code == 2
    assert cli("eval", str(good), "--index", str(tmp_path / "no-index")).exit_code == 1
