"""The load test of bench/load.py, small enough for CI: 10 users x 5 questions, three rounds.

`cadrebot telegram` runs as its own process against the Bot API stand-in, so its memory is measured
alone. RATE_LIMIT_MESSAGES is raised to 1000 per minute for the run (bench/load.py sets it): five
questions in a row from one user would otherwise rightly be slowed down.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

from botapi import BotAPI

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_load", REPO / "bench" / "load.py")
load = sys.modules["bench_load"] = importlib.util.module_from_spec(_spec)  # dataclasses look it up
_spec.loader.exec_module(load)


def test_every_question_is_answered_and_memory_does_not_grow(shipped_index, tmp_path):
    docs, index = tmp_path / "documents", tmp_path / "index"
    shutil.copytree(shipped_index.documents_dir, docs)
    shutil.copytree(shipped_index.index_dir, index)
    questions = load.evalset_questions()
    api = BotAPI().start()
    with open(tmp_path / "bot.log", "wb") as log:
        proc = load.start_bot(api, docs, index, tmp_path / "journal.sqlite", log)
        try:
            assert load.ask(api, load.FIRST_USER - 1, questions[0], 120).kind == "cited"  # warm-up
            rounds, rss = [], []
            for r in range(3):
                rounds.append(load.run_round(api, 10, 5, questions, offset=r))
                rss.append(load.memory_kb(proc.pid)["VmRSS"])
            peak = load.memory_kb(proc.pid)["VmHWM"]
        finally:
            assert load.stop_bot(proc) == 0, (tmp_path / "bot.log").read_text(errors="replace")[-2000:]
            api.stop()
    for done, after in zip(rounds, rss):
        summary = done.summary()
        print(f"\n{summary} RSS {after / 1024:.0f} MB")
        assert done.failures == [] and summary["questions"] == 50
        assert summary["cited"] + summary["not covered"] == 50  # no apology, no rate-limit notice
        assert summary["cited"] >= 40  # the evalset is mostly answerable
    print(f"peak RSS {peak / 1024:.0f} MB")
    assert rss[2] <= rss[0] * 1.05  # round 3 within 5% of round 1: nothing accumulates per question


def test_two_webhook_workers_on_one_postgresql_answer_each_message_once(shipped_index, postgres, tmp_path):
    """Every update reaches both processes (a retry landing elsewhere): answered once, journaled once."""
    index = tmp_path / "index"
    shutil.copytree(shipped_index.index_dir, index)
    questions = load.evalset_questions()
    one = load.run_workers(1, f"sqlite:///{tmp_path / 'journal.sqlite'}", 3, 2, questions, index, tmp_path, "one")
    two = load.run_workers(2, postgres.new_database(), 3, 2, questions, index, tmp_path, "two")
    for run in (one, two):
        assert (run["questions"], run["failures"], run["exit_codes"]) == (6, 0, [0] * run["workers"])
        assert run["journal_rows"] == 6 and run["duplicate_answers_journal"] == 0 and run["lost_journal_rows"] == 0
    assert two["_sent"] == one["_sent"]  # the same messages per chat as one process: no answer twice
