"""The store contract: what the stages above hand a store and what they get back.

``PassageStore`` is the role a store plays (``index.passages.PassageIndex`` is the one this
package ships); everything crosses it keyed by passage or document id, never by row position.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.config import IndexConfig
from index.errors import IndexMismatchError, InvalidInputError
from index.records import Document, Passage

SENTENCE_DTYPE = np.float16
"""Every store keeps sentence vectors at half precision (rounded to it where its vector type is
wider): there are several per passage, they only rank a question's few candidate sentences, and
the same index then answers alike in every store, in the process that wrote it or another."""


@dataclass(frozen=True)
class ModelIdentity:
    """The embedding model an index was built with; a store refuses vectors of any other."""

    name: str
    sha256: str
    dimension: int


@dataclass(frozen=True)
class PassageBatch:
    """Documents made ready for the store by the indexing stage (``rag.indexing``).

    Attributes:
        documents: The documents; any already stored from the same source is replaced.
        passages: Their passages, in reading order.
        vectors: One L2-normalised float32 row per passage.
        sentence_vectors: One row per sentence, the passages' sentences in order.
        terms: The BM25 terms of each passage (``rag.analysis.index_terms``).
    """

    documents: tuple[Document, ...]
    passages: tuple[Passage, ...]
    vectors: np.ndarray
    sentence_vectors: np.ndarray
    terms: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        sentences = sum(len(p.sentences) for p in self.passages)
        if not len(self.passages) == len(self.vectors) == len(self.terms):
            raise InvalidInputError("a batch needs one vector and one term list per passage")
        if len(self.sentence_vectors) != sentences:
            raise InvalidInputError("a batch needs one sentence vector per sentence")
        doc_ids = {d.id for d in self.documents}
        if any(p.doc_id not in doc_ids for p in self.passages):
            raise InvalidInputError("every passage of a batch must belong to one of its documents")

    def check_fits(self, identity: ModelIdentity) -> None:
        """Refuse vectors of another dimension than the index's model gives."""
        if self.vectors.shape[1:] != (identity.dimension,):
            raise IndexMismatchError(
                f"vectors of dimension {self.vectors.shape[1:]} do not fit an index of "
                f"{identity.name} (dimension {identity.dimension})"
            )


@dataclass(frozen=True)
class Candidates:
    """Passages a search found, each with the score of both signals.

    A signal that was not asked for scores NaN. With one signal the candidates come best first;
    with both, in the store's order: callers sort them stably, so that order breaks ties.
    """

    ids: tuple[str, ...]
    dense: np.ndarray
    bm25: np.ndarray


class PassageStore(Protocol):
    """Documents, passages, their vectors and BM25, searchable by vector and by terms."""

    identity: ModelIdentity
    settings: dict[str, Any]
    """What the stages above recorded with the index (chunking, fusion), checked on open."""
    config: IndexConfig
    revision: int
    """Bumped by every change, so a writer can tell whether there is anything to save."""

    def __len__(self) -> int:
        """How many passages are stored."""
        ...

    def documents(self) -> list[Document]: ...

    def document(self, doc_id: str) -> Document | None: ...

    def document_by_source(self, source: str) -> Document | None: ...

    def passages(self) -> list[Passage]:
        """Every passage, in the store's order."""
        ...

    def passage(self, passage_id: str) -> Passage:
        """The passage with this id; ``KeyError`` if it is not stored."""
        ...

    def passages_of(self, doc_id: str) -> list[Passage]:
        """A document's passages in reading order."""
        ...

    def passage_vector(self, passage_id: str) -> np.ndarray: ...

    def sentence_vectors(self, passage_id: str) -> np.ndarray:
        """One row per sentence of the passage, in sentence order."""
        ...

    def sentence_vectors_of(self, passage_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """``sentence_vectors`` of several passages at once (one round trip to a remote store)."""
        ...

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        """The BM25 inverse document frequency of each term over all stored passages."""
        ...

    def document_frequency(self, terms: Iterable[str]) -> dict[str, int]:
        """How many stored passages contain each BM25 term (0: the collection never uses it)."""
        ...

    def search(
        self, vector: np.ndarray | None, terms: Sequence[str] | None, depth: int
    ) -> Candidates:
        """The ``depth`` best passages by vector and/or by terms, scored by both."""
        ...

    def add(self, batch: PassageBatch) -> None: ...

    def remove(self, sources: Iterable[str]) -> list[Document]: ...


class IndexLocation(Protocol):
    """Where an index is kept (``index.directory.IndexDirectory``, ``index.milvus.MilvusLocation``):
    its saves, read whole, and the writers' turns."""

    path: Path
    """A local folder for what is kept beside the index (locks, the chat's uploads, thresholds)."""

    def exists(self) -> bool: ...

    def stamp(self) -> str | None:
        """The live save's name; it changes with every save (None when there is none)."""
        ...

    def load(
        self, running: ModelIdentity, *, config: IndexConfig | None = None, verify: bool = True
    ) -> tuple[str, PassageStore]:
        """The live save and its stamp; refuses one built with another model than ``running``."""
        ...

    def new_store(
        self, identity: ModelIdentity, settings: dict[str, Any], config: IndexConfig | None
    ) -> PassageStore:
        """An empty store; saving it replaces the index."""
        ...

    def writing(self) -> contextlib.AbstractContextManager[None]:
        """Hold the writers' lock for one read-change-save."""
        ...

    def save(self, store: Any) -> str:
        """Make ``store`` (loaded from, or made by, this location) the live save; its stamp."""
        ...

    def discard_if_unused(self) -> None:
        """Remove what a first write that saved nothing left behind."""
        ...
