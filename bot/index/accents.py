"""Diacritic restoration learned from the indexed corpus: "bao ve can bo" -> "bảo vệ cán bộ".

Officials type on phones without accents, or with only some. Every syllable
typed without marks is ambiguous ("can" may be cán, cần, căn, càn, can); the
corpus itself says which reading fits its neighbours. The model is a syllable
bigram language model (interpolated with unigrams) counted from the index's
own tokens, decoded with Viterbi. It is rebuilt with every index version, so a
new document teaches it new words, and saved as JSON (no pickle).

Syllables the user did accent are kept as typed and constrain their
neighbours, so a correctly accented question is never changed, and a
half-accented one ("nghị dinh 73 bao ve can bo") is completed from both sides.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

from bot.text import strip_diacritics

FILE = "accents.json"
# Readings considered per syllable; the 8 most frequent cover the real ambiguity
# (the rarest readings of "ban", "can", "co" are also the least likely).
MAX_READINGS = 8
BIGRAM_WEIGHT = 0.9  # interpolation of P(b | a) with P(b)
# Past this many distinct bigrams, those seen once are dropped to bound the file.
MAX_BIGRAMS = 1_000_000


class AccentModel:
    """Syllable unigram and bigram counts, and the readings of each accent-free syllable."""

    def __init__(self, unigrams: dict[str, int], bigrams: dict[str, int]):
        self.unigrams = unigrams
        self.bigrams = bigrams
        self.total = max(1, sum(unigrams.values()))
        readings: dict[str, list[str]] = {}
        for word in sorted(unigrams, key=lambda w: -unigrams[w]):
            readings.setdefault(strip_diacritics(word), []).append(word)
        self.readings = {k: v[:MAX_READINGS] for k, v in readings.items()}

    @classmethod
    def train(cls, token_lists) -> "AccentModel":
        """Count from analyzer token lists (syllables, and bigrams written "a_b")."""
        unigrams: Counter[str] = Counter()
        bigrams: Counter[str] = Counter()
        for tokens in token_lists:
            for token in tokens:
                if "_" in token:
                    bigrams[token] += 1
                else:
                    unigrams[token] += 1
        if len(bigrams) > MAX_BIGRAMS:
            bigrams = Counter({k: v for k, v in bigrams.items() if v > 1})
        return cls(dict(unigrams), dict(bigrams))

    def save(self, folder: Path) -> None:
        with open(folder / FILE, "w", encoding="utf-8") as fh:
            json.dump({"unigrams": self.unigrams, "bigrams": self.bigrams}, fh, ensure_ascii=False)

    @classmethod
    def load(cls, folder: Path) -> "AccentModel":
        with open(folder / FILE, encoding="utf-8") as fh:
            data = json.load(fh)
        return cls(data["unigrams"], data["bigrams"])

    def _candidates(self, syllable: str, keep: frozenset[str]) -> list[str]:
        if syllable in keep or strip_diacritics(syllable) != syllable:
            return [syllable]  # typed with marks (or held): the user's reading stands
        return self.readings.get(syllable) or [syllable]

    def _logp(self, prev: str | None, word: str) -> float:
        unigram = (self.unigrams.get(word, 0) + 0.1) / self.total
        if prev is None or prev not in self.unigrams:
            return math.log(unigram)
        bigram = self.bigrams.get(f"{prev}_{word}", 0) / self.unigrams[prev]
        return math.log(BIGRAM_WEIGHT * bigram + (1 - BIGRAM_WEIGHT) * unigram)

    def restore(self, syllables: list[str], keep: frozenset[str] = frozenset()) -> list[str]:
        """The most likely accented reading of folded syllables (Viterbi over the bigram model).

        Syllables in `keep` (e.g. abbreviations typed in capitals) stay as they are.
        """
        if not syllables:
            return []
        columns = [self._candidates(s, keep) for s in syllables]
        # best[i][w] = (log probability of the best path ending in w, previous word)
        best = [{w: (self._logp(None, w), None) for w in columns[0]}]
        for column in columns[1:]:
            step = {}
            for word in column:
                step[word] = max(((score + self._logp(prev, word), prev)
                                  for prev, (score, _) in best[-1].items()), key=lambda t: t[0])
            best.append(step)
        word = max(best[-1], key=lambda w: best[-1][w][0])
        out = [word]
        for step in reversed(best[1:]):
            word = step[word][1]
            out.append(word)
        return out[::-1]
