"""Shared state (bot/db) on both backends: the same behaviour on an SQLite file and on a real PostgreSQL.

Every test taking `database_url` runs twice: once on SQLite, once on a fresh
database of the PostgreSQL server the session started (tests/pgserver.py).
Concurrency is real: threads with their own connections, and processes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.db import TokenPair, Unanswered, connect_database, normalize
from bot.db.migrations import MIGRATIONS
from bot.errors import DatabaseMisconfigured, DatabaseUnavailable

REPO = Path(__file__).resolve().parent.parent


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def opened(database_url, tmp_path):
    """Databases on the test's URL (each with its own connections, like separate workers), closed after."""
    made = []

    def make(clock=None):
        db = connect_database(database_url, tmp_path / "unused.sqlite", **({"clock": clock} if clock else {}))
        made.append(db)
        return db
    yield make
    for db in made:
        db.close()


def in_threads(n: int, work) -> list:
    results, errors = [None] * n, []

    def run(i: int) -> None:
        try:
            results[i] = work(i)
        except Exception as exc:  # surfaced below, with the test's assertion
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


# --- migrations -----------------------------------------------------------------------------

def test_migrations_apply_in_order_once(opened):
    db = opened()
    names = db.run(lambda cur: [r[0] for r in cur.execute("SELECT name FROM _migrations ORDER BY name")
                                .fetchall()], write=False)
    assert names == [name for name, _ in MIGRATIONS] == sorted(names)
    from bot.db.migrations import migrate
    assert migrate(opened()) == []  # a second process finds nothing to do


def test_migrations_started_together_apply_once(database_url, tmp_path):
    dbs = in_threads(4, lambda i: connect_database(database_url, tmp_path / "unused.sqlite"))
    try:
        count = dbs[0].run(lambda cur: cur.execute("SELECT count(*) FROM _migrations").fetchone()[0])
        assert count == len(MIGRATIONS)
    finally:
        for db in dbs:
            db.close()


def test_an_old_sqlite_journal_keeps_its_data(tmp_path):
    path = tmp_path / "journal.sqlite"
    old = sqlite3.connect(path)  # a journal written by the single-process bot, before bot/db
    old.executescript(MIGRATIONS[0][1].format(serial="INTEGER PRIMARY KEY") + MIGRATIONS[1][1] + """
        CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT);
        INSERT INTO _migrations VALUES ('001_questions', datetime('now')), ('002_feedback', datetime('now'));
        INSERT INTO questions (asked_at, channel, user_id, chat_id, text, normalized, found)
        VALUES (datetime('now'), 'telegram', '1', '1', 'Lương hưu?', 'luong huu', 0);
    """)
    old.close()
    db = connect_database(None, path)
    try:
        assert db.journal.unanswered() == [Unanswered("Lương hưu?", 1, db.journal.unanswered()[0].last_asked)]
        assert db.seen.first_time("zalo", "m1")  # the new tables exist
    finally:
        db.close()


# --- journal --------------------------------------------------------------------------------

def test_journal_stats_feedback_and_unanswered(opened):
    journal = opened().journal
    first = journal.log("telegram", 1, 1, "Điều 11 Nghị định 73?", True, "nd73.txt", "11")
    journal.log("zalo", "abc", "abc", "Giá vàng hôm nay?", False)
    journal.log("telegram", 2, 2, "gia vang hom nay", False)
    journal.log("telegram", 3, 3, "Lương hưu?", False)
    journal.feedback(first, 1, 1)
    journal.feedback(first, 1, -1)  # a change of mind replaces the vote
    journal.feedback(first, 2, 1)
    assert journal.stats() == {"questions": 4, "answered": 1, "askers": 4, "last_7_days": 4,
                               "helpful": 1, "unhelpful": 1}
    assert [(u.text, u.count) for u in journal.unanswered()] == [("gia vang hom nay", 2), ("Lương hưu?", 1)]
    assert [u.text for u in journal.unanswered(limit=1)] == ["gia vang hom nay"]
    assert journal.last("telegram", 1, 1).article == "11"
    assert journal.last("zalo", "abc", "abc").found is False
    assert journal.get(first).source == "nd73.txt"
    assert journal.get(first + 1000) is None


def test_journal_week_counts_by_the_clock(opened):
    clock = Clock()
    journal = opened(clock).journal
    journal.log("telegram", 1, 1, "cũ", False)
    clock.now += 8 * 24 * 3600
    journal.log("telegram", 1, 1, "mới", False)
    assert journal.stats()["last_7_days"] == 1


def test_normalize_groups_retypings():
    assert normalize("Điều kiện  dự tuyển?") == normalize("dieu kien du tuyen") == "dieu kien du tuyen"


def test_journal_rows_from_many_writers_are_all_there(opened):
    dbs = [opened() for _ in range(4)]
    ids = in_threads(4, lambda i: [dbs[i].journal.log("zalo", f"u{i}", f"u{i}", f"câu {n}", n % 2 == 0)
                                   for n in range(25)])
    flat = [qid for chunk in ids for qid in chunk]
    assert None not in flat and len(set(flat)) == 100
    assert dbs[0].journal.count() == 100


# --- de-duplication ---------------------------------------------------------------------------

def test_a_message_id_is_new_exactly_once_across_workers(opened):
    dbs = [opened() for _ in range(4)]
    wins = in_threads(4, lambda i: [m for m in range(60) if dbs[i].seen.first_time("zalo-oa", f"msg-{m}")])
    assert sorted(m for w in wins for m in w) == list(range(60))  # each id won by exactly one worker
    assert not dbs[0].seen.first_time("zalo-oa", "msg-7")
    assert dbs[0].seen.first_time("zalo", "msg-7")  # ids are per channel


# --- rate limits -------------------------------------------------------------------------------

def test_rate_limit_window_shared_by_workers(opened):
    clock = Clock()
    a, b = opened(clock), opened(clock)
    assert [a.limits.hit("zalo:u1", 3, 60).allowed, b.limits.hit("zalo:u1", 3, 60).allowed,
            a.limits.hit("zalo:u1", 3, 60).allowed] == [True, True, True]
    clock.now += 10
    told = b.limits.hit("zalo:u1", 3, 60)
    assert (told.allowed, told.notify, told.wait) == (False, True, 50)
    quiet = a.limits.hit("zalo:u1", 3, 60)  # told once per window, by whichever worker was first
    assert (quiet.allowed, quiet.notify) == (False, False)
    assert a.limits.hit("zalo:u2", 3, 60).allowed  # another user has a window of their own
    clock.now += 50
    assert b.limits.hit("zalo:u1", 3, 60).allowed


def test_rate_limit_counts_concurrent_messages_exactly(opened):
    clock = Clock()
    dbs = [opened(clock) for _ in range(4)]
    verdicts = in_threads(4, lambda i: [dbs[i].limits.hit("telegram:9", 10, 60) for _ in range(5)])
    flat = [v for chunk in verdicts for v in chunk]
    assert sum(v.allowed for v in flat) == 10
    assert sum(v.notify for v in flat) == 1


# --- chat state and counters ------------------------------------------------------------------

def test_chat_state_expires_and_is_replaced(opened):
    clock = Clock()
    a, b = opened(clock), opened(clock)
    a.chats.put("zalo", "u", "c", {"question_id": 7, "text": "Điều 11?"})
    assert b.chats.get("zalo", "u", "c", ttl=600) == {"question_id": 7, "text": "Điều 11?"}
    b.chats.put("zalo", "u", "c", {"question_id": 8})
    assert a.chats.get("zalo", "u", "c", ttl=600) == {"question_id": 8}
    assert a.chats.get("zalo", "u", "other", ttl=600) is None
    clock.now += 601
    assert a.chats.get("zalo", "u", "c", ttl=600) is None
    a.chats.put("zalo", "u", "c", {"x": 1})
    a.chats.clear("zalo", "u", "c")
    assert a.chats.get("zalo", "u", "c", ttl=600) is None


def test_counters_never_lose_a_count(opened):
    dbs = [opened() for _ in range(4)]
    in_threads(4, lambda i: [dbs[i].counters.add("zalo-oa:messages", "2026-12") for _ in range(25)])
    assert dbs[0].counters.get("zalo-oa:messages", "2026-12") == 100
    assert dbs[0].counters.add("zalo-oa:messages", "2026-12", 5) == 105
    assert dbs[0].counters.get("zalo-oa:messages", "2027-01") == 0
    flags = in_threads(4, lambda i: dbs[i].counters.flag_once("zalo-oa:messages", "2026-12"))
    assert sorted(flags) == [False, False, False, True]  # one worker warns the admins, once


# --- token pairs -----------------------------------------------------------------------------

class Platform:
    """The OAuth side of a rotating refresh token: each refresh token works once."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.valid = {"refresh-0"}
        self.issued = 0
        self.lock = threading.Lock()

    def refresh(self, stored: TokenPair) -> TokenPair:
        with self.lock:
            if stored.refresh_token not in self.valid:
                raise RuntimeError("invalid refresh token")
            self.valid.discard(stored.refresh_token)
            self.issued += 1
            self.valid.add(f"refresh-{self.issued}")
            return TokenPair(f"access-{self.issued}", f"refresh-{self.issued}", self.clock() + 90_000)


def test_token_seed_keeps_a_rotated_pair(opened):
    clock = Clock()
    db = opened(clock)
    assert db.tokens.get("zalo-oa") is None
    env = TokenPair("access-0", "refresh-0", clock() + 3000)
    assert db.tokens.seed("zalo-oa", env) == env
    rotated = db.tokens.rotate("zalo-oa", Platform(clock).refresh, stale="access-0")
    assert rotated.access_token == "access-1"
    assert opened(clock).tokens.seed("zalo-oa", env) == rotated  # a restart with the env's old pair
    assert "access" not in repr(rotated) and "refresh-1" not in repr(rotated)


def test_token_rotation_happens_once_among_workers(opened):
    clock = Clock()
    platform = Platform(clock)
    dbs = [opened(clock) for _ in range(4)]
    dbs[0].tokens.seed("zalo-oa", TokenPair("access-0", "refresh-0", clock() + 3000))
    # Every worker saw access-0 refused at once; only one may spend refresh-0.
    pairs = in_threads(4, lambda i: dbs[i].tokens.rotate("zalo-oa", platform.refresh, stale="access-0"))
    assert platform.issued == 1
    assert {p.access_token for p in pairs} == {"access-1"}
    assert opened(clock).tokens.get("zalo-oa").refresh_token == "refresh-1"  # persisted for the next process
    status = dbs[1].tokens.status("zalo-oa")
    assert status.refreshed_at == clock() and status.failure is None


def test_token_refreshed_ahead_of_expiry_only(opened):
    clock = Clock()
    platform = Platform(clock)
    db = opened(clock)
    db.tokens.seed("zalo-oa", TokenPair("access-0", "refresh-0", clock() + 7200))
    assert db.tokens.rotate("zalo-oa", platform.refresh, ahead=3600).access_token == "access-0"
    clock.now += 3700
    assert db.tokens.rotate("zalo-oa", platform.refresh, ahead=3600).access_token == "access-1"
    assert platform.issued == 1


def test_a_failed_refresh_keeps_the_pair_and_is_reported(opened):
    clock = Clock()
    db = opened(clock)
    db.tokens.seed("zalo-oa", TokenPair("access-0", "refresh-dead", clock() + 10))
    with pytest.raises(RuntimeError, match="invalid refresh token"):
        db.tokens.rotate("zalo-oa", Platform(clock).refresh, stale="access-0")
    status = opened(clock).tokens.status("zalo-oa")
    assert status.failure == "RuntimeError: invalid refresh token" and status.failed_at == clock()
    assert db.tokens.get("zalo-oa").refresh_token == "refresh-dead"
    with pytest.raises(LookupError):
        db.tokens.rotate("unknown", Platform(clock).refresh)


# --- outages -----------------------------------------------------------------------------------

def _break(db, database_url: str, postgres):
    """Make the database refuse work (SQLite: its volume gone; PostgreSQL: connections refused)."""
    if database_url.startswith("sqlite"):
        path = Path(database_url[len("sqlite:///"):])
        db.backend.close()
        path.rename(path.with_suffix(".away"))
        path.mkdir()  # a folder where the file was: "unable to open database file"

        def repair_sqlite():
            path.rmdir()
            path.with_suffix(".away").rename(path)
        return repair_sqlite
    import psycopg
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(postgres.url(), autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))

    def repair():
        with psycopg.connect(postgres.url(), autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    return repair


def test_an_outage_degrades_then_recovers(opened, database_url, request, tmp_path, monkeypatch, caplog):
    from bot.db import backend

    monkeypatch.setattr(backend, "CONNECT_SECONDS", 1)
    postgres = request.getfixturevalue("postgres") if database_url.startswith("postgres") else None
    db = opened()
    db.health.RETRY_SECONDS = 0  # try the database on every call: the test sees recovery at once
    assert db.journal.log("zalo", "u", "u", "trước sự cố", True) is not None
    repair = _break(db, database_url, postgres)
    try:
        assert db.journal.log("zalo", "u", "u", "trong sự cố", True) is None  # dropped, not raised
        assert db.journal.feedback(1, "u", 1) is False
        assert db.seen.first_time("zalo", "m1") and not db.seen.first_time("zalo", "m1")  # in memory
        assert db.limits.hit("zalo:u", 1, 60).allowed and not db.limits.hit("zalo:u", 1, 60).allowed
        assert db.chats.get("zalo", "u", "u", 60) is None
        db.counters.add("sent", "2026-12", 2)
        with pytest.raises(DatabaseUnavailable, match="không phản hồi"):
            db.journal.unanswered()
        assert not db.health.up
    finally:
        repair()
    # The pool reconnects in the background with a backoff; wait for it (not a timing assertion).
    deadline = time.monotonic() + 90
    while db.journal.log("zalo", "u", "u", "sau sự cố", False) is None:
        assert time.monotonic() < deadline, "the database never came back"
        time.sleep(0.5)
    assert db.health.up
    assert [u.text for u in db.journal.unanswered()] == ["sau sự cố"]
    assert db.counters.add("sent", "2026-12") == 3  # the counts made during the outage were kept
    assert "unavailable" in caplog.text and "is back" in caplog.text


def test_misconfigured_urls_say_what_is_wrong(tmp_path, postgres):
    with pytest.raises(DatabaseMisconfigured, match="DATABASE_URL không hợp lệ"):
        connect_database("mysql://x@y/z", tmp_path / "x.sqlite")
    from pgserver import free_port
    with pytest.raises(DatabaseUnavailable, match="Không kết nối được PostgreSQL 127.0.0.1"):
        connect_database(f"postgresql://a:b@127.0.0.1:{free_port()}/db", tmp_path / "x.sqlite")
    wrong = postgres.url(password="not-the-password-42")
    with pytest.raises(DatabaseUnavailable) as caught:
        connect_database(wrong, tmp_path / "x.sqlite")
    assert "password" in str(caught.value) and "not-the-password-42" not in str(caught.value)
    (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(DatabaseMisconfigured, match="không dùng được"):
        connect_database(None, tmp_path / "junk.sqlite")


def test_doctor_reads_the_real_database_without_its_password(database_url, tmp_path):
    """`cadrebot doctor`'s database line against the running server (test_doctor: a closed port)."""
    from types import SimpleNamespace

    from bot.config import Settings
    from bot.doctor import check_journal

    runtime = SimpleNamespace(settings=Settings(database_url=database_url, index_dir=tmp_path), index_dir=tmp_path)
    good = check_journal(runtime)
    if database_url.startswith("postgres"):
        assert good.ok and "kết nối được, máy chủ" in good.detail, good.detail
        assert "pw-" not in json.dumps(good.__dict__, ensure_ascii=False)
    else:
        assert good.ok, good.detail
    bad = check_journal(SimpleNamespace(settings=Settings(database_url="oracle://x", index_dir=tmp_path),
                                        index_dir=tmp_path))
    assert not bad.ok and "DATABASE_URL" in bad.detail


# --- the CLI and separate processes ---------------------------------------------------------------

def cli(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    full = {**os.environ, **env, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "bot", *args], env=full, cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_cli_unanswered_from_the_configured_database(database_url, tmp_path):
    db = connect_database(database_url, tmp_path / "unused.sqlite")
    for text in ("Giá vàng hôm nay?", "gia vang hom nay", "Lương hưu?"):
        db.journal.log("telegram", 1, 1, text, False)
    db.journal.log("telegram", 1, 1, "Điều 11?", True)
    db.close()
    out = cli(["unanswered", "--json", "--limit", "5"], {"DATABASE_URL": database_url}, tmp_path)
    assert out.returncode == 0, out.stderr
    assert [(r["text"], r["count"]) for r in json.loads(out.stdout)] == [("gia vang hom nay", 2),
                                                                          ("Lương hưu?", 1)]
    text = cli(["unanswered", "--limit", "1"], {"DATABASE_URL": database_url}, tmp_path)
    assert text.returncode == 0 and "1. (2 lần) gia vang hom nay" in text.stdout and "Lương hưu" not in text.stdout


def test_cli_unanswered_without_a_database_fails_clearly(tmp_path, postgres):
    from pgserver import free_port

    down = cli(["unanswered"], {"DATABASE_URL": f"postgresql://u:secret-pw@127.0.0.1:{free_port()}/x"}, tmp_path)
    assert down.returncode == 1 and "Không kết nối được PostgreSQL" in down.stderr
    assert "secret-pw" not in down.stderr + down.stdout and "Traceback" not in down.stderr
    bad = cli(["unanswered"], {"DATABASE_URL": "postgres-ish:nothing"}, tmp_path)
    assert bad.returncode == 1 and "DATABASE_URL không hợp lệ" in bad.stderr


WORKER = """
import sys
from pathlib import Path
from bot.db import connect_database
db = connect_database(sys.argv[1], Path("unused.sqlite"))
answered = 0
for m in range(int(sys.argv[3])):  # every message id is delivered to both processes
    if db.seen.first_time("zalo-oa", f"msg-{m}"):
        db.journal.log("zalo-oa", sys.argv[2], sys.argv[2], f"câu {m}", True)
        answered += 1
db.close()
print(answered)
"""


def test_two_processes_share_one_postgresql(postgres, tmp_path):
    url = postgres.new_database()
    connect_database(url, tmp_path / "unused.sqlite").close()  # migrated once, before both start
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, url, f"worker-{i}", "300"], env=env,
                              cwd=tmp_path, stdout=subprocess.PIPE, text=True) for i in range(2)]
    answered = [int(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(answered) == 300  # each message answered once, by one of the two
    db = connect_database(url, tmp_path / "unused.sqlite")
    try:
        rows = db.run(lambda cur: cur.execute("SELECT user_id, text FROM questions").fetchall())
    finally:
        db.close()
    assert sorted(int(text.split()[1]) for _, text in rows) == list(range(300))  # none lost, none twice
    assert {user for user, _ in rows} <= {"worker-0", "worker-1"}
