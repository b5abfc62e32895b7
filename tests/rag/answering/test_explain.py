"""``ask(explain=True)``: the trace's verdict always matches the decision, its scores are the ones
the decision used, and a question about what the documents never mention says so."""

from __future__ import annotations

import io
import json

import pytest

from rag.render import format_explanation

QUESTIONS = [
    "When was the interview taken?",
    "Who presented the draft treaty on weapons in outer space?",
    "How many NGOs got consultative status with ECOSOC?",
    "What is Lavrov's favourite football club?",
    "What does the zorblat festival celebrate?",
    "zxqv blorf wuggle?",
]


@pytest.mark.parametrize("reader", [False, True])
def test_the_verdict_matches_the_decision(default_rag, reader: bool) -> None:  # noqa: ANN001
    verdicts = set()
    for question in QUESTIONS:
        answer = default_rag.ask(question, reader=reader, explain=True)
        trace = answer.explanation
        assert trace is not None
        verdicts.add(trace.verdict)
        assert (trace.verdict == "answered") == (not answer.abstained), (question, trace)
        assert trace.confidence == answer.confidence
        if trace.verdict == "below threshold":
            assert answer.confidence < trace.threshold
        if trace.verdict == "answered":
            assert answer.confidence >= trace.threshold
        assert trace.method == ("reader" if reader else "sentence scorer")
        # The traced passages are the hits the decision saw, with their own scores.
        shown = {h.passage.id: h for h in answer.passages}
        for p in trace.passages:
            if p.passage_id in shown:
                assert p.score == shown[p.passage_id].score
        if reader:
            assert any(p.span is not None for p in trace.passages)
    assert {"answered", "not retrieved"} <= verdicts


def test_words_the_documents_never_use_are_a_coverage_gap(default_rag) -> None:  # noqa: ANN001
    answer = default_rag.ask("What does the zorblat festival celebrate?", explain=True)
    trace = answer.explanation
    assert answer.abstained and trace.verdict == "not retrieved"
    assert set(trace.coverage_gaps) == {"zorblat", "festival", "celebrate"}
    assert "zorblat" in trace.reason

    answer = default_rag.ask("When did Lavrov visit the zorblat?", explain=True)
    trace = answer.explanation
    assert "zorblat" in trace.coverage_gaps and "lavrov" not in trace.coverage_gaps
    assert trace.verdict != "not retrieved"  # other words did retrieve passages


def test_an_answer_explains_its_quote_and_matched_words(default_rag) -> None:  # noqa: ANN001
    answer = default_rag.ask("When was the interview taken?", explain=True)
    trace = answer.explanation
    assert trace.verdict == "answered" and not trace.coverage_gaps
    assert "interview" in trace.question_terms
    assert any("interview" in p.matched_terms for p in trace.passages)
    assert trace.sentences and trace.sentences[0].score >= trace.sentences[-1].score
    text = format_explanation(trace)
    assert "Verdict: answered" in text and "matched: " in text


def test_explain_appears_in_json_only_when_asked(default_rag, monkeypatch) -> None:  # noqa: ANN001
    import rag.cli

    assert "explain" not in default_rag.ask("When was the interview taken?").to_dict()
    monkeypatch.setattr(rag.cli, "open_index", lambda *a, **k: default_rag)
    out = io.StringIO()
    question = "When was the interview taken?"
    assert rag.cli.main(["ask", question, "--explain", "--json"], out=out) == 0
    explained = json.loads(out.getvalue())["explain"]
    assert explained["verdict"] == "answered" and explained["passages"]
    out = io.StringIO()
    assert rag.cli.main(["ask", question, "--explain"], out=out) == 0
    assert "Why:" in out.getvalue() and "Question words: interview" in out.getvalue()
