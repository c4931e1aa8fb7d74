"""File names from outside: made safe to store, and safe to show.

Names come from admins' uploads (chosen by whoever made the file) and from
whatever was copied into the documents folder (old Windows machines write
Windows-1258 bytes, which are not UTF-8). A name must never leave the
documents folder, hide a file, break the terminal or a chat message with
control characters, or crash SQLite with bytes that are not UTF-8.
"""

from __future__ import annotations

import os
import re
import unicodedata

from bot.errors import DocumentError
from bot.text import nfc

# Room for the sidecar suffix (".meta.json") and upload backups under the
# 255-byte limit of ext4/NTFS; Vietnamese letters take 2-3 bytes each.
MAX_NAME_BYTES = 150
# Control, format (bidi overrides that disguise a suffix) and surrogate characters
# are escaped when shown; a saved name also loses private and unassigned ones.
_UNSHOWN = frozenset({"Cc", "Cf", "Cs"})
_UNSAVED = _UNSHOWN | {"Co", "Cn"}
_RESERVED = re.compile(r'[<>:"|?*]')  # refused by Windows when the folder is shared
_SUFFIX = re.compile(r"[A-Za-z0-9]{1,10}")


def _cut(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes, never splitting a character."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def safe_filename(name: str) -> str:
    """A name to save an upload under: no folders, no control characters, bounded length.

    Vietnamese letters are kept (NFC); a suffix (".pdf") is kept while the
    rest is shortened. Raises `DocumentError` when nothing usable is left
    ("", ".", "..", only control characters). Idempotent.
    """
    base = re.split(r"[/\\]", nfc(name or ""))[-1]
    base = nfc("".join(c for c in base if unicodedata.category(c) not in _UNSAVED))
    # A leading dot hides the file from the indexer; a leading dash reads as an option.
    base = " ".join(_RESERVED.sub("-", base).split()).lstrip(" .-").rstrip(" .")
    stem, dot, suffix = base.rpartition(".")
    if dot and stem and _SUFFIX.fullmatch(suffix):
        suffix = dot + suffix
    else:
        stem, suffix = base, ""
    stem = _cut(stem, MAX_NAME_BYTES - len(suffix))
    if not stem:
        raise DocumentError("Tên tệp không hợp lệ (rỗng hoặc chỉ có dấu chấm, ký tự điều khiển).")
    return (stem + suffix).rstrip(" .")  # a cut may end on a space or a dot


def shown_name(name: str) -> str:
    """`name` as it can be printed and stored: bad bytes and control characters escaped.

    Invalid UTF-8 bytes arrive from os.listdir as lone surrogates; they and
    control/format characters become visible escapes like "\\xf0".
    """
    try:
        raw = os.fsencode(name)
    except UnicodeEncodeError:  # a surrogate os.listdir cannot produce: keep it visible
        raw = name.encode("utf-8", "surrogatepass")
    return "".join(_escape(c) if unicodedata.category(c) in _UNSHOWN else c
                   for c in raw.decode("utf-8", "backslashreplace"))


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def is_clean_name(name: str) -> bool:
    """True when `name` shows as itself (valid UTF-8, no control or format characters)."""
    return shown_name(name) == name
