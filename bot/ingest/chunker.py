"""Split a document along its legal structure: Phần / Chương / Mục / Điều / Khoản / Điểm.

A chunk is a passage that can be cited on its own: one article when it is
short, otherwise a run of neighbouring clauses (khoản) of one article, and a
long clause is cut at its points (điểm). Text that is not an article (news,
a Party conclusion, a preamble) is cut into paragraph runs with the document
title as context. Chunk text is verbatim; headings travel in `heading` so a
passage never needs the article line to make sense.

Bump CHUNKER_VERSION whenever the output for the same text changes: the index
refuses to mix chunks of two versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CHUNKER_VERSION = "8"
MAX_CHARS = 1200
PREAMBLE = "Phần mở đầu"

# Upper-case Vietnamese letters. A range like [À-Ỹ] would also take the lower
# case ones (à, đ, ư ...), so "Điều 5 được ..." would open an article.
_UP = "A-Z" + "".join(c for c in map(chr, range(0xC0, 0x1EF9)) if c.isupper())
_PART = re.compile(r"^phần\s+(thứ\s+\w+|[IVXLC]+|\d+)\b[.:]?\s*(.*)$", re.I)
_CHAPTER = re.compile(r"^chương\s+([IVXLC]+|\d+)\b[.:]?\s*(.*)$", re.I)
# "Mục 1. TUYỂN DỤNG" on one line, or "Mục 1" alone with its title on the next line
# (Luật 80/2025 as printed): either way a heading, never text of the article before it.
_SECTION = re.compile(r"^mục\s+(\d+)\s*(?:[.:]\s*(.*)|$)", re.I)
_ARTICLE = re.compile(rf"^(?i:điều)\s+(\d+[a-zđ]?)\s*([.:]\s*|\s+(?=[{_UP}])|$)(.*)$")
_CLAUSE = re.compile(r"^(\d+[a-zđ]?)\.\s+\S")
_POINT = re.compile(r"^[a-zđ]\)\s+\S")
_LEAD = re.compile(rf"(?<=\S)\s+(?=[{_UP}])")  # before a capitalised word, not the first
_BULLET = re.compile(r"^[-+•–]\s+\S")
_SENTENCE_END = re.compile(rf"(?<=[.;!?])\s+(?=[{_UP}0-9])")
_LAST_SPACE = re.compile(r".*\s", re.S)  # greedy: ends just after the window's last space
_SPACES = re.compile(r"\s*")


@dataclass
class Chunk:
    """A citable passage and where it sits in its document."""

    text: str
    heading: str  # "Chương II. ... › Mục 1. ... › Điều 8. Nghĩa vụ ..."
    article: str | None = None  # "11"
    article_title: str | None = None
    clause: str | None = None  # "1", or "1-3" for a run of clauses

    @property
    def clauses(self) -> list[str]:
        """The clause numbers this chunk holds, expanded from a range."""
        if not self.clause:
            return []
        first, _, last = self.clause.partition("-")
        if last and first.isdigit() and last.isdigit():
            return [str(n) for n in range(int(first), int(last) + 1)]
        return [first]


@dataclass
class _Block:
    heading: list[str]
    article: str | None
    title: str | None
    lines: list[str]


def _is_unnumbered_heading(line: str, following: str) -> bool:
    """A short title line that opens a bullet list, e.g. an excerpt's unnumbered article."""
    return (
        len(line) < 160
        and line[:1].isupper()
        and line[-1:] not in ".;:,…"
        and not _CLAUSE.match(line)
        and not _POINT.match(line)
        and bool(_BULLET.match(following))
    )


def _title_and_lead(text: str) -> tuple[str | None, str | None]:
    """An article line's title, and the first sentence of its text when the printing put it on
    the same line: NĐ 233/2026 as OCR'd has "Điều 3. Giải thích từ ngữ Trong Nghị định này, các
    từ ngữ dưới đây được hiểu như sau:". A title never ends with a colon; the sentence that does
    starts at the first capitalised word after the title's own first word."""
    if not text.endswith(":"):
        return text or None, None
    m = _LEAD.search(text)
    if not m:
        return text, None
    return text[:m.start()].strip(), text[m.start():].strip()


def _wraps(block: _Block, line: str) -> bool:
    """Is `line` the rest of the article title just above it?

    A title too long for the printed line goes on below it, in lower case: NĐ 234/2026
    as OCR'd has "Điều 22. Các quy định liên quan sau khi có quyết định kỷ luật đối",
    then "với viên chức". Read as text, the article's first passage was "với viên
    chức" and its heading lost the group it is about. An article's text starts in
    upper case, with "1." or with "a)", never with a lower-case word."""
    return (bool(block.article and block.title) and not any(ln.strip() for ln in block.lines)
            and line[:1].islower() and not _POINT.match(line) and len(line) < 120
            and block.title[-1:] not in ".;:")


def _next_nonempty(lines: list[str]) -> list[str]:
    """For each line, the next non-empty line after it ("" for none), in one backward pass.

    Looking ahead from every line (a slice of the rest per line) made a
    200,000-line list take minutes to split (issue 18).
    """
    following, upcoming = [""] * len(lines), ""
    for i in range(len(lines) - 1, -1, -1):
        following[i] = upcoming
        upcoming = lines[i] or upcoming
    return following


def _blocks(lines: list[str]) -> list[_Block]:
    """Walk the lines once, keeping the heading path, and cut at every article."""
    path: dict[str, str] = {}
    blocks = [_Block([], None, None, [])]
    pending: str | None = None  # a Chương/Phần whose title is on the next line
    opened = False  # a Phần/Chương/Mục heading came after the last block began
    for line, following in zip(lines, _next_nonempty(lines)):
        if not line:
            blocks[-1].lines.append(line)
            continue
        if pending and line.isupper() and not _ARTICLE.match(line):
            path[pending] = f"{path[pending]}. {line}"
            pending = None
            continue
        pending = None
        if _wraps(blocks[-1], line):
            block = blocks[-1]
            block.title = f"{block.title} {line.strip()}"
            block.heading[-1] = f"Điều {block.article}. {block.title}"
            continue
        for level, pattern, word in (("part", _PART, "Phần"), ("chapter", _CHAPTER, "Chương"),
                                     ("section", _SECTION, "Mục")):
            m = pattern.match(line)
            if m:
                path[level] = f"{word} {m.group(1)}" + (f". {m.group(2)}" if m.group(2) else "")
                # A new level resets the ones below it.
                for lower in ("chapter", "section")[("part", "chapter", "section").index(level):]:
                    if lower != level:
                        path.pop(lower, None)
                pending = None if m.group(2) else level
                opened = True
                break
        else:
            m = _ARTICLE.match(line)
            heading = [path[k] for k in ("part", "chapter", "section") if k in path]
            if m:
                title, lead = _title_and_lead(m.group(3).strip())
                label = f"Điều {m.group(1)}" + (f". {title}" if title else "")
                blocks.append(_Block(heading + [label], m.group(1), title, [lead] if lead else []))
            elif blocks[-1].article and _is_unnumbered_heading(line, following):
                blocks.append(_Block(heading + [line], None, None, []))
            elif opened and blocks[-1].article:
                # Text under a new chapter before its first article is not
                # part of the previous chapter's last article.
                blocks.append(_Block(heading, None, None, [line]))
            else:
                blocks[-1].lines.append(line)
            opened = False
    return [b for b in blocks if any(ln.strip() for ln in b.lines) or b.article]


def _split_long(text: str, max_chars: int) -> list[str]:
    """Cut an over-long passage at points, then sentences, keeping order."""
    if len(text) <= max_chars:
        return [text]
    lines = text.split("\n")
    if len(lines) == 1:
        units = _SENTENCE_END.split(text)
    else:
        units = lines
    if len(units) == 1:  # one enormous sentence: cut at spaces
        return _cut_at_spaces(text, max_chars)
    return _pack(units, max_chars, "\n" if len(lines) > 1 else " ")


def _cut_at_spaces(text: str, max_chars: int) -> list[str]:
    """Pieces of at most max_chars, each cut at the last space it can hold (hard, when none).

    Every character is kept: the regex this replaces skipped the text of a
    window without a space. It walks offsets instead of slicing off the rest
    after each cut, so a 6 MB line is one pass, not thousands of copies.
    """
    pieces, start, end = [], _SPACES.match(text).end(), len(text)
    while end - start > max_chars:
        space = _LAST_SPACE.match(text, start + 1, start + max_chars + 1)
        cut = space.end() - 1 if space else start + max_chars
        pieces.append(text[start:cut].rstrip())
        start = _SPACES.match(text, cut).end()
    if start < end:
        pieces.append(text[start:])
    return pieces


def _pack(units: list[str], max_chars: int, sep: str) -> list[str]:
    """Greedily join neighbouring units up to max_chars; a unit too long is cut further.

    The passage being filled is a list joined once: growing a string per unit
    copied up to max_chars characters for every line of the document.
    """
    out: list[str] = []
    run: list[str] = []  # the passage being filled
    size = 0

    def close() -> None:
        if run:
            out.append(sep.join(run))
            run.clear()

    for unit in units:
        if len(unit) > max_chars:
            close()
            parts = _split_long(unit, max_chars) if len(units) > 1 else [unit]
            # A unit that could not be split further is cut at spaces (never recurse on it again).
            pieces = [piece for part in parts for piece in _cut_at_spaces(part, max_chars)]
            out.extend(pieces[:-1])
            run[:], size = pieces[-1:], len(pieces[-1]) if pieces else 0  # the next unit may join it
        elif run and size + len(sep) + len(unit) <= max_chars:
            run.append(unit)
            size += len(sep) + len(unit)
        else:
            close()
            run[:], size = [unit], len(unit)
    close()
    return out


def _clauses(lines: list[str]) -> list[tuple[str | None, str]]:
    """Group an article's lines into (clause number, text); the intro has number None."""
    groups: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in lines:
        m = _CLAUSE.match(line)
        if m:
            groups.append((m.group(1), [line]))
        else:
            groups[-1][1].append(line)
    return [(num, "\n".join(ls).strip()) for num, ls in groups if "\n".join(ls).strip()]


def _article_chunks(block: _Block, max_chars: int) -> list[Chunk]:
    heading = " › ".join(block.heading)
    body = "\n".join(ln for ln in block.lines if ln.strip()).strip()
    if not body and block.title:
        # Some sources run the body into the article line: keep it citable.
        body = block.title

    def make(text: str, clause: str | None) -> Chunk:
        return Chunk(text, heading, block.article, block.title, clause)

    if len(body) <= max_chars:
        return [make(body, None)]
    chunks: list[Chunk] = []
    run: list[tuple[str | None, str]] = []
    size = 0  # of the run's text, kept as it grows: summing it per clause was quadratic

    def flush() -> None:
        nonlocal size
        size = 0
        if not run:
            return
        numbers = [n for n, _ in run if n]
        label = None
        if numbers:
            label = numbers[0] if len(numbers) == 1 else f"{numbers[0]}-{numbers[-1]}"
        chunks.append(make("\n".join(t for _, t in run), label))
        run.clear()

    for number, text in _clauses(body.split("\n")):
        if len(text) > max_chars:
            flush()
            chunks.extend(make(part, number) for part in _split_long(text, max_chars))
            continue
        if run and size + len(text) > max_chars:
            flush()
        run.append((number, text))
        size += len(text) + 1
    flush()
    return chunks


def _paragraph_chunks(block: _Block, title: str, max_chars: int) -> list[Chunk]:
    heading = " › ".join(([title] if title and not block.heading else []) + block.heading)
    text = "\n".join(block.lines).strip()
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    if len(paragraphs) <= 1:
        paragraphs = [ln.strip() for ln in text.split("\n") if ln.strip()]
    chunks = []
    for part in _pack(paragraphs, max_chars, "\n\n"):
        m = _CLAUSE.match(part)
        chunks.append(Chunk(part, heading, None, None, m.group(1) if m else None))
    return chunks


def chunk_document(text: str, title: str = "", max_chars: int = MAX_CHARS) -> list[Chunk]:
    """Split a document's text into citable chunks, in reading order."""
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    blocks = _blocks(lines)
    if any(b.article for b in blocks) and blocks and not blocks[0].article and not blocks[0].heading:
        blocks[0].heading = [PREAMBLE]  # title block and "Căn cứ ..." of a legal text
    chunks: list[Chunk] = []
    for block in blocks:
        if block.article:
            chunks.extend(_article_chunks(block, max_chars))
        else:
            chunks.extend(_paragraph_chunks(block, title, max_chars))
    return [c for c in chunks if c.text.strip() or c.article]
