"""The systems ``eval.bench_compare`` measures, each built over a ``Corpus`` into a search:
ours, a bare-FAISS floor, txtai and Haystack (these two from the ``bench`` extra, imported only
in the child process that runs them)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.bench_store import _SENTENCE
from rag.analysis import index_terms
from rag.embed import MiniLMEmbedder, bundled_model_dir
from rag.pipeline import RAG
from rag.types import Document, Passage, PassageBatch, content_id

K = 5
BATCH = 2000  # passages per PassageBatch, as eval.bench_store
Search = Callable[[str], list[str]]  # a question -> the ids of its top K passages


@dataclass(frozen=True)
class Corpus:
    """Passages and questions; ``vectors`` (and per-passage sentence vectors) when precomputed."""

    ids: list[str]
    texts: list[str]
    questions: list[str]
    gold: list[str]
    vectors: np.ndarray | None = None
    sentence_vectors: list[np.ndarray] | None = None


def _spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text)] or [(0, len(text))]


def _floor(corpus: Corpus, tmp: Path) -> tuple[float, Search]:
    import faiss

    model = MiniLMEmbedder().load().model
    model.encode(["warm up"])
    started = time.perf_counter()
    vectors = corpus.vectors
    if vectors is None:
        vectors = model.encode(corpus.texts, normalize_embeddings=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    built = time.perf_counter() - started

    def search(question: str) -> list[str]:
        _, rows = index.search(model.encode([question], normalize_embeddings=True), K)
        return [corpus.ids[r] for r in rows[0]]

    return built, search


def _batches(corpus: Corpus) -> Iterator[PassageBatch]:
    """The corpus cut, analysed and with its precomputed vectors, as ``eval.bench_store``."""
    assert corpus.vectors is not None and corpus.sentence_vectors is not None
    for start in range(0, len(corpus.texts), BATCH):
        end = min(start + BATCH, len(corpus.texts))
        documents, passages, terms = [], [], []
        for i in range(start, end):
            text, name = corpus.texts[i], corpus.ids[i]
            doc = Document(content_id(i, text), name, name, text)
            documents.append(doc)
            spans, pid = tuple(_spans(text)), content_id(doc.id, 0)
            passages.append(Passage(pid, doc.id, name, name, text, 0, len(text), 1, spans))
            terms.append(tuple(index_terms(text)))
        sentences = np.concatenate(corpus.sentence_vectors[start:end])
        vectors = corpus.vectors[start:end]
        yield PassageBatch(tuple(documents), tuple(passages), vectors, sentences, tuple(terms))


def _ours(corpus: Corpus, tmp: Path) -> tuple[float, Search]:
    embedder = MiniLMEmbedder().load()
    embedder.encode(["warm up"])
    rag = RAG(tmp / "index", embedder=embedder)
    started = time.perf_counter()
    if corpus.vectors is None:
        rag.index_texts(dict(zip(corpus.ids, corpus.texts)), markdown=False)
    else:
        rag.add_batches(_batches(corpus), fresh=True)
    built = time.perf_counter() - started
    return built, lambda question: [h.passage.source for h in rag.search(question, K)]


def _txtai(corpus: Corpus, tmp: Path) -> tuple[float, Search]:
    from txtai import Embeddings

    # Above 5,000 rows txtai switches to an approximate IVF index; ours and the floor are exact.
    exact = {"components": "IDMap,Flat"}
    config: dict[str, Any] = {"hybrid": True, "content": True, "faiss": exact}
    if corpus.vectors is None:
        config["path"] = str(bundled_model_dir())
    else:
        model = MiniLMEmbedder().load().model
        known = dict(zip(corpus.texts, corpus.vectors))

        def transform(texts: list[str]) -> np.ndarray:  # txtai's hook for external vectors
            encode = model.encode
            return np.stack([known[t] if t in known else encode(t) for t in texts])

        config |= {"method": "external", "transform": transform}
    embeddings = Embeddings(config)
    embeddings.batchtransform(["warm up"])
    started = time.perf_counter()
    embeddings.index([{"id": i, "text": t} for i, t in zip(corpus.ids, corpus.texts)])
    built = time.perf_counter() - started
    return built, lambda question: [r["id"] for r in embeddings.search(question, K)]


def _haystack(corpus: Corpus, tmp: Path) -> tuple[float, Search]:
    from haystack import Document as HDocument
    from haystack import Pipeline
    from haystack.components.embedders import (
        SentenceTransformersDocumentEmbedder,
        SentenceTransformersTextEmbedder,
    )
    from haystack.components.joiners import DocumentJoiner
    from haystack.components.retrievers.in_memory import (
        InMemoryBM25Retriever,
        InMemoryEmbeddingRetriever,
    )
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack.utils import ComponentDevice

    model: dict[str, Any] = {
        "model": str(bundled_model_dir()),
        "device": ComponentDevice.from_str("cpu"),
        "token": None,
        "local_files_only": True,
        "progress_bar": False,
        "normalize_embeddings": True,
    }
    store = InMemoryDocumentStore()
    embedder = SentenceTransformersDocumentEmbedder(**model)
    embedder.warm_up()
    embedder.run([HDocument(content="warm up")])
    started = time.perf_counter()
    if corpus.vectors is None:
        docs = [HDocument(id=i, content=t) for i, t in zip(corpus.ids, corpus.texts)]
        docs = embedder.run(docs)["documents"]
    else:
        docs = [HDocument(id=i, content=t, embedding=v.tolist())
                for i, t, v in zip(corpus.ids, corpus.texts, corpus.vectors)]  # fmt: skip
    store.write_documents(docs)
    built = time.perf_counter() - started

    # Each system fuses as many candidates as it does by default: ours 100 a side, txtai 10 x k,
    # Haystack top_k=10. (At 100 a side Haystack took 7x the floor per question at 646: its
    # store copies every Document it returns through to_dict, embedding included.)
    pipe = Pipeline()
    pipe.add_component("embed", SentenceTransformersTextEmbedder(**model))
    pipe.add_component("dense", InMemoryEmbeddingRetriever(store))
    pipe.add_component("bm25", InMemoryBM25Retriever(store))
    pipe.add_component("join", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=K))
    pipe.connect("embed.embedding", "dense.query_embedding")
    pipe.connect("dense", "join")
    pipe.connect("bm25", "join")
    pipe.warm_up()

    def search(question: str) -> list[str]:
        out = pipe.run({"embed": {"text": question}, "bm25": {"query": question}})
        return [d.id for d in out["join"]["documents"]]

    return built, search


SETUP: dict[str, Callable[[Corpus, Path], tuple[float, Search]]] = {
    "floor": _floor,
    "ours": _ours,
    "txtai": _txtai,
    "haystack": _haystack,
}
