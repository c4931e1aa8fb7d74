"""List what proofreading changed: raw Tesseract pages against the proofread pages, word by word.

    python tools/proofread_log.py bench/data/luat-80-2025

Prints a Markdown list per article (the article a change falls in is the last
"Điều N." seen) and the totals: bench/data/luat-80-2025/CORRECTIONS.md is its output.
"""

from __future__ import annotations

import difflib
import re
import sys
import unicodedata
from pathlib import Path

_ARTICLE = re.compile(r"^Điều (\d+)\.", re.M)


def _tokens(text: str) -> list[tuple[str, str]]:
    """(token, article) pairs; the article is the last "Điều N." above the token."""
    out, article = [], "mở đầu"
    for line in unicodedata.normalize("NFC", text).splitlines():
        m = _ARTICLE.match(line.strip())
        if m:
            article = f"Điều {m.group(1)}"
        out += [(tok, article) for tok in line.split()]
    return out


def syllables_matched(raw: str, proofread: str) -> tuple[int, int]:
    """Proofread syllables (lower-cased \\w+ runs) that Tesseract read right, in order; and their number."""
    ref = re.findall(r"\w+", unicodedata.normalize("NFC", proofread).lower())
    hyp = re.findall(r"\w+", unicodedata.normalize("NFC", raw).lower())
    sm = difflib.SequenceMatcher(a=hyp, b=ref, autojunk=False)
    return sum(b.size for b in sm.get_matching_blocks()), len(ref)


def changes(raw: str, proofread: str, start: str) -> tuple[list[tuple[str, str, str]], int, int]:
    """(article, before, after) for each changed span; tokens deleted as noise; tokens compared."""
    ref = _tokens(proofread)
    fixed = [(t, a if a != "mở đầu" else start) for t, a in ref]
    ocr = [t for t, _ in _tokens(raw)]
    sm = difflib.SequenceMatcher(a=ocr, b=[t for t, _ in fixed], autojunk=False)
    out, noise = [], 0
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            continue
        if op == "delete":
            noise += i2 - i1
            continue
        article = fixed[j1][1] if j1 < len(fixed) else fixed[-1][1]
        out.append((article, " ".join(ocr[i1:i2]), " ".join(t for t, _ in fixed[j1:j2])))
    return out, noise, len(fixed)


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    article, total, noise_total, words, right, syllables = "mở đầu", [], 0, 0, 0, 0
    for page in sorted(folder.glob("p-*.txt")):
        raw = (folder / "tesseract" / page.name).read_text(encoding="utf-8")
        found, noise, n = changes(raw, page.read_text(encoding="utf-8"), article)
        total += [(page.stem, *c) for c in found]
        ok, n_syl = syllables_matched(raw, page.read_text(encoding="utf-8"))
        right, syllables = right + ok, syllables + n_syl
        noise_total += noise
        words += n
        heads = _ARTICLE.findall(page.read_text(encoding="utf-8"))
        article = f"Điều {heads[-1]}" if heads else article
    current = None
    for page, art, before, after in total:
        if art != current:
            print(f"\n**{art}**")
            current = art
        print(f"- {page}: «{before or '∅'}» → «{after}»")
    print(f"\n{len(total)} corrections (word spans) over {words} words; {noise_total} tokens of "
          "stamps, signature block, page numbers and specks dropped.")
    print(f"Tesseract syllables already right: {right}/{syllables} = {right / syllables:.4f}.")
