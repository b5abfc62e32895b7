"""How the indexing stage makes sentence vectors: the embedder's one-pass way for a new index, the
way an existing index recorded for additions to it."""

from __future__ import annotations

import numpy as np
import pytest

from rag.config import ChunkConfig
from rag.embed import SEPARATE
from rag.errors import IndexMismatchError
from rag.indexing import Indexer
from rag.ingest import document_from_text
from rag.pipeline import RAG
from tests.conftest import FakeEmbedder

TEXT = "The treaty was signed in Moscow. It limits warheads to 1,550.\n\nA second paragraph here."


class PooledFake(FakeEmbedder):
    """Makes sentence vectors its own way: every sentence gets its passage's vector."""

    sentence_vectors = "pooled-fake"

    def encode_passages(self, texts, sentences, *, show_progress=False):  # noqa: ANN001, ANN201
        vectors = self.encode(texts)
        return vectors, np.repeat(vectors, [len(s) for s in sentences], axis=0)


def _sentences_alone(embedder: FakeEmbedder, rag: RAG, source: str) -> tuple[np.ndarray, ...]:
    passages = [p for p in rag.store.passages() if p.source == source]
    stored = rag.store.sentence_vectors_of([p.id for p in passages])
    return tuple(
        (stored[p.id], embedder.encode(p.sentence_texts()), embedder.encode([p.text]))
        for p in passages
    )


def test_a_new_index_records_and_uses_the_embedders_own_way(tmp_path) -> None:
    embedder = PooledFake()
    rag = RAG(tmp_path / "idx", embedder=embedder)
    rag.index_texts({"a.txt": TEXT})
    assert rag.store.settings["sentence_vectors"] == "pooled-fake"
    for stored, _, passage in _sentences_alone(embedder, rag, "a.txt"):
        np.testing.assert_allclose(stored, np.repeat(passage, len(stored), axis=0), atol=1e-3)


def test_additions_to_an_index_follow_the_way_it_recorded(tmp_path) -> None:
    RAG(tmp_path / "idx", embedder=FakeEmbedder()).index_texts({"a.txt": TEXT})
    embedder = PooledFake()  # the same model identity, another way of making sentence vectors
    rag = RAG(tmp_path / "idx", embedder=embedder)
    rag.index_texts({"b.txt": TEXT.replace("Moscow", "Geneva")})
    assert rag.store.settings["sentence_vectors"] == SEPARATE
    for stored, alone, _ in _sentences_alone(embedder, rag, "b.txt"):
        np.testing.assert_allclose(stored, alone, atol=1e-3)  # half precision


def test_an_index_recording_no_way_was_made_separately() -> None:
    indexer = Indexer(PooledFake(), ChunkConfig(), SEPARATE)
    batch = indexer.batch([document_from_text(TEXT, "a.txt")])
    texts = [t for p in batch.passages for t in p.sentence_texts()]
    np.testing.assert_allclose(batch.sentence_vectors, PooledFake().encode(texts), atol=1e-6)


def test_an_index_that_recorded_no_way_gets_additions_made_separately(tmp_path) -> None:
    from types import SimpleNamespace

    rag = RAG(tmp_path / "idx", embedder=PooledFake())
    rag.index_texts({"a.txt": TEXT})
    recorded = dict(rag.store.settings)
    assert rag._indexer(SimpleNamespace(settings=recorded)).sentence_vectors == "pooled-fake"
    del recorded["sentence_vectors"]  # as an index made before the key existed
    assert rag._indexer(SimpleNamespace(settings=recorded)).sentence_vectors == SEPARATE


def test_a_way_the_embedder_cannot_follow_is_refused() -> None:
    with pytest.raises(IndexMismatchError, match="rebuild"):
        Indexer(FakeEmbedder(), ChunkConfig(), "in-passage-mean/1")
