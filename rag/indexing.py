"""The indexing stage: files or documents become passages, vectors and terms for the store.

Unchanged files are skipped by content hash, changed ones replace their passages, unreadable ones
are reported and skipped. The store receives finished ``PassageBatch``es; chunking, sentence
splitting, the embedder and the analyser are all called here.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from index.contract import PassageBatch, PassageStore
from rag.analysis import index_terms
from rag.chunk import Chunker
from rag.config import ChunkConfig
from rag.embed import SEPARATE, Embedder, encode_separately
from rag.errors import DocumentError, IndexMismatchError, PathNotFoundError
from rag.ingest import discover_files, read_document
from rag.types import Document

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexReport:
    """What an indexing run did, file by file."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    skipped: tuple[DocumentError, ...] = field(default_factory=tuple)
    passages: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged",
            f"{len(self.skipped)} skipped",
        ]
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        return ", ".join(parts) + f" ({self.passages} new passages)"


class Indexer:
    """Cuts documents into passages and encodes them (passages and, from the same encoder pass,
    their sentences).

    Args:
        embedder: Encodes passages and sentences; its token count caps the passage length.
        chunk_config: How documents are cut.
        sentence_vectors: How the store's sentence vectors were made (``rag.embed.IN_PASSAGE``,
            ``SEPARATE``): new ones are made the same way. The embedder's own way by default.
    """

    def __init__(
        self, embedder: Embedder, chunk_config: ChunkConfig, sentence_vectors: str | None = None
    ) -> None:
        self.embedder = embedder
        self.chunk_config = chunk_config
        self.sentence_vectors = sentence_vectors or embedder.sentence_vectors
        if self.sentence_vectors not in (embedder.sentence_vectors, SEPARATE):
            raise IndexMismatchError(
                f"the index's sentence vectors were made {self.sentence_vectors!r}, which "
                f"{embedder.name} cannot do: rebuild it with `rag index` into a new directory"
            )
        self._chunker: Chunker | None = None

    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:  # loads tiktoken and the model: only when indexing
            self._chunker = Chunker(
                self.chunk_config,
                model_tokens=self.embedder.count_tokens,
                model_max=self.embedder.max_tokens,
            )
        return self._chunker

    def batch(self, documents: Sequence[Document], *, show_progress: bool = False) -> PassageBatch:
        """Everything the store keeps for ``documents``."""
        passages = [p for doc in documents for p in self.chunker.chunk(doc)]
        texts = [p.text for p in passages]
        spans = [[(s - p.start, e - p.start) for s, e in p.sentences] for p in passages]
        if self.sentence_vectors == self.embedder.sentence_vectors:
            vectors, sentence_vectors = self.embedder.encode_passages(
                texts, spans, show_progress=show_progress
            )
        else:  # an index made before sentences were pooled from their passage's pass
            vectors, sentence_vectors = encode_separately(
                self.embedder, texts, spans, show_progress=show_progress
            )
        return PassageBatch(
            documents=tuple(documents),
            passages=tuple(passages),
            vectors=vectors,
            sentence_vectors=sentence_vectors,
            terms=tuple(tuple(index_terms(t)) for t in texts),
        )

    def add_documents(
        self, store: PassageStore, documents: Iterable[Document], *, show_progress: bool = False
    ) -> int:
        """Store documents already read, replacing any of the same source; returns passages."""
        batch = self.batch(list(documents), show_progress=show_progress)
        store.add(batch)
        return len(batch.passages)

    def add_files(
        self, store: PassageStore, paths: Iterable[str | Path], *, show_progress: bool = False
    ) -> IndexReport:
        """Add files and folders (recursively) to ``store``.

        Raises:
            PathNotFoundError: A path does not exist (nothing is indexed then).
        """
        files, skipped_first = discover_files(paths)
        skipped = list(skipped_first)
        added: list[str] = []
        updated: list[str] = []
        unchanged: list[str] = []
        documents: list[Document] = []
        for path in tqdm(files, desc="Reading", unit="file", disable=not show_progress):
            source = str(path)
            known = store.document_by_source(source)
            try:
                if known is not None and known.content_hash == _hash_file(path):
                    unchanged.append(source)
                    continue
                documents.append(read_document(path))
            except DocumentError as e:
                logger.info("skipped %s", e)  # reported to the caller in IndexReport.skipped
                skipped.append(e)
                continue
            except OSError as e:  # the file vanished or is unreadable between listing and reading
                err = DocumentError(path, f"cannot read: {e.strerror or e}")
                logger.info("skipped %s", err)
                skipped.append(err)
                continue
            (updated if known is not None else added).append(source)
        passages = (
            self.add_documents(store, documents, show_progress=show_progress) if documents else 0
        )
        return IndexReport(
            added=tuple(added),
            updated=tuple(updated),
            unchanged=tuple(unchanged),
            skipped=tuple(skipped),
            passages=passages,
        )


def remove_files(store: PassageStore, paths: Iterable[str | Path]) -> IndexReport:
    """Drop stored documents by path; a folder drops every document under it.

    Raises:
        PathNotFoundError: A path matches no stored document.
    """
    sources = {d.source for d in store.documents()}
    chosen: set[str] = set()
    for raw in paths:
        path = str(Path(raw).expanduser().resolve())
        matches = {s for s in sources if s == path or s.startswith(path.rstrip("/") + "/")}
        if not matches and str(raw) in sources:
            matches = {str(raw)}
        if not matches:
            raise PathNotFoundError(raw, "is not in the index (see `rag documents`)")
        chosen |= matches
    gone = store.remove(chosen)
    return IndexReport(removed=tuple(sorted(d.source for d in gone)))


def stored_batches(store: PassageStore, *, documents_per_batch: int = 64) -> Iterator[PassageBatch]:
    """Everything ``store`` holds, as batches another store can ``add`` (no re-encoding: vectors
    are copied; BM25 terms are analysed again from the passage text, as indexing did)."""
    documents = store.documents()
    for start in range(0, len(documents), documents_per_batch):
        chosen = documents[start : start + documents_per_batch]
        passages = [p for d in chosen for p in store.passages_of(d.id)]
        dimension = store.identity.dimension
        by_passage = store.sentence_vectors_of([p.id for p in passages])
        sentences = [by_passage[p.id] for p in passages]
        yield PassageBatch(
            documents=tuple(chosen),
            passages=tuple(passages),
            vectors=np.asarray(
                [store.passage_vector(p.id) for p in passages], dtype=np.float32
            ).reshape(len(passages), dimension),
            sentence_vectors=np.concatenate([np.zeros((0, dimension), np.float32), *sentences]),
            terms=tuple(tuple(index_terms(p.text)) for p in passages),
        )


def _hash_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
