"""Query latency of `cadrebot search --batch` on the shipped corpus, and its index build time.

    python bench/latency.py [--rounds 5] [--questions bench/evalset.jsonl]

Builds the index of documents/ in a temporary folder with `cadrebot index`
(timed from its own report), then runs `cadrebot search --batch - --json`
`--rounds` times over the questions, accented and typed without accents, and
reports the median and p95 of the per-query times the command prints
(`took_ms`; model load excluded), plus the median build time over rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bot.text import strip_diacritics  # noqa: E402
from timing import percentile, questions as load_questions  # noqa: E402


def cadrebot(args: list[str], env: dict, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, env=env, text=True,
                          capture_output=True, check=True)
    return done.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", default=str(ROOT / "bench" / "evalset.jsonl"))
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    questions = load_questions(args.questions)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DOCUMENTS_DIR": str(Path(tmp, "documents")),
               "INDEX_DIR": str(Path(tmp, "index")), "HF_HUB_OFFLINE": "1"}
        shutil.copytree(ROOT / "documents", Path(tmp, "documents"))
        builds = []
        for _ in range(args.rounds):
            shutil.rmtree(Path(tmp, "index"), ignore_errors=True)
            out = cadrebot(["index"], env)
            builds.append(float(out.split("| ")[-1].split()[0]))  # "... | 12.3 giây"
        print(f"shipped corpus build (full, model load excluded): median {statistics.median(builds):.2f} s "
              f"over {args.rounds} builds; {out.splitlines()[0]}")
        for label, batch in (("accented", questions),
                             ("unaccented", [strip_diacritics(q) for q in questions])):
            times = []
            for _ in range(args.rounds):
                lines = cadrebot(["search", "--batch", "-", "--json"], env, "\n".join(batch) + "\n")
                times += [json.loads(line)["took_ms"] for line in lines.splitlines()]
            print(f"search --batch, {label}: {len(batch)} questions x {args.rounds} rounds: "
                  f"median {statistics.median(times):.1f} ms, p95 {percentile(times, 0.95):.1f} ms, "
                  f"max {max(times):.1f} ms")


if __name__ == "__main__":
    main()
