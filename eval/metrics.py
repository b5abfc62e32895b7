"""Pure evaluation metrics: retrieval (via pytrec_eval), SQuAD v2.0 answer scoring, latency,
accuracy-coverage and abstention.

Nothing here retrieves or reads files; every function takes plain Python data and returns plain
Python data, and never returns NaN (an undefined figure is ``None``).
"""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from rag.errors import InvalidInputError

RECALL_CUTOFFS: tuple[int, ...] = (1, 5, 10, 100)
MRR_CUTOFF = 10
NDCG_CUTOFF = 10
RETRIEVAL_KEYS: tuple[str, ...] = (
    *(f"recall@{k}" for k in RECALL_CUTOFFS),
    f"mrr@{MRR_CUTOFF}",
    f"ndcg@{NDCG_CUTOFF}",
)

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


# --- retrieval -------------------------------------------------------------------------------


def _ranked(docs: Mapping[str, float]) -> list[str]:
    # A stable sort keeps the run's own order among equal scores, so a tie is ranked as the
    # retriever listed it rather than by trec_eval's doc-id tie-break.
    return [d for d, _ in sorted(docs.items(), key=lambda kv: -float(kv[1]))]


def _rank_scores(ranked: list[str]) -> dict[str, float]:
    # Distinct, strictly decreasing scores make pytrec_eval rank exactly as ``ranked`` does.
    n = len(ranked)
    return {doc: float(n - i) for i, doc in enumerate(ranked)}


def per_query_retrieval(
    run: Mapping[str, Mapping[str, float]], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, dict[str, float]]:
    """Retrieval metrics of each judged query, computed with pytrec_eval.

    Documents are ranked by score, highest first; equal scores keep the order in which the run
    lists them. ``mrr@10`` is pytrec_eval's ``recip_rank`` on the run cut to its top 10.

    Args:
        run: Query id -> {document id: score}.
        qrels: Query id -> {document id: relevance grade}; a grade > 0 is relevant.

    Returns:
        Query id -> {metric: value} with the keys of ``RETRIEVAL_KEYS``, for every query of
        ``qrels`` with at least one relevant document. A query missing from the run scores 0.

    Raises:
        InvalidInputError: If no query of ``qrels`` has a relevant document.
    """
    import pytrec_eval

    judged = {
        str(q): {str(d): int(r) for d, r in docs.items()}
        for q, docs in qrels.items()
        if any(int(r) > 0 for r in docs.values())
    }
    if not judged:
        raise InvalidInputError("qrels hold no query with a relevant document: nothing to score")
    full_run: dict[str, dict[str, float]] = {}
    cut_run: dict[str, dict[str, float]] = {}
    for q in judged:
        ranked = _ranked(run.get(q, {}))
        if ranked:
            full_run[q] = _rank_scores(ranked)
            cut_run[q] = _rank_scores(ranked[:MRR_CUTOFF])
    recall = "recall." + ",".join(str(k) for k in RECALL_CUTOFFS)
    ndcg = f"ndcg_cut.{NDCG_CUTOFF}"
    full = pytrec_eval.RelevanceEvaluator(judged, {recall, ndcg}).evaluate(full_run)
    cut = pytrec_eval.RelevanceEvaluator(judged, {"recip_rank"}).evaluate(cut_run)
    results: dict[str, dict[str, float]] = {}
    for q in judged:
        f, c = full.get(q, {}), cut.get(q, {})
        row = {f"recall@{k}": float(f.get(f"recall_{k}", 0.0)) for k in RECALL_CUTOFFS}
        row[f"mrr@{MRR_CUTOFF}"] = float(c.get("recip_rank", 0.0))
        row[f"ndcg@{NDCG_CUTOFF}"] = float(f.get(f"ndcg_cut_{NDCG_CUTOFF}", 0.0))
        results[q] = row
    return results


def retrieval_metrics(
    run: Mapping[str, Mapping[str, float]], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, float]:
    """Mean retrieval metrics over the judged queries (see ``per_query_retrieval``).

    Args:
        run: Query id -> {document id: score}.
        qrels: Query id -> {document id: relevance grade}; a grade > 0 is relevant.

    Returns:
        ``recall@1``, ``recall@5``, ``recall@10``, ``recall@100``, ``mrr@10`` and ``ndcg@10``,
        each the mean over the queries of ``qrels`` that have a relevant document.

    Raises:
        InvalidInputError: If no query of ``qrels`` has a relevant document.
    """
    per_query = per_query_retrieval(run, qrels)
    n = len(per_query)
    return {key: sum(row[key] for row in per_query.values()) / n for key in RETRIEVAL_KEYS}


# --- SQuAD v2.0 answer scoring -----------------------------------------------------------------


def normalize_answer(s: str | None) -> str:
    """SQuAD's normalisation: lower case, drop punctuation and articles, collapse whitespace.

    Args:
        s: The text; ``None`` is treated as the empty string.

    Returns:
        The normalised text.
    """
    text = (s or "").lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _gold_texts(golds: Iterable[str]) -> list[str]:
    # As the official v2 script: golds that normalise to nothing are dropped, and no gold left
    # means the question is unanswerable, whose only correct answer is the empty one.
    kept = [g for g in golds if normalize_answer(g)]
    return kept or [""]


def _f1_one(prediction: str, gold: str) -> float:
    pred_toks = normalize_answer(prediction).split()
    gold_toks = normalize_answer(gold).split()
    if not pred_toks or not gold_toks:
        return float(pred_toks == gold_toks)
    common = collections.Counter(pred_toks) & collections.Counter(gold_toks)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_toks)
    recall = num_same / len(gold_toks)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str | None, golds: Sequence[str]) -> float:
    """SQuAD v2.0 exact match: 1.0 if the normalised prediction equals a normalised gold.

    Args:
        prediction: The predicted answer; ``None`` or ``""`` means the system abstained.
        golds: The gold answers; an empty list means the question is unanswerable, so only an
            abstention scores 1.0.

    Returns:
        1.0 or 0.0.
    """
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in _gold_texts(golds)))


def f1(prediction: str | None, golds: Sequence[str]) -> float:
    """SQuAD v2.0 token F1, the maximum over the gold answers.

    Args:
        prediction: The predicted answer; ``None`` or ``""`` means the system abstained.
        golds: The gold answers; an empty list means the question is unanswerable, so only an
            abstention scores 1.0.

    Returns:
        A value in [0, 1].
    """
    pred = prediction or ""
    return max(_f1_one(pred, g) for g in _gold_texts(golds))


def contains_gold(text: str, golds: Sequence[str]) -> bool:
    """Whether a normalised gold answer occurs in the normalised text, on token boundaries.

    Matching whole tokens ("cat" is not found in "concatenate") is what DPR's ``has_answer``
    does; normalisation makes it blind to case, punctuation and articles.

    Args:
        text: The text to search (a passage, an answer).
        golds: The gold answers; golds that normalise to nothing never match.

    Returns:
        True if some gold answer occurs in the text.
    """
    haystack = f" {normalize_answer(text)} "
    for gold in golds:
        needle = normalize_answer(gold)
        if needle and f" {needle} " in haystack:
            return True
    return False


def has_answer(passages: Sequence[str], golds: Sequence[str]) -> bool:
    """Whether any passage contains a gold answer (see ``contains_gold``).

    Args:
        passages: Passage texts, e.g. the top-k retrieved.
        golds: The gold answers.

    Returns:
        True if some passage contains some gold answer.
    """
    return any(contains_gold(p, golds) for p in passages)


# --- latency, confidence and abstention --------------------------------------------------------


def latency_percentiles(latencies_ms: Sequence[float]) -> dict[str, float | None]:
    """Median and 95th percentile latency (linear interpolation).

    Args:
        latencies_ms: Per-question latencies in milliseconds.

    Returns:
        ``latency_ms_p50`` and ``latency_ms_p95``; both ``None`` when there are no latencies.
    """
    if len(latencies_ms) == 0:
        return {"latency_ms_p50": None, "latency_ms_p95": None}
    values = np.asarray(latencies_ms, dtype=float)
    return {
        "latency_ms_p50": float(np.percentile(values, 50)),
        "latency_ms_p95": float(np.percentile(values, 95)),
    }


def accuracy_coverage(
    confidences: Sequence[float], correct: Sequence[bool] | Sequence[float]
) -> list[tuple[float, float, float]]:
    """The accuracy-coverage curve of answering only when confidence >= a threshold.

    Args:
        confidences: Each question's confidence.
        correct: Each question's correctness (a bool, or a score in [0, 1] such as F1).

    Returns:
        One ``(threshold, coverage, accuracy)`` per distinct confidence, highest threshold first:
        ``coverage`` is the share of questions with confidence >= threshold and ``accuracy`` the
        mean correctness of those. Empty for no questions.

    Raises:
        InvalidInputError: If the two sequences differ in length.
    """
    if len(confidences) != len(correct):
        raise InvalidInputError(
            f"confidences ({len(confidences)}) and correct ({len(correct)}) differ in length"
        )
    n = len(confidences)
    if n == 0:
        return []
    order = sorted(range(n), key=lambda i: -float(confidences[i]))
    curve: list[tuple[float, float, float]] = []
    covered = 0
    total = 0.0
    for pos, i in enumerate(order):
        covered += 1
        total += float(correct[i])
        last_of_threshold = pos + 1 == n or float(confidences[order[pos + 1]]) < float(
            confidences[i]
        )
        if last_of_threshold:
            curve.append((float(confidences[i]), covered / n, total / covered))
    return curve


def abstention_accuracy(
    abstained: Sequence[bool], answerable: Sequence[bool]
) -> dict[str, float | int | None]:
    """How well the system abstains exactly on the unanswerable questions.

    Args:
        abstained: Whether the system abstained on each question.
        answerable: Whether each question has an answer in the corpus.

    Returns:
        ``hasans_accuracy`` (share of answerable questions not abstained on), ``noans_accuracy``
        (share of unanswerable questions abstained on), ``hasans_total`` and ``noans_total``.
        An accuracy is ``None`` when its group is empty.

    Raises:
        InvalidInputError: If the two sequences differ in length.
    """
    if len(abstained) != len(answerable):
        raise InvalidInputError(
            f"abstained ({len(abstained)}) and answerable ({len(answerable)}) differ in length"
        )
    has = [not a for a, ok in zip(abstained, answerable, strict=True) if ok]
    no = [bool(a) for a, ok in zip(abstained, answerable, strict=True) if not ok]
    return {
        "hasans_accuracy": sum(has) / len(has) if has else None,
        "noans_accuracy": sum(no) / len(no) if no else None,
        "hasans_total": len(has),
        "noans_total": len(no),
    }


# --- curves ------------------------------------------------------------------------------------


def recall_curve(
    ranked: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]], max_k: int
) -> list[float]:
    """Mean recall@k for k = 1..max_k, as pytrec_eval's ``recall_k`` defines it.

    Args:
        ranked: Query id -> document ids, best first (each id once).
        qrels: Query id -> {document id: grade}; a grade > 0 is relevant.
        max_k: The deepest cutoff.

    Returns:
        ``max_k`` values; value ``i`` is the recall at ``k = i + 1``, averaged over the queries
        of ``qrels`` with a relevant document (a query missing from ``ranked`` scores 0).

    Raises:
        InvalidInputError: If ``max_k <= 0`` or no query of ``qrels`` has a relevant document.
    """
    if max_k <= 0:
        raise InvalidInputError(f"max_k must be positive, got {max_k}")
    totals = np.zeros(max_k, dtype=float)
    judged = 0
    for q, docs in qrels.items():
        relevant = {str(d) for d, r in docs.items() if int(r) > 0}
        if not relevant:
            continue
        judged += 1
        hits = np.array([d in relevant for d in list(ranked.get(q, ()))[:max_k]], dtype=float)
        found = np.zeros(max_k, dtype=float)
        found[: len(hits)] = np.cumsum(hits)
        if len(hits) < max_k:
            found[len(hits) :] = found[len(hits) - 1] if len(hits) else 0.0
        totals += found / len(relevant)
    if judged == 0:
        raise InvalidInputError("qrels hold no query with a relevant document: nothing to score")
    return [float(v) for v in totals / judged]


def abstention_curve(
    confidences: Sequence[float], correct: Sequence[bool], answerable: Sequence[bool]
) -> list[tuple[float, float, float, float]]:
    """What answering only at confidence >= a threshold would give, for every threshold.

    Args:
        confidences: Each question's confidence.
        correct: Whether the answer the system gives when it does answer is right; an
            unanswerable question's answer is never right, whatever this says.
        answerable: Whether each question has an answer.

    Returns:
        One ``(threshold, coverage, answered_accuracy, overall_accuracy)`` per distinct
        confidence, highest threshold first, where ``coverage`` and ``answered_accuracy`` are
        those of ``accuracy_coverage`` and ``overall_accuracy`` also counts each unanswerable
        question left unanswered as right: (right answers + right abstentions) / questions.

    Raises:
        InvalidInputError: If the sequences differ in length.
    """
    n = len(confidences)
    if len(answerable) != n:
        raise InvalidInputError(
            f"confidences ({n}) and answerable ({len(answerable)}) differ in length"
        )
    if len(correct) != n:
        raise InvalidInputError(f"confidences ({n}) and correct ({len(correct)}) differ in length")
    right_answer = [bool(c) and bool(a) for c, a in zip(correct, answerable)]
    curve = accuracy_coverage(confidences, right_answer)
    if not curve:
        return []
    unanswerable = sum(1 for a in answerable if not a)
    order = sorted(range(n), key=lambda i: -float(confidences[i]))
    out: list[tuple[float, float, float, float]] = []
    pos = right = covered_noans = 0
    for threshold, coverage, accuracy in curve:
        while pos < n and float(confidences[order[pos]]) >= threshold:
            i = order[pos]
            right += right_answer[i]
            covered_noans += not answerable[i]
            pos += 1
        overall = (right + unanswerable - covered_noans) / n
        out.append((threshold, coverage, accuracy, overall))
    return out
