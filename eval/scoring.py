"""Scoring a run: per-question results of one retrieval mode into its metrics, counts and curves.

Every figure is computed by ``eval.metrics``; this module decides which questions each metric is
computed over (``SUBSETS``) and what counts as the prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from eval import metrics
from eval.datasets import EvalQuestion, QADataset
from rag.types import Answer, RetrievalMode

RETRIEVAL_DEPTH = 100
"""Passages searched per question for the retrieval metrics: what ``rag search -k 100`` returns."""
HAS_ANSWER_DEPTH = 5

ANSWER_KEYS: tuple[str, ...] = (
    f"has_answer@{HAS_ANSWER_DEPTH}",
    "em",
    "f1",
    "hasans_em",
    "hasans_f1",
    "quote_em",
    "quote_f1",
    "quote_contains_gold",
    "quote_validity",
    "citation_precision",
    "hasans_accuracy",
    "noans_accuracy",
)
LATENCY_KEYS: tuple[str, ...] = ("latency_ms_p50", "latency_ms_p95")
METRIC_KEYS: tuple[str, ...] = (*metrics.RETRIEVAL_KEYS, *ANSWER_KEYS, *LATENCY_KEYS)
"""Every key of a run's metrics, in report order; a key that does not apply is ``None``."""

SUBSETS: dict[str, str] = {
    **{k: "answerable questions (those with a gold passage)" for k in metrics.RETRIEVAL_KEYS},
    f"has_answer@{HAS_ANSWER_DEPTH}": "answerable questions",
    "em": "all questions (SQuAD v2.0: an unanswerable question scores 1 only when abstained)",
    "f1": "all questions (SQuAD v2.0: an unanswerable question scores 1 only when abstained)",
    "hasans_em": "answerable questions (an abstention scores 0)",
    "hasans_f1": "answerable questions (an abstention scores 0)",
    "quote_em": "answerable questions (an abstention scores 0)",
    "quote_f1": "answerable questions (an abstention scores 0)",
    "quote_contains_gold": "answerable questions (an abstention scores 0)",
    "quote_validity": "all citations of all answers",
    "citation_precision": "citations of the answers to answerable questions with a gold passage",
    "hasans_accuracy": "answerable questions",
    "noans_accuracy": "unanswerable questions",
    "latency_ms_p50": "all questions",
    "latency_ms_p95": "all questions",
}


@dataclass(frozen=True)
class QuestionResult:
    """One question asked in one mode.

    Attributes:
        question: The dataset question.
        ranked: Gold ids (paragraphs or documents) of the top ``RETRIEVAL_DEPTH`` passages, best
            rank first, each once.
        has_answer: A gold answer is in a top-``HAS_ANSWER_DEPTH`` passage; None without answers.
        answer: The system's answer (None for retrieval-only runs).
        forced_quote: The quote the system would give at strictness 0 (for the accuracy-coverage
            curve); None when it has no candidate sentence.
        citations_valid: Citations whose quote equals the document text at their offsets.
        citations_gold: Citations whose passage overlaps a gold passage; None when gold is unknown.
        latency_ms: Answer (or search) time plus this question's share of the batched encoding.
    """

    question: EvalQuestion
    ranked: tuple[str, ...]
    has_answer: bool | None
    answer: Answer | None
    forced_quote: str | None
    citations_valid: int
    citations_gold: int | None
    latency_ms: float


@dataclass
class ModeRun:
    """A mode's per-question results, its metrics and its curves."""

    mode: RetrievalMode
    results: list[QuestionResult]
    metrics: dict[str, float | None] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    recall_curve: list[float] | None = None
    abstention_curve: list[tuple[float, float, float, float]] | None = None
    operating_point: dict[str, float] | None = None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def score_run(mode: RetrievalMode, results: list[QuestionResult], dataset: QADataset) -> ModeRun:
    """Compute a mode's metrics, counts and curves from its per-question results.

    Args:
        mode: The retrieval mode the results came from.
        results: One result per question.
        dataset: Supplies the qrels.

    Returns:
        The run; keys that do not apply to the dataset are ``None``.
    """
    run = ModeRun(mode=mode, results=results)
    values: dict[str, float | None] = dict.fromkeys(METRIC_KEYS)
    judged = {q: d for q, d in dataset.qrels.items() if any(r > 0 for r in d.values())}
    if judged:
        ranked = {r.question.id: r.ranked for r in results}
        run_scores = {
            q: {d: float(len(ids) - i) for i, d in enumerate(ids)} for q, ids in ranked.items()
        }
        values.update(metrics.retrieval_metrics(run_scores, judged))
        run.recall_curve = metrics.recall_curve(ranked, judged, RETRIEVAL_DEPTH)
    values.update(metrics.latency_percentiles([r.latency_ms for r in results]))
    asked = [r for r in results if r.answer is not None]
    run.counts = {
        "questions": len(results),
        "answerable": sum(r.question.answerable for r in results),
        "unanswerable": sum(not r.question.answerable for r in results),
        "judged": len(judged),
    }
    if asked:
        _answer_metrics(run, asked, values)
    run.metrics = values
    return run


def _prediction(answer: Answer) -> str:
    """The short answer; the whole quote when no short span was found; empty on abstention."""
    if answer.abstained:
        return ""
    return answer.short_answer or answer.answer or ""


def _answer_metrics(
    run: ModeRun, asked: list[QuestionResult], values: dict[str, float | None]
) -> None:
    answers = [r.answer for r in asked if r.answer is not None]
    golds = [r.question.answers for r in asked]
    answerable = [r.question.answerable for r in asked]
    predictions = [_prediction(a) for a in answers]
    quotes = ["" if a.abstained else (a.answer or "") for a in answers]
    has = [i for i, ok in enumerate(answerable) if ok]
    values["em"] = _mean([metrics.exact_match(p, g) for p, g in zip(predictions, golds)])
    values["f1"] = _mean([metrics.f1(p, g) for p, g in zip(predictions, golds)])
    values["hasans_em"] = _mean([metrics.exact_match(predictions[i], golds[i]) for i in has])
    values["hasans_f1"] = _mean([metrics.f1(predictions[i], golds[i]) for i in has])
    values["quote_em"] = _mean([metrics.exact_match(quotes[i], golds[i]) for i in has])
    values["quote_f1"] = _mean([metrics.f1(quotes[i], golds[i]) for i in has])
    values["quote_contains_gold"] = _mean(
        [float(metrics.contains_gold(quotes[i], golds[i])) for i in has]
    )
    values[f"has_answer@{HAS_ANSWER_DEPTH}"] = _mean(
        [float(bool(asked[i].has_answer)) for i in has]
    )
    n_citations = sum(len(a.citations) for a in answers)
    values["quote_validity"] = (
        sum(r.citations_valid for r in asked) / n_citations if n_citations else None
    )
    gold_known = [(r, a) for r, a in zip(asked, answers) if r.citations_gold is not None]
    cited = sum(len(a.citations) for _, a in gold_known)
    values["citation_precision"] = (
        sum(r.citations_gold or 0 for r, _ in gold_known) / cited if cited else None
    )
    abstained = [a.abstained for a in answers]
    accuracy = metrics.abstention_accuracy(abstained, answerable)
    for key in ("hasans_accuracy", "noans_accuracy"):
        value = accuracy[key]
        values[key] = None if value is None else float(value)
    run.counts["answered"] = sum(not a for a in abstained)
    run.counts["abstained"] = sum(abstained)
    run.counts["citations"] = n_citations
    _abstention(run, asked, [a.confidence for a in answers], abstained)


def _abstention(
    run: ModeRun, asked: list[QuestionResult], confidences: list[float], abstained: list[bool]
) -> None:
    """The accuracy-coverage curve and where the shipped threshold sits on it.

    An answer is right when the question is answerable and the quote holds a gold answer; an
    abstention is right when the question is unanswerable.
    """
    answerable = [r.question.answerable for r in asked]
    right = [
        ok
        and r.forced_quote is not None
        and metrics.contains_gold(r.forced_quote, r.question.answers)
        for r, ok in zip(asked, answerable)
    ]
    run.abstention_curve = metrics.abstention_curve(confidences, right, answerable)
    answered = [i for i, a in enumerate(abstained) if not a]
    right_answers = sum(right[i] for i in answered)
    right_abstentions = sum(1 for i, a in enumerate(abstained) if a and not answerable[i])
    run.operating_point = {
        "coverage": len(answered) / len(asked),
        "answered_accuracy": right_answers / len(answered) if answered else 0.0,
        "overall_accuracy": (right_answers + right_abstentions) / len(asked),
    }
