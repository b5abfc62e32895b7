"""Pure evaluation metrics: retrieval (via pytrec_eval), SQuAD v2.0 answer scoring, latency,
accuracy-coverage and abstention.

Nothing here retrieves or reads files; every function takes plain Python data and returns plain
Python data, and never returns NaN (an undefined figure is ``None``). This module is the front
that re-exports them by role: retrieval from ``eval.retrieval_metrics``, answers from
``eval.answer_metrics``, confidence and abstention from ``eval.abstention_metrics``, and latency
from ``eval.latency_metrics``.
"""

from __future__ import annotations

from eval.abstention_metrics import abstention_accuracy, abstention_curve, accuracy_coverage
from eval.answer_metrics import contains_gold, exact_match, f1, has_answer, normalize_answer
from eval.latency_metrics import latency_percentiles
from eval.retrieval_metrics import (
    MRR_CUTOFF,
    NDCG_CUTOFF,
    RECALL_CUTOFFS,
    RETRIEVAL_KEYS,
    per_query_retrieval,
    recall_curve,
    retrieval_metrics,
)

__all__ = [
    "MRR_CUTOFF",
    "NDCG_CUTOFF",
    "RECALL_CUTOFFS",
    "RETRIEVAL_KEYS",
    "abstention_accuracy",
    "abstention_curve",
    "accuracy_coverage",
    "contains_gold",
    "exact_match",
    "f1",
    "has_answer",
    "latency_percentiles",
    "normalize_answer",
    "per_query_retrieval",
    "recall_curve",
    "retrieval_metrics",
]
