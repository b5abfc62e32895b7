"""Offline question answering with verbatim, cited quotes from your own documents.

Library use::

    import rag
    hits = rag.search("disarmament treaty", k=3)        # default index over the bundled corpus
    answer = rag.ask("When was the interview taken?")
    mine = rag.RAG("my-index"); mine.index_paths(["docs/"]); mine.ask("...")
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import RagError
from rag.types import Answer, Citation, Document, Hit, Passage, Turn

if TYPE_CHECKING:
    from rag.pipeline import RAG

__all__ = [
    "RAG",
    "Answer",
    "Citation",
    "Document",
    "Hit",
    "Passage",
    "RagError",
    "Turn",
    "ask",
    "open_index",
    "search",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The pipeline pulls in FAISS, bm25s and the index package; load it only when asked for, which
    # also lets ``index`` import ``rag.config`` without a cycle.
    if name == "RAG":
        from rag.pipeline import RAG

        return RAG
    raise AttributeError(f"module 'rag' has no attribute {name!r}")


_default: RAG | None = None
_default_lock = threading.Lock()


def open_index(index_dir: str | Path | None = None) -> RAG:
    """Open ``index_dir``, or the default index over the bundled corpus (built on first use)."""
    global _default
    from rag.pipeline import RAG

    if index_dir is not None:
        return RAG.open(index_dir)
    from rag.settings import default_index_dir

    with _default_lock:
        if _default is None:
            _default = RAG.open_default(default_index_dir())
        return _default


def search(query: str, k: int = 5, *, index_dir: str | Path | None = None) -> list[Hit]:
    """Search the default index (or ``index_dir``); see ``RAG.search``."""
    return open_index(index_dir).search(query, k)


def ask(
    question: str, *, history: Sequence[Turn] = (), k: int = 5, index_dir: str | Path | None = None
) -> Answer:
    """Ask the default index (or ``index_dir``); see ``RAG.ask``."""
    return open_index(index_dir).ask(question, k=k, history=history)
