"""Ship a decree from the third-party OCR Markdown in ../shared/corpus/ocr as plain text.

    python tools/ship_decree.py SOURCE.md DEST.txt

What changes, and only this (documents/README.md lists it per file):
- everything before the decree's own opening is dropped: the repository's
  front matter, its "THÔNG TIN VĂN BẢN" table and its summary. The decree starts
  at its "CHÍNH PHỦ" line, or, when the source has none, at the "Số: ..." line
  under "## NỘI DUNG TOÀN VĂN";
- the repository's own closing notes ("## GHI CHÚ SỐ HÓA") are dropped;
- Markdown markup that is not text is removed: heading marks ("## Chương I",
  "### Điều 1."), bold/italic asterisks, horizontal rules ("---") and list
  indentation. The chunker reads "Điều 1." only at the start of a line.
- Soft line breaks are joined: in Markdown a single newline inside a paragraph
  is a space. The OCR kept the page's line wrapping, so a wrapped line that
  begins "Điều 9 Nghị định này, ..." read as a new article. A line that starts
  a unit (Chương, Mục, "Điều N.", "1.", "a)", "- ", a heading in capitals) or
  follows a blank line stays on its own line.
Every other character is kept as the source has it, OCR noise included, in NFC.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

_HEADING = re.compile(r"^#{1,6}\s+")
_RULE = re.compile(r"^\s*(-{3,}|\*{3,}|_{3,})\s*$")
_EMPHASIS = re.compile(r"\*\*(.+?)\*\*|(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_OWN_NOTES = ("## GHI CHÚ SỐ HÓA",)
_UNIT = re.compile(r"^(Chương\s|Mục\s|Phụ lục|Điều\s+\d+[a-zđ]?\.|\d+[a-zđ]?\.\s|[a-zđ]\)\s|[-+•~]\s)")


def _caps(line: str) -> bool:
    return any(c.isalpha() for c in line) and line == line.upper()


def _unwrap(lines: list[str]) -> list[str]:
    """Join soft-wrapped lines to the line they continue."""
    out: list[str] = []
    for line in lines:
        if (out and out[-1] and line and not _UNIT.match(line) and not _caps(line)
                and not _caps(out[-1])):
            out[-1] += " " + line
        else:
            out.append(line)
    return out


def decree_text(markdown: str) -> str:
    lines = unicodedata.normalize("NFC", markdown).splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith("CHÍNH PHỦ")), None)
    if start is None:
        body = next(i for i, ln in enumerate(lines) if ln.strip() == "## NỘI DUNG TOÀN VĂN")
        start = next(i for i in range(body + 1, len(lines)) if lines[i].strip())
    end = next((i for i in range(start, len(lines)) if lines[i].strip() in _OWN_NOTES), len(lines))
    out = []
    for line in lines[start:end]:
        if _RULE.match(line):
            continue
        line = _HEADING.sub("", line)
        line = _EMPHASIS.sub(lambda m: m.group(1) or m.group(2), line)
        out.append(line.strip() if line.startswith("   ") else line.rstrip())
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(_unwrap(out))).strip()
    return text + "\n"


if __name__ == "__main__":
    source, dest = map(Path, sys.argv[1:3])
    dest.write_text(decree_text(source.read_text(encoding="utf-8")), encoding="utf-8")
