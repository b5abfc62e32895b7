"""Where an index lives: a directory (the default) or a ``milvus://`` address."""

from __future__ import annotations

import os
from pathlib import Path

from index.contract import IndexLocation
from index.directory import IndexDirectory
from index.milvus_schema import is_milvus_address


def open_location(where: str | os.PathLike[str]) -> IndexLocation:
    """The location ``where`` names: ``milvus://...`` is a Milvus index
    (``index.milvus.MilvusLocation``, needs the ``milvus`` extra), anything else a directory."""
    if is_milvus_address(where):
        from index.milvus import MilvusLocation

        return MilvusLocation(str(where))
    return IndexDirectory(Path(where))
