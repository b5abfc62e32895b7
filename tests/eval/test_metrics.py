"""Metrics against hand-computed values (standard formulas) and the official SQuAD examples."""

from __future__ import annotations

import math

import pytest

from eval.metrics import (
    abstention_accuracy,
    accuracy_coverage,
    contains_gold,
    exact_match,
    f1,
    has_answer,
    latency_percentiles,
    normalize_answer,
    per_query_retrieval,
    retrieval_metrics,
)
from rag.errors import InvalidInputError

# q1: relevant d2 (grade 2) at rank 2, d9 (grade 1) at rank 12 -> outside the MRR/nDCG cut.
# q2: relevant d1 (grade 1) at rank 1 and d3 (grade 2) at rank 3; d7 (grade 0) judged non-relevant.
# q3: relevant but missing from the run -> all zeros.
# q4: judged, nothing relevant -> skipped.
RUN = {
    "q1": {f"d{i}": 100.0 - i for i in range(1, 13)} | {"d9": 80.0, "d2": 98.5},
    "q2": {"d1": 3.0, "d7": 2.0, "d3": 1.0},
    "q4": {"d1": 1.0},
}
QRELS = {
    "q1": {"d2": 2, "d9": 1},
    "q2": {"d1": 1, "d3": 2, "d7": 0},
    "q3": {"d5": 1},
    "q4": {"d1": 0},
}


def _ranking(docs: dict[str, float]) -> list[str]:
    return sorted(docs, key=lambda d: -docs[d])


def _hand_metrics(ranking: list[str], rels: dict[str, int]) -> dict[str, float]:
    relevant = {d for d, r in rels.items() if r > 0}
    out = {f"recall@{k}": len(relevant & set(ranking[:k])) / len(relevant) for k in (1, 5, 10, 100)}
    ranks = [i for i, d in enumerate(ranking[:10], start=1) if d in relevant]
    out["mrr@10"] = 1 / ranks[0] if ranks else 0.0
    dcg = sum(rels.get(d, 0) / math.log2(i + 1) for i, d in enumerate(ranking[:10], start=1))
    ideal = sorted((r for r in rels.values() if r > 0), reverse=True)[:10]
    idcg = sum(r / math.log2(i + 1) for i, r in enumerate(ideal, start=1))
    out["ndcg@10"] = dcg / idcg
    return out


def test_q1_ranking_is_as_designed() -> None:
    ranking = _ranking(RUN["q1"])
    assert ranking.index("d2") == 1 and ranking.index("d9") == 11


def test_per_query_matches_hand_computation() -> None:
    got = per_query_retrieval(RUN, QRELS)
    assert set(got) == {"q1", "q2", "q3"}
    for q in ("q1", "q2"):
        expected = _hand_metrics(_ranking(RUN[q]), QRELS[q])
        assert got[q] == pytest.approx(expected), q
    assert all(v == 0.0 for v in got["q3"].values())


def test_hand_values_are_the_known_numbers() -> None:
    got = per_query_retrieval(RUN, QRELS)
    assert got["q1"]["mrr@10"] == pytest.approx(0.5)
    assert got["q1"]["recall@10"] == pytest.approx(0.5)
    assert got["q1"]["recall@100"] == pytest.approx(1.0)
    assert got["q2"]["ndcg@10"] == pytest.approx((1 + 2 / 2) / (2 + 1 / math.log2(3)))


def test_means_over_judged_queries() -> None:
    got = retrieval_metrics(RUN, QRELS)
    assert list(got) == ["recall@1", "recall@5", "recall@10", "recall@100", "mrr@10", "ndcg@10"]
    hand = [_hand_metrics(_ranking(RUN[q]), QRELS[q]) for q in ("q1", "q2")]
    for key, value in got.items():
        assert value == pytest.approx((hand[0][key] + hand[1][key] + 0.0) / 3), key


def test_ties_keep_run_order() -> None:
    qrels = {"q": {"a": 1}}
    assert retrieval_metrics({"q": {"a": 1.0, "z": 1.0}}, qrels)["mrr@10"] == 1.0
    assert retrieval_metrics({"q": {"z": 1.0, "a": 1.0}}, qrels)["mrr@10"] == 0.5


def test_mrr_is_cut_at_ten() -> None:
    run = {"q": {f"d{i}": -float(i) for i in range(1, 12)}}
    assert retrieval_metrics(run, {"q": {"d11": 1}})["mrr@10"] == 0.0
    assert retrieval_metrics(run, {"q": {"d10": 1}})["mrr@10"] == pytest.approx(0.1)


def test_no_relevant_query_is_an_error() -> None:
    with pytest.raises(InvalidInputError):
        retrieval_metrics(RUN, {"q4": {"d1": 0}})


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("The Cat, sat!", "cat sat"),
        ("  an   apple\tand A pear ", "apple and pear"),
        ("Theory", "theory"),
        (None, ""),
    ],
)
def test_normalize_answer(raw: str | None, normalised: str) -> None:
    assert normalize_answer(raw) == normalised


def test_f1_and_em_known_examples() -> None:
    # "cat sat" vs "cat sat down": precision 1, recall 2/3 -> F1 0.8.
    assert f1("the cat sat", ["a cat sat down"]) == pytest.approx(0.8)
    assert exact_match("the cat sat", ["a cat sat down"]) == 0.0
    assert exact_match("The Cat sat.", ["cat sat"]) == 1.0
    assert f1("Denver Broncos", ["Broncos", "Denver Broncos"]) == 1.0
    assert f1("blue", ["red"]) == 0.0
    # Repeated tokens match once per gold occurrence: precision 2/3, recall 1 -> F1 0.8.
    assert f1("x x y", ["x y"]) == pytest.approx(0.8)


def test_unanswerable_scoring_follows_v2() -> None:
    for metric in (f1, exact_match):
        assert metric(None, []) == 1.0
        assert metric("", []) == 1.0
        assert metric("Paris", []) == 0.0
        assert metric(None, ["Paris"]) == 0.0
    # A gold that normalises to nothing counts as no gold, as in the official script.
    assert f1("", ["the"]) == 1.0


def test_contains_gold_and_has_answer() -> None:
    assert contains_gold("He was born in Paris, France.", ["paris"])
    assert not contains_gold("concatenate", ["cat"])
    assert not contains_gold("anything", [])
    assert not contains_gold("anything", ["the"])
    assert has_answer(["no", "The Eiffel Tower is in Paris."], ["eiffel tower"])
    assert not has_answer([], ["x"])


def test_latency_percentiles() -> None:
    got = latency_percentiles([float(i) for i in range(1, 101)])
    assert got == {"latency_ms_p50": pytest.approx(50.5), "latency_ms_p95": pytest.approx(95.05)}
    assert latency_percentiles([]) == {"latency_ms_p50": None, "latency_ms_p95": None}


def test_accuracy_coverage() -> None:
    curve = accuracy_coverage([0.9, 0.1, 0.5, 0.5], [True, False, False, True])
    assert curve == [
        (0.9, 0.25, 1.0),
        (0.5, 0.75, pytest.approx(2 / 3)),
        (0.1, 1.0, 0.5),
    ]
    assert accuracy_coverage([], []) == []
    with pytest.raises(InvalidInputError):
        accuracy_coverage([0.1], [])


def test_abstention_accuracy() -> None:
    got = abstention_accuracy([False, True, True, False, True], [True, True, False, False, False])
    assert got["hasans_accuracy"] == 0.5
    assert got["noans_accuracy"] == pytest.approx(2 / 3)
    assert (got["hasans_total"], got["noans_total"]) == (2, 3)
    only_answerable = abstention_accuracy([False], [True])
    assert only_answerable["noans_accuracy"] is None
    assert only_answerable["hasans_accuracy"] == 1.0
