"""Offline question answering with verbatim, cited quotes from your own documents.

Library use::

    import rag
    hits = rag.search("disarmament treaty", k=3)        # default index over the bundled corpus
    answer = rag.ask("When was the interview taken?")
    mine = rag.open_index("my-index", create=True)
    mine.index_paths(["docs/"]); mine.ask("...")
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rag.errors import RagError
from rag.opening import open_index
from rag.pipeline import RAG
from rag.types import Answer, Citation, Document, Hit, Passage, Turn

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


def search(query: str, k: int = 5, *, index_dir: str | Path | None = None) -> list[Hit]:
    """Search the default index (or ``index_dir``); see ``RAG.search``."""
    return open_index(index_dir).search(query, k)


def ask(
    question: str, *, history: Sequence[Turn] = (), k: int = 5, index_dir: str | Path | None = None
) -> Answer:
    """Ask the default index (or ``index_dir``); see ``RAG.ask``."""
    return open_index(index_dir).ask(question, k=k, history=history)
