"""Calibrated abstention: a confidence in [0, 1] and a threshold, both fitted on data.

The confidence is a logistic model over evidence of the best quote (see
``rag.answer.evidence_features``). ``python -m eval.fit_answering`` fits it on the SQuAD 2.0 half
(answerable questions whose quote holds a gold answer vs the rest) plus off-topic questions about
the default corpus, and writes ``rag/data/answering.json``; nothing here is a hand-set number (the
defaults below only serve an unfitted checkout).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.errors import InvalidInputError, ModelError
from rag.extract import SentenceWeights

CONFIG_PATH = Path(__file__).resolve().parent / "data" / "answering.json"
FEATURES = ("cosine", "lexical", "passage_cosine", "passage_lexical", "missing_rare", "margin")


@dataclass(frozen=True)
class AbstentionModel:
    coef: tuple[float, ...]
    intercept: float
    threshold: float

    def __post_init__(self) -> None:
        if len(self.coef) != len(FEATURES):
            raise InvalidInputError(f"abstention model needs {len(FEATURES)} coefficients")
        if not 0.0 <= self.threshold <= 1.0:
            raise InvalidInputError(f"threshold must be in [0, 1], got {self.threshold}")

    def confidence(self, features: dict[str, float]) -> float:
        z = self.intercept + sum(c * features[name] for c, name in zip(self.coef, FEATURES))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass(frozen=True)
class AnsweringConfig:
    """Sentence weights and the abstention model, as fitted; see ``rag/data/answering.json``."""

    weights: SentenceWeights = field(default_factory=SentenceWeights)
    abstention: AbstentionModel = field(
        default_factory=lambda: AbstentionModel((4.0, 2.0, 2.0, 2.0, -2.0, 4.0), -4.0, 0.5)
    )
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "weights": self.weights.__dict__,
            "abstention": {
                "features": list(FEATURES),
                "coef": list(self.abstention.coef),
                "intercept": self.abstention.intercept,
                "threshold": self.abstention.threshold,
            },
            "provenance": self.provenance,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnsweringConfig:
        a = data["abstention"]
        if tuple(a.get("features", FEATURES)) != FEATURES:
            raise ModelError("answering.json was fitted on other features: refit it")
        return cls(
            weights=SentenceWeights(**data["weights"]),
            abstention=AbstentionModel(tuple(a["coef"]), float(a["intercept"]), a["threshold"]),
            provenance=data.get("provenance", {}),
        )


@lru_cache(maxsize=4)
def load_config(path: Path = CONFIG_PATH) -> AnsweringConfig:
    """The fitted configuration shipped with the package (defaults if it was never fitted)."""
    if not path.is_file():
        return AnsweringConfig()
    try:
        return AnsweringConfig.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelError(f"cannot read the answering configuration {path}: {e}") from e
