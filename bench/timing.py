"""What the timing benchmarks share: the question files and the percentile they report."""

from __future__ import annotations

import json
from pathlib import Path


def questions(path: Path | str) -> list[str]:
    """The `question` of every line of a JSON Lines evaluation set."""
    return [json.loads(line)["question"] for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip()]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1): a value that was actually measured."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
