"""Load tests: simulated officials asking at once, through the platforms' stand-ins.

    python bench/load.py [--users 50] [--questions 20] [--rounds 3]
    python bench/load.py --workers 3 [--users 50] [--questions 20]     (section "Workers" below)

The Bot API stand-in (tests/botapi.py) runs in this process on 127.0.0.1; the bot is `cadrebot telegram`
in its own process, so the memory measured is the bot's alone, as deployed. documents/ is indexed in a
temporary folder first. Each simulated user is a thread that sends its questions (real ones, from
bench/evalset.jsonl) one after another, each once the previous one is answered, as a person would.

A reply time runs from pushing the update into the stand-in to the stand-in recording the first
sendMessage of the answer (so it includes the bot's long poll). A question counts as answered when the
answer is complete: cited quotes with their buttons, or the not-covered message. RATE_LIMIT_MESSAGES is
raised to 1000 per minute for the run: the default (10 per minute per user) would rightly slow down a
user who asks 20 questions in a row. PTB's AIORateLimiter still paces the bot at Telegram's 30 calls/s.

Memory: the bot's RSS after each round, and its peak (VmHWM); rounds repeat the same load, so RSS after
the last round should stay close to RSS after the first.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from botapi import BotAPI  # noqa: E402
from timing import percentile, questions  # noqa: E402

from bot.channels.render import NOT_FOUND  # noqa: E402

FIRST_USER = 500_001  # simulated user ids (private chats: chat id = user id)


def evalset_questions(path: Path = ROOT / "bench" / "evalset.jsonl") -> list[str]:
    return questions(path)


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a process, in kB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def start_bot(api: BotAPI, documents: Path, index: Path, journal: Path, log) -> subprocess.Popen:
    """`cadrebot telegram` against the stand-in; returns once it polls."""
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.url,
           "DOCUMENTS_DIR": str(documents), "INDEX_DIR": str(index), "JOURNAL_PATH": str(journal),
           "RATE_LIMIT_MESSAGES": "1000", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for key in ("LLM_BASE_URL", "LLM_MODEL", "LLM_API_KEY", "ZALO_BOT_TOKEN", "WEBHOOK_URL"):
        env.pop(key, None)  # extractive answers, polling: what is measured is retrieval and the channel
    proc = subprocess.Popen([sys.executable, "-m", "bot", "telegram"], cwd=journal.parent, env=env,
                            stdout=log, stderr=log)
    api.wait(lambda: api.called("getUpdates") or proc.poll() is not None, 180)
    if proc.poll() is not None:
        raise RuntimeError(f"the bot exited with {proc.returncode}")
    return proc


def stop_bot(proc: subprocess.Popen) -> int:
    proc.terminate()
    try:
        return proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def outcome(messages: list[dict]) -> str | None:
    """'cited', 'not covered', 'other' (an apology, a rate-limit notice...), or None: not complete yet."""
    if not messages:
        return None
    if any(NOT_FOUND in m["text"] for m in messages):
        return "not covered"
    if messages[-1]["markup"]:  # the 👍/👎 row comes with the last message of a found answer
        html = "".join(m["html"] for m in messages)
        return "cited" if "<b>Theo " in html or "<b>Trích dẫn:</b>" in html else "other"
    return "other" if len(messages) == 1 and len(messages[0]["text"]) < 200 else None


@dataclass
class Asked:
    user: int
    question: str
    seconds: float  # push -> first sendMessage of the answer
    kind: str


@dataclass
class Round:
    asked: list[Asked] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def latencies(self) -> list[float]:
        return [a.seconds for a in self.asked]

    def summary(self) -> dict:
        kinds = {k: sum(a.kind == k for a in self.asked) for k in ("cited", "not covered", "other")}
        lat = self.latencies
        return {"questions": len(self.asked), **kinds, "failures": len(self.failures),
                "p50_s": round(statistics.median(lat), 3) if lat else None,
                "p95_s": round(percentile(lat, 0.95), 3) if lat else None,
                "max_s": round(max(lat), 3) if lat else None,
                "wall_s": round(self.seconds, 1),
                "per_second": round(len(self.asked) / self.seconds, 2) if self.seconds else None}


def ask(api: BotAPI, user: int, question: str, timeout: float) -> Asked:
    start = api.mark()
    pushed = time.monotonic()
    api.say(user, question)
    kind = api.wait(lambda: outcome(api.sent(user, start)), timeout)
    first = next(c.at for c in api.called("sendMessage", start) if c.params["chat_id"] == user)
    return Asked(user, question, first - pushed, kind)


def run_round(api: BotAPI, users: int, per_user: int, questions: list[str], timeout: float = 120.0,
              offset: int = 0) -> Round:
    """`users` threads, each asking `per_user` questions in turn; every user gets a different sequence."""
    result, lock = Round(), threading.Lock()

    def user_loop(n: int) -> None:
        user = FIRST_USER + n
        for i in range(per_user):
            question = questions[(offset + n * per_user + i) % len(questions)]
            try:
                asked = ask(api, user, question, timeout)
            except TimeoutError:
                with lock:
                    result.failures.append(f"user {user}: no complete answer to {question!r}")
                continue
            with lock:
                result.asked.append(asked)
    threads = [threading.Thread(target=user_loop, args=(n,), daemon=True) for n in range(users)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - started
    return result


@contextlib.contextmanager
def indexed_folder():
    """A temporary folder with documents/ indexed into its index/ (printed: the machine's load first)."""
    print(f"load average at start (1/5/15 min): {load_average()}; cores: {os.cpu_count()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "DOCUMENTS_DIR": str(ROOT / "documents"), "INDEX_DIR": str(tmp / "index"),
               "HF_HUB_OFFLINE": "1"}
        subprocess.run([sys.executable, "-m", "bot", "index", "--quiet"], env=env, check=True,
                       capture_output=True)
        yield tmp


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


# --- Workers: N webhook processes sharing one PostgreSQL, side by side with one process on SQLite ----------
#
# `cadrebot zalo` in webhook mode, N processes on one index folder, all with DATABASE_URL pointing at one
# PostgreSQL server (tests/pgserver.py starts it: Debian's package, a temporary cluster), replying through
# the Zalo Bot API stand-in (tests/zaloapi.py). A load balancer is simulated: each user's questions go to
# the workers in turn, and EVERY update is delivered twice, the second time to the next worker, as a
# platform retry landing elsewhere would. Each user waits for the first message of an answer before the
# next question. The baseline is one process on the SQLite file, given the same doubled deliveries.
#
# Counted at the end, after the bots are stopped:
#   duplicate answers: journal rows beyond one per (user, question), and answer messages beyond the
#                      baseline's for the same questions (the answers are deterministic);
#   lost journal rows: questions answered with no row in the journal.

WEBHOOK_PATH = "/zalo/hook"
WEBHOOK_SECRET = "bench-webhook-secret"


def start_worker(api, port: int, index: Path, env_extra: dict, log) -> subprocess.Popen:
    env = {**os.environ, "ZALO_BOT_TOKEN": api.token, "ZALO_API_URL": api.url, "INDEX_DIR": str(index),
           "DOCUMENTS_DIR": str(ROOT / "documents"), "RATE_LIMIT_MESSAGES": "1000", "HF_HUB_OFFLINE": "1",
           "ZALO_WEBHOOK_URL": f"https://bot.example.invalid{WEBHOOK_PATH}", "ZALO_WEBHOOK_SECRET": WEBHOOK_SECRET,
           "ZALO_WEBHOOK_LISTEN": "127.0.0.1", "ZALO_WEBHOOK_PORT": str(port), **env_extra,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for key in ("LLM_BASE_URL", "LLM_MODEL", "LLM_API_KEY", "TELEGRAM_BOT_TOKEN"):
        env.pop(key, None)
    return subprocess.Popen([sys.executable, "-m", "bot", "zalo"], cwd=index.parent, env=env, stdout=log,
                            stderr=log)


def post(port: int, update: dict) -> int:
    import httpx

    return httpx.post(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", json=update, timeout=30,
                      headers={"X-Bot-Api-Secret-Token": WEBHOOK_SECRET}).status_code


def _answer_done(api, user: str, start: int, quiet: float = 0.3) -> bool:
    """The answer began and no further message came for `quiet` seconds (answers may be several messages)."""
    last = [c.at for c in api.calls[start:] if c.method == "sendMessage" and c.params.get("chat_id") == user]
    return bool(last) and time.monotonic() - last[-1] >= quiet


def _ask_twice(api, ports: list[int], user: str, question: str, turn: int, timeout: float) -> float:
    """Deliver one question to a worker and again to the next one; seconds to the first answer message."""
    update = api.event(user, question)
    start = len(api.calls)
    pushed = time.monotonic()
    for port in (ports[turn % len(ports)], ports[(turn + 1) % len(ports)]):
        post(port, update)
    deadline = time.monotonic() + timeout
    while not _answer_done(api, user, start):
        if time.monotonic() > deadline:
            raise TimeoutError(question)
        time.sleep(0.02)
    return next(c.at for c in api.calls[start:]
                if c.method == "sendMessage" and c.params.get("chat_id") == user) - pushed


def journal_rows(url: str) -> list[tuple[str, str]]:
    from bot.db import connect_database

    db = connect_database(url, ROOT / "unused.sqlite")
    try:
        return db.run(lambda cur: [tuple(r) for r in cur.execute("SELECT user_id, text FROM questions")
                                   .fetchall()], write=False)
    finally:
        db.close()


def run_workers(workers: int, url: str, users: int, per_user: int, questions: list[str], index: Path,
                tmp: Path, label: str, timeout: float = 180.0) -> dict:
    """`workers` webhook processes on DATABASE_URL=`url`; the figures, and the messages sent per chat."""
    from pgserver import free_port
    from zaloapi import ZaloAPI

    api = ZaloAPI().start()
    ports = [free_port() for _ in range(workers)]
    logs = [open(tmp / f"{label}-{i}.log", "wb") for i in range(workers)]
    procs = [start_worker(api, port, index, {"DATABASE_URL": url}, logs[i])
             for i, port in enumerate(ports)]
    done, lock = Round(), threading.Lock()
    figures: dict = {"run": label, "workers": workers, "database": url.split(":", 1)[0]}
    try:
        api.wait(lambda: sum(c.method == "setWebhook" for c in api.calls) >= workers
                 or any(p.poll() is not None for p in procs), 600)
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"a worker exited; see {tmp}/{label}-*.log")
        for i in range(workers):  # the first search in each process pays one-off costs
            _ask_twice(api, ports[i:] + ports[:i], f"warm-{i}", questions[0], 0, 300)

        def user_loop(n: int) -> None:
            user = f"bench-{n}"
            for i in range(per_user):
                question = questions[(n * per_user + i) % len(questions)]
                try:
                    seconds = _ask_twice(api, ports, user, question, n + i, timeout)
                except (TimeoutError, OSError) as exc:
                    with lock:
                        done.failures.append(f"{user}: {type(exc).__name__} {question!r}")
                    continue
                with lock:
                    done.asked.append(Asked(n, question, seconds, "answered"))
        threads = [threading.Thread(target=user_loop, args=(n,), daemon=True) for n in range(users)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.seconds = time.monotonic() - started
        time.sleep(3.0)  # late duplicates, if any, arrive now
        figures["rss_mb_per_worker"] = [round(memory_kb(p.pid)["VmRSS"] / 1024) for p in procs]
    finally:
        figures["exit_codes"] = [stop_bot(p) for p in procs]
        for log in logs:
            log.close()
        api.stop()
    sent: dict[str, int] = {}
    for c in api.calls:
        if c.method == "sendMessage" and c.status == 200 and str(c.params.get("chat_id")).startswith("bench-"):
            sent[c.params["chat_id"]] = sent.get(c.params["chat_id"], 0) + 1
    rows = [r for r in journal_rows(url) if r[0].startswith("bench-")]
    asked = {(f"bench-{a.user}", a.question) for a in done.asked}
    summary = done.summary()
    figures.update({k: summary[k] for k in ("questions", "failures", "p50_s", "p95_s", "max_s", "wall_s",
                                            "per_second")})
    figures.update({"journal_rows": len(rows), "duplicate_answers_journal": len(rows) - len(set(rows)),
                    "lost_journal_rows": len(asked - set(rows)), "messages_sent": sum(sent.values()),
                    "load_average": load_average()})
    figures["_sent"] = sent
    return figures


def main_workers(args) -> None:
    """N PostgreSQL workers against one SQLite process, the same questions and doubled deliveries."""
    from pgserver import PostgresServer, find_bin

    questions = evalset_questions()
    report: dict = {"users": args.users, "questions_per_user": args.questions, "runs": []}
    with indexed_folder() as tmp:
        baseline = run_workers(1, f"sqlite:///{tmp / 'journal.sqlite'}", args.users, args.questions, questions,
                               tmp / "index", tmp, "sqlite-1")
        print(json.dumps({k: v for k, v in baseline.items() if k != "_sent"}, ensure_ascii=False), flush=True)
        server = PostgresServer(find_bin()).start()
        try:
            runs = [baseline]
            for n in args.workers:
                run = run_workers(n, server.new_database(), args.users, args.questions, questions,
                                  tmp / "index", tmp, f"postgresql-{n}")
                run["duplicate_messages_vs_sqlite"] = sum(max(0, c - baseline["_sent"].get(chat, 0))
                                                          for chat, c in run["_sent"].items())
                print(json.dumps({k: v for k, v in run.items() if k != "_sent"}, ensure_ascii=False), flush=True)
                runs.append(run)
        finally:
            server.stop()
    report["runs"] = [{k: v for k, v in r.items() if k != "_sent"} for r in runs]
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--questions", type=int, default=20, help="questions per user per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--workers", type=int, nargs="+",
                    help="webhook worker processes on one PostgreSQL (e.g. 1 2 3), against one on SQLite")
    args = ap.parse_args()
    if args.workers:
        return main_workers(args)
    questions = evalset_questions()
    report: dict = {"users": args.users, "questions_per_user": args.questions, "rounds": []}
    with indexed_folder() as tmp:
        api = BotAPI().start()
        with open(tmp / "bot.log", "wb") as log:
            proc = start_bot(api, ROOT / "documents", tmp / "index", tmp / "journal.sqlite", log)
            try:
                warm = ask(api, FIRST_USER - 1, questions[0], 120)  # first search pays one-off costs
                report["warm_up_s"] = round(warm.seconds, 3)
                report["rss_before_mb"] = round(memory_kb(proc.pid)["VmRSS"] / 1024, 1)
                for r in range(args.rounds):
                    done = run_round(api, args.users, args.questions, questions, offset=r)
                    time.sleep(1.0)  # let the last typing tasks and sends finish
                    figures = {**done.summary(), "rss_after_mb": round(memory_kb(proc.pid)["VmRSS"] / 1024, 1),
                               "load_average": load_average()}
                    report["rounds"].append(figures)
                    print(f"round {r + 1}: {json.dumps(figures, ensure_ascii=False)}", flush=True)
                    for failure in done.failures[:5]:
                        print("  " + failure, flush=True)
                report["peak_rss_mb"] = round(memory_kb(proc.pid)["VmHWM"] / 1024, 1)
            finally:
                report["bot_exit_code"] = stop_bot(proc)
                api.stop()
    first, last = report["rounds"][0]["rss_after_mb"], report["rounds"][-1]["rss_after_mb"]
    report["rss_growth_mb"] = round(last - first, 1)
    print(f"peak RSS {report['peak_rss_mb']} MB; RSS after round 1 {first} MB, after round "
          f"{args.rounds} {last} MB ({report['rss_growth_mb']:+} MB); load average at end: {load_average()}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
