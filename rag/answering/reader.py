"""The learned reader: in each retrieved passage, the span that answers the question, or "no
answer" ([CLS]), from all-MiniLM-L6-v2 fine-tuned on SQuAD 2.0 questions (``python -m
eval.train_reader``; the model card is ``docs/reader.md``).

The weights ship in ``rag/data/reader/`` (fp16 safetensors, checksum in ``reader.json``, verified
before loading); the tokenizer is the bundled MiniLM's own. Nothing is downloaded.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.manifest import file_sha256
from rag.embed import bundled_model_dir
from rag.errors import ModelError
from rag.types import Passage

logger = logging.getLogger(__name__)

READER_DIR = Path(__file__).resolve().parents[1] / "data" / "reader"
MAX_LENGTH = 192
"""Tokens per window (question, passage piece, special tokens): what the reader was trained on."""
STRIDE = 64
"""Tokens two windows of a long passage share, so an answer across a cut is whole in one."""
MAX_QUESTION_TOKENS = 64
"""A longer question is cut to its first 64 tokens, so every window keeps room for the passage."""
MAX_ANSWER_TOKENS = 30
CANDIDATES = 20
"""Best start and end positions combined per window; the best span is almost always among them."""
BATCH = 32
READ_BY_DEFAULT = True
"""Whether ``ask`` reads with the reader unless told otherwise: it does, as its answers are better
on every quality figure of docs/reader.md but one; the sentence scorer (``reader=False``,
``--no-reader``) is the fast mode, and the fallback when no reader is shipped."""


@dataclass(frozen=True)
class ReadSpan:
    """The reader's best span in one passage, with offsets into the document's text.

    Attributes:
        passage_id: The passage read.
        start, end: The span, ``document.text[start:end]``.
        score: Start plus end logit of the span.
        null: Start plus end logit of "no answer" (the lowest over the passage's windows).
    """

    passage_id: str
    start: int
    end: int
    score: float
    null: float

    @property
    def margin(self) -> float:
        """How much more the reader believes in the span than in "no answer"."""
        return self.score - self.null


def tokenize_windows(
    tokenizer: Any,
    questions: Sequence[str],
    contexts: Sequence[str],
    *,
    max_length: int = MAX_LENGTH,
    stride: int = STRIDE,
    padding: str = "longest",
    tensors: bool = True,
) -> Any:
    """Question + context windows as the reader reads them (training and reading alike): the
    question cut to ``MAX_QUESTION_TOKENS``, the context into ``max_length``-token windows
    overlapping by ``stride``, with each window's example (``overflow_to_sample_mapping``) and
    character offsets (``offset_mapping``)."""
    cut = {q: _first_tokens(tokenizer, q, MAX_QUESTION_TOKENS) for q in set(questions)}
    return tokenizer(
        [cut[q] for q in questions],
        list(contexts),
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=padding,
        return_tensors="pt" if tensors else None,
    )


def _first_tokens(tokenizer: Any, text: str, limit: int) -> str:
    """``text`` up to the end of its ``limit``-th token (all of it when shorter)."""
    offsets = tokenizer(
        text, add_special_tokens=False, return_offsets_mapping=True, truncation=True,
        max_length=limit,
    )["offset_mapping"]  # fmt: skip
    return text[: offsets[-1][1]] if len(offsets) == limit else text


def best_span(
    start: np.ndarray, end: np.ndarray, offsets: Sequence[tuple[int, int] | None]
) -> tuple[float, int, int] | None:
    """``(score, first token, last token)`` of the best span of at most ``MAX_ANSWER_TOKENS``
    tokens inside the context (tokens whose offset is not None); None if there is none."""
    inside = [t for t, o in enumerate(offsets) if o is not None]
    if not inside:
        return None
    starts = sorted(inside, key=lambda t: -start[t])[:CANDIDATES]
    ends = sorted(inside, key=lambda t: -end[t])[:CANDIDATES]
    best: tuple[float, int, int] | None = None
    for s in starts:
        for e in ends:
            if s <= e < s + MAX_ANSWER_TOKENS and (best is None or start[s] + end[e] > best[0]):
                best = (float(start[s] + end[e]), s, e)
    return best


class Reader:
    """Reads passages for the answer span. The constructor is cheap; the model loads (after its
    checksum is checked) on first use or in ``load()``. A loaded model and tokenizer can be
    injected."""

    def __init__(
        self, directory: Path = READER_DIR, *, model: Any = None, tokenizer: Any = None
    ) -> None:
        self.directory = directory
        self._model = model
        self._tokenizer = tokenizer
        self._lock = threading.Lock()
        # A fast tokenizer keeps its truncation and padding settings in the shared Rust object and
        # sets them on every call (cutting a long question uses other settings than the windows):
        # two threads tokenizing at once can make one call with the other's settings.
        self._tokenize_lock = threading.Lock()

    @property
    def available(self) -> bool:
        """Whether trained weights are shipped (or a model was injected)."""
        return self._model is not None or (self.directory / "reader.json").is_file()

    def load(self) -> Reader:
        with self._lock:
            if self._model is not None and self._tokenizer is not None:
                return self
            from transformers import AutoTokenizer, BertForQuestionAnswering

            card_path = self.directory / "reader.json"
            weights = self.directory / "model.safetensors"
            try:
                card = json.loads(card_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise ModelError(f"no usable reader in {self.directory} ({e})") from e
            if not weights.is_file() or file_sha256(weights) != card.get("weights_sha256"):
                raise ModelError(
                    f"{weights} is missing or does not match the sha256 in {card_path}: "
                    "reinstall the package"
                )
            if self._model is None:
                import torch

                model = BertForQuestionAnswering.from_pretrained(
                    str(self.directory), local_files_only=True, dtype=torch.float32
                )
                self._model = model.eval()
            if self._tokenizer is None:
                self._tokenizer = AutoTokenizer.from_pretrained(
                    str(bundled_model_dir()), local_files_only=True
                )
            logger.info("loaded the reader from %s", self.directory)
        return self

    def read(self, question: str, passages: Sequence[Passage]) -> list[ReadSpan]:
        """The best span of each passage that has one, best first."""
        if not passages:
            return []
        self.load()
        import torch

        with self._tokenize_lock:
            encoded = tokenize_windows(
                self._tokenizer, [question] * len(passages), [p.text for p in passages]
            )
        owner = encoded.pop("overflow_to_sample_mapping").tolist()
        offsets = encoded.pop("offset_mapping").tolist()
        starts, ends = [], []
        with torch.inference_mode():
            for first in range(0, len(owner), BATCH):
                batch = {k: v[first : first + BATCH] for k, v in encoded.items()}
                out = self._model(**batch)
                starts.append(out.start_logits.float().numpy())
                ends.append(out.end_logits.float().numpy())
        start_logits, end_logits = np.concatenate(starts), np.concatenate(ends)
        best: dict[int, ReadSpan] = {}
        null: dict[int, float] = {}
        for w, p in enumerate(owner):
            sequence = encoded.sequence_ids(w)
            context = [tuple(o) if s == 1 else None for o, s in zip(offsets[w], sequence)]
            null[p] = min(null.get(p, math.inf), float(start_logits[w][0] + end_logits[w][0]))
            found = best_span(start_logits[w], end_logits[w], context)
            if found is None or (p in best and best[p].score >= found[0]):
                continue
            score, s, e = found
            passage = passages[p]
            best[p] = ReadSpan(
                passage.id,
                passage.start + context[s][0],  # type: ignore[index]
                passage.start + context[e][1],  # type: ignore[index]
                score,
                0.0,
            )
        spans = [ReadSpan(s.passage_id, s.start, s.end, s.score, null[p]) for p, s in best.items()]
        return sorted(spans, key=lambda s: -s.margin)


_default: Reader | None = None
_default_lock = threading.Lock()


def use_reader(asked: bool | None) -> bool:
    """Whether to read: as asked, else by default when a reader is shipped."""
    if asked is None:
        return READ_BY_DEFAULT and default_reader().available
    return asked


def default_reader() -> Reader:
    """One shared, lazily loaded reader per process (loading costs a second)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Reader()
        return _default
