from __future__ import annotations

import pytest

from rag.answering.followup import content_words, is_follow_up, resolve_query
from rag.types import Turn

FIRST = Turn(
    question="What did Russia and China present to the Conference on Disarmament?",
    query="What did Russia and China present to the Conference on Disarmament?",
)


@pytest.mark.parametrize(
    "question",
    [
        "When was that?",
        "Who presented it?",
        "What about China?",
        "And the United States?",
        "Why?",
        "Where did they do this?",
    ],
)
def test_questions_that_lean_on_the_previous_turn_carry_its_topic(question: str) -> None:
    assert is_follow_up(question)
    query = resolve_query(question, [FIRST])
    assert query.startswith(question)
    assert "Disarmament" in query and "Conference" in query


@pytest.mark.parametrize(
    "question",
    [
        "How many NGOs got consultative status with ECOSOC?",
        "What is the core element of international security?",
    ],
)
def test_self_contained_questions_start_a_new_topic(question: str) -> None:
    assert not is_follow_up(question)
    assert resolve_query(question, [FIRST]) == question


def test_without_history_the_question_is_searched_as_typed() -> None:
    assert resolve_query("When was that?", []) == "When was that?"


def test_chains_of_follow_ups_keep_the_original_topic() -> None:
    second = Turn(question="When was that?", query=resolve_query("When was that?", [FIRST]))
    third = resolve_query("Where?", [FIRST, second])
    assert "Disarmament" in third


def test_carried_words_are_not_repeated_from_the_follow_up() -> None:
    query = resolve_query("What about China?", [FIRST])
    assert query.count("China") == 1


def test_content_words_drop_function_words_and_repeats() -> None:
    assert content_words("What is the role of the NGOs and the NGOs?") == ["role", "NGOs"]
