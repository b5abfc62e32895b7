"""Where things live by default; read by the entry points (CLI, UI, module-level helpers) only."""

from __future__ import annotations

import os
from pathlib import Path

ENV_INDEX_DIR = "RAG_INDEX_DIR"


def default_index_dir() -> Path:
    """``$RAG_INDEX_DIR``, else ``$XDG_CACHE_HOME/rag-quotes/default-index`` (``~/.cache``)."""
    if os.environ.get(ENV_INDEX_DIR):
        return Path(os.environ[ENV_INDEX_DIR]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "rag-quotes" / "default-index"
