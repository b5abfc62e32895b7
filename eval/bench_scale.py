"""Scale benchmark: the directory store at 100k and 1M passages on one machine.

    python -m eval.bench_scale [--sizes 100000 1000000] [--queries 200] [--work DIR [--reuse]]

Per size, each step in a fresh process: the build (the store's work: FAISS, BM25, the save) and
its peak memory; opening the index and the memory it adds to the process; hybrid search per
question, one at a time, **with the question encoded by the real model**, p50/p95; the recall@10
of the store's dense search (HNSW above ``IndexConfig.exact_max``) against exact search over the
same vectors; and ``rag serve`` over the index: seconds until its page answers and until it
answers a first question.

Stand-ins, printed with the figures: encoding a million passages would take about 18 hours on
these two cores, so passage vectors are synthetic but shaped like MiniLM's: each is the real
all-MiniLM-L6-v2 vector of the SQuAD paragraph whose text it carries (the evaluation half's and
the training pool's 2,552), mixed with another paragraph's and with noise, normalised. Texts
cycle through those paragraphs, ten to a document, so BM25 sees real term statistics; a
passage's sentence vectors repeat its vector. Questions are the training pool's, encoded by the
model at query time. Paragraph and question vectors are cached in ``~/.cache/rag-bench``.
Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from eval.bench_load import _ask, _serve
from eval.bench_store import RandomVectors, _paragraphs, _questions, _rss_mb
from eval.tuning import DEFAULT_DATA
from rag.analysis import index_terms
from rag.embed import IN_PASSAGE, MODEL_NAME, MODEL_SHA256
from rag.pipeline import RAG
from rag.types import Document, Passage, PassageBatch, content_id

CACHE = Path.home() / ".cache" / "rag-bench"
PER_DOCUMENT = 10
BATCH_DOCUMENTS = 1_000


class Precomputed(RandomVectors):
    """The bundled model's identity for vectors made by this benchmark (it never encodes)."""

    name = MODEL_NAME
    sha256 = MODEL_SHA256
    sentence_vectors = IN_PASSAGE


def real_vectors(data: Path, queries: int) -> tuple[list[tuple[str, str]], np.ndarray, np.ndarray]:
    """The distinct paragraphs, their MiniLM vectors and the questions' (cached)."""
    paragraphs = _paragraphs(data, 2_552)
    questions = _questions(data, queries)
    return paragraphs, _encoded([t for _, t in paragraphs]), _encoded(questions)


def _encoded(texts: list[str]) -> np.ndarray:
    path = CACHE / f"minilm-{hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:16]}.npy"
    if not path.exists():
        from rag.embed import MiniLMEmbedder

        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, MiniLMEmbedder().load().encode(texts, show_progress=True))
    return np.load(path)


def _vectors(base: np.ndarray, first: int, last: int) -> np.ndarray:
    """The vectors of rows ``first``..``last - 1``, the same every time they are asked for: a
    row's paragraph's vector, plus half another's, plus noise; normalised."""
    rows = np.arange(first, last)
    rng = np.random.default_rng(first)
    own = base[rows % len(base)]
    other = base[rng.integers(0, len(base), len(rows))]
    noise = rng.standard_normal(own.shape).astype(np.float32) * (0.3 / np.sqrt(base.shape[1]))
    mixed = own + 0.5 * other + noise
    return mixed / np.linalg.norm(mixed, axis=1, keepdims=True)


def _batches(paragraphs: list[tuple[str, str]], base: np.ndarray, size: int):  # noqa: ANN202
    """``PassageBatch``es of ``size`` passages in all, made and handed over one at a time."""
    terms_of: dict[str, tuple[str, ...]] = {}
    per_batch = PER_DOCUMENT * BATCH_DOCUMENTS
    for first in range(0, size, per_batch):
        rows = np.arange(first, min(size, first + per_batch))
        documents, passages, terms, counts = [], [], [], []
        for d in range(0, len(rows), PER_DOCUMENT):
            chosen = [paragraphs[int(r) % len(paragraphs)] for r in rows[d : d + PER_DOCUMENT]]
            text = "\n\n".join(t for _, t in chosen)
            doc = Document(content_id(int(rows[d]), text), f"doc-{rows[d]:07d}", chosen[0][0], text)
            documents.append(doc)
            start = 0
            for title, paragraph in chosen:
                end = start + len(paragraph)
                spans = _sentence_spans(paragraph, start)
                passages.append(Passage(content_id(doc.id, start, end), doc.id, doc.source,
                                        title, paragraph, start, end, 1, spans))  # fmt: skip
                terms.append(terms_of.setdefault(paragraph, tuple(index_terms(paragraph))))
                counts.append(len(spans))
                start = end + 2
        vectors = _vectors(base, int(rows[0]), int(rows[-1]) + 1)
        yield PassageBatch(tuple(documents), tuple(passages), vectors,
                           np.repeat(vectors, counts, axis=0), tuple(terms))  # fmt: skip


def _sentence_spans(text: str, offset: int) -> tuple[tuple[int, int], ...]:
    spans, start = [], 0
    for i, ch in enumerate(text):
        if ch in ".!?" and (i + 1 == len(text) or text[i + 1] == " "):
            spans.append((offset + start, offset + i + 1))
            start = i + 2
    if start < len(text):
        spans.append((offset + start, offset + len(text)))
    return tuple(spans)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(place: str, data: Path, size: int, queries: int) -> dict[str, Any]:
    paragraphs, base, question_vectors = real_vectors(data, queries)
    started = time.perf_counter()
    rag = RAG(place, embedder=Precomputed())  # type: ignore[arg-type]
    rag.add_batches(_batches(paragraphs, base, size), fresh=True)
    built = time.perf_counter() - started
    # exact neighbours of each question over the same vectors, for the recall of the ANN search
    scores = np.full((len(question_vectors), 10), -np.inf, dtype=np.float32)
    rows = np.zeros((len(question_vectors), 10), dtype=np.int64)
    chunk = PER_DOCUMENT * BATCH_DOCUMENTS  # the batches' blocks: the same vectors
    for first in range(0, size, chunk):
        block = _vectors(base, first, min(size, first + chunk)) @ question_vectors.T
        both = np.concatenate([scores, block.T], axis=1)
        ids = np.concatenate(
            [rows, np.arange(first, first + len(block))[None, :].repeat(len(rows), 0)], axis=1
        )
        best = np.argsort(-both, axis=1)[:, :10]
        scores, rows = np.take_along_axis(both, best, 1), np.take_along_axis(ids, best, 1)
    passages = rag.store.passages()
    exact = [[passages[int(r)].id for r in row] for row in rows]
    Path(f"{place}.exact.json").write_text(json.dumps(exact))
    return {"build_s": built, "build_peak_mb": _peak_mb()}


def query(place: str, data: Path, queries: int) -> dict[str, Any]:
    from rag.embed import MiniLMEmbedder

    embedder = MiniLMEmbedder().load()
    _, _, question_vectors = real_vectors(data, queries)
    questions = _questions(data, queries)
    embedder.encode(questions[:3])  # warm
    before = _rss_mb()
    started = time.perf_counter()
    rag = RAG(place, embedder=embedder)
    store = rag.store
    opened = time.perf_counter() - started
    exact = json.loads(Path(f"{place}.exact.json").read_text())
    recall = [
        len(set(store.search(vector, None, 10).ids) & set(truth)) / 10
        for vector, truth in zip(question_vectors, exact, strict=True)
    ]
    retriever = rag.retriever("hybrid")
    times = []
    for question in questions:
        t = time.perf_counter()
        retriever.search(question, 5)
        times.append(time.perf_counter() - t)
    ordered = sorted(times)
    return {
        "index_type": store.vectors.index_type,  # type: ignore[attr-defined]  # a directory
        "open_s": opened,
        "open_rss_mb": _rss_mb() - before,
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
        "recall10": float(np.mean(recall)),
    }


def serve(place: str, question: str) -> dict[str, Any]:
    started = time.perf_counter()
    server, url = _serve(Path(place), dict(os.environ), timeout_s=1200)
    try:
        page = time.perf_counter() - started
        _ask(url, question)
        return {"serve_page_s": page, "serve_first_answer_s": time.perf_counter() - started}
    finally:
        server.terminate()
        server.wait(timeout=60)


def _step(*args: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "eval.bench_scale", *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return {f"{args[1]}_failed": done.stderr.strip().splitlines()[-1:]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  {args[1]}: {json.dumps(result)}", flush=True)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--work", type=Path, help="keep the indexes here (default: a temp dir)")
    parser.add_argument("--reuse", action="store_true", help="search the indexes --work holds")
    parser.add_argument("--step", nargs=2, help=argparse.SUPPRESS)  # STEP PLACE
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        step, place = args.step
        if step == "build":
            print(json.dumps(build(place, args.data, args.size, args.queries)))
        elif step == "query":
            print(json.dumps(query(place, args.data, args.queries)))
        else:
            print(json.dumps(serve(place, _questions(args.data, 1)[0])))
        return
    real_vectors(args.data, args.queries)  # encode once, before anything is timed
    common = ["--data", str(args.data), "--queries", str(args.queries)]
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
            place = str((args.work or Path(tmp)) / f"index-{size}")
            row: dict[str, Any] = {"passages": size}
            if not args.reuse:
                row |= _step("--step", "build", place, "--size", str(size), *common)
            row |= _step("--step", "query", place, *common)
            row |= _step("--step", "serve", place, *common)
            disk = sum(p.stat().st_size for p in Path(place).rglob("*") if p.is_file())
            row["disk_mb"] = disk / 2**20
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}),
              flush=True)  # fmt: skip
    print("(passage vectors synthetic, shaped like MiniLM's; questions encoded by the real model "
          "in every search; machine: 2 cores; see the module docstring)")  # fmt: skip


if __name__ == "__main__":
    main()
