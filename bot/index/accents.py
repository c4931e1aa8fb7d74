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
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from bot.text import strip_diacritics

# Readings considered per syllable; the 8 most frequent cover the real ambiguity
# (the rarest readings of "ban", "can", "co" are also the least likely).
MAX_READINGS = 8
BIGRAM_WEIGHT = 0.9  # interpolation of P(b | a) with P(b)


class AccentModel:
    """Syllable and bigram ("a_b") counts, and the readings of each accent-free syllable.

    The counts are the accented lexical field's term totals, so the model costs
    no file and no build step of its own.
    """

    def __init__(self, ids: dict[str, int], totals: np.ndarray):
        self.ids = ids
        self.totals = totals
        unigrams = [(w, int(totals[i])) for w, i in ids.items() if "_" not in w]
        self.total = max(1, sum(c for _, c in unigrams))
        readings: dict[str, list[str]] = {}
        for word, _ in sorted(unigrams, key=lambda wc: -wc[1]):
            readings.setdefault(strip_diacritics(word), []).append(word)
        self.readings = {k: v[:MAX_READINGS] for k, v in readings.items()}

    @classmethod
    def train(cls, token_lists) -> "AccentModel":
        """Count from analyzer token lists (syllables, and bigrams written "a_b")."""
        return cls.from_counts(Counter(t for tokens in token_lists for t in tokens))

    @classmethod
    def from_counts(cls, counts: dict[str, int]) -> "AccentModel":
        """From token counts (syllables, and bigrams written "a_b")."""
        return cls({t: i for i, t in enumerate(counts)}, np.array(list(counts.values()), np.int64))

    def count(self, token: str) -> int:
        i = self.ids.get(token)
        return 0 if i is None else int(self.totals[i])

    def _candidates(self, syllable: str, keep: frozenset[str]) -> list[str]:
        if syllable in keep or strip_diacritics(syllable) != syllable:
            return [syllable]  # typed with marks (or held): the user's reading stands
        return self.readings.get(syllable) or [syllable]

    def _logp(self, prev: str | None, word: str) -> float:
        unigram = (self.count(word) + 0.1) / self.total
        seen = self.count(prev) if prev is not None else 0
        if not seen:
            return math.log(unigram)
        bigram = self.count(f"{prev}_{word}") / seen
        return math.log(BIGRAM_WEIGHT * bigram + (1 - BIGRAM_WEIGHT) * unigram)

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
            for word in column:
                score, prev = max(((score + self._logp(prev, word), prev)
                                   for prev, (score, _) in best[-1].items()), key=lambda t: t[0])
                step[word] = (score + bonus(i, word), prev)
            best.append(step)
        word = max(best[-1], key=lambda w: best[-1][w][0])
        out = [word]
        for step in reversed(best[1:]):
            word = step[word][1]
            out.append(word)
        return out[::-1]
