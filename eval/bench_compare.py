"""Comparison benchmark: our index and search against txtai, Haystack and a bare-FAISS floor, on
the same passages and questions on this machine (noisy: only ratios to the floor travel).

    python -m eval.bench_compare [--sizes 646 20000] [--questions 200] [--repeat 3]

Needs the ``bench`` extra (``pip install -e '.[bench]'``). Four systems, each run per size and
repetition in a fresh process, interleaved (the order rotates each repetition):

- ``floor``: ``SentenceTransformer.encode`` of the passages and a ``faiss.IndexFlatIP``; per
  question, one encode and one FAISS search (dense only).
- ``ours``: ``RAG.index_texts`` into a directory index, then ``RAG.search`` (hybrid). Its index
  time includes saving the index to disk; txtai's and Haystack's indexes stay in memory.
- ``txtai``: ``txtai.Embeddings`` (hybrid BM25 + dense, content stored).
- ``haystack``: an ``InMemoryDocumentStore`` written by ``SentenceTransformersDocumentEmbedder``;
  per question a pipeline of text embedder, BM25 and embedding retrievers, and a reciprocal-rank
  ``DocumentJoiner``.

All use the bundled all-MiniLM-L6-v2 directory, offline, on the CPU with one thread (so that
other load on the machine does not add OpenMP spin-waits); model loading is outside every timer.
At 646 passages (the SQuAD 2.0 half's paragraphs) the index time includes encoding, and its ratio
is to the floor's encode in the same repetition; Recall@5 is whether the paragraph a question was
asked about is among the top 5. Larger sizes add the training pool's paragraphs
under new names (as ``eval.bench_store``) and hand every system vectors encoded once by the
parent (cached in ``~/.cache/bench_compare``): index time there excludes encoding, questions are
still encoded for real. Per-question p50/p95 are over ``--questions`` answerable questions, one at
a time, after a warm-up. The table shows medians over repetitions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.bench_store import _SENTENCE, _paragraphs
from eval.datasets import load_squad
from eval.tuning import DEFAULT_DATA
from rag.analysis import index_terms
from rag.embed import MiniLMEmbedder, bundled_model_dir
from rag.pipeline import RAG
from rag.types import Document, Passage, PassageBatch, content_id

SYSTEMS = ("floor", "ours", "txtai", "haystack")
SQUAD_HALF = 646  # paragraphs in the SQuAD 2.0 evaluation half
K = 5
WARMUP = 5  # questions asked before timing: first calls pay for lazy setup
BATCH = 2000  # passages per PassageBatch, as eval.bench_store
CACHE = Path.home() / ".cache" / "bench_compare"
CHILD_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HAYSTACK_TELEMETRY_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    # One thread each: with any other load on these two cores, two OpenMP threads spin-waiting
    # for each other made one question's encoding 50-470 ms instead of 13 ms.
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}

COLUMNS = [  # key, format, width, as under the table's header
    ("index_s", ".2f", 7),
    ("index_x", ".2f", 11),
    ("p50_ms", ".1f", 6),
    ("p95_ms", ".1f", 6),
    ("p50_x", ".2f", 9),
    ("p95_x", ".2f", 9),
    ("recall", ".3f", 4),
]
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


def _corpus(data: Path, size: int, n: int) -> Corpus:
    dataset = load_squad(data / "squad2-dev-half" / "squad2_dev_half.json")
    answerable = [q for q in dataset.questions if q.answerable][:n]
    questions = [q.question for q in answerable]
    gold = [q.gold_doc_ids[0] for q in answerable]
    if size == SQUAD_HALF:
        text_of = {d.id: d.text for d in dataset.documents}
        spans = dataset.paragraph_spans
        return Corpus(list(spans), [text_of[d][a:b] for d, a, b in spans.values()], questions, gold)
    texts = [text for _, text in _paragraphs(data, size)]
    ids = [f"paragraph-{i:06d}" for i in range(size)]
    return Corpus(ids, texts, questions, gold, *_precomputed(texts))


def _precomputed(texts: list[str]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Passage and sentence vectors from the real model, each distinct text encoded once, ever."""
    distinct = list(dict.fromkeys(texts))
    key = hashlib.sha256("\0".join([MiniLMEmbedder.sha256, *distinct]).encode()).hexdigest()
    files = CACHE / f"{key[:16]}-passages.npy", CACHE / f"{key[:16]}-sentences.npy"
    spans = [_spans(t) for t in distinct]
    if not all(f.exists() for f in files):
        print(f"encoding {len(distinct)} distinct paragraphs once, into {CACHE}", flush=True)
        vectors = MiniLMEmbedder().load().encode_passages(distinct, spans, show_progress=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        for file, array in zip(files, vectors):
            np.save(file, array, allow_pickle=False)
    passages, sentences = (np.load(f, allow_pickle=False) for f in files)
    starts = np.cumsum([0] + [len(s) for s in spans])
    row = {t: i for i, t in enumerate(distinct)}
    rows = [row[t] for t in texts]
    return passages[rows], [sentences[starts[r] : starts[r + 1]] for r in rows]


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


def child(system: str, data: Path, size: int, n: int) -> dict[str, Any]:
    """Build one system's index and time its questions; the parent reads the returned JSON."""
    corpus = _corpus(data, size, n)
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        built, search = SETUP[system](corpus, Path(tmp))
        for question in corpus.questions[:WARMUP]:
            search(question)
        times, found = [], 0
        for question, gold in zip(corpus.questions, corpus.gold):
            started = time.perf_counter()
            top = search(question)
            times.append(time.perf_counter() - started)
            found += gold in top
    ordered = sorted(times)
    return {
        "index_s": built,
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
        "recall": found / len(times) if size == SQUAD_HALF else None,
    }


def _run(system: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, "-m", "eval.bench_compare", "--child", system, "--sizes", str(size),
               "--questions", str(args.questions), "--data", str(args.data)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **CHILD_ENV})
    if done.returncode:
        sys.exit(f"{system} at {size} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(runs: list[dict[str, Any]], key: str, form: str) -> str:
    values = [r[key] for r in runs if r.get(key) is not None]
    return format(statistics.median(values), form) if values else "-"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sizes", type=int, nargs="+", default=[SQUAD_HALF, 20_000])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.data, args.sizes[0], args.questions)))
        return
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for size in args.sizes:
        if size != SQUAD_HALF:
            _corpus(args.data, size, args.questions)  # encodes the distinct texts once
        for rep in range(args.repeat):
            order = SYSTEMS[rep % len(SYSTEMS) :] + SYSTEMS[: rep % len(SYSTEMS)]
            found = {system: _run(system, size, args) for system in order}
            floor = found["floor"]
            for system, run in found.items():
                run["p50_x"] = run["p50_ms"] / floor["p50_ms"]
                run["p95_x"] = run["p95_ms"] / floor["p95_ms"]
                if size == SQUAD_HALF:  # elsewhere the floor's index is a bare FAISS add
                    run["index_x"] = run["index_s"] / floor["index_s"]
                runs.setdefault((system, size), []).append(run)
                print(f"# size {size} rep {rep + 1} {system}: {json.dumps(run)}", flush=True)
    print("system    passages  index s  index/floor  p50 ms  p95 ms  p50/floor  p95/floor  R@5")
    for (system, size), found_runs in runs.items():
        row = [_median(found_runs, key, form).rjust(width) for key, form, width in COLUMNS]
        print(f"{system:<9} {size:>8} " + "  ".join(row))
    print(f"(medians over {args.repeat} repetitions of {args.questions} questions; ratios are to "
          f"the floor in the same repetition; floor R@5 is dense-only. At {SQUAD_HALF} index time "
          "includes encoding; above it vectors were precomputed, so index time excludes "
          "encoding and questions are still encoded for real. Model: the bundled "
          "all-MiniLM-L6-v2, on one CPU thread. Ours saves its index to disk inside the timer; "
          "txtai and Haystack keep theirs in memory.)")  # fmt: skip


if __name__ == "__main__":
    main()
