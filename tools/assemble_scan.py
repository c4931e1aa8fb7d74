"""Assemble the proofread pages of a scanned law into one document text.

    python tools/assemble_scan.py bench/data/luat-80-2025 documents/luat-can-bo-cong-chuc-80-2025.txt

The pages (bench/data/<law>/p-NN.txt) keep the printed line breaks, so they can
be compared with the page images and with OCR output line by line. The document
puts each paragraph on one line, as the other shipped laws do: a line break is
kept only where a new unit starts (Chương, Mục, Điều, a numbered clause, a
lettered point, a heading in capitals, or a paragraph after a blank line); a
paragraph cut by a page break is joined again. No word is changed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_START = re.compile(r"^(Luật số:|Điều \d+\.|Chương [IVXLC]+$|Mục \d+$|\d+\. |[a-zđ]\) )")


def _caps(line: str) -> bool:
    return any(c.isalpha() for c in line) and line == line.upper()


def assemble(pages: list[str]) -> str:
    out: list[str] = []
    blank = True
    for page in pages:
        for line in page.splitlines():
            line = line.strip()
            if not line:
                blank = True
                continue
            joins_caps = out and _caps(line) and _caps(out[-1]) and out[-1].endswith(",")
            new = not joins_caps and (not out or _START.match(line) or _caps(line) or _caps(out[-1])
                                      or (blank and not line[0].islower()))
            if new:
                out.append(line)
            else:
                out[-1] += " " + line
            blank = False
        blank = False  # a page break is not a paragraph break
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    folder, dest = Path(sys.argv[1]), Path(sys.argv[2])
    pages = [p.read_text(encoding="utf-8") for p in sorted(folder.glob("p-*.txt"))]
    dest.write_text(assemble(pages), encoding="utf-8")
