"""Workers follow the published index version (bot/index/watch.py) without a restart or a failed request.

The unit tests publish version folders with the real `layout.publish`; the
two-process test runs a serving process (`cadrebot search --batch -`, the model
and index real) and publishes new versions from another (`cadrebot index`)
while the first keeps answering.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import REPO
from test_index import ND15, legal_text

from bot.index import layout
from bot.index.watch import Watcher


def publish(index_dir: Path) -> Path:
    work = layout.new_version_dir(index_dir)
    return index_dir / layout.publish(index_dir, work)


class Opener:
    """Opens a version folder; `gate` holds the open back, as a large index takes time to load."""

    def __init__(self):
        self.opened: list[str] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail: set[str] = set()

    def __call__(self, folder: Path) -> str:
        self.gate.wait(30)
        if folder.name in self.fail:
            raise OSError("damaged")
        self.opened.append(folder.name)
        return folder.name


def wait_for(condition, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.01)


def test_a_new_version_is_opened_in_the_background_while_the_old_one_serves(tmp_path):
    first = publish(tmp_path)
    opener = Opener()
    watcher = Watcher(tmp_path, opener, interval=0)
    assert watcher.current() == first.name  # the first open blocks: nothing to serve before it
    second = publish(tmp_path)
    opener.gate.clear()
    assert watcher.current() == first.name  # noticed; opening, meanwhile the old version serves
    assert watcher.current() == first.name
    opener.gate.set()
    wait_for(lambda: watcher.current() == second.name)
    assert opener.opened == [first.name, second.name]  # opened once each, never twice concurrently


def test_a_version_that_fails_to_open_keeps_the_old_one(tmp_path, caplog):
    first = publish(tmp_path)
    opener = Opener()
    watcher = Watcher(tmp_path, opener, interval=0)
    watcher.current()
    broken = publish(tmp_path)
    opener.fail.add(broken.name)
    watcher.current()
    wait_for(lambda: "not opened" in caplog.text)
    assert watcher.current() == first.name and watcher.version == first and opener.opened == [first.name]
    third = publish(tmp_path)  # the next publish is picked up
    wait_for(lambda: watcher.current() == third.name)


def test_checks_current_at_most_every_interval(tmp_path):
    now = [0.0]
    first = publish(tmp_path)
    watcher = Watcher(tmp_path, Opener(), interval=5.0, clock=lambda: now[0])
    watcher.current()
    second = publish(tmp_path)
    assert watcher.current() == first.name and watcher.version == first  # not looked at yet
    now[0] = 5.0
    watcher.current()
    wait_for(lambda: watcher.current() == second.name)


def test_refresh_opens_the_newest_at_once(tmp_path):
    publish(tmp_path)
    watcher = Watcher(tmp_path, Opener(), interval=3600)
    watcher.current()
    newest = publish(tmp_path)
    assert watcher.refresh() == newest.name == watcher.current()


NEW_DOC = legal_text("77/2026/NĐ-CP", "Nghị định", "Quy định phụ cấp trực đêm tại trạm khí tượng hải văn", [
    ("Phụ cấp trực đêm khí tượng hải văn",
     ["Viên chức trực đêm tại trạm khí tượng hải văn được hưởng phụ cấp trực đêm bằng 35% mức lương."]),
])
QUERY = "phụ cấp trực đêm trạm khí tượng hải văn"


@pytest.mark.slow
def test_a_serving_process_follows_publishes_from_another_process(tmp_path):
    docs, index = tmp_path / "documents", tmp_path / "index"
    docs.mkdir()
    (docs / "nd15.txt").write_text(ND15, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "DOCUMENTS_DIR": str(docs), "INDEX_DIR": str(index)}
    subprocess.run([sys.executable, "-m", "bot", "index", "--quiet"], env=env, check=True, timeout=600)
    server = subprocess.Popen([sys.executable, "-m", "bot", "search", "--batch", "-", "--k", "3"], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    answers: list[dict] = []

    def ask() -> dict:
        server.stdin.write(QUERY + "\n")
        server.stdin.flush()
        line = server.stdout.readline()
        assert line, f"the serving process stopped: {server.stderr.read() if server.poll() is not None else ''}"
        answers.append(json.loads(line))
        return answers[-1]

    try:
        assert "nd77" not in {r["source"] for r in ask()["results"]}
        done = threading.Event()
        asking_errors: list[BaseException] = []

        def keep_asking() -> None:  # requests all through the build and the swap
            try:
                while not done.is_set():
                    ask()
                    time.sleep(0.05)  # a steady stream, leaving the builder some of the CPU
            except BaseException as exc:
                asking_errors.append(exc)
        asker = threading.Thread(target=keep_asking)
        asker.start()
        before = len(answers)
        (docs / "nd77.txt").write_text(NEW_DOC, encoding="utf-8")
        built = subprocess.run([sys.executable, "-m", "bot", "index", "--quiet"], env=env, timeout=600)
        wait_for(lambda: len(answers) > before + 3, 120)  # still answering after the publish
        done.set()
        asker.join(60)
        assert built.returncode == 0 and not asking_errors
        wait_for(lambda: "nd77.txt" in {r["source"] for r in ask()["results"]}, 60)
        assert all(a["results"] and "error" not in a for a in answers)  # not one failed request
        assert server.poll() is None
    finally:
        server.stdin.close()
        server.wait(60)
    assert server.returncode == 0, server.stderr.read()
