"""Load test: simulated officials asking the Telegram bot at once, through the Bot API stand-in.

    python bench/load.py [--users 50] [--questions 20] [--rounds 3]

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


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--questions", type=int, default=20, help="questions per user per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    questions = evalset_questions()
    report: dict = {"users": args.users, "questions_per_user": args.questions, "rounds": []}
    print(f"load average at start (1/5/15 min): {load_average()}; cores: {os.cpu_count()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "DOCUMENTS_DIR": str(ROOT / "documents"), "INDEX_DIR": str(tmp / "index"),
               "HF_HUB_OFFLINE": "1"}
        subprocess.run([sys.executable, "-m", "bot", "index", "--quiet"], env=env, check=True,
                       capture_output=True)
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
