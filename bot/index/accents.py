"""Diacritic restoration learned from the indexed corpus: "bao ve can bo" -> "bảo vệ cán bộ".

Officials type on phones without accents, or with only some. Every syllable
typed without marks is ambiguous ("can" may be cán, cần, căn, càn, can); the
corpus itself says which reading fits its neighbours. The model is a syllable
bigram language model (interpolated with unigrams) counted from the index's
own tokens, decoded with Viterbi. It is read from every index version's
lexical counts, so a new document teaches it new words.

Syllables the user did accent are kept as typed and constrain their
neighbours, so a correctly accented question is never changed, and a
half-accented one ("nghị dinh 73 bao ve can bo") is completed from both sides.

A corpus of cadre policy does not know every word a question may hold: with
its counts alone "thu tuc ly hon" read "thủ tục lý hơn" (no "hôn" in the
laws), and the words "lý", "hơn" then matched a decree, so a divorce question
was answered. A general word list (`vi-words.txt`, 31,000 words from pyvi)
gives the readings the corpus lacks, and decides a pair of neighbours only
where the corpus has seen no reading of that pair at all: the corpus' own
counts decide wherever it has a say ("cán bộ", "nghỉ phép"), the list where
it has none ("ly hôn", "bao nhiêu", "có mấy").
"""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.text import strip_diacritics

LEXICON = Path(__file__).with_name("vi-words.txt")

# Readings considered per syllable; the 8 most frequent cover the real ambiguity
# (the rarest readings of "ban", "can", "co" are also the least likely). With the
# word list a syllable has more readings ("hom": hóm, hớm, hỗm, hôm ...), most seen once.
MAX_READINGS = 8
MAX_READINGS_LISTED = 12
BIGRAM_WEIGHT = 0.9  # interpolation of P(b | a) with P(b)


class AccentModel:
    """Syllable and bigram ("a_b") counts, and the readings of each accent-free syllable.

    The counts are the accented lexical field's term totals, so the model costs
    no file and no build step of its own.
    """

    def __init__(self, ids: dict[str, int], totals: np.ndarray, lexicon: frozenset[str] = frozenset()):
        self.ids = ids
        self.totals = totals
        self.lexicon = lexicon  # the general list's syllables and pairs ("a_b")
        counted = {w: int(totals[i]) for w, i in ids.items() if "_" not in w}
        for w in lexicon:  # each listed syllable counts once more: one only the list knows is a reading
            if "_" not in w:
                counted[w] = counted.get(w, 0) + 1
        unigrams = list(counted.items())
        self.total = max(1, sum(c for _, c in unigrams))
        readings: dict[str, list[str]] = {}
        # The list is a set: its syllables' ties are put in one order, the same every run.
        order = (lambda wc: (-wc[1], wc[0])) if lexicon else (lambda wc: -wc[1])
        for word, _ in sorted(unigrams, key=order):
            readings.setdefault(strip_diacritics(word), []).append(word)
        most = MAX_READINGS_LISTED if lexicon else MAX_READINGS
        self.readings = {k: v[:most] for k, v in readings.items()}

    @classmethod
    def train(cls, token_lists) -> "AccentModel":
        """Count from analyzer token lists (syllables, and bigrams written "a_b")."""
        return cls.from_counts(Counter(t for tokens in token_lists for t in tokens))

    @classmethod
    def from_counts(cls, counts: dict[str, int]) -> "AccentModel":
        """From token counts (syllables, and bigrams written "a_b")."""
        return cls({t: i for i, t in enumerate(counts)}, np.array(list(counts.values()), np.int64))

    @classmethod
    def with_lexicon(cls, ids: dict[str, int], totals: np.ndarray) -> "AccentModel":
        """The model for questions: the corpus' counts and the general word list."""
        return cls(ids, totals, general_lexicon())

    def count(self, token: str) -> int:
        """The corpus' count of a syllable or pair."""
        i = self.ids.get(token)
        return 0 if i is None else int(self.totals[i])

    def _seen(self, syllable: str) -> int:
        """The corpus' count, or 1 for a syllable only the word list knows."""
        return self.count(syllable) or int(syllable in self.lexicon)

    def _candidates(self, syllable: str, keep: frozenset[str]) -> list[str]:
        if syllable in keep or strip_diacritics(syllable) != syllable:
            return [syllable]  # typed with marks (or held): the user's reading stands
        return self.readings.get(syllable) or [syllable]

    def _logp(self, prev: str | None, word: str, listed: bool = False) -> float:
        """log P(word | prev); `listed`: the corpus has seen no reading of this pair, so the
        word list's pairs stand in for its counts (a listed pair as if always seen)."""
        unigram = (self._seen(word) + 0.1) / self.total
        seen = self._seen(prev) if prev is not None else 0
        if not seen:
            return math.log(unigram)
        if listed:
            bigram = float(f"{prev}_{word}" in self.lexicon)
        else:
            bigram = self.count(f"{prev}_{word}") / seen
        return math.log(BIGRAM_WEIGHT * bigram + (1 - BIGRAM_WEIGHT) * unigram)

    def _silent(self, left: list[str], right: list[str]) -> bool:
        """Has the corpus seen no reading of this pair of neighbours?"""
        return bool(self.lexicon) and not any(self.count(f"{a}_{b}") for a in left for b in right)

    def restore(self, syllables: list[str], keep: frozenset[str] = frozenset()) -> list[str]:
        """The most likely accented reading of folded syllables (Viterbi over the bigram model).

        Syllables in `keep` (e.g. abbreviations typed in capitals) stay as they are.
        """
        return self.decode([self._candidates(s, keep) for s in syllables])

    def decode(self, columns: list[list[str]], bonus=None) -> list[str]:
        """The likeliest path through one candidate list per position (Viterbi).

        `bonus(i, word)` adds log-weight to a candidate (OCR correction favours
        the syllable as read); without it, only the bigram model decides.
        """
        if not columns:
            return []
        bonus = bonus or (lambda i, word: 0.0)
        # best[i][w] = (log probability of the best path ending in w, previous word)
        best = [{w: (self._logp(None, w) + bonus(0, w), None) for w in columns[0]}]
        for i, column in enumerate(columns[1:], start=1):
            step = {}
            listed = self._silent(columns[i - 1], column)
            for word in column:
                score, prev = max(((score + self._logp(prev, word, listed), prev)
                                   for prev, (score, _) in best[-1].items()), key=lambda t: t[0])
                step[word] = (score + bonus(i, word), prev)
            best.append(step)
        word = max(best[-1], key=lambda w: best[-1][w][0])
        out = [word]
        for step in reversed(best[1:]):
            word = step[word][1]
            out.append(word)
        return out[::-1]


@lru_cache(maxsize=1)
def general_lexicon() -> frozenset[str]:
    """The syllables and syllable pairs ("a_b") of the general word list, folded."""
    tokens: set[str] = set()
    for line in LEXICON.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        syllables = line.split()
        tokens.update(syllables)
        tokens.update(f"{a}_{b}" for a, b in zip(syllables, syllables[1:]))
    return frozenset(tokens)
