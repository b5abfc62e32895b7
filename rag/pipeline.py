"""The library's front door: ``RAG`` (one index, in a directory or in Milvus: index, search,
ask, look up) and ``open_index``, the one way to open an index.

    >>> import rag
    >>> default = rag.open_index()   # the index over the bundled corpus, built on first use
    >>> default.search("Who is Russia's foreign minister?", k=3)[0].passage.page
    1

One ``RAG`` can be shared by threads. A write works on a fresh copy of the index read under the
location's writer lock and replaces the searched one only once saved, so searches never wait for
indexing and concurrent writers (threads or processes) lose nothing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from index.contract import PassageStore
from index.location import open_location
from rag import calibration
from rag.analysis import ANALYSER
from rag.answering import Answerer, load_config
from rag.answering.reader import default_reader, use_reader
from rag.config import ChunkConfig, FusionConfig, IndexConfig, check_k, check_mode
from rag.embed import SEPARATE, Embedder, default_embedder, identity_of
from rag.errors import EmptyCorpusError, IndexMismatchError
from rag.indexing import Indexer, IndexReport, remove_files, stored_batches
from rag.ingest import document_from_text
from rag.provenance import SourceCheck
from rag.retrieve import StoreRetriever
from rag.types import Answer, Document, Hit, Passage, PassageBatch, RetrievalMode, Turn

logger = logging.getLogger(__name__)


class RAG:
    """An index with its retriever and answerer. Cheap to make; the index loads on first use
    (``open_index`` loads it at once, and checks it).

    Args:
        index_dir: Where the index lives (created on the first write if missing): a directory,
            or a ``milvus://`` address (``milvus:///abs/path/rag.db`` for a Milvus Lite file,
            ``milvus://host:19530/NAME`` for a server; docs/scale-out.md).
        embedder: The embedding model; the bundled all-MiniLM-L6-v2 by default.
        mode: Default retrieval mode.
        chunk_config, fusion, index_config: Settings for a new index. For an existing one,
            leave them out to use what it was built with; one that differs raises
            ``IndexMismatchError`` instead of being silently ignored.
    """

    def __init__(
        self,
        index_dir: str | Path,
        *,
        embedder: Embedder | None = None,
        mode: RetrievalMode = "hybrid",
        chunk_config: ChunkConfig | None = None,
        fusion: FusionConfig | None = None,
        index_config: IndexConfig | None = None,
    ) -> None:
        self.location = open_location(index_dir)
        self.index_dir = self.location.path
        """A local folder: the index itself, or what a Milvus index keeps beside it (uploads,
        calibration)."""
        self.embedder = embedder or default_embedder()
        self.mode = check_mode(mode)
        self._chunk_config = chunk_config
        self._fusion = fusion
        self._index_config = index_config
        self._store: PassageStore | None = None
        self._stamp: str | None = None
        self._load_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.sources = SourceCheck()
        """Checks cited files for changes since indexing and finds quotes' line numbers."""

    # ----------------------------------------------------------------- the index
    def exists(self) -> bool:
        return self.location.exists()

    @property
    def store(self) -> PassageStore:
        """The index as saved last (reloaded when another process or thread saved since)."""
        if self._store is None or self.location.stamp() != self._stamp:
            with self._load_lock:
                if self._store is None or self.location.stamp() != self._stamp:
                    stamp, store = self.location.load(identity_of(self.embedder))
                    self._check(store)
                    self._store, self._stamp = store, stamp
        return self._store

    @property
    def chunk_config(self) -> ChunkConfig:
        return self._settings()[0]

    @property
    def fusion(self) -> FusionConfig:
        return self._settings()[1]

    def _settings(self) -> tuple[ChunkConfig, FusionConfig]:
        if self.exists():
            recorded = self.store.settings
            return ChunkConfig(**recorded["chunking"]), FusionConfig(**recorded["fusion"])
        return (
            self._chunk_config or ChunkConfig(),
            self._fusion or FusionConfig(),
        )

    def _check(self, store: PassageStore) -> None:
        """Refuse an index built with other settings than the ones this ``RAG`` was asked for."""
        recorded = store.settings
        if recorded.get("analyser") != ANALYSER:
            raise IndexMismatchError(
                f"{self.location} was analysed with {recorded.get('analyser')}, this version "
                f"uses {ANALYSER}: rebuild it with `rag index` into a new directory"
            )
        built = {**recorded, "index": asdict(store.config)}
        asked = (
            ("chunking", self._chunk_config),
            ("fusion", self._fusion),
            ("index", self._index_config),
        )
        for name, config in asked:
            if config is not None and asdict(config) != built.get(name):
                raise IndexMismatchError(
                    f"{self.location} was built with {name} settings {built.get(name)}, not the "
                    f"{asdict(config)} asked for: leave them out to use the index as built, or "
                    "index into a new directory"
                )

    def _new_store(self) -> PassageStore:
        settings: dict[str, Any] = {
            "chunking": asdict(self._chunk_config or ChunkConfig()),
            "fusion": asdict(self._fusion or FusionConfig()),
            "analyser": ANALYSER,
            "sentence_vectors": self.embedder.sentence_vectors,
        }
        return self.location.new_store(identity_of(self.embedder), settings, self._index_config)

    @contextlib.contextmanager
    def _writing(self, *, fresh: bool = False) -> Iterator[PassageStore]:
        """Yield a fresh copy of the up-to-date index for a change, then save it atomically.

        A failed change leaves both the disk and the searched index as they were; a change that
        changed nothing writes nothing.
        """
        with self._write_lock, self.location.writing():
            existed = self.exists()
            if existed and not fresh:
                _, store = self.location.load(identity_of(self.embedder))
                self._check(store)
            else:
                store = self._new_store()
            revision = store.revision
            try:
                yield store
                if store.revision != revision or fresh:
                    stamp = self.location.save(store)
                    with self._load_lock:
                        self._store, self._stamp = store, stamp
            finally:
                if not existed and not self.exists():
                    self.location.discard_if_unused()

    # ------------------------------------------------------------------- writing
    def index_paths(
        self, paths: Iterable[str | Path], *, show_progress: bool = False, fresh: bool = False
    ) -> IndexReport:
        """Index files and folders incrementally (see ``rag.indexing.Indexer.add_files``).

        With ``fresh``, start from an empty index with this ``RAG``'s settings instead (the old
        index stays until the new one is saved).
        """
        paths = list(paths)
        with self._writing(fresh=fresh) as store:
            report = self._indexer(store).add_files(store, paths, show_progress=show_progress)
            if not len(store):
                raise EmptyCorpusError(
                    "nothing could be indexed: "
                    + ("; ".join(str(e) for e in report.skipped) or "no supported files found")
                )
        return report

    def index_texts(self, texts: dict[str, str], *, markdown: bool = True) -> int:
        """Index strings, keyed by a source name of your choosing; returns passages added."""
        docs = [document_from_text(t, source, markdown=markdown) for source, t in texts.items()]
        return self.index_documents(docs)

    def index_documents(
        self, documents: Iterable[Document], *, show_progress: bool = False, fresh: bool = False
    ) -> int:
        """Index documents already read (``rag.ingest``), replacing any of the same source;
        returns passages added. ``fresh`` replaces the whole index, as for ``index_paths``."""
        with self._writing(fresh=fresh) as store:
            return self._indexer(store).add_documents(store, documents, show_progress=show_progress)

    def copy_from(self, source: RAG, *, show_progress: bool = False) -> int:
        """Replace this index with a copy of ``source`` (another directory or Milvus index),
        vectors and all, nothing encoded again; returns the passages copied. Make this ``RAG``
        with ``source``'s settings (``rag migrate`` does)."""
        batches = stored_batches(source.store)
        progress = tqdm(batches, desc="Copying", unit="batch", disable=not show_progress)
        return self.add_batches(progress, fresh=True)

    def add_batches(self, batches: Iterable[PassageBatch], *, fresh: bool = False) -> int:
        """Store passages already cut, encoded and analysed (vectors computed elsewhere, or
        copied), in one save; returns how many passages the index holds. Their vectors must
        come from this ``RAG``'s embedder."""
        with self._writing(fresh=fresh) as store:
            for batch in batches:
                store.add(batch)
            return len(store)

    def remove(self, paths: Iterable[str | Path]) -> IndexReport:
        """Drop documents by path (a folder drops everything under it)."""
        with self._writing() as store:
            return remove_files(store, paths)

    def _indexer(self, store: PassageStore) -> Indexer:
        recorded = store.settings.get("sentence_vectors", SEPARATE)  # unrecorded: made before
        return Indexer(self.embedder, ChunkConfig(**store.settings["chunking"]), recorded)

    # ------------------------------------------------------------------- reading
    def documents(self) -> list[Document]:
        """The indexed documents, by source."""
        return sorted(self.store.documents(), key=lambda d: d.source)

    def document(self, doc_id: str) -> Document | None:
        return self.store.document(doc_id)

    def passages(self) -> list[Passage]:
        """Every indexed passage, documents in indexing order, each in reading order."""
        return self.store.passages()

    def context(self, passage: Passage, n: int = 1) -> list[Passage]:
        """``passage`` with up to ``n`` passages of its document on each side (alone if it was
        removed since it was retrieved)."""
        same = self.store.passages_of(passage.doc_id)
        i = next((j for j, p in enumerate(same) if p.id == passage.id), None)
        if i is None:
            return [passage]
        return same[max(0, i - n) : i + n + 1]

    def retriever(self, mode: RetrievalMode | None = None) -> StoreRetriever:
        return self._retriever(self.store, mode)

    def answerer(
        self, mode: RetrievalMode | None = None, *, reader: bool | None = None
    ) -> Answerer:
        """The answerer over the current index; with ``reader``, the learned reader reads the
        best passages (``rag.answering.reader``; None: the default, see ``use_reader``)."""
        store = self.store  # one snapshot for retrieval and lookups alike
        return Answerer(
            self._retriever(store, mode),
            store,
            self.embedder,
            reader=default_reader() if use_reader(reader) else None,
        )

    def _retriever(self, store: PassageStore, mode: RetrievalMode | None) -> StoreRetriever:
        return StoreRetriever(
            store,
            self.embedder,
            mode=mode or self.mode,
            fusion=FusionConfig(**store.settings["fusion"]),
        )

    def search(self, query: str, k: int = 5, *, mode: RetrievalMode | None = None) -> list[Hit]:
        """The ``k`` best passages for ``query``, highest score first; a warning is logged for
        each source file that changed or vanished since it was indexed."""
        store = self.store  # one snapshot for retrieval and lookups alike
        hits = self._retriever(store, mode).search(query, check_k(k))
        self.stale_warnings(hits, store)
        return hits

    def ask(
        self,
        question: str,
        *,
        k: int = 5,
        history: Sequence[Turn] = (),
        mode: RetrievalMode | None = None,
        strictness: float | None = None,
        reader: bool | None = None,
        explain: bool = False,
    ) -> Answer:
        """Answer ``question`` with verbatim quotes from the documents, or abstain; ``reader``
        reads the best passages with the learned reader for the answer span (None: the
        default, ``rag.answering.reader.use_reader``); ``explain`` attaches the trace of the
        decision (``Answer.explanation``: scores, matched terms, coverage gaps, verdict)."""
        answerer = self.answerer(mode, reader=reader)
        if strictness is None:
            strictness = self.calibrated_threshold(reader)
        answer = answerer.ask(
            question, k=k, history=history, strictness=strictness, explain=explain
        )
        store = answerer.store
        cited = {}
        for c in answer.citations:
            document = store.document(store.passage(c.passage_id).doc_id)
            if document is not None:  # check_citations has made sure it is
                cited[c.source] = document
        return self.sources.annotate(answer, cited)

    def calibrated_threshold(self, reader: bool | None = None) -> float | None:
        """The threshold ``rag calibrate`` stored with this index for the answering method
        (the reader's or the sentence scorer's), or None when it was never calibrated."""
        found = calibration.load_thresholds(self.index_dir).get(answering_method(reader))
        return found.threshold if found is not None else None

    def threshold(self, reader: bool | None = None) -> float:
        """The confidence threshold ``ask`` uses by default: the calibrated one, else the one
        fitted on training data and shipped (``rag.answering.load_config``)."""
        calibrated = self.calibrated_threshold(reader)
        if calibrated is not None:
            return calibrated
        config = load_config()
        return (config.reader if use_reader(reader) else config.abstention).threshold

    def stale_warnings(self, hits: Sequence[Hit], store: PassageStore | None = None) -> list[str]:
        """A warning per file among the hits' sources that changed or vanished since indexed.

        Args:
            hits: Hits of a search.
            store: The snapshot they came from (default: the current one). A writer may swap
                in a new snapshot meanwhile, without some of the hits' documents.
        """
        store = store or self.store
        documents = {}
        for h in hits:
            document = store.document(h.passage.doc_id)
            if document is not None:
                documents[h.passage.source] = document
        return self.sources.stale_hits(list(hits), documents)


def answering_method(reader: bool | None = None) -> str:
    """The name a threshold is kept under: "reader" or "sentence scorer"."""
    return "reader" if use_reader(reader) else "sentence scorer"
