"""Confidence and abstention metrics: accuracy-coverage, abstention accuracy, abstention curve.

They score a system that answers only when its confidence reaches a threshold, or abstains:
how accuracy trades against coverage, and how well it abstains exactly on the unanswerable
questions. Pure functions on plain sequences; an undefined figure is ``None``, never NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.errors import InvalidInputError


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
