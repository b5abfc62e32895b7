"""The answer step with the fake embedder: contracts and bad input (real quality: test_quality)."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from rag.answering import Answerer
from rag.answering.answerer import MAX_QUESTION_CHARS
from rag.answering.citations import check_citations
from rag.answering.config import FEATURES, AbstentionModel, AnsweringConfig
from rag.errors import CitationError, InvalidInputError
from rag.pipeline import RAG
from rag.types import Citation
from tests.conftest import assert_verbatim

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


def answerer(rag: RAG, config: AnsweringConfig, mode: str = "hybrid") -> Answerer:
    default = rag.answerer(mode)  # type: ignore[arg-type]
    return Answerer(default.retriever, default.store, rag.embedder, config)


def test_answers_quote_the_document_verbatim_with_checkable_citations(small_rag: RAG) -> None:
    answer = answerer(small_rag, always_answer()).ask("Who founded the library in Lisbon?")
    assert not answer.abstained
    assert "Maria Lopez" in answer.answer
    assert answer.citations and answer.citations[0].source == "beta.txt"
    assert_verbatim(answer, small_rag)
    assert answer.answer == " ".join(c.quote for c in answer.citations)
    quotes = [c.quote for c in answer.citations]
    assert len(quotes) == len(set(quotes))


def test_below_the_threshold_it_abstains_and_offers_related_reading(small_rag: RAG) -> None:
    never = AnsweringConfig(abstention=AbstentionModel((0.0,) * len(FEATURES), -5.0, 0.5))
    answer = answerer(small_rag, never).ask("Who founded the library?", k=2)
    assert answer.abstained and answer.answer is None and answer.short_answer is None
    assert answer.citations == ()
    assert len(answer.passages) == 2
    assert 0.0 <= answer.confidence < 0.5


def test_strictness_overrides_the_fitted_threshold(small_rag: RAG) -> None:
    ask = answerer(small_rag, always_answer()).ask
    assert not ask("Who founded the library?", strictness=0.0).abstained
    assert ask("Who founded the library?", strictness=1.0).abstained


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_questions_are_refused(small_rag: RAG, question: str) -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        small_rag.ask(question)


def test_a_huge_question_is_truncated_with_a_warning(small_rag: RAG) -> None:
    answer = small_rag.ask("library " * 20_000)
    assert answer.warnings and "first" in answer.warnings[0]
    assert len(answer.question) <= MAX_QUESTION_CHARS


def test_answer_json_has_the_documented_shape(small_rag: RAG) -> None:
    answer = answerer(small_rag, always_answer()).ask("When did the observatory open?")
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
        "line_start",
        "line_end",
        "stale",
    }
    assert set(data["passages"][0]) == {"passage_id", "source", "page", "score", "text"}
    assert data["timings_ms"]["total"] >= data["timings_ms"]["retrieve_extract"] > 0
    assert data["timings_ms"]["total"] >= data["timings_ms"]["encode"]


def test_short_answer_lies_inside_the_first_quote(small_rag: RAG) -> None:
    answer = answerer(small_rag, always_answer()).ask("When did the observatory open?")
    assert answer.short_answer == "1931"
    start, end = answer.short_answer_span
    first = answer.citations[0]
    assert first.start <= start < end <= first.end
    assert first.quote[start - first.start : end - first.start] == "1931"


def test_bm25_and_dense_modes_answer_too(small_rag: RAG) -> None:
    for mode in ("bm25", "dense"):
        answer = answerer(small_rag, always_answer(), mode).ask(
            "How many metres does the railway climb?"
        )
        assert_verbatim(answer, small_rag)
        assert "600 metres" in answer.answer


def test_a_citation_that_does_not_match_its_document_is_refused(small_rag: RAG) -> None:
    answer = answerer(small_rag, always_answer()).ask("When did the observatory open?")
    store = small_rag.store
    check_citations(answer, store)  # the real one passes
    first = answer.citations[0]
    tampered: list[Citation] = [
        dataclasses.replace(first, quote=first.quote.upper()),
        dataclasses.replace(first, start=first.start + 1),
        dataclasses.replace(first, page=first.page + 1),
        dataclasses.replace(first, source="elsewhere.txt"),
    ]
    for bad in tampered:
        with pytest.raises(CitationError):
            check_citations(dataclasses.replace(answer, citations=(bad,)), store)
    with pytest.raises(CitationError, match="short answer"):
        check_citations(dataclasses.replace(answer, short_answer="1932"), store)


class FindingReader:
    """A stand-in for the learned reader: "reads" the span holding ``target`` wherever it is."""

    def __init__(self, target: str, margin: float = 3.0) -> None:
        self.target, self.margin, self.read_passages = target, margin, []

    def read(self, question: str, passages):  # noqa: ANN001, ANN201
        from rag.answering.reader import ReadSpan

        self.read_passages.append([p.id for p in passages])
        return [
            ReadSpan(
                p.id,
                p.start + p.text.index(self.target),
                p.start + p.text.index(self.target) + len(self.target),
                self.margin,
                0.0,
            )
            for p in passages
            if self.target in p.text
        ]


def reading(
    rag: RAG, reader: FindingReader, threshold: float = 0.5, max_quotes: int = 1
) -> Answerer:
    default = rag.answerer()
    config = always_answer()
    config = dataclasses.replace(
        config,
        weights=dataclasses.replace(config.weights, max_quotes=max_quotes),
        reader=AbstentionModel((1.0,), 0.0, threshold, ("span_margin",)),
    )
    return Answerer(default.retriever, default.store, rag.embedder, config, reader)  # type: ignore[arg-type]


def test_with_a_reader_the_span_is_the_short_answer_quoted_in_its_sentence(small_rag: RAG) -> None:
    reader = FindingReader("Maria Lopez")
    answer = reading(small_rag, reader).ask("Who founded the library?", k=2)
    assert not answer.abstained and answer.short_answer == "Maria Lopez"
    assert answer.answer == "It was founded by Maria Lopez in Lisbon."
    assert len(answer.citations) == 1 and answer.citations[0].source == "beta.txt"
    assert_verbatim(answer, small_rag)
    assert 0 < len(reader.read_passages[0]) <= 4  # only the best passages are read
    assert answer.confidence == pytest.approx(1 / (1 + math.exp(-3.0)))


def test_with_a_reader_the_scorers_best_sentence_follows_the_spans_unless_it_is_the_same(
    small_rag: RAG,
) -> None:
    question = "Who founded the library?"
    best = answerer(small_rag, always_answer()).ask(question).citations[0].quote
    sentences = [
        "The library holds forty thousand books.",
        "It was founded by Maria Lopez in Lisbon.",
    ]
    assert best in sentences  # what the sentence scorer quotes first
    other = next(s for s in sentences if s != best)
    span = "forty thousand" if "forty" in other else "Maria Lopez"

    elsewhere = reading(small_rag, FindingReader(span), max_quotes=2).ask(question)
    assert [c.quote for c in elsewhere.citations] == [other, best]
    assert [c.n for c in elsewhere.citations] == [1, 2]
    assert elsewhere.answer == " ".join(c.quote for c in elsewhere.citations)
    assert elsewhere.short_answer == span  # in the first quote, the span's own
    assert_verbatim(elsewhere, small_rag)

    in_best = "forty thousand" if "forty" in best else "Maria Lopez"
    same = reading(small_rag, FindingReader(in_best), max_quotes=2).ask(question)
    assert same.citations[0].quote == best
    assert best not in [c.quote for c in same.citations[1:]]
    assert_verbatim(same, small_rag)


def test_with_a_reader_no_span_or_a_low_margin_abstains(small_rag: RAG) -> None:
    nothing = reading(small_rag, FindingReader("no such words")).ask("Who founded the library?")
    assert nothing.abstained and nothing.confidence == 0.0 and nothing.passages
    unsure = reading(small_rag, FindingReader("Maria Lopez", margin=-2.0))
    assert unsure.ask("Who founded the library?").abstained
    assert not unsure.ask("Who founded the library?", strictness=0.0).abstained


@pytest.mark.parametrize("question", ["\u200b\u200b", "?!...", "\u2060 \ufeff —"])
def test_questions_without_words_are_refused(small_rag: RAG, question: str) -> None:
    with pytest.raises(InvalidInputError, match="no words"):
        small_rag.ask(question)
    with pytest.raises(InvalidInputError, match="no words"):
        small_rag.search(question)


def test_the_readers_confidence_reads_the_span_and_the_scorers_best_sentence(
    small_rag: RAG,
) -> None:
    from rag.answering.config import READER_FEATURES

    question = "Who founded the library?"
    best = answerer(small_rag, always_answer()).ask(question).citations[0].quote
    inside = "forty thousand" if "forty" in best else "Maria Lopez"
    outside = "Maria Lopez" if inside == "forty thousand" else "forty thousand"
    for span, agrees in ((inside, 1.0), (outside, 0.0)):
        reading_answerer = reading(small_rag, FindingReader(span))
        vector = small_rag.embedder.encode([question])[0]
        evidence = reading_answerer.weigh(question, vector)
        read = evidence.read_features
        assert set(read) == set(READER_FEATURES)
        assert read["span_in_best_sentence"] == agrees
        assert read["span_margin"] == 3.0
        assert read["sentence_cosine"] == evidence.features["cosine"]
        assert read["sentence_lexical"] == evidence.features["lexical"]
        assert read["sentence_margin"] == evidence.features["margin"]
