"""Speed benchmark: indexing throughput and per-question latency on the CPU, against baselines
measured in the same run (these machines are noisy, so only ratios travel).

    python -m eval.bench [--data ../shared/data] [--questions 300] [--repeat 3]

Indexing: the SQuAD 2.0 half (16 articles, 646 paragraphs) into a fresh index, against the bare
cost any dense indexer pays - one ``SentenceTransformer.encode`` of the same passage texts.
Questions: ``search``, ``ask --no-reader`` (the sentence scorer) and ``ask --reader`` per
question, against one bare encode of the question and, for the reader, a bare forward pass over
the same windows.
Results are recorded in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from eval.datasets import load_squad
from eval.tuning import DEFAULT_DATA
from rag.answering.answerer import READ_DEPTH
from rag.answering.reader import Reader, default_reader, tokenize_windows
from rag.chunk import Chunker
from rag.config import ChunkConfig
from rag.embed import MiniLMEmbedder
from rag.ingest import document_from_text
from rag.pipeline import RAG
from rag.types import Passage


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"p50 {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def _bare_read(reader: Reader, question: str, passages: list[Passage]) -> None:
    """The floor of reading: tokenise the same windows and run the model over them, nothing else."""
    import torch

    texts = [p.text for p in passages]
    encoded = tokenize_windows(reader._tokenizer, [question] * len(passages), texts)
    encoded.pop("overflow_to_sample_mapping")
    encoded.pop("offset_mapping")
    with torch.inference_mode():
        reader._model(**encoded)


def _chunking_mb_per_s(embedder: MiniLMEmbedder, texts: dict[str, str]) -> str:
    """Cleaning and chunking the same documents, timed on their own."""
    chunker = Chunker(
        ChunkConfig(), model_tokens=embedder.count_tokens, model_max=embedder.max_tokens
    )
    started = time.perf_counter()
    documents = [document_from_text(text, source, markdown=False) for source, text in texts.items()]
    for document in documents:
        chunker.chunk(document)
    seconds = time.perf_counter() - started
    megabytes = sum(len(text.encode("utf-8")) for text in texts.values()) / 1e6
    return f"{megabytes:.2f} MB in {seconds:.2f} s = {megabytes / seconds:.2f} MB/s"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument(
        "--repeat", type=int, default=3, help="indexing runs, each against a bare encode"
    )
    args = parser.parse_args(argv)
    embedder = MiniLMEmbedder().load()
    dataset = load_squad(args.data / "squad2-dev-half" / "squad2_dev_half.json")
    texts = {d.id: d.text for d in dataset.documents}

    with tempfile.TemporaryDirectory() as tmp:
        embedder.model.encode(list(texts.values())[:64])  # warm, so neither side pays it
        runs: list[tuple[float, float]] = []
        for repetition in range(args.repeat):  # alternated: the machine's noise hits both
            rag = RAG(Path(tmp) / f"index-{repetition}", embedder=embedder)
            started = time.perf_counter()
            rag.index_texts(texts, markdown=False)
            ours = time.perf_counter() - started
            passages = [p.text for p in rag.passages()]
            started = time.perf_counter()
            embedder.model.encode(passages, batch_size=64, normalize_embeddings=True)
            runs.append((ours, time.perf_counter() - started))
        sentences = sum(len(p.sentences) for p in rag.passages())
        print(f"indexing: {len(texts)} documents, {len(passages)} passages, {sentences} sentences")
        print(f"  chunking alone (outside the encoder): {_chunking_mb_per_s(embedder, texts)}")
        for ours, bare in runs:
            print(
                "  rag index_texts (clean, chunk, one encoder pass for passages and their "
                f"sentences, FAISS, BM25, save): {ours:.1f} s = {len(passages) / ours:.1f} "
                f"passages/s; bare encode of the passages: {bare:.1f} s = "
                f"{len(passages) / bare:.1f} passages/s; ratio {ours / bare:.2f}x"
            )
        ratio = statistics.median(ours / bare for ours, bare in runs)
        print(f"  ratio, median of {len(runs)}: {ratio:.2f}x the bare encode")

        questions = [q.question for q in dataset.questions[: args.questions]]
        reader = default_reader().load()
        rag.ask(questions[0], reader=True)  # warm: the first call loads the reader
        timings: dict[str, list[float]] = {
            "encode": [],
            "search": [],
            "ask --no-reader": [],
            "ask --reader": [],
            "bare read": [],
        }
        for question in questions:
            top = [h.passage for h in rag.search(question, READ_DEPTH)]
            for name, call in (
                ("encode", lambda q=question: embedder.encode([q])),
                ("search", lambda q=question: rag.search(q, 5)),
                ("ask --no-reader", lambda q=question: rag.ask(q, reader=False)),
                ("ask --reader", lambda q=question: rag.ask(q, reader=True)),
                ("bare read", lambda q=question, p=top: _bare_read(reader, q, p)),
            ):
                started = time.perf_counter()
                call()
                timings[name].append(time.perf_counter() - started)
        print(f"per question ({len(questions)} questions, one at a time):")
        for name, samples in timings.items():
            print(f"  {name:15s} {_ms(samples)}")
        ratio = statistics.median(timings["ask --no-reader"]) / statistics.median(timings["encode"])
        print(f"  ask --no-reader / bare encode (medians): {ratio:.2f}x")
        base = statistics.median(timings["encode"]) + statistics.median(timings["bare read"])
        ratio = statistics.median(timings["ask --reader"]) / base
        print(f"  ask --reader / (bare encode + bare forward over the same windows): {ratio:.2f}x")


if __name__ == "__main__":
    main()
