"""chunk_document on the shipped laws and decrees, on news, and on generated legal texts."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import DOCUMENTS
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ingest import prepare
from bot.ingest.chunker import MAX_CHARS, PREAMBLE, Chunk, chunk_document
from bot.ingest.clean import clean_web_text

CBCC = DOCUMENTS / "luat-can-bo-cong-chuc-2008.txt"
VIEN_CHUC = DOCUMENTS / "luat-vien-chuc-2010.txt"
ND73 = DOCUMENTS / "nghi-dinh-73-2023-trich.txt"
ND112 = DOCUMENTS / "nghi-dinh-112-2020-trich.txt"
ND90 = DOCUMENTS / "nghi-dinh-90-2020-trich.txt"
KL14 = DOCUMENTS / "ket-luan-14-kltw-2021-trich.txt"
LEGAL = [CBCC, VIEN_CHUC, ND73, ND112, ND90, KL14]
NEWS = sorted((DOCUMENTS / "news").glob("*.txt"))
CLAUSE_LINE = re.compile(r"(?m)^(\d+[a-zđ]?)\.\s")
HEADING_LINE = re.compile(r"^(phần|chương|mục|điều)\s", re.I)


def chunks_of(path: Path) -> list[Chunk]:
    return chunk_document(path.read_text(encoding="utf-8"))


def by_article(chunks: list[Chunk]) -> dict[str, list[Chunk]]:
    out: dict[str, list[Chunk]] = defaultdict(list)
    for chunk in chunks:
        if chunk.article:
            out[chunk.article].append(chunk)
    return out


# --- the shipped laws -----------------------------------------------------------


@pytest.mark.parametrize(("path", "count"), [(CBCC, 87), (VIEN_CHUC, 62)])
def test_every_article_of_the_laws_is_found(path: Path, count: int) -> None:
    chunks = chunks_of(path)
    articles = by_article(chunks)
    assert set(articles) == {str(n) for n in range(1, count + 1)}
    # Articles come out in reading order, each one's chunks contiguous.
    order = [c.article for c in chunks if c.article]
    collapsed = [a for i, a in enumerate(order) if i == 0 or order[i - 1] != a]
    assert collapsed == [str(n) for n in range(1, count + 1)]
    # Each article's chunk carries the article line as the last heading segment.
    source_titles = dict(re.findall(r"(?m)^Điều (\d+)\. (.*)$", path.read_text(encoding="utf-8")))
    for number, parts in articles.items():
        for chunk in parts:
            assert chunk.heading.split(" › ")[-1] == f"Điều {number}. {chunk.article_title}"
            assert chunk.article_title == source_titles[number].strip()
            assert chunk.heading.startswith("Chương ")
            assert chunk.text.strip()


@pytest.mark.parametrize("path", LEGAL + NEWS, ids=lambda p: p.name)
def test_no_chunk_is_longer_than_max_chars(path: Path) -> None:
    chunks = chunk_document(path.read_text(encoding="utf-8"), title="Tiêu đề")
    assert chunks
    # The chunker packs with `<= max_chars` everywhere: no tolerance is needed.
    assert max(len(c.text) for c in chunks) <= MAX_CHARS
    assert all(c.text.strip() for c in chunks)


def test_heading_path_of_cbcc_articles() -> None:
    articles = by_article(chunks_of(CBCC))
    heading = articles["8"][0].heading
    assert heading.split(" › ")[:2] == [
        "Chương II. NGHĨA VỤ, QUYỀN CỦA CÁN BỘ, CÔNG CHỨC",
        "Mục 1. NGHĨA VỤ CỦA CÁN BỘ, CÔNG CHỨC",
    ]
    assert "Chương II" in heading and "Mục 1" in heading
    assert heading.endswith("Điều 8. Nghĩa vụ của cán bộ, công chức đối với Đảng, Nhà nước và nhân dân")
    # A new chapter forgets the previous chapter's sections.
    assert articles["21"][0].heading == "Chương III. CÁN BỘ Ở TRUNG ƯƠNG, CẤP TỈNH, CẤP HUYỆN › Điều 21. Cán bộ"
    assert "Mục 5. ĐIỀU ĐỘNG" in articles["53"][0].heading
    assert articles["1"][0].heading.startswith("Chương I. NHỮNG QUY ĐỊNH CHUNG › ")
    assert articles["87"][0].heading.startswith("Chương X")


def test_title_block_of_a_law_is_the_preamble() -> None:
    chunks = chunks_of(CBCC)
    assert chunks[0].heading == PREAMBLE
    assert chunks[0].article is None
    assert "Luật số: 22/2008/QH12" in chunks[0].text
    assert all(c.heading != PREAMBLE for c in chunks[1:])


@pytest.mark.parametrize("path", [CBCC, VIEN_CHUC, ND112, ND90], ids=lambda p: p.name)
def test_long_articles_split_at_clause_boundaries(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    split = {a: parts for a, parts in by_article(chunk_document(text)).items() if len(parts) > 1}
    assert split, "the document has articles longer than MAX_CHARS"
    for article, parts in split.items():
        for i, chunk in enumerate(parts):
            assert chunk.clause, (article, chunk.text[:60])
            numbers = CLAUSE_LINE.findall(chunk.text)
            first = CLAUSE_LINE.match(chunk.text)
            if first:
                # A chunk that opens on a clause is labelled from that clause on, and its
                # label names exactly the clauses it holds.
                assert first.group(1) == chunk.clauses[0]
                assert numbers == chunk.clauses
            elif i == 0:
                # The article's introduction travels with the first clauses.
                assert numbers == chunk.clauses
            else:
                # The continuation of a clause too long for one chunk: same clause label.
                assert numbers == []
                assert chunk.clause == parts[i - 1].clauses[-1]
                whole = "\n".join(p.text for p in parts if p.clause == chunk.clause)
                assert len(whole) > MAX_CHARS
        # No clause is lost or duplicated across the article's chunks.
        held = [n for chunk in parts for n in CLAUSE_LINE.findall(chunk.text)]
        assert len(held) == len(set(held))
        body = "\n".join(c.text for c in parts)
        assert held == CLAUSE_LINE.findall(body)


def test_split_article_examples_from_the_laws() -> None:
    cbcc = by_article(chunks_of(CBCC))
    assert [c.clause for c in cbcc["7"]] == ["1-8", "9-13"]
    assert cbcc["7"][0].text.startswith("Trong Luật này, các từ ngữ sau đây được hiểu như sau:")
    assert cbcc["7"][1].text.startswith("9. Cách chức")
    assert [c.clause for c in cbcc["4"]] == ["1", "2", "3"]
    for chunk in cbcc["4"]:
        assert chunk.text.startswith(f"{chunk.clause}. ")
    # A short article stays whole, with no clause label.
    assert [c.clause for c in cbcc["53"]] == [None]
    assert CLAUSE_LINE.findall(cbcc["53"][0].text) == ["1", "2", "3", "4", "5", "6"]


@pytest.mark.parametrize("path", [CBCC, VIEN_CHUC, ND112, ND90], ids=lambda p: p.name)
def test_short_neighbouring_clauses_are_kept_together(path: Path) -> None:
    checked = 0
    for parts in by_article(chunks_of(path)).values():
        pieces = defaultdict(int)  # a clause over MAX_CHARS is cut into several chunks
        for chunk in parts:
            pieces[chunk.clause] += 1
        for before, after in zip(parts, parts[1:]):
            if pieces[before.clause] > 1 or pieces[after.clause] > 1:
                continue
            assert CLAUSE_LINE.match(after.text)
            checked += 1
            # Greedy packing: the next clause was cut off only because it did not fit.
            next_clause = re.split(r"\n(?=\d+[a-zđ]?\.\s)", after.text)[0]
            assert len(before.text) + 1 + len(next_clause) > MAX_CHARS
    assert checked


def test_synthetic_article_packs_clauses() -> None:
    clause = "Cán bộ, công chức có trách nhiệm thực hiện nghiêm túc quy định về công vụ và đạo đức."  # 86 chars
    lines = ["Điều 9. Trách nhiệm"] + [f"{n}. {clause}" for n in range(1, 11)]
    chunks = chunk_document("\n".join(lines), max_chars=300)
    assert [c.clause for c in chunks] == ["1-3", "4-6", "7-9", "10"]
    assert all(len(c.text) <= 300 for c in chunks)
    assert all(c.article == "9" and c.article_title == "Trách nhiệm" for c in chunks)
    assert [c.clauses for c in chunks][0] == ["1", "2", "3"]
    # With room for everything the article stays one chunk with no clause label.
    whole = chunk_document("\n".join(lines))
    assert len(whole) == 1 and whole[0].clause is None and whole[0].clauses == []


def test_a_long_clause_is_cut_at_its_points() -> None:
    points = [f"{letter}) Trường hợp {letter} được xem xét theo trình tự, thủ tục do Chính phủ quy định chi tiết."
              for letter in "abcdefgh"]
    text = "\n".join(["Điều 2. Xử lý", "1. Các trường hợp sau đây:", *points, "2. Khoản hai ngắn."])
    chunks = chunk_document(text, max_chars=250)
    assert all(len(c.text) <= 250 for c in chunks)
    assert [c.clause for c in chunks][-1] == "2"
    first_clause = [c for c in chunks if c.clause == "1"]
    assert len(first_clause) > 1
    assert first_clause[0].text.startswith("1. Các trường hợp sau đây:")
    for chunk in first_clause[1:]:
        assert re.match(r"^[a-h]\) ", chunk.text)
    # Every point is kept, once, in order.
    joined = "\n".join(c.text for c in first_clause)
    assert re.findall(r"(?m)^([a-h])\) ", joined) == list("abcdefgh")


@pytest.mark.parametrize("sentence_end", [". ", "; "])
def test_an_enormous_paragraph_is_cut_under_max_chars(sentence_end: str) -> None:
    sentence = "Cán bộ công chức thực hiện nhiệm vụ được giao theo quy định của pháp luật" + sentence_end
    words = "công chức viên chức cán bộ người lao động hợp đồng " * 60  # one sentence of 3000 chars
    text = "Điều 1. Dài\n" + sentence * 30 + words.strip() + "\n\n" + words.strip()
    chunks = chunk_document(text)
    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    assert len(chunks) >= 5
    # Nothing but whitespace is lost.
    assert "".join("".join(c.text.split()) for c in chunks) == "".join(text.split("\n", 1)[1].split())


def test_nd73_unnumbered_block_is_not_attributed_to_article_3() -> None:
    chunks = chunks_of(ND73)
    block = [c for c in chunks if "Có khả năng tháo gỡ" in c.text]
    assert len(block) == 1
    assert block[0].article is None
    assert block[0].heading.startswith("Điều kiện áp dụng chính sách khuyến khích")
    assert "Điều 3" not in block[0].heading
    assert block[0].text.count("\n- ") == 3 and block[0].text.startswith("- ")
    article3 = [c for c in chunks if c.article == "3"]
    assert len(article3) == 1
    assert "tháo gỡ, giải quyết những điểm nghẽn" in article3[0].text  # its own khoản 3
    assert "Có khả năng" not in article3[0].text and "Điều kiện áp dụng" not in article3[0].text
    # Article 11 after the block is still found.
    article11 = [c for c in chunks if c.article == "11"]
    assert len(article11) == 1 and article11[0].heading == "Điều 11. Biện pháp bảo vệ cán bộ"
    assert CLAUSE_LINE.findall(article11[0].text) == ["1", "2", "3", "4"]
    assert [c.article for c in chunks] == [None, "1", "2", "3", None, "11"]


def test_party_conclusion_is_paragraph_chunks() -> None:
    chunks = chunk_document(KL14.read_text(encoding="utf-8"), title="Kết luận 14")
    assert all(c.article is None for c in chunks)
    assert all(c.heading == "Kết luận 14" for c in chunks)
    assert len(chunks) >= 2


@pytest.mark.parametrize("path", NEWS, ids=lambda p: p.name)
def test_news_split_into_paragraph_chunks_with_the_title(path: Path) -> None:
    prepared = prepare(path, f"news/{path.name}")
    title = prepared.meta.title
    assert title and prepared.meta.type == "Tin tức"
    cleaned = clean_web_text(path.read_text(encoding="utf-8"))
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", cleaned) if p.strip()]
    chunks = prepared.chunks
    assert len(chunks) >= 2
    for chunk in chunks:
        assert chunk.heading == title
        assert chunk.article is None
        assert len(chunk.text) <= MAX_CHARS
    # Chunks are runs of whole paragraphs (or pieces of one over-long paragraph), in order.
    pieces = [p for c in chunks for p in c.text.split("\n\n")]
    assert "".join(pieces).replace(" ", "").replace("\n", "") == \
        "".join(paragraphs).replace(" ", "").replace("\n", "")
    # The passage both retrievers see starts with the title.
    assert all(p.startswith(title) for p in prepared.passages)


def test_part_chapter_section_recognition() -> None:
    text = "\n".join([
        "LUẬT THỬ NGHIỆM",
        "Căn cứ Hiến pháp;",
        "PHẦN THỨ NHẤT",
        "QUY ĐỊNH CHUNG",
        "Chương I",
        "PHẠM VI",
        "Điều 1. Phạm vi điều chỉnh",
        "Luật này quy định về cán bộ.",
        "Mục 1. NGHĨA VỤ",
        "Điều 2. Nghĩa vụ",
        "1. Trung thành.",
        "2. Tôn trọng nhân dân.",
        "Mục 2: QUYỀN",
        "Điều 3. Quyền",
        "Cán bộ được bảo đảm.",
        "Chương II. TỔ CHỨC",
        "Điều 4: Tổ chức",
        "Nội dung điều bốn.",
        "Phần II. THI HÀNH",
        "Điều 5",
        "Nội dung điều năm.",
        "Điều 5a. Điều bổ sung",
        "Nội dung điều năm a.",
    ])
    chunks = chunk_document(text)
    got = [(c.article, c.heading) for c in chunks]
    assert got == [
        (None, PREAMBLE),
        ("1", "Phần THỨ NHẤT. QUY ĐỊNH CHUNG › Chương I. PHẠM VI › Điều 1. Phạm vi điều chỉnh"),
        ("2", "Phần THỨ NHẤT. QUY ĐỊNH CHUNG › Chương I. PHẠM VI › Mục 1. NGHĨA VỤ › Điều 2. Nghĩa vụ"),
        ("3", "Phần THỨ NHẤT. QUY ĐỊNH CHUNG › Chương I. PHẠM VI › Mục 2. QUYỀN › Điều 3. Quyền"),
        ("4", "Phần THỨ NHẤT. QUY ĐỊNH CHUNG › Chương II. TỔ CHỨC › Điều 4. Tổ chức"),
        ("5", "Phần II. THI HÀNH › Điều 5"),
        ("5a", "Phần II. THI HÀNH › Điều 5a. Điều bổ sung"),
    ]
    # A preamble of single lines is packed line by line (blank line between).
    assert chunks[0].text == "LUẬT THỬ NGHIỆM\n\nCăn cứ Hiến pháp;"
    assert chunks[2].text == "1. Trung thành.\n2. Tôn trọng nhân dân."
    assert chunks[5].article_title is None and chunks[5].text == "Nội dung điều năm."


def test_text_without_structure_uses_the_title() -> None:
    chunks = chunk_document("Đoạn một nói về cán bộ.\n\nĐoạn hai nói về công chức.", title="Bản tin")
    assert [(c.heading, c.article, c.text) for c in chunks] == [
        ("Bản tin", None, "Đoạn một nói về cán bộ.\n\nĐoạn hai nói về công chức.")
    ]
    assert chunk_document("") == []
    assert chunk_document("\n\n  \n") == []


def test_mentions_of_articles_inside_sentences_are_not_articles() -> None:
    text = "Điều 1. Phạm vi\nTheo quy định tại Điều 5 của Luật này.\nđiều kiện khác theo Điều 7."
    chunks = chunk_document(text)
    assert [c.article for c in chunks] == ["1"]
    assert chunks[0].text == "Theo quy định tại Điều 5 của Luật này.\nđiều kiện khác theo Điều 7."


# --- property: chunking never loses text ------------------------------------------

VOCABULARY = ("cán bộ công chức viên chức nhà nước nhân dân trách nhiệm quyền lợi đánh giá "
              "bổ nhiệm kỷ luật đào tạo bồi dưỡng tuyển dụng hợp đồng làm việc cơ quan tổ chức "
              "đơn vị sự nghiệp công lập thẩm quyền quản lý lãnh đạo khen thưởng chính sách "
              "hưởng lương biên chế thời hạn thủ tục hồ sơ xem xét quyết định").split()
word = st.sampled_from(VOCABULARY)
sentence = st.builds(
    lambda first, rest, end: first.capitalize() + "".join(" " + w for w in rest) + end,
    word, st.lists(word, max_size=14), st.sampled_from([".", ";", ":"]),
)
title = st.lists(word, min_size=1, max_size=6).map(lambda ws: " ".join(ws).capitalize())
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]

line_item = st.one_of(
    st.tuples(st.just("chapter"), st.sampled_from(ROMAN), title),
    st.tuples(st.just("section"), st.integers(1, 9), title),
    st.tuples(st.just("article"), st.integers(1, 200), st.one_of(st.none(), title)),
    st.tuples(st.just("clause"), st.integers(1, 30), sentence),
    st.tuples(st.just("point"), st.sampled_from("abcdđeg"), sentence),
    st.tuples(st.just("bullet"), st.just(""), sentence),
    st.tuples(st.just("sentence"), st.just(""), sentence),
    st.tuples(st.just("blank"), st.just(""), st.just("")),
)


def render(items: list[tuple]) -> tuple[str, list[str]]:
    """The document's text, and the non-heading lines in reading order."""
    lines: list[str] = []
    expected: list[str] = []
    article_title: str | None = None
    article_has_body = True
    for kind, key, value in items:
        # An article line or a Chương/Mục heading closes the open article: text
        # between a chapter heading and its first article belongs to no article.
        if kind in ("article", "chapter", "section") and not article_has_body and article_title:
            expected.append(article_title)  # a body-less article cites its title
        if kind in ("chapter", "section"):
            article_title, article_has_body = None, True
        if kind == "chapter":
            lines.append(f"Chương {key}. {value.upper()}")
        elif kind == "section":
            lines.append(f"Mục {key}. {value.upper()}")
        elif kind == "article":
            lines.append(f"Điều {key}" + (f". {value}" if value else ""))
            article_title, article_has_body = value, False
        elif kind == "blank":
            lines.append("")
        else:
            line = {"clause": f"{key}. {value}", "point": f"{key}) {value}",
                    "bullet": f"- {value}", "sentence": value}[kind]
            lines.append(line)
            expected.append(line)
            article_has_body = True
    if not article_has_body and article_title:
        expected.append(article_title)
    return "\n".join(lines), expected


@settings(max_examples=300, deadline=None)
@given(st.lists(line_item, max_size=60), st.sampled_from([160, 300, 700, MAX_CHARS]))
def test_chunking_never_loses_text(items: list[tuple], max_chars: int) -> None:
    text, expected = render(items)
    chunks = chunk_document(text, title="Văn bản", max_chars=max_chars)
    texts = [c.text for c in chunks]
    # Every non-empty line that is not a heading is in some chunk...
    for line in text.split("\n"):
        if line.strip() and not HEADING_LINE.match(line):
            assert any(line in t for t in texts), line
    # ...exactly once and in reading order (headings travel in `heading`).
    got = [ln for t in texts for ln in t.split("\n") if ln.strip()]
    assert got == expected
    assert all(len(t) <= max_chars for t in texts)
    for chunk in chunks:
        if chunk.article:
            assert re.search(rf"Điều {chunk.article}\b", chunk.heading.split(" › ")[-1])
        else:
            assert not any(seg.startswith("Điều ") for seg in chunk.heading.split(" › "))


def test_long_sentences_without_split_points_do_not_recurse_and_keep_all_words():
    # Regression: these used to raise RecursionError and abort a whole index build.
    from bot.ingest.chunker import MAX_CHARS, chunk_document

    for text in ("ab. cd " * 400, "x Theo quy định tại điểm a. khoản 2 " + "cán bộ công chức viên chức " * 60):
        chunks = chunk_document(text)
        assert all(len(c.text) <= MAX_CHARS for c in chunks)
        assert " ".join(c.text for c in chunks).split() == text.split()


def test_text_under_a_new_chapter_belongs_to_no_article() -> None:
    text = ("Chương I\nQUY ĐỊNH CHUNG\nĐiều 1. Phạm vi\nNội dung điều một.\n"
            "Chương II\nQUYỀN\nLời dẫn của chương hai.\nĐiều 2. Quyền\n1. Được hưởng lương.")
    chunks = chunk_document(text)
    by_text = {c.text: c for c in chunks}
    assert by_text["Nội dung điều một."].article == "1"
    intro = by_text["Lời dẫn của chương hai."]
    assert intro.article is None and intro.heading == "Chương II. QUYỀN"
    assert by_text["1. Được hưởng lương."].article == "2"


def test_a_line_starting_with_dieu_and_a_lower_case_word_is_not_an_article() -> None:
    chunks = chunk_document("Điều 1. Sửa đổi\n1. Nội dung.\nĐiều 3 được sửa đổi như sau:\n2. Khác.")
    assert [c.article for c in chunks] == ["1"]
    assert "Điều 3 được sửa đổi như sau:" in chunks[0].text


def test_sentences_split_only_before_upper_case_or_digits() -> None:
    from bot.ingest.chunker import _SENTENCE_END

    assert _SENTENCE_END.split("Câu một. đây vẫn là câu một. Đây là câu hai. 2 là câu ba") == [
        "Câu một. đây vẫn là câu một.", "Đây là câu hai.", "2 là câu ba"]


def test_a_section_number_alone_on_its_line_is_a_heading_not_text() -> None:
    """Luật 80/2025 prints "Mục 3" and its title on two lines; they were quoted as the end of
    Điều 24 ("... theo quy định của Chính phủ. Mục 3 ĐÁNH GIÁ CÔNG CHỨC")."""
    text = "\n".join([
        "Chương IV", "CÔNG CHỨC", "Mục 1", "TUYỂN DỤNG CÔNG CHỨC",
        "Điều 24. Ngạch công chức", "1. Ngạch công chức xếp theo thứ bậc.",
        "Mục 3", "ĐÁNH GIÁ CÔNG CHỨC",
        "Điều 25. Thực hiện đánh giá công chức", "1. Đánh giá theo năm.",
    ])
    chunks = {c.article: c for c in chunk_document(text)}
    assert "Mục 3" not in chunks["24"].text and "ĐÁNH GIÁ" not in chunks["24"].text
    assert chunks["24"].heading == "Chương IV. CÔNG CHỨC › Mục 1. TUYỂN DỤNG CÔNG CHỨC › Điều 24. Ngạch công chức"
    assert chunks["25"].heading == "Chương IV. CÔNG CHỨC › Mục 3. ĐÁNH GIÁ CÔNG CHỨC › Điều 25. Thực hiện đánh giá công chức"


def test_a_sentence_starting_with_muc_is_text() -> None:
    chunks = chunk_document("Điều 1. Phạm vi\nMục 2 của Điều này áp dụng cho cán bộ.\n")
    assert "Mục 2 của Điều này" in chunks[0].text


def test_an_article_title_wrapped_onto_the_next_line_stays_the_title() -> None:
    """NĐ 234/2026 as OCR'd: "Điều 22. ... kỷ luật đối" / "" / "với viên chức". The second line
    was quoted as the article's first passage, and the heading lost the group it is about."""
    text = ("Điều 22. Các quy định liên quan sau khi có quyết định kỷ luật đối\n\nvới viên chức\n\n"
            "1. Viên chức bị xử lý kỷ luật buộc thôi việc.\n"
            "Điều 23. Hiệu lực\na) lower-case point text stays text.\n")
    chunks = chunk_document(text)
    first = chunks[0]
    assert first.article_title == "Các quy định liên quan sau khi có quyết định kỷ luật đối với viên chức"
    assert first.heading.endswith("kỷ luật đối với viên chức")
    assert "với viên chức" not in first.text and first.text.startswith("1. Viên chức")
    assert chunks[-1].article == "23" and "a) lower-case point text" in chunks[-1].text


def test_a_first_sentence_printed_on_the_article_line_is_text_not_title() -> None:
    """NĐ 233/2026 as OCR'd: "Điều 3. Giải thích từ ngữ Trong Nghị định này, ... như sau:". The
    citation line showed that whole sentence as the heading. A title never ends with a colon."""
    text = ("Điều 3. Giải thích từ ngữ Trong Nghị định này, các từ ngữ dưới đây được hiểu như sau:\n"
            "1. Viên chức là công dân Việt Nam.\n"
            "Điều 4. Trách nhiệm của Bộ Nội vụ\n1. Hướng dẫn thực hiện.\n")
    first, second = chunk_document(text)
    assert first.article_title == "Giải thích từ ngữ" and first.heading == "Điều 3. Giải thích từ ngữ"
    assert first.text.startswith("Trong Nghị định này, các từ ngữ dưới đây được hiểu như sau:\n1. Viên chức")
    assert second.article_title == "Trách nhiệm của Bộ Nội vụ"  # capitals inside a title stay in it
