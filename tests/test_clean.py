"""clean_web_text on the real news copies in /work/shared/corpus/news and on small cases."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.clean import clean_web_text

NEWS = Path("/work/shared/corpus/news")

# Non-blank lines each real article loses, and why.
REMOVED = {
    "bo-noi-vu-trien-khai-nhiem-vu-2020.txt": [],
    "doan-kiem-tra-889-lam-viec-voi-bo-noi-vu.txt": [
        "phandinhtrac copy.jpg",
        "phamthithanhtra copy.jpg",
    ],
    "khac-phuc-cuc-bo-khep-kin-trong-cong-tac-can-bo.txt": [
        "Khắc phục tình trạng cục bộ, khép kín trong công tác cán bộ - Ảnh 1.",
        "Top",
    ],
    "khuyen-khich-bao-ve-can-bo-doi-moi-sang-tao.txt": [
        "Toàn cảnh Hội nghị Thông tin chuyên đề Quý I năm 2024 do Ban Thường vụ Đảng ủy "
        "Khối các cơ quan Trung ương tổ chức",
        "Vụ trưởng Vụ Công chức, Bộ Nội vụ Nguyễn Tuấn Ninh",
        "Các đại biểu dự Hội nghị",
        "Theo Vụ trưởng Vụ Công chức, Bộ Nội vụ Nguyễn Tuấn Ninh, cần tăng cường kiểm tra, "
        "giám sát hoạt động công vụ giúp nâng cao nhận thức của cán bộ, công chức trong "
        "thực thi công vụ",
        "Zalo",
    ],
    "nghe-an-kiem-tra-sat-hach-cong-chuc.txt": [
        "mask",
        *(
            "Ban Tổ chức Trung ương đánh giá cao Nghệ An trong cách làm về kiểm tra, "
            f"sát hạch công chức ảnh {n}"
            for n in (1, 2, 4, 5)
        ),
        "Ban Thường vụ Tỉnh ủy Nghệ An ban hành kế hoạch kiểm tra, sát hạch công chức",
        "Tin mới",
    ],
}

# Real sentences, titles, captions and bylines that must survive (exactly once).
KEPT = {
    "bo-noi-vu-trien-khai-nhiem-vu-2020.txt": [
        "Phó Thủ tướng Thường trực Chính phủ Trương Hòa Bình dự hội nghị - Ảnh: VGP/Lê Sơn",
        "Báo cáo của Bộ Nội vụ cho biết, năm 2019, ngành nội vụ đã hoàn thành một khối "
        "lượng công việc lớn được giao.",
        "Lê Sơn",
    ],
    "doan-kiem-tra-889-lam-viec-voi-bo-noi-vu.txt": [
        "Trưởng Ban Nội chính Trung ương Phan Đình Trạc",
        "Cuộc làm việc nhằm thông báo dự thảo báo cáo kết quả kiểm tra đối với Ban cán sự "
        "đảng Bộ Nội vụ.",
    ],
    "khac-phuc-cuc-bo-khep-kin-trong-cong-tac-can-bo.txt": [
        "Khắc phục tình trạng cục bộ, khép kín trong công tác cán bộ",
        "27/07/2023 6:26 PM",
        'Công tác cán bộ là "then chốt của then chốt"',
        "Hòa An",
    ],
    "khuyen-khich-bao-ve-can-bo-doi-moi-sang-tao.txt": [
        "Toàn cảnh Hội nghị Thông tin chuyên đề Quý I năm 2024 do Ban Thường vụ Đảng ủy "
        "Khối các cơ quan Trung ương tổ chức",
        "Các đại biểu dự Hội nghị",
        "Lan Hương - Trọng Quỳnh",
    ],
    "nghe-an-kiem-tra-sat-hach-cong-chuc.txt": [
        "Ban Tổ chức Trung ương đánh giá cao Nghệ An trong cách làm về kiểm tra, sát hạch "
        "công chức",
        "Nhiều cách làm sáng tạo",
        '"Chạy chức là không dùng"',
        "Ban Thường vụ Tỉnh ủy Nghệ An ban hành kế hoạch kiểm tra, sát hạch công chức",
    ],
}


def lines_of(text: str) -> list[str]:
    return [line.replace("\xa0", " ").strip() for line in text.split("\n") if line.strip()]


def test_corpus_is_all_covered() -> None:
    assert sorted(p.name for p in NEWS.glob("*.txt")) == sorted(REMOVED)


@pytest.mark.parametrize("name", sorted(REMOVED))
def test_real_news_loses_exactly_the_noise(name: str) -> None:
    raw = (NEWS / name).read_text(encoding="utf-8")
    cleaned = clean_web_text(raw)
    lost = Counter(lines_of(raw)) - Counter(lines_of(cleaned))
    assert sorted(lost.elements()) == sorted(REMOVED[name])
    # Nothing is rewritten: every output line is an input line.
    assert not Counter(lines_of(cleaned)) - Counter(lines_of(raw))


@pytest.mark.parametrize("name", sorted(KEPT))
def test_real_news_keeps_real_lines_once(name: str) -> None:
    cleaned = lines_of(clean_web_text((NEWS / name).read_text(encoding="utf-8")))
    for line in KEPT[name]:
        assert cleaned.count(line) == 1, line


@pytest.mark.parametrize("name", sorted(REMOVED))
def test_real_news_has_no_blank_runs_and_is_stable(name: str) -> None:
    cleaned = clean_web_text((NEWS / name).read_text(encoding="utf-8"))
    assert "\n\n\n" not in cleaned
    assert cleaned == cleaned.strip()
    assert clean_web_text(cleaned) == cleaned


def test_long_paragraphs_all_survive() -> None:
    for path in NEWS.glob("*.txt"):
        raw = lines_of(path.read_text(encoding="utf-8"))
        cleaned = set(lines_of(clean_web_text(path.read_text(encoding="utf-8"))))
        for line in raw:
            if len(line) > 250:  # a real paragraph, never a caption
                assert line in cleaned


@pytest.mark.parametrize(
    "noise",
    ["IMG_1234.JPG", "anh 1.png", "phandinhtrac copy.jpg", "so-do (2).webp",
     "Top", "TOP", "tin mới", "Zalo", "mask", "Facebook", "Chia sẻ", "In bài",
     "Bình luận", "  Bình luận  ", "\xa0Zalo"],
)
def test_noise_line_removed(noise: str) -> None:
    text = f"Đoạn một của bài.\n{noise}\nĐoạn hai của bài."
    assert clean_web_text(text) == "Đoạn một của bài.\nĐoạn hai của bài."


@pytest.mark.parametrize(
    "sentence",
    [
        "Chia sẻ trên Facebook, ông cho biết sẽ tiếp tục bình luận về dự thảo.",
        "Bạn đọc có thể gửi Bình luận qua Zalo của tòa soạn.",
        "Top 10 địa phương dẫn đầu về cải cách hành chính",
        "In bài phát biểu để phát cho đại biểu.",
        "Tải tệp so-do-bo-may.png tại cổng thông tin điện tử của Bộ để xem chi tiết.png",
        "Chủ tịch UBND tỉnh phát biểu - Ảnh 1.",
        "Xem ảnh 2",
    ],
)
def test_words_inside_sentences_kept(sentence: str) -> None:
    text = f"Mở đầu.\n{sentence}\nKết thúc."
    assert clean_web_text(text) == text


def test_repeated_caption_kept_once_even_across_blank_line() -> None:
    caption = "Các đại biểu dự Hội nghị"
    text = f"Đoạn một.\n\n{caption}\n\n{caption}\n\nĐoạn hai."
    assert clean_web_text(text) == f"Đoạn một.\n\n{caption}\n\nĐoạn hai."


def test_same_line_far_apart_kept_twice() -> None:
    text = "Điều 1.\nCán bộ.\nĐiều 2.\nCán bộ."
    assert clean_web_text(text) == text


def test_repeated_separator_rows_kept() -> None:
    text = "Bảng\n-----\n-----\nHết"
    assert clean_web_text(text) == text


def test_alt_text_removed_only_when_it_repeats_a_line() -> None:
    title = "Nghệ An kiểm tra, sát hạch công chức"
    text = f"{title}\n\nMở đầu.\n\n{title} - Ảnh 1.\nChú thích ảnh.\n\n{title} ảnh 2"
    assert clean_web_text(text) == f"{title}\n\nMở đầu.\n\nChú thích ảnh."


def test_blank_runs_collapse_and_ends_trimmed() -> None:
    assert clean_web_text("\n\n Một \n\n\n\n  \nHai\n\n\n") == "Một\n\nHai"


def test_output_is_nfc() -> None:
    nfd = "Vie\u0302\u0323t Nam"  # "Việt Nam" decomposed
    assert clean_web_text(nfd) == "Việt Nam"


LINE_POOL = [
    "Điều 1. Cán bộ được bảo vệ.",
    "Các đại biểu dự Hội nghị",
    "Các đại biểu dự Hội nghị - Ảnh 1.",
    "Top",
    "Zalo",
    "anh 1.png",
    "",
    "  ",
    "-----",
    "Chia sẻ trên Facebook, ông nói.",
]


@given(st.lists(st.sampled_from(LINE_POOL), max_size=30))
def test_clean_is_idempotent_and_only_drops_lines(lines: list[str]) -> None:
    text = "\n".join(lines)
    once = clean_web_text(text)
    assert clean_web_text(once) == once
    assert not Counter(lines_of(once)) - Counter(lines_of(text))
    assert "\n\n\n" not in once
    for line in lines_of(once):
        assert line.casefold() not in {"top", "zalo", "anh 1.png"}
