"""Remove the web page noise that copy-pasted news articles carry.

Text copied from news sites keeps the page around the article: image file
names ("phandinhtrac copy.jpg"), image alt texts ("<title> - Ảnh 1."), photo
captions printed twice, and buttons ("Top", "Zalo", "Tin mới"). These lines
would become chunks that match nothing or, worse, repeat the title. Only whole
lines are removed: a sentence that mentions Facebook or "bình luận" stays.
"""

from __future__ import annotations

import re

from bot.text import nfc

# Buttons, menus and share links that appear alone on a line.
NOISE_LINES = frozenset(
    s.casefold()
    for s in (
        "Top", "Về đầu trang", "Lên đầu trang", "Tin mới", "Tin liên quan", "Xem thêm",
        "Đọc thêm", "Zalo", "Facebook", "Twitter", "Email", "Chia sẻ", "Share", "In bài",
        "In", "Bản in", "Bình luận", "Gửi bình luận", "Lưu", "Copy link", "mask",
    )
)
_IMAGE_FILE = re.compile(
    r"[\w ()+,.~-]{1,120}\.(?:jpe?g|png|gif|webp|bmp|tiff?|svg|heic|avif)", re.IGNORECASE
)
# "<title> - Ảnh 1." / "<title> ảnh 2": an alt text made from the page title.
_ALT_TEXT = re.compile(r"(?P<base>.+?)\s*(?:[-–—:]\s*)?ảnh\s*\d+\.?", re.IGNORECASE)


def _key(line: str) -> str:
    """Comparison form: one space between words, case-folded."""
    return " ".join(line.split()).casefold()


def _is_image_file(line: str) -> bool:
    # The word cap keeps a real sentence that happens to end in a file name.
    return bool(_IMAGE_FILE.fullmatch(line)) and len(line.split()) <= 6


def _is_alt_text(line: str, keys: set[str]) -> bool:
    # Only when the rest of the line is another line of the text (the title):
    # a real sentence ending in "ảnh 1" has no such twin.
    # Matched with single spaces: the pattern's two space runs tried every split
    # of a long run of spaces (24 s for a line holding 20,000 of them).
    match = _ALT_TEXT.fullmatch(" ".join(line.split()))
    return bool(match) and _key(match.group("base")) in keys


def clean_web_text(text: str) -> str:
    """Drop web-page noise lines from an article; keep every real paragraph.

    Removes image file names, alt texts that repeat another line plus
    "Ảnh N", a line identical to the previous non-blank line (captions are
    often printed twice), and lone navigation/share words. Runs of blank lines
    become one blank line.
    """
    lines = [line.replace("\xa0", " ").strip() for line in nfc(text).split("\n")]
    keys = {_key(line) for line in lines if line}
    kept: list[str] = []
    previous = None  # key of the last kept non-blank line
    for line in lines:
        if not line:
            if kept and kept[-1]:
                kept.append("")
            continue
        key = _key(line)
        if (
            key in NOISE_LINES
            or _is_image_file(line)
            or _is_alt_text(line, keys)
            # Only lines with letters: "-----" or "..." rows may repeat on purpose.
            or (key == previous and any(c.isalpha() for c in key))
        ):
            continue
        kept.append(line)
        previous = key
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept)
