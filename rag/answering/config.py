"""The answering configuration, all of it fitted on data: sentence weights, and the calibrated
abstention model (a confidence in [0, 1] and a threshold).

The confidence is a logistic model over evidence of the best quote (see
``rag.answering.confidence``). ``python -m eval.fit_answering`` fits both on the SQuAD training
pool (answerable questions whose quote holds a gold answer vs the rest) plus on- and off-topic
questions about the default corpus; ``python -m eval.fit_reader`` fits the reader's passage choice
and confidence on the pool's held-out articles. Both write ``rag/data/answering.json``; nothing
here is a hand-set number (the defaults below only serve an unfitted checkout).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.errors import InvalidInputError, ModelError

CONFIG_PATH = Path(__file__).resolve().parents[1] / "data" / "answering.json"
FEATURES = ("cosine", "lexical", "passage_cosine", "passage_lexical", "missing_rare", "margin")
"""What the sentence scorer's confidence reads (``rag.answering.confidence.evidence_features``)."""
READER_FEATURES = (
    "span_margin",
    "span_score",
    "passage_cosine",
    "passage_lexical",
    "missing_rare",
    "sentence_cosine",
    "sentence_lexical",
    "sentence_margin",
    "span_in_best_sentence",
)
"""What the reader's confidence reads (``rag.answering.confidence.reader_features``): the span's
own evidence, and the sentence scorer's for its best sentence (two views of one question)."""


@dataclass(frozen=True)
class SentenceWeights:
    """How a candidate sentence's score mixes its evidence (``rag.answering.quotes``), and how
    many quotes an answer may give.

    Attributes:
        cosine: Weight of the sentence vector's similarity to the question's.
        lexical: Weight of the IDF-weighted share of question terms the sentence holds.
        passage: Weight of its passage's retrieval score, scaled to the best candidate.
        answer_type: Weight of "holds a span of the type the question asks for".
        extra_quote_ratio: A further quote must score at least this share of the best.
        max_quotes: Most quotes in one answer.
    """

    cosine: float = 0.5
    lexical: float = 0.4
    passage: float = 0.1
    answer_type: float = 0.0
    extra_quote_ratio: float = 0.7
    max_quotes: int = 2

    def __post_init__(self) -> None:
        weights = (self.cosine, self.lexical, self.passage, self.answer_type)
        if any(w < 0 for w in weights):
            raise InvalidInputError(f"sentence weights must be >= 0, got {weights}")
        if not 0.0 <= self.extra_quote_ratio <= 1.0:
            raise InvalidInputError(
                f"extra_quote_ratio must be in [0, 1], got {self.extra_quote_ratio}"
            )
        if self.max_quotes < 1:
            raise InvalidInputError(f"max_quotes must be >= 1, got {self.max_quotes}")


@dataclass(frozen=True)
class AbstentionModel:
    """A logistic confidence over named features and the threshold below which to abstain."""

    coef: tuple[float, ...]
    intercept: float
    threshold: float
    features: tuple[str, ...] = FEATURES

    def __post_init__(self) -> None:
        if len(self.coef) != len(self.features):
            raise InvalidInputError(
                f"abstention model needs {len(self.features)} coefficients, one per feature"
            )
        if not 0.0 <= self.threshold <= 1.0:
            raise InvalidInputError(f"threshold must be in [0, 1], got {self.threshold}")
        if not all(math.isfinite(c) for c in (*self.coef, self.intercept)):
            raise InvalidInputError("abstention coefficients must be finite numbers")

    def confidence(self, features: dict[str, float]) -> float:
        z = self.intercept + sum(c * features[name] for c, name in zip(self.coef, self.features))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass(frozen=True)
class ReaderChoice:
    """Which passage's span the reader answers with: the highest ``margin + fused × retrieval
    score + passage_lexical × coverage + passage_cosine × similarity`` (all zero: the margin
    alone). The reader sees one passage at a time; retrieval knows how the passages compare."""

    fused: float = 0.0
    passage_lexical: float = 0.0
    passage_cosine: float = 0.0

    def __post_init__(self) -> None:
        if min(self.fused, self.passage_lexical, self.passage_cosine) < 0:
            raise InvalidInputError(f"reader choice weights must be >= 0, got {self}")


@dataclass(frozen=True)
class AnsweringConfig:
    """Sentence weights and the abstention model, as fitted; see ``rag/data/answering.json``."""

    weights: SentenceWeights = field(default_factory=SentenceWeights)
    abstention: AbstentionModel = field(
        default_factory=lambda: AbstentionModel((4.0, 2.0, 2.0, 2.0, -2.0, 4.0), -4.0, 0.5)
    )
    reader: AbstentionModel = field(
        default_factory=lambda: AbstentionModel((1.0,), 0.0, 0.5, ("span_margin",))
    )
    """The confidence of answers read by the learned reader (``rag.answering.reader``)."""
    reader_choice: ReaderChoice = field(default_factory=ReaderChoice)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "weights": self.weights.__dict__,
            "abstention": _model_json(self.abstention),
            "reader": _model_json(self.reader),
            "reader_choice": self.reader_choice.__dict__,
            "provenance": self.provenance,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnsweringConfig:
        defaults = cls()
        return cls(
            weights=SentenceWeights(**data["weights"]),  # validated there
            abstention=_model(data["abstention"], FEATURES),
            reader=_model(data["reader"], READER_FEATURES) if "reader" in data else defaults.reader,
            reader_choice=ReaderChoice(**data.get("reader_choice", {})),
            provenance=data.get("provenance", {}),
        )


def _model_json(model: AbstentionModel) -> dict[str, Any]:
    return {
        "features": list(model.features),
        "coef": list(model.coef),
        "intercept": model.intercept,
        "threshold": model.threshold,
    }


def _model(data: dict[str, Any], expected: tuple[str, ...]) -> AbstentionModel:
    features = tuple(data.get("features", expected))
    if features != expected:
        raise ModelError(f"answering.json was fitted on features {features}, not {expected}: refit")
    coef = tuple(data["coef"])
    return AbstentionModel(coef, float(data["intercept"]), data["threshold"], features)


@lru_cache(maxsize=4)
def load_config(path: Path = CONFIG_PATH) -> AnsweringConfig:
    """The fitted configuration shipped with the package (defaults if it was never fitted)."""
    if not path.is_file():
        return AnsweringConfig()
    try:
        return AnsweringConfig.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as e:  # InvalidInputError is a ValueError
        raise ModelError(f"cannot read the answering configuration {path}: {e}") from e
