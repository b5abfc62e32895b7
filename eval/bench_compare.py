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
from pathlib import Path
from typing import Any

import numpy as np

from eval.bench_store import _paragraphs
from eval.bench_systems import SETUP, Corpus, _spans
from eval.datasets import load_squad
from eval.tuning import DEFAULT_DATA
from rag.embed import MiniLMEmbedder

SYSTEMS = ("floor", "ours", "txtai", "haystack")
SQUAD_HALF = 646  # paragraphs in the SQuAD 2.0 evaluation half
WARMUP = 5  # questions asked before timing: first calls pay for lazy setup
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
