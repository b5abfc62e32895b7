"""Store benchmark: the directory store against Milvus Lite, at 646, 20k and 100k passages.

    python -m eval.bench_store [--sizes 646 20000 100000] [--queries 200] [--repeat 1]

Each size is built and searched once per store per repetition, each step in a fresh process
(stores interleaved), reporting build time (store writes only), open time, hybrid search p50/p95
over ``--queries`` questions (fusion and hit lookups included, query encoding not: it costs the
same for both) and the resident memory the open index adds to its process.

Passages are SQuAD paragraphs: the 646 of the evaluation half, then the training pool's 1,906
repeated under new names up to the size asked for. Their vectors are random unit vectors, not
MiniLM's: they stand in for encoding, which costs the same for both stores (and which
``eval.bench`` measures). Query vectors are a stored passage's vector plus noise; query terms are
the pool's questions. Results are recorded in docs/scale-out.md.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from eval.tuning import DEFAULT_DATA
from rag.analysis import index_terms
from rag.pipeline import RAG
from rag.types import Document, Passage, PassageBatch, content_id

DIMENSION = 384
_SENTENCE = re.compile(r"[^.!?]+[.!?]*\s*")


class RandomVectors:
    """Stands in for the embedding model: the benchmark hands the stores vectors it made."""

    name = "random-unit-vectors"
    sha256 = "0" * 64
    dimension = DIMENSION
    sentence_vectors = "random"
    max_tokens = 256

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        raise NotImplementedError("the benchmark never encodes")

    def encode_passages(
        self, texts: list[str], sentences: list[list[tuple[int, int]]], **_: object
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError("the benchmark never encodes")

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def _paragraphs(data: Path, size: int) -> list[tuple[str, str]]:
    """``size`` (title, text) pairs: the evaluation half's paragraphs, then the pool's, cycled."""
    found = []
    for path in ("squad2-dev-half/squad2_dev_half.json", "squad-train/squad_train_pool.json"):
        for article in json.loads((data / path).read_text(encoding="utf-8"))["data"]:
            found += [(article["title"], p["context"]) for p in article["paragraphs"]]
        if len(found) >= size:
            break
    pool = found[646:] or found
    return (found[:646] + [pool[i % len(pool)] for i in range(max(0, size - 646))])[:size]


def _batches(data: Path, size: int, seed: int = 0) -> list[PassageBatch]:
    rng = np.random.default_rng(seed)
    terms_of: dict[str, tuple[str, ...]] = {}
    batches = []
    paragraphs = _paragraphs(data, size)
    for start in range(0, size, 2000):
        documents, passages, terms = [], [], []
        for i, (title, text) in enumerate(paragraphs[start : start + 2000], start=start):
            doc = Document(content_id(i, text), f"paragraph-{i:06d}", title, text)
            spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text)] or [(0, len(text))]
            documents.append(doc)
            passages.append(
                Passage(content_id(doc.id, 0), doc.id, doc.source, title, text, 0, len(text), 1,
                        tuple(spans))  # fmt: skip
            )
            terms.append(terms_of.setdefault(text, tuple(index_terms(text))))
        sentences = sum(len(p.sentences) for p in passages)
        batches.append(
            PassageBatch(tuple(documents), tuple(passages), _unit(rng, len(passages)),
                         _unit(rng, sentences), tuple(terms))  # fmt: skip
        )
    return batches


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _questions(data: Path, n: int) -> list[str]:
    pool = json.loads((data / "squad-train/squad_train_pool.json").read_text(encoding="utf-8"))
    found = [q["question"] for a in pool["data"] for p in a["paragraphs"] for q in p["qas"]]
    return found[:: max(1, len(found) // n)][:n]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(place: str, data: Path, size: int) -> dict[str, Any]:
    batches = _batches(data, size)
    started = time.perf_counter()
    RAG(place, embedder=RandomVectors()).add_batches(batches, fresh=True)  # type: ignore[arg-type]
    return {"build_s": time.perf_counter() - started}


def query(place: str, data: Path, size: int, n: int) -> dict[str, Any]:
    questions = _questions(data, n)
    before = _rss_mb()
    started = time.perf_counter()
    rag = RAG(place, embedder=RandomVectors())  # type: ignore[arg-type]
    store = rag.store
    len(rag.documents())  # what opening the chat reads
    opened = time.perf_counter() - started
    rng = np.random.default_rng(1)
    retriever = rag.retriever("hybrid")
    picks = rng.integers(0, size, len(questions))
    ids = [p.id for p in store.passages()] if size <= 20_000 else None
    times = []
    for question, pick in zip(questions, picks, strict=True):
        anchor = store.passage_vector(ids[pick]) if ids else _unit(rng, 1)[0]
        vector = anchor + 0.5 * _unit(rng, 1)[0]
        vector /= np.linalg.norm(vector)
        t = time.perf_counter()
        retriever.search(question, 5, vector=vector)
        times.append(time.perf_counter() - t)
    ordered = sorted(times)
    return {
        "open_s": opened,
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
        "rss_mb": _rss_mb() - before,
    }


def _step(*args: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "eval.bench_store", *args]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sizes", type=int, nargs="+", default=[646, 20_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--step", nargs=3, help=argparse.SUPPRESS)  # STEP PLACE SIZE
    args = parser.parse_args(argv)
    if args.step:
        step, place, size = args.step[0], args.step[1], int(args.step[2])
        if step == "build":
            print(json.dumps(build(place, args.data, size)))
        else:
            print(json.dumps(query(place, args.data, size, args.queries)))
        return
    print("store      passages  build s  open s  search p50 ms  p95 ms  memory MB")
    for size in args.sizes:
        for _ in range(args.repeat):
            for kind in ("directory", "milvus-lite"):
                with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
                    place = f"{tmp}/index" if kind == "directory" else f"milvus://{tmp}/index.db"
                    built = _step("--step", "build", place, str(size), "--data", str(args.data))
                    found = _step("--step", "query", place, str(size), "--data", str(args.data),
                                  "--queries", str(args.queries))  # fmt: skip
                print(f"{kind:<10} {size:>8}  {built['build_s']:>7.1f}  {found['open_s']:>6.2f}  "
                      f"{found['p50_ms']:>13.1f}  {found['p95_ms']:>6.1f}  {found['rss_mb']:>9.0f}",
                      flush=True)  # fmt: skip
    print(f"({args.queries} questions per run; vectors are random unit vectors standing in for "
          "encoding; machine: see docs/scale-out.md)")  # fmt: skip


if __name__ == "__main__":
    main()
