"""Reading and splitting time against document size, up to the size limit (issue 18).

Splitting was quadratic in the number of lines (a slice of the rest of the
document per line): 7.4 s at 50k lines, 161 s at 200k. This measures
`load_document` + `chunk_document` on generated files of growing size, up to
MAX_DOCUMENT_MB, in three shapes an admin really sends:

    lines     a decision listing one short line per official ("cán bộ 17")
    articles  a law: Điều headings, numbered clauses, lettered points
    one line  prose with no line break at all (a bad PDF export)

Each point is the median of --repeats runs. The old chunker (main's
`bot/ingest/chunker.py` before the fix, kept in git) runs beside it on the
small sizes only: it would take hours at the limit. The slope of log(time)
against log(size) says how the curve grows: 1 is linear, 2 quadratic.

    python bench/chunking.py                # ~10 minutes on 2 shared cores
    python bench/chunking.py --replot       # redraw from results/chunking.json

Writes results/chunking.json (and results/chunking_vs_size.png with matplotlib)
and re-renders REPORT.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bot.ingest.chunker import chunk_document  # noqa: E402
from bot.ingest.limits import MAX_PASSAGES  # noqa: E402
from bot.ingest.loaders import MAX_DOCUMENT_MB, load_document  # noqa: E402
from report import machine, write_report  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SIZES_MB = [0.25, 0.5, 1, 2, 4, 8, 16, 32, MAX_DOCUMENT_MB]
BASELINE_MAX_MB = 1  # the quadratic chunker takes ~20 s at 1 MB of lines, minutes beyond
BASELINE_COMMIT = "9a3a590"  # main before issue 18's fix
HEADER = "THỦ TƯỚNG CHÍNH PHỦ\nSố: 12/2024/QĐ-TTg\n\nQUYẾT ĐỊNH\nVề danh sách cán bộ\n\n"
PROSE = ("Cán bộ phải giữ gìn phẩm chất đạo đức, tận tụy phục vụ nhân dân và chịu trách nhiệm "
         "trước pháp luật về việc thực hiện nhiệm vụ được giao; ")


def _fill(pieces, size: int) -> str:
    """The header, then pieces while the encoded text stays within `size` bytes."""
    out, total = [HEADER], len(HEADER.encode())
    for piece in pieces:
        total += len(piece.encode())
        if total > size:
            break
        out.append(piece)
    return "".join(out)


def _lines(size: int) -> str:
    return _fill((f"cán bộ {n}\n" for n in itertools.count()), size)


def _articles(size: int) -> str:
    return _fill((f"Điều {n}. Chế độ đối với cán bộ nhóm {n}\n"
                  + "".join(f"{k}. {PROSE}\n" + "".join(f"{p}) {PROSE}\n" for p in "abc") for k in range(1, 4))
                  for n in itertools.count(1)), size)


def _one_line(size: int) -> str:
    unit = PROSE.encode()
    return (unit * (size // len(unit) + 1))[:size].decode("utf-8", "ignore")


SHAPES = {"lines": _lines, "articles": _articles, "one line": _one_line}


def _old_chunker():
    """The chunker as it was before the fix, imported from git under another name."""
    source = subprocess.run(["git", "show", f"{BASELINE_COMMIT}:bot/ingest/chunker.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "old_chunker.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("old_chunker", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_chunker"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.chunk_document


def _time(path: Path, chunk) -> tuple[float, float, int]:
    """Seconds to read, seconds to split, and the passages."""
    started = time.perf_counter()
    text = load_document(path).text
    read = time.perf_counter() - started
    started = time.perf_counter()
    chunks = chunk(text)
    return read, time.perf_counter() - started, len(chunks)


def _slope(points: list[dict], key: str) -> float:
    """Least-squares slope of log(time) on log(size): 1 linear, 2 quadratic."""
    usable = [p for p in points if p[key] > 0]
    return round(float(np.polyfit(np.log([p["bytes"] for p in usable]),
                                  np.log([p[key] for p in usable]), 1)[0]), 2)


def run(repeats: int, sizes: list[float]) -> dict:
    old = _old_chunker()
    folder = Path(tempfile.mkdtemp(prefix="chunking-"))
    series = {}
    started = time.perf_counter()
    for shape, make in SHAPES.items():
        for system, chunk, limit in (("fixed", chunk_document, max(sizes)), ("before", old, BASELINE_MAX_MB)):
            points = []
            for mb in (s for s in sizes if s <= limit):
                path = folder / "van-ban.txt"
                path.write_text(make(int(mb * 1024 * 1024)), encoding="utf-8")
                runs = [_time(path, chunk) for _ in range(repeats if system == "fixed" else 1)]
                point = {"mb": mb, "bytes": path.stat().st_size, "passages": runs[0][2],
                         "read_s": round(statistics.median(r[0] for r in runs), 4),
                         "split_s": round(statistics.median(r[1] for r in runs), 4),
                         "repeats": len(runs)}
                point["us_per_kb"] = round(point["split_s"] * 1e6 / (point["bytes"] / 1024), 1)
                points.append(point)
                print(shape, system, point, flush=True)
            series.setdefault(shape, {})[system] = {
                "points": points, "slope_split": _slope(points, "split_s"),
                "slope_read_split": _slope([{**p, "t": p["read_s"] + p["split_s"]} for p in points], "t")}
    path.unlink()
    return {"meta": {"command": "python bench/chunking.py" + (f" --repeats {repeats}" if repeats != 3 else ""),
                     "repeats": repeats, "limit_mb": MAX_DOCUMENT_MB, "max_passages": MAX_PASSAGES, "baseline_commit": BASELINE_COMMIT,
                     "seconds": round(time.perf_counter() - started, 1), "machine": machine()},
            "series": series}


def plot(data: dict, path: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for shape, systems in data["series"].items():
        for system, style in (("fixed", "-o"), ("before", "--x")):
            pts = systems[system]["points"]
            ax.loglog([p["bytes"] / 2**20 for p in pts], [p["split_s"] for p in pts], style,
                      label=f"{shape}, {system} (slope {systems[system]['slope_split']})")
    ax.axvline(data["meta"]["limit_mb"], color="grey", lw=0.8)
    ax.set_xlabel("document size (MB)")
    ax.set_ylabel("split time, median (s)")
    ax.set_title("chunk_document time against size (log-log)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-mb", type=float, default=MAX_DOCUMENT_MB)
    parser.add_argument("--replot", action="store_true")
    args = parser.parse_args()
    out = RESULTS / "chunking.json"
    if args.replot:
        data = json.loads(out.read_text(encoding="utf-8"))
    else:
        data = run(args.repeats, [s for s in SIZES_MB if s <= args.max_mb])
        out.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    plot(data, RESULTS / "chunking_vs_size.png")
    print(write_report(RESULTS, ROOT / "bench" / "REPORT.md"))


if __name__ == "__main__":
    main()
