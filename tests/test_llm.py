"""Written answers from an OpenAI-compatible endpoint, against a stand-in on 127.0.0.1.

Retrieval is real (the shipped corpus, the session's model); only the language
model behind the endpoint is scripted. Every failure path must end in the
extractive answer, on time, with the reason logged and the API key nowhere.
"""

from __future__ import annotations

import logging
import re
import time

import pytest

from bot.answer import Quote, build_answer
from bot.channels.render import render_text
from bot.compose import grounding, writer
from bot.config import Settings
from bot.runtime import Runtime
from tests.openai_standin import StandIn

KEY = "sk-standin-SECRET-5b1c9e"
MODEL = "standin-model"
TIMEOUT = 1.0
Q73 = "Nghị định 73 bảo vệ cán bộ dám nghĩ, dám làm như thế nào?"
Q53 = "khoản 2 điều 53 luật cán bộ công chức"
# True to Khoản 1-3 Điều 11 Nghị định 73/2023/NĐ-CP, which retrieval puts first.
GROUNDED_73 = ("Cán bộ đề xuất đổi mới, sáng tạo đúng trường hợp tại điểm a khoản 2 Điều 5 thì không "
               "bị xử lý trách nhiệm [1]. Nếu chưa đạt mục tiêu nhưng làm đúng chủ trương, động cơ "
               "trong sáng thì được loại trừ trách nhiệm [2]; nếu gây thiệt hại thì được xem xét "
               "loại trừ, miễn hoặc giảm nhẹ trách nhiệm [3].")


@pytest.fixture
def standin():
    server = StandIn().start()
    yield server
    server.stop()


@pytest.fixture
def runtime(standin, searcher, monkeypatch):
    """A Runtime configured for the stand-in, over the session's real searcher."""
    monkeypatch.setattr(Runtime, "searcher", lambda self: searcher)
    rt = Runtime(Settings(llm_base_url=standin.url, llm_model=MODEL, llm_api_key=KEY,
                          llm_timeout=TIMEOUT))
    yield rt
    rt.writer.close()


def _extractive(runtime, question):
    return build_answer(runtime.search(question, k=8))


def test_grounded_answer_is_rendered_with_numbered_references(runtime, standin):
    standin.reply(content=GROUNDED_73)
    answer = runtime.ask(Q73)
    assert answer.written == GROUNDED_73
    assert [q.citation for q in answer.references] == [
        f"Khoản {k} Điều 11 Nghị định 73/2023/NĐ-CP" for k in (1, 2, 3)]
    text = render_text(answer)
    assert text.startswith(GROUNDED_73)
    assert "[1] Khoản 1 Điều 11 Nghị định 73/2023/NĐ-CP (bản trích)" in text
    assert "[3] Khoản 3 Điều 11 Nghị định 73/2023/NĐ-CP (bản trích)" in text
    assert "«" not in text  # the verbatim quotes are replaced, not appended
    assert answer.to_dict()["written"] == GROUNDED_73
    (request,) = standin.requests
    assert request.path == "/v1/chat/completions"
    assert request.json["model"] == MODEL and request.json["stream"] is False


def test_references_are_renumbered_in_order_of_citation(runtime, standin):
    standin.reply(content="Nếu gây thiệt hại vẫn có thể được giảm nhẹ trách nhiệm [3]; đề xuất "
                          "đúng điểm a khoản 2 Điều 5 thì không bị xử lý [1, 3].")
    answer = runtime.ask(Q73)
    assert answer.written == ("Nếu gây thiệt hại vẫn có thể được giảm nhẹ trách nhiệm [1]; đề xuất "
                              "đúng điểm a khoản 2 Điều 5 thì không bị xử lý [2, 1].")
    assert [q.clause for q in answer.references] == ["3", "1"]


def test_expired_source_keeps_its_warning_and_zero_padded_numbers_match(runtime, standin):
    # The law says "không quá 03 năm"; "3 năm" is the same number.
    standin.reply(content="Biệt phái không quá 3 năm, trừ một số ngành do Chính phủ quy định [1].")
    text = render_text(runtime.ask(Q53))
    assert "[1] Khoản 2 Điều 53 Luật 22/2008/QH12 (hết hiệu lực)" in text
    assert "⚠️ Văn bản này không còn hiệu lực (từ 01/07/2025)" in text


def test_citing_a_passage_that_does_not_exist_falls_back(runtime, standin, monkeypatch, caplog):
    monkeypatch.setattr(writer, "MAX_PASSAGES", 3)
    standin.reply(content="Cán bộ không bị xử lý trách nhiệm [1], theo hướng dẫn [7].")
    answer = runtime.ask(Q73)
    (request,) = standin.requests
    assert len(re.findall(r"(?m)^\[\d+\] ", request.json["messages"][1]["content"])) == 3
    assert answer.written is None and answer.references == []
    assert render_text(answer) == render_text(_extractive(runtime, Q73))
    assert "cites [7] but only 3 passages" in caplog.text


@pytest.mark.parametrize("reply, reason", [
    ("Thời hạn biệt phái không quá 5 năm [1].", "'5'"),
    ("Quy định này áp dụng từ ngày 15/3/2024 [1].", "'15/3/2024'"),
    ("Từ ngày 15 tháng 3 năm 2024, biệt phái không quá 03 năm [1].", "ngày 15 tháng 3 năm 2024"),
    ("Theo Nghị định 99/2021/NĐ-CP, biệt phái không quá 03 năm [1].", "'99/2021/NĐ-CP'"),
    ("Các đoạn văn bản được cung cấp không trả lời câu hỏi này.", "no citation"),
])
def test_an_answer_inventing_a_number_date_or_document_falls_back(runtime, standin, caplog, reply, reason):
    standin.reply(content=reply)
    answer = runtime.ask(Q53)
    assert len(standin.requests) == 1
    assert answer.found and answer.written is None
    assert "«2. Thời hạn biệt phái không quá 03 năm" in render_text(answer)
    assert "ungrounded reply" in caplog.text and reason in caplog.text


@pytest.mark.parametrize("script", [dict(delay=10), dict(trickle=0.2)], ids=["silent", "trickling"])
def test_a_slow_endpoint_times_out_into_the_extractive_answer(runtime, standin, caplog, script):
    extractive = _extractive(runtime, Q73)  # retrieval is outside the timed part (CPU-bound, shared cores)
    standin.reply(content=GROUNDED_73, **script)
    start = time.monotonic()
    answer = runtime.writer.write(extractive)
    elapsed = time.monotonic() - start
    assert TIMEOUT <= elapsed < TIMEOUT + 0.5
    assert answer is extractive and answer.written is None and answer.quotes
    assert len(standin.requests) == 1
    assert "timeout after 1s" in caplog.text


@pytest.mark.parametrize("script, reason", [
    (dict(status=500), "HTTP 500"),
    (dict(status=429), "HTTP 429 (retry after 30s)"),
    (dict(body=b"<html>bad gateway</html>"), "malformed reply"),
    (dict(body=b'{"choices": []}'), "malformed reply"),
    (dict(content=GROUNDED_73, finish_reason="length"), "cut off"),
])
def test_errors_and_rate_limits_fall_back_with_the_reason_logged(runtime, standin, caplog, script, reason):
    standin.reply(**script)
    answer = runtime.ask(Q73)
    assert answer.written is None
    assert render_text(answer) == render_text(_extractive(runtime, Q73))
    assert "llm fallback" in caplog.text and reason in caplog.text


def test_no_relevant_passages_means_no_model_call(runtime, standin):
    answer = runtime.ask("Giá vàng hôm nay?")
    assert standin.requests == []
    assert not answer.found and answer.written is None
    assert "chưa có nội dung trả lời" in render_text(answer)


def test_api_key_is_sent_as_bearer_but_never_logged(runtime, standin, caplog, capfd):
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    standin.reply(content=GROUNDED_73)
    runtime.ask(Q73)
    standin.reply(status=500)
    runtime.ask(Q73)
    assert [r.headers["Authorization"] for r in standin.requests] == [f"Bearer {KEY}"] * 2
    assert "HTTP Request: POST" in caplog.text  # httpx's own logging was captured
    assert "latency=" in caplog.text and "prompt_tokens=321 completion_tokens=45" in caplog.text
    out, err = capfd.readouterr()
    for seen in (caplog.text, out, err, repr(runtime.settings), str(runtime.settings.model_dump())):
        assert KEY not in seen


def test_the_prompt_holds_only_the_retrieved_passages(runtime, standin, searcher):
    standin.reply(content=GROUNDED_73)
    runtime.ask(Q73)
    system, user = standin.requests[0].json["messages"]
    assert system == {"role": "system", "content": writer.SYSTEM}
    head, rest = user["content"].split("\n\n", 1)
    body, question = rest.rsplit("\n\nCâu hỏi: ", 1)
    assert (head, question) == ("Các đoạn văn bản:", Q73)
    blocks = re.split(r"\n\n(?=\[\d+\] )", body)
    expected = _extractive(runtime, Q73)
    hits = [h.passage.text for h in searcher.search(Q73, 8).hits]
    assert len(blocks) == len(expected.quotes + expected.more) == 6
    for i, (block, quote) in enumerate(zip(blocks, expected.quotes + expected.more), 1):
        label, text = block.split("\n", 1)
        assert label == f"[{i}] {quote.citation}"
        assert any(text in hit for hit in hits), f"block {i} is not retrieved text"


def test_without_settings_answers_stay_extractive(monkeypatch):
    assert Runtime().writer is None
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9/v1")
    assert Runtime().writer is None  # no LLM_MODEL either
    monkeypatch.setenv("LLM_MODEL", MODEL)
    assert Runtime().writer is not None


# The checks themselves, on three hand-made passages.
PASSAGES = [
    Quote("Khoản 2 Điều 53 Luật 22/2008/QH12", "2. Thời hạn biệt phái không quá 03 năm.",
          "a.txt", "22/2008/QH12", "53", "2"),
    Quote("Điều 1 Nghị định 73/2023/NĐ-CP", "Có hiệu lực từ ngày 29 tháng 9 năm 2023. Mức 1.500.000 đồng.",
          "b.txt", "73/2023/NĐ-CP", "1", None),
    Quote("Kết luận 14-KL/TW", "Ngày 22/9/2021, Bộ Chính trị ban hành Kết luận.", "c.txt", "14-KL/TW", None, None),
]


@pytest.mark.parametrize("text", [
    "Biệt phái tối đa 3 năm [1].",
    "Nghị định 73/2023/NĐ-CP có hiệu lực từ 29/09/2023 [2].",
    "Nghị định 73 có hiệu lực từ ngày 29/9 [2], mức 1.500.000 đồng [2].",
    "Kết luận 14-KL/TW ban hành ngày 22 tháng 9 năm 2021 [3].",
    "1. Biệt phái không quá 03 năm [1].\n2. Theo Kết luận 14 [3].",
])
def test_grounded_claims_pass(text):
    assert grounding.check(text, PASSAGES) is None


@pytest.mark.parametrize("text, problem", [
    ("Biệt phái không quá 3 năm [7].", "cites [7] but only 3 passages"),
    ("Biệt phái không quá 3 năm.", "no citation"),
    ("Biệt phái không quá 4 năm [1].", "'4'"),
    ("Nghị định có hiệu lực từ 30/9/2023 [2].", "'30/9/2023'"),
    ("Mức 1.600.000 đồng [2].", "'1.600.000'"),
    ("Biệt phái không quá 3 năm theo Luật 22/2008/QH12, từ 22/9/2021 [1].", "'22/9/2021'"),
])
def test_ungrounded_claims_are_caught(text, problem):
    assert problem in grounding.check(text, PASSAGES)
