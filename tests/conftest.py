"""Shared fixtures: no network, a fake embedder for unit tests, the real model for the rest."""

from __future__ import annotations

import hashlib
import os
import re
import socket
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RAG_SHARED_DATA", REPO.parent / "shared" / "data"))
CORPUS_FILE = REPO / "rag" / "data" / "corpus" / "security-index-2008-lavrov-interview.txt"

_LOOPBACK = ("127.", "::1", "localhost")


@pytest.fixture(autouse=True)
def block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection that leaves the machine: the product must work offline.

    Loopback stays open for the tests that drive the local web app.
    """
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family == socket.AF_UNIX or str(host).startswith(_LOOPBACK):
            return real_connect(self, address)
        raise RuntimeError(f"network access attempted in a test: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def real_model_only_when_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """A test that loads the bundled model must say so (``@pytest.mark.model``), so that
    ``pytest -m "not model"`` runs only the fast tests; an unmarked test that loads it fails."""
    if request.node.get_closest_marker("model") is not None:
        return
    from rag.embed import MiniLMEmbedder

    def refuse(self: MiniLMEmbedder) -> MiniLMEmbedder:
        raise AssertionError("this test loads the real model: mark it @pytest.mark.model")

    monkeypatch.setattr(MiniLMEmbedder, "load", refuse)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the real model through a fixture are marked ``model`` for it."""
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)


MODEL_FIXTURES = {"real_embedder"}
"""``item.fixturenames`` holds every fixture a test needs, directly or through another."""


class FakeEmbedder:
    """Deterministic bag-of-words hashing embedder: texts sharing words get similar vectors."""

    name = "fake-hash-embedder"
    sha256 = "0" * 64
    dimension = 64
    max_tokens = 256
    sentence_vectors = "separate"  # rag.embed.SEPARATE: every sentence encoded on its own

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "little")
                out[i] += np.random.default_rng(seed).standard_normal(self.dimension)
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else np.eye(self.dimension, dtype=np.float32)[0]
        return out

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"\w+|[^\w\s]", text))

    def encode_passages(
        self,
        texts: list[str],
        sentences: list[list[tuple[int, int]]],
        *,
        show_progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        from rag.embed import encode_separately

        return encode_separately(self, texts, sentences, show_progress=show_progress)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(params=["directory", "milvus"])
def index_location(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a test's index lives: a directory, then (the same test again) a Milvus Lite file."""
    if request.param == "milvus":
        return f"milvus://{tmp_path}/index.db"
    return tmp_path / "idx"


@pytest.fixture(scope="session")
def real_embedder():  # noqa: ANN201
    """The bundled all-MiniLM-L6-v2, loaded once for the session."""
    from rag.embed import MiniLMEmbedder

    return MiniLMEmbedder().load()


@pytest.fixture(scope="session")
def default_rag(real_embedder, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN001, ANN201
    """A RAG over the bundled corpus with the real model, built once for the session."""
    from rag.opening import DEFAULT_CORPUS_DIR
    from rag.pipeline import RAG

    rag = RAG(tmp_path_factory.mktemp("default") / "index", embedder=real_embedder)
    rag.index_paths([DEFAULT_CORPUS_DIR])
    return rag


def build_store(embedder, texts: dict[str, str], config=None, **settings):  # noqa: ANN001, ANN003, ANN201
    """An in-memory store holding ``texts`` (source -> text), indexed by the real pipeline;
    ``settings`` are recorded with it as the pipeline would, ``config`` is the store's own."""
    from index.passages import PassageIndex
    from rag.analysis import ANALYSER
    from rag.config import ChunkConfig
    from rag.embed import identity_of
    from rag.indexing import Indexer
    from rag.ingest import document_from_text

    store = PassageIndex(identity_of(embedder), {"analyser": ANALYSER, **settings}, config)
    docs = [document_from_text(text, source) for source, text in texts.items()]
    Indexer(embedder, ChunkConfig()).add_documents(store, docs)
    return store


def assert_verbatim(answer, rag) -> None:  # noqa: ANN001
    """The citation invariant, checked from outside: each quote is its document's text at its
    offsets, on the page it names, and the short answer lies inside the first quote."""
    for c in answer.citations:
        document = next(d for d in rag.documents() if d.source == c.source)
        assert c.quote == document.text[c.start : c.end], c
        assert c.page == document.page_at(c.start), c
    if answer.short_answer_span is not None:
        start, end = answer.short_answer_span
        first = answer.citations[0]
        assert first.start <= start < end <= first.end
        assert first.quote[start - first.start : end - first.start] == answer.short_answer


def _write_files(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def write_files():  # noqa: ANN201
    """``write_files(folder, {name: text})`` creates the folder with those UTF-8 files."""
    return _write_files


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared evaluation data not found at {SHARED_DATA} (set RAG_SHARED_DATA)")
    return SHARED_DATA
