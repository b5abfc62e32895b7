from __future__ import annotations

import pytest

from rag.answering.short_answer import question_type, short_answer


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When was the interview taken?", "date"),
        ("In what year did the treaty expire?", "date"),
        ("How many NGOs got consultative status?", "number"),
        ("How much does a subscription cost?", "number"),
        ("Who presented the draft treaty?", "person"),
        ("Where are the branches of the institute?", "place"),
        ("Which country did the Normans come from?", "place"),
        ("What organization coordinates the work?", "entity"),
        ("What does the MFA think of NGOs?", "other"),
    ],
)
def test_question_types(question: str, kind: str) -> None:
    assert question_type(question) == kind


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        (
            "When was the interview taken?",
            "¹ The interview with the minister was taken on March 27, 2008.",
            "March 27, 2008",
        ),
        (
            "How many NGOs got consultative status with ECOSOC?",
            "To a large extent, thanks to our support, over 40 NGOs got consultative status with "
            "the Economic and Social Council of the United Nations (ECOSOC).",
            "40",
        ),
        (
            "Where were the branches of the fund opened?",
            "The branches of this fund are opened in Paris and New York.",
            "Paris and New York",
        ),
        (
            "In what country is Normandy located?",
            "The Normans were the people who gave their name to Normandy, a region in France.",
            "France",
        ),
        (
            "When will the restrictions of the START Treaty expire?",
            "It is known that in 2009 the restrictions of the START Treaty will expire.",
            "2009",
        ),
    ],
)
def test_short_answer_spans(question: str, sentence: str, expected: str) -> None:
    span = short_answer(question, sentence)
    assert span is not None
    assert expected in sentence[span[0] : span[1]]
    assert len(sentence[span[0] : span[1]]) < len(sentence) / 2 + len(expected)


def test_the_span_is_never_what_the_question_already_names() -> None:
    sentence = "The Minister of Foreign Affairs met the ambassador of Chile."
    span = short_answer("Who did the Minister of Foreign Affairs meet?", sentence)
    assert span is not None and sentence[span[0] : span[1]] == "Chile"


def test_a_when_question_without_a_date_gets_no_short_answer() -> None:
    assert short_answer("When was the interview taken?", "The interview was taken.") is None
