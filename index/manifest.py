"""``manifest.json``: what built an index, so loading can refuse one the running code cannot use."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from index.contract import ModelIdentity
from index.errors import IndexCorruptError, IndexMismatchError

FORMAT_VERSION = 2
"""2: terms stored beside BM25 (the store no longer tokenises), snapshots behind ``CURRENT``."""
MANIFEST = "manifest.json"
_VERSIONED_PACKAGES = (
    "rag-quotes",
    "faiss-cpu",
    "bm25s",
    "sentence-transformers",
    "torch",
    "numpy",
)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    versions = {}
    for name in _VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass(frozen=True)
class Manifest:
    model_name: str
    model_sha256: str
    dimension: int
    index_type: str
    passages: int
    documents: int
    settings: dict[str, Any]
    """Recorded by the stages above (chunking, fusion) and checked by them on open."""
    index: dict[str, Any]
    metric: str = "inner_product"
    format_version: int = FORMAT_VERSION
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    versions: dict[str, str] = field(default_factory=package_versions)
    files: dict[str, str] = field(default_factory=dict)

    def write(self, directory: Path) -> None:
        (directory / MANIFEST).write_text(json.dumps(asdict(self), indent=2, sort_keys=True))

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise IndexCorruptError(f"cannot read {path}: {e}") from e
        except ValueError as e:
            raise IndexCorruptError(
                f"{path} is damaged ({e}); rebuild the index with `rag index`"
            ) from e
        version = data.get("format_version") if isinstance(data, dict) else None
        if version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"{directory} has index format {version}, this version reads "
                f"{FORMAT_VERSION}: rebuild it with `rag index` into a new directory"
            )
        try:
            return cls(**data)
        except TypeError as e:
            raise IndexCorruptError(
                f"{path} is damaged ({e}); rebuild the index with `rag index`"
            ) from e

    @property
    def identity(self) -> ModelIdentity:
        return ModelIdentity(self.model_name, self.model_sha256, self.dimension)

    def check_model(self, running: ModelIdentity, directory: Path) -> None:
        """Refuse an index built with another embedding model than the running one."""
        if self.identity != running:
            raise IndexMismatchError(
                f"{directory} was built with {self.model_name} (sha256 {self.model_sha256[:12]}…, "
                f"dim {self.dimension}) but the running model is {running.name} "
                f"(sha256 {running.sha256[:12]}…, dim {running.dimension}): "
                f"rebuild it with `rag index --index-dir {directory} ...`"
            )

    def check_files(self, directory: Path) -> None:
        """Refuse an index whose files are missing or do not match their recorded checksums."""
        for name, expected in self.files.items():
            path = directory / name
            if not path.is_file():
                raise IndexCorruptError(f"{directory} is damaged: {name} is missing; rebuild it")
            if file_sha256(path) != expected:
                raise IndexCorruptError(
                    f"{directory} is damaged: {name} does not match its checksum; rebuild it"
                )
