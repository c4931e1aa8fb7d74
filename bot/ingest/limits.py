"""What one document may cost the build: its passages, and text made of words.

The size limits on the file (MAX_DOCUMENT_MB) and on what a DOCX unzips to
(loaders.py) bound reading. These bound the rest: every passage is embedded,
at ~27 passages a second on the 2-core reference machine (bench/REPORT.md),
while the build lock keeps admins from re-indexing, uploading or removing.

MAX_PASSAGES: the longest Vietnamese code, the Civil Code 2015 (689 articles),
comes to about 730 passages at the shipped laws' rate (Luật Cán bộ, công chức
2008: 87 articles, 92 passages). 2,000 leaves room for decrees with long
appendices and caps one document at about 75 s of embedding. A longer file is
refused, with advice to split it, before any passage is embedded.

Text without words: 5 MB of "aaaa…" (or a binary blob in a text file) was
accepted as thousands of passages that match nothing. A Vietnamese syllable
has at most 7 letters ("nghiêng"); document numbers and codes are short runs
too. A text is refused when most of its letters and digits sit in runs longer
than MAX_WORD; real prose, even on a single line, is nowhere near that.
"""

from __future__ import annotations

import re

from bot.errors import DocumentError
from bot.ingest.chunker import MAX_CHARS

MAX_PASSAGES = 2000
MAX_WORD = 30

_LONG_RUNS = re.compile(rf"[^\W_]{{{MAX_WORD + 1},}}")


def check_words(text: str) -> None:
    """Refuse a text whose letters mostly form no words (runs over MAX_WORD characters)."""
    # Counted in C (str.count, one findall of the rare long runs): a pass per
    # character in Python, or a regex substitution, took seconds on 50 MB.
    # Punctuation counts as letters here, which only makes refusing harder.
    letters = len(text) - sum(text.count(space) for space in " \n\t")
    in_long_runs = sum(map(len, _LONG_RUNS.findall(text)))
    if in_long_runs * 2 > letters:
        raise DocumentError(f"Văn bản không có từ ngữ đọc được: {in_long_runs * 100 // letters}% "
                            f"chữ nằm trong chuỗi liền dài hơn {MAX_WORD} ký tự (ví dụ aaaa…); "
                            "đây không phải văn bản để tra cứu")


def check_length(text: str) -> None:
    """Refuse, before splitting, a text too long to fit MAX_PASSAGES passages of MAX_CHARS.

    A passage holds at most MAX_CHARS characters of the text, so a text with
    more non-space characters than MAX_PASSAGES * MAX_CHARS is refused
    without being split (a 6 MB line: at once instead of after the split).
    """
    visible = len(text) - sum(text.count(space) for space in " \n\t")
    if visible > MAX_PASSAGES * MAX_CHARS:
        raise DocumentError(_too_long(f"hơn {visible // MAX_CHARS}"))


def check_passages(count: int) -> None:
    """Refuse a document that split into more than MAX_PASSAGES passages."""
    if count > MAX_PASSAGES:
        raise DocumentError(_too_long(str(count)))


def _too_long(count: str) -> str:
    return (f"Văn bản quá dài: {count} đoạn, tối đa {MAX_PASSAGES} đoạn mỗi văn bản; "
            "hãy tách thành nhiều tệp nhỏ hơn")
