"""What the index holds, asked by name: documents, references, whole articles.

Channels list documents (/docs), look one up by file name or number
(/remove), and show a whole article (/dieu). They ask these questions here,
through methods, and never reach into the index's arrays: the index can
change its layout without touching a channel. A Catalog is a view of one
opened index version; `Runtime.catalog()` hands out the current one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from bot.index import Index, Passage
from bot.index.store import StoredDocument
from bot.ingest.metadata import NEWS
from bot.retrieve.query import DocumentRef, parse
from bot.retrieve.search import resolve
from bot.text import fold

Document = StoredDocument


@dataclass
class Lookup:
    """An article asked for by number (/dieu): where it is, or why it is not found."""

    number: str
    named: list[DocumentRef] = field(default_factory=list)  # the documents the request named
    missing: list[DocumentRef] = field(default_factory=list)  # named but not in the corpus
    within: list[Document] = field(default_factory=list)  # the named documents that are present
    found: list[tuple[Document, list[Passage]]] = field(default_factory=list)


class Catalog:
    """Catalog questions over one opened index version."""

    def __init__(self, index: Index):
        self._index = index

    def documents(self) -> list[Document]:
        """Legal documents newest first, then news."""
        docs = sorted(self._index.documents.values(), key=lambda d: d.meta.date or "", reverse=True)
        return sorted(docs, key=lambda d: d.meta.type == NEWS)

    def document(self, source: str | None) -> Document | None:
        """The document stored under this relative path, if any."""
        return next((d for d in self._index.documents.values() if d.source == source), None)

    def find(self, name: str) -> list[Document]:
        """Documents `name` points at: a path, a file name, a number or label, or a reference.

        "nd73.txt", "73/2023/NĐ-CP", "Nghị định 73": the first kind that matches wins.
        """
        docs = list(self._index.documents.values())
        found = [d for d in docs if name in (d.source, PurePosixPath(d.source).name)]
        found = found or [d for d in docs if fold(name) in {fold(d.meta.number or "\0"), fold(d.meta.label)}]
        if not found:
            ids = [i for ref in parse(name).documents for i in resolve(ref, self._index)]
            found = [self._index.documents[i] for i in dict.fromkeys(ids)]
        return found

    def article(self, document: Document, number: str | None) -> list[Passage]:
        """Every passage of one article of one document, in reading order ([] if none)."""
        if document is None or not number:
            return []
        return self._index.passages(self._index.article_positions(document.id, number))

    def lookup(self, number: str, named: str = "") -> Lookup:
        """Điều `number` of the documents `named` names ("nd 73"), or of any document if none."""
        query = parse(f"điều {number} {named}")
        result = Lookup(number, named=list(query.documents))
        ids: list[int] = []
        for ref in query.documents:
            got = resolve(ref, self._index)
            ids += got
            if not got:
                result.missing.append(ref)
        ids = list(dict.fromkeys(ids))
        result.within = [self._index.documents[i] for i in ids]
        candidates = result.within if query.documents else self.documents()
        for doc in candidates:
            passages = self.article(doc, number)
            if passages:
                result.found.append((doc, passages))
        return result

    def counts(self, document: Document) -> tuple[int, int]:
        """(articles, passages) of one document."""
        return self._index.counts(document.id)

    def stats(self) -> dict:
        return self._index.stats()
