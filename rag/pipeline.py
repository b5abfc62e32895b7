"""The library's front door: open an index directory (or the default one), index, search, ask.

    >>> from rag import RAG
    >>> rag = RAG.open_default()
    >>> rag.search("Who is Russia's foreign minister?", k=3)[0].passage.page
    1

One ``RAG`` can be shared by threads. Writes take an exclusive file lock on the index directory
and re-read it first when another process changed it, so concurrent writers lose nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from index.manifest import MANIFEST
from index.store import PassageIndex
from rag.config import ChunkConfig, FusionConfig, IndexConfig, check_k
from rag.embed import Embedder, default_embedder
from rag.errors import EmptyCorpusError, IndexNotFoundError, IndexStoreError
from rag.indexing import IndexReport, index_files, remove_files
from rag.ingest import document_from_text
from rag.retrieve import Retriever
from rag.types import Answer, Document, Hit, RetrievalMode, Turn

logger = logging.getLogger(__name__)

DEFAULT_CORPUS_DIR = Path(__file__).resolve().parent / "data" / "corpus"


class RAG:
    """An index directory with its retriever and answerer.

    Args:
        index_dir: Where the index lives (created on the first write if missing).
        embedder: The embedding model; the bundled all-MiniLM-L6-v2 by default.
        mode: Default retrieval mode.
    """

    def __init__(
        self,
        index_dir: str | Path,
        *,
        embedder: Embedder | None = None,
        mode: RetrievalMode = "hybrid",
        chunk_config: ChunkConfig | None = None,
        index_config: IndexConfig | None = None,
        fusion: FusionConfig | None = None,
    ) -> None:
        self.index_dir = Path(index_dir).expanduser().resolve()
        self.embedder = embedder or default_embedder()
        self.mode = mode
        self._configs = (chunk_config, index_config, fusion)
        self._index: PassageIndex | None = None
        self._stamp: str | None = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, index_dir: str | Path, **kwargs: object) -> RAG:
        """Open an existing index; raises ``IndexNotFoundError`` if there is none."""
        rag = cls(index_dir, **kwargs)  # type: ignore[arg-type]
        rag.index  # noqa: B018 - load now so a missing or damaged index fails here
        return rag

    @classmethod
    def open_default(cls, index_dir: str | Path, **kwargs: object) -> RAG:
        """Open the index at ``index_dir``, first indexing the bundled corpus into it if needed."""
        rag = cls(index_dir, **kwargs)  # type: ignore[arg-type]
        if rag.exists():
            current = rag.index.document_by_source(str(DEFAULT_CORPUS_DIR / _corpus_file()))
            if current is not None:
                return rag
        logger.info("building the default index in %s", rag.index_dir)
        rag.index_paths([DEFAULT_CORPUS_DIR])
        return rag

    def exists(self) -> bool:
        return (self.index_dir / MANIFEST).is_file()

    @property
    def index(self) -> PassageIndex:
        with self._lock:
            if self._index is None or self._stale():
                with self._file_lock(shared=True):
                    self._load()
            assert self._index is not None
            return self._index

    def _load(self) -> None:
        self._index = PassageIndex.load(self.index_dir, self.embedder)
        self._stamp = self._disk_stamp()

    def _new_index(self) -> PassageIndex:
        chunk_config, index_config, fusion = self._configs
        return PassageIndex(
            self.embedder, chunk_config=chunk_config, index_config=index_config, fusion=fusion
        )

    def _disk_stamp(self) -> str | None:
        try:
            stat = (self.index_dir / MANIFEST).stat()
        except FileNotFoundError:
            return None
        return f"{stat.st_mtime_ns}:{stat.st_ino}"

    def _stale(self) -> bool:
        return self._disk_stamp() != self._stamp

    @contextlib.contextmanager
    def _file_lock(self, *, shared: bool) -> Iterator[None]:
        lock_path = self.index_dir.parent / f".{self.index_dir.name}.lock"
        try:
            self.index_dir.parent.mkdir(parents=True, exist_ok=True)
            lock_file = lock_path.open("a")
        except OSError as e:
            raise IndexStoreError(
                f"cannot use {self.index_dir} as an index directory ({e.strerror or e}): "
                "choose a folder you can write to"
            ) from e
        with lock_file as f:
            fcntl.flock(f, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[PassageIndex]:
        """Yield a fresh copy of the up-to-date index for a change, then save it atomically.

        The change is made to a copy read from disk, never to the index that searches in other
        threads are reading; it replaces that one only once saved. A failed change leaves both
        the disk and the loaded index as they were.
        """
        with self._lock, self._file_lock(shared=False):
            index = (
                PassageIndex.load(self.index_dir, self.embedder)
                if self.exists()
                else self._new_index()
            )
            yield index
            index.save(self.index_dir)
            self._index = index
            self._stamp = self._disk_stamp()

    # ----------------------------------------------------------------- writing
    def index_paths(
        self, paths: Iterable[str | Path], *, show_progress: bool = False
    ) -> IndexReport:
        """Index files and folders incrementally (see ``rag.indexing.index_files``)."""
        paths = list(paths)
        with self._writing() as index:
            report = index_files(index, paths, show_progress=show_progress)
            if not index.passages:
                raise EmptyCorpusError(
                    "nothing could be indexed: "
                    + ("; ".join(str(e) for e in report.skipped) or "no supported files found")
                )
        return report

    def index_texts(self, texts: dict[str, str], *, markdown: bool = True) -> int:
        """Index strings, keyed by a source name of your choosing; returns passages added."""
        docs = [document_from_text(t, source, markdown=markdown) for source, t in texts.items()]
        return self.index_documents(docs)

    def index_documents(self, documents: Iterable[Document], *, show_progress: bool = False) -> int:
        """Index documents already read (``rag.ingest``), replacing any of the same source;
        returns passages added."""
        with self._writing() as index:
            return len(index.add(documents, show_progress=show_progress))

    def remove(self, paths: Iterable[str | Path]) -> IndexReport:
        """Drop documents by path (a folder drops everything under it)."""
        with self._writing() as index:
            return remove_files(index, paths)

    # ----------------------------------------------------------------- reading
    def documents(self) -> list[Document]:
        return sorted(self.index.documents.values(), key=lambda d: d.source)

    def retriever(self, mode: RetrievalMode | None = None) -> Retriever:
        return Retriever(self.index, mode=mode or self.mode)

    def search(self, query: str, k: int = 5, *, mode: RetrievalMode | None = None) -> list[Hit]:
        """The ``k`` best passages for ``query``, highest score first."""
        return self.retriever(mode).search(query, check_k(k))

    def ask(
        self,
        question: str,
        *,
        k: int = 5,
        history: Sequence[Turn] = (),
        mode: RetrievalMode | None = None,
        strictness: float | None = None,
    ) -> Answer:
        """Answer ``question`` with verbatim quotes from the documents, or abstain."""
        from rag.answer import Answerer

        return Answerer(self.retriever(mode)).ask(
            question, k=k, history=history, strictness=strictness
        )


def _corpus_file() -> str:
    files = sorted(p.name for p in DEFAULT_CORPUS_DIR.iterdir() if p.is_file())
    if not files:
        raise IndexNotFoundError(f"the bundled corpus is missing from {DEFAULT_CORPUS_DIR}")
    return files[0]
