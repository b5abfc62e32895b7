"""The answer step with the fake embedder: contracts and bad input (real quality: test_quality)."""

from __future__ import annotations

import json

import pytest

from rag.abstain import FEATURES, AbstentionModel, AnsweringConfig
from rag.answer import MAX_QUESTION_CHARS, Answerer
from rag.errors import InvalidInputError
from rag.pipeline import RAG
from rag.retrieve import Retriever

TEXTS = {
    "alpha.txt": "The observatory opened in 1931. Its telescope has a mirror of 2.5 metres.\n\n"
    "Visitors arrive by the funicular railway. The railway climbs 600 metres in ten minutes.",
    "beta.txt": "The library holds forty thousand books. It was founded by Maria Lopez "
    "in Lisbon.\n\n"
    "Reading rooms close at nine in the evening.",
}


@pytest.fixture
def small_rag(tmp_path, fake_embedder) -> RAG:  # noqa: ANN001
    rag = RAG(tmp_path / "idx", embedder=fake_embedder)
    rag.index_texts(TEXTS)
    return rag


def always_answer() -> AnsweringConfig:
    return AnsweringConfig(abstention=AbstentionModel((0.0,) * len(FEATURES), 5.0, 0.5))


def check_citations(rag: RAG, answer) -> None:  # noqa: ANN001
    docs = {d.source: d for d in rag.documents()}
    for c in answer.citations:
        assert c.quote == docs[c.source].text[c.start : c.end]
        assert c.page == docs[c.source].page_at(c.start)


def test_answers_quote_the_document_verbatim_with_checkable_citations(small_rag: RAG) -> None:
    answerer = Answerer(small_rag.retriever(), always_answer())
    answer = answerer.ask("Who founded the library in Lisbon?")
    assert not answer.abstained
    assert "Maria Lopez" in answer.answer
    assert answer.citations and answer.citations[0].source == "beta.txt"
    check_citations(small_rag, answer)
    assert answer.answer == " ".join(c.quote for c in answer.citations)
    quotes = [c.quote for c in answer.citations]
    assert len(quotes) == len(set(quotes))


def test_below_the_threshold_it_abstains_and_offers_related_reading(small_rag: RAG) -> None:
    never = AnsweringConfig(abstention=AbstentionModel((0.0,) * len(FEATURES), -5.0, 0.5))
    answer = Answerer(small_rag.retriever(), never).ask("Who founded the library?", k=2)
    assert answer.abstained and answer.answer is None and answer.short_answer is None
    assert answer.citations == ()
    assert len(answer.passages) == 2
    assert 0.0 <= answer.confidence < 0.5


def test_strictness_overrides_the_fitted_threshold(small_rag: RAG) -> None:
    answerer = Answerer(small_rag.retriever(), always_answer())
    assert not answerer.ask("Who founded the library?", strictness=0.0).abstained
    assert answerer.ask("Who founded the library?", strictness=1.0).abstained


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_questions_are_refused(small_rag: RAG, question: str) -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        small_rag.ask(question)


def test_a_huge_question_is_truncated_with_a_warning(small_rag: RAG) -> None:
    answer = small_rag.ask("library " * 20_000)
    assert answer.warnings and "first" in answer.warnings[0]
    assert len(answer.question) <= MAX_QUESTION_CHARS


def test_answer_json_has_the_documented_shape(small_rag: RAG) -> None:
    answer = Answerer(small_rag.retriever(), always_answer()).ask("When did the observatory open?")
    data = json.loads(json.dumps(answer.to_dict()))
    assert {
        "question",
        "answer",
        "short_answer",
        "abstained",
        "confidence",
        "citations",
        "passages",
        "timings_ms",
    } <= set(data)
    assert set(data["citations"][0]) == {
        "n",
        "source",
        "title",
        "page",
        "passage_id",
        "start",
        "end",
        "quote",
    }
    assert set(data["passages"][0]) == {"passage_id", "source", "page", "score", "text"}
    assert data["timings_ms"]["total"] >= data["timings_ms"]["encode"]


def test_short_answer_lies_inside_the_first_quote(small_rag: RAG) -> None:
    answer = Answerer(small_rag.retriever(), always_answer()).ask("When did the observatory open?")
    assert answer.short_answer == "1931"
    start, end = answer.short_answer_span
    first = answer.citations[0]
    assert first.start <= start < end <= first.end
    assert first.quote[start - first.start : end - first.start] == "1931"


def test_bm25_and_dense_modes_answer_too(small_rag: RAG) -> None:
    for mode in ("bm25", "dense"):
        answerer = Answerer(Retriever(small_rag.index, mode=mode), always_answer())
        answer = answerer.ask("How many metres does the railway climb?")
        check_citations(small_rag, answer)
        assert "600 metres" in answer.answer
