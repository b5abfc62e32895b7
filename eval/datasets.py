"""Evaluation datasets: SQuAD v1.1/v2.0 JSON, BEIR directories and question-only JSONL.

Every loader returns a ``QADataset``: the documents to index, the questions, and the qrels that
``eval.metrics.retrieval_metrics`` takes. Any problem with the data is a ``DatasetError`` whose
message names the file (and the line or record) and what is wrong. This module is the front:
``load_dataset`` (which sniffs the format), ``sample_questions`` and ``FORMATS``, with the types
(from ``eval.dataset_types``) and the readers ``load_squad``, ``load_beir`` and ``load_qa_jsonl``
(from ``eval.squad``, ``eval.beir`` and ``eval.qa_jsonl``) re-exported.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

from eval.beir import load_beir
from eval.dataset_types import EvalDocument, EvalQuestion, QADataset
from eval.qa_jsonl import load_qa_jsonl
from eval.squad import PARAGRAPH_SEPARATOR, load_squad
from rag.errors import DatasetError, InvalidInputError

__all__ = [
    "FORMATS",
    "PARAGRAPH_SEPARATOR",
    "EvalDocument",
    "EvalQuestion",
    "QADataset",
    "load_beir",
    "load_dataset",
    "load_qa_jsonl",
    "load_squad",
    "sample_questions",
]

FORMATS: tuple[str, ...] = ("squad", "beir", "qa-jsonl")


def load_dataset(path: str | Path, format: str | None = None) -> QADataset:
    """Load a dataset of any known format, sniffing the format when none is given.

    Sniffing: a directory holding corpus.jsonl is BEIR; a ``.json`` file is SQuAD (it must hold
    a top-level ``data`` list); a ``.jsonl`` file is qa-jsonl.

    Args:
        path: The file or directory.
        format: One of ``FORMATS``, or None to sniff.

    Returns:
        The dataset.

    Raises:
        DatasetError: If the path is missing, the format is unknown or cannot be sniffed, or
            the loader rejects the data.
    """
    path = Path(path)
    known = ", ".join(FORMATS)
    if format is not None and format not in FORMATS:
        raise DatasetError(f"unknown dataset format {format!r}: use one of {known}")
    if not path.exists():
        raise DatasetError(f"{path}: no such file or directory")
    suffix = path.suffix.lower() if path.is_file() else ""
    if format == "beir" or (format is None and (path / "corpus.jsonl").is_file()):
        return load_beir(path)
    # A .json file is parsed once, by load_squad, which rejects one without a 'data' list.
    if format == "squad" or (format is None and suffix == ".json"):
        return load_squad(path)
    if format == "qa-jsonl" or (format is None and suffix == ".jsonl"):
        return load_qa_jsonl(path)
    raise DatasetError(f"{path}: cannot tell the dataset format; pass format= one of {known}")


def sample_questions(dataset: QADataset, n: int, seed: int) -> QADataset:
    """A seeded random sample of ``n`` questions, kept in dataset order.

    Args:
        dataset: The dataset to sample from; documents are kept whole.
        n: How many questions; all of them when ``n >= len(dataset.questions)``.
        seed: Seed of ``random.Random``, so the same seed gives the same sample.

    Returns:
        A dataset with the sampled questions and their qrels.

    Raises:
        InvalidInputError: If ``n <= 0``.
    """
    if n <= 0:
        raise InvalidInputError(f"sample size must be positive, got {n}")
    total = len(dataset.questions)
    if n >= total:
        return dataset
    picked = sorted(random.Random(seed).sample(range(total), n))
    questions = tuple(dataset.questions[i] for i in picked)
    ids = {q.id for q in questions}
    qrels = {q: docs for q, docs in dataset.qrels.items() if q in ids}
    return dataclasses.replace(dataset, questions=questions, qrels=qrels)
