"""Officials' words mapped to the law's: query expansion from a file admins can extend.

"đuổi việc" is what an official says, "buộc thôi việc" is what the law says;
neither BM25 nor the small embedding model bridges such pairs reliably
(bench/REPORT.md). The mapping is data: `thesaurus.tsv` beside this module,
plus `thesaurus.tsv` in the documents folder when an admin adds one. The
builder merges both into the index version (`merged_text`), so an edit takes
effect at the next re-index, atomically with the documents.

Phrases match on word boundaries in the diacritic-free form, so "duoi viec"
finds "đuổi việc"; a one-syllable phrase ("đền", "sếp") matches only with its
diacritics (typed or restored), since its bare form ("den", "sep") is too
often another word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.errors import DocumentError
from bot.text import fold, strip_diacritics

SHIPPED = Path(__file__).with_name("thesaurus.tsv")
FILE_NAME = "thesaurus.tsv"  # the admin's additions, in the documents folder


@dataclass(frozen=True)
class Entry:
    phrase: str  # folded, with diacritics
    terms: tuple[str, ...]  # legal terms, as written

    @property
    def plain(self) -> bool:
        """Match without diacritics too (phrases of two syllables or more)."""
        return len(self.phrase.split()) > 1


def parse_lines(text: str, origin: str = "thesaurus.tsv") -> list[Entry]:
    """Entries of one file; a malformed line is an error naming it."""
    entries = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        phrase, tab, terms = line.partition("\t")
        wanted = tuple(t.strip() for t in terms.split(";") if t.strip())
        if not tab or not phrase.strip() or not wanted:
            raise DocumentError(f"Dòng {n} của {origin} không đúng dạng "
                                "\"cụm từ<TAB>thuật ngữ; thuật ngữ\".")
        entries.append(Entry(" ".join(fold(phrase).split()), wanted))
    return entries


def merged_text(documents_dir: Path | None) -> str:
    """The shipped file followed by the admin's (when present): what an index version stores."""
    text = SHIPPED.read_text(encoding="utf-8")
    extra = documents_dir / FILE_NAME if documents_dir else None
    if extra and extra.is_file():
        added = extra.read_text(encoding="utf-8")
        parse_lines(added, str(extra))  # refuse a broken file before it is published
        text += f"\n# --- {FILE_NAME} of the documents folder ---\n" + added
    return text


def terms_of(matches: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    """The legal terms of (phrase, terms) matches, each once, in order."""
    return list(dict.fromkeys(t for _, terms in matches for t in terms))


class Thesaurus:
    """Finds the everyday phrases of a question and returns their legal terms."""

    def __init__(self, entries: list[Entry]):
        self.entries = entries
        self._accented = self._pattern([e.phrase for e in entries])
        self._plain = self._pattern([strip_diacritics(e.phrase) for e in entries if e.plain])
        self._by_phrase: dict[str, tuple[str, ...]] = {}
        for e in entries:
            for key in {e.phrase, strip_diacritics(e.phrase)} if e.plain else {e.phrase}:
                self._by_phrase[key] = self._by_phrase.get(key, ()) + e.terms

    @classmethod
    def from_text(cls, text: str) -> "Thesaurus":
        return cls(parse_lines(text))

    @classmethod
    def shipped(cls) -> "Thesaurus":
        return cls.from_text(SHIPPED.read_text(encoding="utf-8"))

    @staticmethod
    def _pattern(phrases: list[str]) -> re.Pattern | None:
        if not phrases:
            return None
        alternatives = "|".join(re.escape(p) for p in sorted(set(phrases), key=len, reverse=True))
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")

    def expand(self, *texts: str) -> list[str]:
        """Legal terms for the phrases found in any of `texts` (folded), each once, in order."""
        return terms_of(self.matches(*texts))

    def matches(self, *texts: str) -> list[tuple[str, tuple[str, ...]]]:
        """(phrase as found, its legal terms) for the phrases in any of `texts` (folded), each once."""
        found: dict[str, tuple[str, ...]] = {}
        for text in texts:
            for pattern in (self._accented, self._plain):
                if pattern is None:
                    continue
                for m in pattern.finditer(text):
                    found.setdefault(m.group(0), self._by_phrase.get(m.group(0), ()))
        return list(found.items())
