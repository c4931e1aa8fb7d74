"""Follow-up questions: the pure resolver (bot/retrieve/followup.py)."""

from __future__ import annotations

import pytest

from bot.retrieve.followup import Context, resolve, with_subject

DISCIPLINE = Context("Công chức bị kỷ luật có mấy hình thức?", "Công chức bị kỷ luật có mấy hình thức?",
                     "công chức", "Luật 22/2008/QH12", "79")
PROTECTION = Context("Điều 11 Nghị định 73 quy định gì?", "Biện pháp bảo vệ cán bộ", "cán bộ",
                     "Nghị định 73/2023/NĐ-CP", "11")


@pytest.mark.parametrize("text, expected, kind", [
    ("Còn viên chức thì sao?", "Viên chức bị kỷ luật có mấy hình thức?", "subject"),
    ("con vien chuc thi sao", "Viên chức bị kỷ luật có mấy hình thức?", "subject"),
    ("Thế còn cán bộ?", "Cán bộ bị kỷ luật có mấy hình thức?", "subject"),
    ("khoản 2 thì sao?", "Khoản 2 Điều 79 Luật 22/2008/QH12", "clause"),
    ("còn điều 80?", "Điều 80 Luật 22/2008/QH12", "article"),
    ("Điều đó áp dụng cho ai?", "Phạm vi điều chỉnh, đối tượng áp dụng của Luật 22/2008/QH12", "scope"),
    ("thế còn theo luật cũ?", "Công chức bị kỷ luật có mấy hình thức theo luật cũ?", "old"),
    ("điều đó có hiệu lực khi nào?", "Điều 79 Luật 22/2008/QH12 có hiệu lực khi nào?", "pointer"),
])
def test_follow_ups_are_read_with_the_previous_turn(text, expected, kind) -> None:
    resolved = resolve(text, DISCIPLINE)
    assert (resolved.text, resolved.kind) == (expected, kind)


@pytest.mark.parametrize("text", [
    "Viên chức được nghỉ phép bao nhiêu ngày?",  # a subject, but a topic of its own
    "Điều 11 Nghị định 73 quy định gì?",  # names its own document
    "khoản 2 điều 53 luật cán bộ công chức",
    "thoi tiet ha noi hom nay",
    "Hợp đồng làm việc của viên chức có mấy loại?",
])
def test_a_fresh_topic_is_not_polluted(text) -> None:
    assert resolve(text, DISCIPLINE).text == text and resolve(text, DISCIPLINE).kind is None


def test_without_a_previous_turn_nothing_changes() -> None:
    assert resolve("Còn viên chức thì sao?", None).text == "Còn viên chức thì sao?"


def test_a_reference_only_question_switches_subject_on_its_article_heading() -> None:
    """"Điều 11 Nghị định 73" then "còn viên chức?": the topic is the article's heading."""
    assert resolve("còn viên chức?", PROTECTION).text == "Biện pháp bảo vệ viên chức"


def test_subject_replacement_keeps_the_rest_and_collapses_a_pair() -> None:
    assert with_subject("Các hình thức kỷ luật đối với cán bộ, công chức", "viên chức") == \
        "Các hình thức kỷ luật đối với viên chức"
    assert with_subject("Thời hiệu xử lý kỷ luật là bao lâu?", "viên chức") == \
        "Thời hiệu xử lý kỷ luật là bao lâu đối với viên chức?"



def test_the_context_is_read_from_the_previous_answer() -> None:
    from bot.answer import Answer, Quote
    from bot.retrieve.followup import context_of

    quote = Quote("Khoản 1 Điều 79 Luật 22/2008/QH12", "1. Khiển trách;", "luat.txt", "22/2008/QH12", "79",
                  "1", heading="Điều 79. Các hình thức kỷ luật đối với công chức")
    answer = Answer("Điều 79 Luật Cán bộ, công chức", True, quotes=[quote])
    context = context_of("Điều 79 Luật Cán bộ, công chức", answer)
    assert (context.document, context.article) == ("Luật 22/2008/QH12", "79")
    assert context.topic == "Các hình thức kỷ luật đối với công chức" and context.subject == "công chức"
    assert resolve("còn viên chức thì sao?", context).text == "Các hình thức kỷ luật đối với viên chức"
    refused = context_of("Giá vàng hôm nay?", Answer("Giá vàng hôm nay?", False))
    assert refused.document is None and resolve("khoản 2 thì sao?", refused).kind is None
