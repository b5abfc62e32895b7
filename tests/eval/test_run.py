"""The harness runner: corpus building and alignment, per-question results, metrics and curves."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from eval_fixtures import planets_text, write_beir, write_qa_jsonl, write_squad

from eval import metrics
from eval.corpus import Alignment, beir_text, build_corpus, existing_corpus
from eval.datasets import EvalDocument, load_dataset, sample_questions
from eval.run import COMPARE_MODES, RunConfig, _gold_ranking, _valid, evaluate
from eval.scoring import METRIC_KEYS, RETRIEVAL_DEPTH
from rag.errors import EmptyCorpusError, InvalidInputError
from rag.pipeline import RAG
from rag.types import Citation

UNIT_KEYS = [k for k in METRIC_KEYS if not k.startswith("latency")]


@pytest.fixture
def squad(tmp_path: Path, fake_embedder):  # noqa: ANN001, ANN201
    dataset = load_dataset(write_squad(tmp_path / "tiny.json"))
    return dataset, build_corpus(dataset, tmp_path / "index", embedder=fake_embedder)


# --- alignment and the corpus ----------------------------------------------------------------


def test_alignment_carries_spans_over_cleaning() -> None:
    original = "Alpha  beta.\u200b Gamma\tdelta.\n\n  Epsilon  "
    cleaned = "Alpha beta. Gamma delta.\n\nEpsilon"
    align = Alignment(original, cleaned)
    start = original.index("Gamma")
    assert cleaned[slice(*align.span(start, start + len("Gamma\tdelta.")))] == "Gamma delta."
    eps = original.index("Epsilon")
    assert cleaned[slice(*align.span(eps, len(original)))] == "Epsilon"
    assert align.span(0, 0) == (0, 0)
    assert Alignment("same", "same").span(1, 3) == (1, 3)


def test_alignment_survives_changed_characters() -> None:
    # Not whitespace-only: falls back to difflib and still maps the untouched words.
    original = "one two X three four"
    cleaned = "one two three four"
    align = Alignment(original, cleaned)
    start = original.index("three")
    assert cleaned[slice(*align.span(start, start + 5))] == "three"


def test_squad_gold_spans_point_at_the_paragraphs(squad) -> None:  # noqa: ANN001
    dataset, corpus = squad
    documents = {d.id: d for d in corpus.rag.documents()}
    assert len(corpus.gold_spans) == len(dataset.paragraph_spans) == 5
    changed = 0
    for para_id, (doc_id, start, end) in corpus.gold_spans.items():
        src_doc, s, e = dataset.paragraph_spans[para_id]
        given = next(d for d in dataset.documents if d.id == src_doc).text[s:e]
        indexed = documents[doc_id].text[start:end]
        assert indexed.split() == given.replace("\u200b", "").split()
        changed += indexed != given
    assert changed == 2  # the double space and the zero-width space were cleaned away
    # Every passage maps to the paragraph(s) it overlaps, and every paragraph is covered.
    assert set(corpus.passage_gold_ids) == {p.id for p in corpus.rag.passages()}
    assert {g for ids in corpus.passage_gold_ids.values() for g in ids} == set(
        dataset.paragraph_spans
    )


def test_beir_text_does_not_repeat_the_title() -> None:
    doc = EvalDocument("1", "wing flutter .", "wing flutter . of swept wings", "x#1")
    assert beir_text(doc) == "wing flutter . of swept wings"
    doc = EvalDocument("2", "Heat transfer", "Conduction in slabs.", "x#2")
    assert beir_text(doc) == "Heat transfer. Conduction in slabs."
    assert beir_text(EvalDocument("3", "", "Only text.", "x#3")) == "Only text."
    assert beir_text(EvalDocument("4", "Only title", "", "x#4")) == "Only title"


def test_gold_ranking_keeps_the_best_rank_per_id() -> None:
    gold_ids = {"p0": ("a",), "p1": ("b", "c"), "p2": ("a",), "p3": (), "p4": ("d",)}
    assert _gold_ranking(["p2", "p3", "p1", "p0", "p4"], gold_ids) == ("a", "b", "c", "d")
    assert _gold_ranking(["p3", "unknown"], gold_ids) == ()


# --- the runner ------------------------------------------------------------------------------


def test_squad_run_measures_every_metric(squad) -> None:  # noqa: ANN001
    dataset, corpus = squad
    runs = evaluate(dataset, corpus, RunConfig(modes=("hybrid",)))
    run = runs["hybrid"]
    m = run.metrics
    assert set(m) == set(METRIC_KEYS)
    assert all(m[k] is not None for k in METRIC_KEYS), m
    assert all(0.0 <= m[k] <= 1.0 for k in UNIT_KEYS), m
    assert m["quote_validity"] == 1.0
    assert m["recall@1"] <= m["recall@5"] <= m["recall@10"] <= m["recall@100"] == 1.0
    assert m["latency_ms_p50"] > 0 and m["latency_ms_p95"] >= m["latency_ms_p50"]
    assert run.counts["questions"] == 8
    assert run.counts["answerable"] == 6 and run.counts["unanswerable"] == 2
    assert run.counts["answered"] + run.counts["abstained"] == 8
    # The recall curve agrees with pytrec_eval at its cutoffs.
    assert run.recall_curve is not None and len(run.recall_curve) == RETRIEVAL_DEPTH
    for k in metrics.RECALL_CUTOFFS:
        assert run.recall_curve[k - 1] == pytest.approx(m[f"recall@{k}"])
    assert run.abstention_curve and run.operating_point
    assert run.abstention_curve[-1][1] == 1.0


def test_answer_metrics_follow_the_answers(squad) -> None:  # noqa: ANN001
    """Recompute a few figures by hand from the per-question results."""
    dataset, corpus = squad
    run = evaluate(dataset, corpus, RunConfig(modes=("bm25",)))["bm25"]
    answerable = [r for r in run.results if r.question.answerable]
    contains = [
        not r.answer.abstained and metrics.contains_gold(r.answer.answer, r.question.answers)
        for r in answerable
    ]
    assert run.metrics["quote_contains_gold"] == pytest.approx(sum(contains) / len(contains))
    kept = [not r.answer.abstained for r in answerable]
    assert run.metrics["hasans_accuracy"] == pytest.approx(sum(kept) / len(kept))
    # Each citation's passage overlaps its question's gold paragraph or not: precision in [0, 1]
    # and, on this tiny corpus where retrieval is perfect, every cited passage is the gold one.
    assert run.metrics["recall@1"] == 1.0
    assert run.metrics["citation_precision"] == pytest.approx(1.0)


def test_compare_runs_each_mode_over_one_index(squad) -> None:  # noqa: ANN001
    dataset, corpus = squad
    runs = evaluate(dataset, corpus, RunConfig(modes=COMPARE_MODES))
    assert list(runs) == ["bm25", "dense", "hybrid"]
    for run in runs.values():
        assert len(run.results) == len(dataset.questions)
        assert run.metrics["quote_validity"] == 1.0


def test_sampled_run_scores_only_the_sample(squad) -> None:  # noqa: ANN001
    dataset, corpus = squad
    small = sample_questions(dataset, 3, seed=4)
    run = evaluate(small, corpus, RunConfig())["hybrid"]
    assert [r.question.id for r in run.results] == [q.id for q in small.questions]
    assert run.counts["judged"] == len(small.qrels)


def test_beir_run_is_retrieval_only(tmp_path: Path, fake_embedder) -> None:  # noqa: ANN001
    dataset = load_dataset(write_beir(tmp_path / "beir"))
    corpus = build_corpus(dataset, tmp_path / "index", embedder=fake_embedder)
    assert corpus.skipped == ("d4",)  # no text at all: not indexed
    run = evaluate(dataset, corpus, RunConfig(answer=False))["hybrid"]
    m = run.metrics
    assert all(m[k] is not None for k in metrics.RETRIEVAL_KEYS)
    assert all(m[k] is None for k in ("em", "f1", "quote_validity", "hasans_accuracy"))
    assert m["latency_ms_p50"] > 0
    # Query 3 has two relevant documents: recall counts each.
    ranked = {r.question.id: r.ranked for r in run.results}
    assert m["recall@100"] == 1.0 and set(ranked["3"]) >= {"d1", "d5"}
    assert run.abstention_curve is None


def test_beir_with_no_text_at_all(tmp_path: Path, fake_embedder) -> None:  # noqa: ANN001
    directory = write_beir(tmp_path / "beir")
    (directory / "corpus.jsonl").write_text(
        "\n".join(f'{{"_id": "d{i}", "title": "", "text": " "}}' for i in range(1, 6)) + "\n"
    )
    with pytest.raises(EmptyCorpusError, match="no document holds any text"):
        build_corpus(load_dataset(directory), tmp_path / "index", embedder=fake_embedder)


def test_qa_jsonl_over_an_existing_index(tmp_path: Path, fake_embedder) -> None:  # noqa: ANN001
    rag = RAG(tmp_path / "index", embedder=fake_embedder)
    rag.index_texts({"planets.txt": planets_text()}, markdown=False)
    dataset = load_dataset(write_qa_jsonl(tmp_path / "q.jsonl"))
    run = evaluate(dataset, existing_corpus(rag), RunConfig())["hybrid"]
    m = run.metrics
    assert all(m[k] is None for k in metrics.RETRIEVAL_KEYS)
    assert m["citation_precision"] is None  # no gold passages in a question set
    assert m["noans_accuracy"] in (0.0, 1.0) and m["hasans_accuracy"] is not None
    assert m["has_answer@5"] == 1.0  # one paragraph-sized passage per planet, all retrieved
    if run.counts["citations"]:
        assert m["quote_validity"] == 1.0


def test_a_citation_is_valid_only_if_its_quote_is_the_text_at_its_offsets(squad) -> None:  # noqa: ANN001
    _, corpus = squad
    doc = corpus.rag.documents()[0]
    start = doc.text.index("planet") if "planet" in doc.text else 0
    good = Citation(1, doc.source, doc.title, 1, "p", start, start + 6, doc.text[start : start + 6])
    documents = {doc.source: doc}
    assert _valid(good, documents)
    assert not _valid(dataclasses.replace(good, end=good.end + 1), documents)
    assert not _valid(dataclasses.replace(good, quote=good.quote.upper()), documents)
    assert not _valid(dataclasses.replace(good, source="elsewhere"), documents)


# --- curves ----------------------------------------------------------------------------------


def test_recall_curve_matches_pytrec_eval() -> None:
    ranked = {"q1": ["a", "b", "c"], "q2": ["x", "y"], "q3": []}
    qrels = {"q1": {"b": 1, "z": 2}, "q2": {"x": 1}, "q3": {"c": 1}, "q4": {"n": 0}}
    curve = metrics.recall_curve(ranked, qrels, 100)
    run = {q: {d: float(10 - i) for i, d in enumerate(ids)} for q, ids in ranked.items()}
    expected = metrics.retrieval_metrics(run, qrels)
    for k in metrics.RECALL_CUTOFFS:
        assert curve[k - 1] == pytest.approx(expected[f"recall@{k}"])
    assert curve[0] == pytest.approx((0 + 1 + 0) / 3)
    assert curve[1] == pytest.approx((0.5 + 1 + 0) / 3)
    with pytest.raises(InvalidInputError):
        metrics.recall_curve(ranked, {"q": {"a": 0}}, 10)


def test_abstention_curve_by_hand() -> None:
    # Confidence order: u (unanswerable, 0.9), a (right, 0.8), b (wrong, 0.5), v (unans, 0.2).
    conf = [0.9, 0.8, 0.5, 0.2]
    right = [True, True, False, False]  # u's True is ignored: an unanswerable is never right
    answerable = [False, True, True, False]
    curve = metrics.abstention_curve(conf, right, answerable)
    assert [p[0] for p in curve] == conf
    assert [p[1] for p in curve] == [0.25, 0.5, 0.75, 1.0]
    assert [p[2] for p in curve] == pytest.approx([0.0, 0.5, 1 / 3, 0.25])
    # overall = (right answers + unanswerables left unanswered) / 4
    assert [p[3] for p in curve] == pytest.approx([1 / 4, 2 / 4, 2 / 4, 1 / 4])
    assert metrics.abstention_curve([], [], []) == []


@pytest.mark.slow
def test_real_model_on_a_squad_sample(shared_data: Path, real_embedder, tmp_path: Path) -> None:  # noqa: ANN001
    dataset = load_dataset(shared_data / "squad2-dev-half" / "squad2_dev_half.json")
    sample = sample_questions(dataset, 60, seed=1)
    corpus = build_corpus(dataset, tmp_path / "index", embedder=real_embedder)
    assert len(corpus.gold_spans) == 646
    m = evaluate(sample, corpus, RunConfig())["hybrid"].metrics
    assert m["quote_validity"] == 1.0
    assert 0.6 <= m["recall@5"] <= m["recall@100"] <= 1.0
    assert m["mrr@10"] >= 0.5
    assert m["has_answer@5"] >= 0.6
    assert 0.3 <= m["quote_contains_gold"] <= 1.0
    assert 0.1 <= m["f1"] <= 1.0
    assert m["citation_precision"] >= 0.5
    assert m["hasans_accuracy"] is not None and m["noans_accuracy"] is not None
    assert m["latency_ms_p95"] < 1_000
