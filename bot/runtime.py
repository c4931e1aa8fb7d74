"""The one place that builds the heavy objects: model, index, searcher, and the build coordinator.

Channels hold a Runtime and ask it questions. It loads the model once (or
uses the embedder it was handed: tests share one per session), opens
the published index version, and re-opens it when a re-index (in this process
or another) has published a newer one, so readers switch atomically between
complete versions and never see a half-built index.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from bot.answer import Answer, build_answer
from bot.compose import Writer
from bot.config import Settings
from bot.index import Index, layout
from bot.index.builder import BuildOptions, BuildReport, build_index
from bot.index.builds import Builds
from bot.retrieve.catalog import Catalog
from bot.retrieve.search import Searcher, SearchResult

log = logging.getLogger(__name__)


class Runtime:
    """Settings plus lazily built model and searcher, shared by every channel.

    `builds` is the process's one build coordinator: every re-index, upload
    and removal, from any channel or the CLI, goes through `builds.run`.
    """

    def __init__(self, settings: Settings | None = None, embedder=None):
        self.settings = settings or Settings()
        self._embedder = embedder
        self._searcher: Searcher | None = None
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
                from bot.embed import Embedder

                s = self.settings
                self._embedder = Embedder(s.embedding_model, s.embedding_query_prompt,
                                          s.embedding_document_prompt, s.embedding_batch_size)
            return self._embedder

    def searcher(self) -> Searcher:
        """The searcher over the newest published version (re-opened when it changes)."""
        with self._lock:
            current = layout.current_version(self.index_dir)
            if self._searcher is None or current != self._searcher.index.folder:
                index = Index.open(self.index_dir, self.settings.embedding_model)
                old, self._searcher = self._searcher, Searcher(
                    index, self.embedder, self.settings.dense_weight, self.settings.max_query_chars)
                if old is not None:
                    log.info("index switched to %s", index.folder.name)
            return self._searcher

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
        return BuildOptions(rebuild=rebuild, ann_threshold=s.ann_threshold, max_document_mb=s.max_document_mb)

    def reindex(self, rebuild: bool = False, progress=None) -> BuildReport:
        """One build, without the coordinator's lock: call `builds.run` instead.

        Incremental; readers keep the old version meanwhile.
        """
        return build_index(self.documents_dir, self.index_dir, self.embedder, self.build_options(rebuild),
                           progress=progress)
