"""``open_index``: the one way to open an index, the default one or any directory.

It checks the index against the running model and the settings asked for (``RAG`` raises
``IndexMismatchError`` on a difference) and keeps each opened index for the life of the process,
so ``rag.search(..., index_dir=d)`` in a loop loads and verifies ``d`` once, not per call (a save
by anyone is still picked up: ``RAG.store`` reloads when the directory's snapshot changes).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from index.milvus_schema import is_milvus_address
from rag.config import ChunkConfig, FusionConfig, IndexConfig, default_index_dir
from rag.embed import Embedder
from rag.errors import IndexMismatchError, IndexNotFoundError
from rag.pipeline import RAG
from rag.types import RetrievalMode

logger = logging.getLogger(__name__)

DEFAULT_CORPUS_DIR = Path(__file__).resolve().parent / "data" / "corpus"
"""The bundled corpus the chat answers about out of the box."""

_opened: dict[tuple[object, ...], RAG] = {}
_opening = threading.Lock()


def open_index(
    index_dir: str | Path | None = None,
    *,
    create: bool = False,
    embedder: Embedder | None = None,
    mode: RetrievalMode = "hybrid",
    chunk_config: ChunkConfig | None = None,
    fusion: FusionConfig | None = None,
    index_config: IndexConfig | None = None,
) -> RAG:
    """Open the index at ``index_dir``, or the default index over the bundled corpus.

    Args:
        index_dir: An index directory or a ``milvus://`` address; None for the default one
            (``$RAG_INDEX_DIR`` or ``~/.cache/rag-quotes/default-index``), which is built on
            first use and rebuilt when it was made by another model or version.
        create: Allow a directory that holds no index yet (the first write makes it).
        embedder, mode, chunk_config, fusion, index_config: As for ``RAG``.

    Raises:
        IndexNotFoundError: No index at ``index_dir`` (and not ``create``).
        IndexMismatchError: Built with another model, format or settings than asked for.
        IndexCorruptError: A file of the index is missing or damaged.
    """
    default = index_dir is None
    path: str | Path
    if is_milvus_address(index_dir or ""):
        path = str(index_dir)
    else:
        path = (
            (default_index_dir() if index_dir is None else Path(index_dir)).expanduser().resolve()
        )
    key = (path, embedder, mode, chunk_config, fusion, index_config)
    with _opening:
        rag = _opened.get(key)
        if rag is None:
            rag = RAG(
                path,
                embedder=embedder,
                mode=mode,
                chunk_config=chunk_config,
                fusion=fusion,
                index_config=index_config,
            )
            if default:
                _ensure_default_corpus(rag)
        if not default and (rag.exists() or not create):
            rag.store  # noqa: B018 - load and check (once; later only a stamp read)
        _opened[key] = rag
        return rag


def _ensure_default_corpus(rag: RAG) -> None:
    """Index the bundled corpus into ``rag`` unless it is there already."""
    try:
        if rag.exists() and all(rag.store.document_by_source(str(p)) for p in _corpus_files()):
            return
        fresh = False
    except IndexMismatchError as e:  # a cache of the bundled corpus: rebuilding loses nothing
        logger.warning("rebuilding the default index: %s", e)
        fresh = True
    logger.info("building the default index in %s", rag.index_dir)
    rag.index_paths([DEFAULT_CORPUS_DIR], fresh=fresh)


def _corpus_files() -> list[Path]:
    files = sorted(p for p in DEFAULT_CORPUS_DIR.iterdir() if p.is_file())
    if not files:
        raise IndexNotFoundError(f"the bundled corpus is missing from {DEFAULT_CORPUS_DIR}")
    return files
