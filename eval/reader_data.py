"""Training data for the extractive reader: SQuAD 2.0 questions cut into model windows with span
labels, position 0 ([CLS]) standing for "no answer".

The pool is split by article, never by question, so the held-out questions (for early stopping and
for fitting the no-answer threshold) are about texts the reader never trained on.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.answering.reader import READER_DIR, tokenize_windows
from rag.embed import file_sha256
from rag.errors import DatasetError

NO_ANSWER = 0
"""The label position of "no answer": the [CLS] token, as in SQuAD 2.0 readers."""


@dataclass(frozen=True)
class ReaderExample:
    """One question about one paragraph; ``answers`` are ``(start, text)`` in the context."""

    id: str
    article: str
    question: str
    context: str
    answers: tuple[tuple[int, str], ...]
    source: str = ""
    """Where the article comes from (the pool mixes SQuAD 2.0 dev, v1.1 dev and 2.0 train)."""


@dataclass(frozen=True)
class Windows:
    """Tokenised windows, one row each, with their labels and where they came from."""

    input_ids: list[list[int]]
    attention_mask: list[list[int]]
    token_type_ids: list[list[int]]
    start: list[int]
    end: list[int]
    example: list[int]
    """Index into the examples of each window."""
    offsets: list[list[tuple[int, int] | None]]
    """Character span in the context of each token (None outside the context)."""

    def __len__(self) -> int:
        return len(self.input_ids)


def shipped_reader_pool(data: Path) -> tuple[dict[str, Any], Path]:
    """The shipped reader's card (``rag/data/reader/reader.json``) and the training pool under
    ``data``; exits unless it is the pool the reader was trained on (its split would differ)."""
    card = json.loads((READER_DIR / "reader.json").read_text(encoding="utf-8"))
    pool = data / "squad-train" / "squad_train_pool.json"
    if file_sha256(pool) != card["pool_sha256"]:
        raise SystemExit(f"{pool} is not the pool the reader was trained on")
    return card, pool


def load_pool(path: Path) -> list[ReaderExample]:
    """Every question of a SQuAD 2.0 file, in file order."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DatasetError(f"{path}: cannot read as SQuAD JSON: {e}") from e
    out = []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers: list[Any] = [] if qa.get("is_impossible") else qa["answers"]
                out.append(
                    ReaderExample(
                        id=qa["id"],
                        article=article["title"],
                        question=qa["question"],
                        context=paragraph["context"],
                        answers=tuple((int(a["answer_start"]), a["text"]) for a in answers),
                        source=article.get("source", ""),
                    )
                )
    return out


def split_by_article(
    examples: Sequence[ReaderExample], held_out: float, seed: int
) -> tuple[list[ReaderExample], list[ReaderExample]]:
    """(train, held out): a seeded ``held_out`` share of the articles of each source, with all
    their questions. Taking a share of every source keeps the held-out questions like the
    training ones: with unanswerable questions in them, to fit the no-answer threshold on."""
    by_source: dict[str, list[str]] = {}
    for e in examples:
        articles = by_source.setdefault(e.source, [])
        if e.article not in articles:
            articles.append(e.article)
    chosen: set[str] = set()
    rng = random.Random(seed)
    for source in sorted(by_source):
        articles = sorted(by_source[source])
        rng.shuffle(articles)
        chosen.update(articles[: max(1, round(held_out * len(articles)))])
    return (
        [e for e in examples if e.article not in chosen],
        [e for e in examples if e.article in chosen],
    )


def make_windows(
    examples: Sequence[ReaderExample], tokenizer: Any, max_length: int, stride: int
) -> Windows:
    """Cut each question + context into windows of ``max_length`` tokens overlapping by
    ``stride``; label each with the first answer's token span, or ``NO_ANSWER`` when the
    question has none or the window does not hold all of it."""
    encoded = tokenize_windows(
        tokenizer,
        [e.question for e in examples],
        [e.context for e in examples],
        max_length=max_length,
        stride=stride,
        padding="max_length",
        tensors=False,
    )
    windows = Windows([], [], [], [], [], [], [])
    for i, offsets in enumerate(encoded["offset_mapping"]):
        index = encoded["overflow_to_sample_mapping"][i]
        sequence = encoded.sequence_ids(i)
        context_offsets = [
            tuple(o) if s == 1 else None for o, s in zip(offsets, sequence, strict=True)
        ]
        start, end = _label(examples[index], context_offsets)
        windows.input_ids.append(encoded["input_ids"][i])
        windows.attention_mask.append(encoded["attention_mask"][i])
        windows.token_type_ids.append(encoded["token_type_ids"][i])
        windows.start.append(start)
        windows.end.append(end)
        windows.example.append(index)
        windows.offsets.append(context_offsets)  # type: ignore[arg-type]
    return windows


def _label(example: ReaderExample, offsets: Sequence[tuple[int, int] | None]) -> tuple[int, int]:
    if not example.answers:
        return NO_ANSWER, NO_ANSWER
    answer_start, text = example.answers[0]
    answer_end = answer_start + len(text)
    start = next(
        (t for t, o in enumerate(offsets) if o is not None and o[0] <= answer_start < o[1]), None
    )
    end = next(
        (t for t, o in enumerate(offsets) if o is not None and o[0] < answer_end <= o[1]), None
    )
    if start is None or end is None or end < start:
        return NO_ANSWER, NO_ANSWER
    return start, end
