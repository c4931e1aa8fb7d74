"""The one place that builds the heavy objects: model, index, searcher, database, build coordinator.

Channels hold a Runtime and ask it questions. It loads the model once (or
uses the embedder it was handed: tests share one per session), opens
the published index version, and follows it (bot/index/watch.py): when a
re-index in this process or another has published a newer one, the new
version is opened in the background and swapped in, so readers switch
atomically between complete versions, never see a half-built index, and no
request waits for or fails on the swap. The shared state (journal, rate
limits, de-duplication, chat state, tokens) is one `Database` per process
(bot/db), opened on first use.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from bot import embed
from bot.answer import Answer, build_answer
from bot.compose import Writer
from bot.config import Settings
from bot.index import Index
from bot.index.builder import BuildOptions, BuildReport, build_index
from bot.index.builds import Builds
from bot.index.watch import Watcher
from bot.retrieve.catalog import Catalog
from bot.retrieve.search import Searcher, SearchResult

log = logging.getLogger(__name__)

INDEX_CHECK_SECONDS = 1.0  # how often a request may look at CURRENT: a worker follows a publish within this


class Runtime:
    """Settings plus lazily built model and searcher, shared by every channel.

    `builds` is the process's one build coordinator: every re-index, upload
    and removal, from any channel or the CLI, goes through `builds.run`.
    """

    def __init__(self, settings: Settings | None = None, embedder=None):
        self.settings = settings or Settings()
        self._embedder = embedder
        self._index = Watcher(self.index_dir, self._open_searcher, interval=INDEX_CHECK_SECONDS)
        self._database = None
        self._lock = threading.RLock()
        self.writer = Writer.from_settings(self.settings)  # None: extractive answers only
        # Looked up at each build, so a wrapped `reindex` (tests) is what runs under the lock.
        self.builds = Builds(lambda progress, rebuild: self.reindex(rebuild=rebuild, progress=progress))

    @property
    def documents_dir(self) -> Path:
        return Path(self.settings.documents_dir)

    @property
    def index_dir(self) -> Path:
        return Path(self.settings.index_dir)

    @property
    def embedder(self):
        with self._lock:
            if self._embedder is None:
                self._embedder = embed.create(self.settings)
            return self._embedder

    def open_index(self, verify: bool = True) -> Index:
        """The published version, checked against the configured backend and model."""
        backend, model = embed.identity(self.settings)
        return Index.open(self.index_dir, model, verify, backend)

    def searcher(self) -> Searcher:
        """The searcher over the newest published version (another one is opened when it changes)."""
        return self._index.current()

    def _open_searcher(self, folder: Path) -> Searcher:
        backend, model = embed.identity(self.settings)
        index = Index.open(self.index_dir, model, backend=backend, folder=folder)
        return Searcher(index, self.embedder, self.settings.dense_weight, self.settings.max_query_chars)

    @property
    def database(self):
        """The shared-state database (bot/db), connected and migrated on first use (DatabaseError if not)."""
        with self._lock:
            if self._database is None:
                from bot.db import open_database

                self._database = open_database(self.settings)
            return self._database

    def close(self) -> None:
        with self._lock:
            if self._database is not None:
                self._database.close()
                self._database = None

    def catalog(self) -> Catalog:
        """What the published version holds: documents, references, whole articles."""
        return Catalog(self.searcher().index)

    def search(self, text: str, k: int = 5) -> SearchResult:
        return self.searcher().search(text, k)

    def ask(self, text: str) -> Answer:
        answer = build_answer(self.search(text, k=8))
        if self.writer is not None and answer.found:
            answer = self.writer.write(answer)
        return answer

    def build_options(self, rebuild: bool = False) -> BuildOptions:
        s = self.settings
        return BuildOptions(rebuild=rebuild, ann_threshold=s.ann_threshold, max_document_mb=s.max_document_mb,
                            dense_weight=s.dense_weight)

    def reindex(self, rebuild: bool = False, progress=None) -> BuildReport:
        """One build, without the coordinator's lock: call `builds.run` instead.

        Incremental; readers keep the old version meanwhile.
        """
        report = build_index(self.documents_dir, self.index_dir, self.embedder, self.build_options(rebuild),
                             progress=progress)
        self._index.refresh()  # this process serves what it just published, from the next request on
        return report
