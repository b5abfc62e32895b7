"""Answer metrics: SQuAD v2.0 normalisation, exact match and token F1, and gold-answer matching.

``exact_match`` and ``f1`` score a predicted answer (``None`` or ``""`` for an abstention)
against the gold answers as the official SQuAD v2.0 script does; ``contains_gold`` and
``has_answer`` tell whether a text or passage holds a gold answer on token boundaries, as DPR's
``has_answer`` does. Pure functions on plain strings.
"""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


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
