"""The one place that builds the heavy objects: model, index, searcher.

Channels hold a Runtime and ask it questions. It loads the model once, opens
the published index version, and re-opens it when a re-index (in this process
or another) has published a newer one, so readers switch atomically between
complete versions and never see a half-built index.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from bot import embed
from bot.answer import Answer, build_answer
from bot.compose import Writer
from bot.config import Settings
from bot.index import Index, layout
from bot.index.builder import BuildReport, build_index
from bot.retrieve import followup
from bot.retrieve.search import Searcher, SearchResult

log = logging.getLogger(__name__)


class Runtime:
    """Settings plus lazily built model and searcher, shared by every channel."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self._embedder = None
        self._searcher: Searcher | None = None
        self._lock = threading.RLock()
        self.writer = Writer.from_settings(self.settings)  # None: extractive answers only
        self.memory = followup.Memory(self.settings.followup_seconds)  # per-chat last turn

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
        """The searcher over the newest published version (re-opened when it changes)."""
        with self._lock:
            current = layout.current_version(self.index_dir)
            if self._searcher is None or current != self._searcher.index.folder:
                index = self.open_index()
                old, self._searcher = self._searcher, Searcher(
                    index, self.embedder, self.settings.dense_weight, self.settings.max_query_chars)
                if old is not None:
                    log.info("index switched to %s", index.folder.name)
            return self._searcher

    def search(self, text: str, k: int = 5) -> SearchResult:
        return self.searcher().search(text, k)

    def ask(self, text: str, chat: str | None = None) -> Answer:
        """Answer `text`; with `chat`, a follow-up is read with that chat's previous turn
        (bot/retrieve/followup.py) and this turn becomes the next one's context."""
        resolved = followup.resolve(text, self.memory.get(chat) if chat else None)
        result = self.search(resolved.text, k=8)
        if chat:
            self.memory.put(chat, followup.context_of(resolved.text, result))
        answer = build_answer(result)
        if resolved.kind:
            answer.read_as = resolved.text
        if self.writer is not None and answer.found:
            answer = self.writer.write(answer)
        return answer

    def reindex(self, rebuild: bool = False, progress=None) -> BuildReport:
        """Incremental re-index of the documents folder; readers keep the old version meanwhile."""
        return build_index(self.documents_dir, self.index_dir, self.embedder, rebuild=rebuild,
                           ann_threshold=self.settings.ann_threshold, progress=progress,
                           max_document_mb=self.settings.max_document_mb,
                           dense_weight=self.settings.dense_weight)
