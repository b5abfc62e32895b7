"""The qa-jsonl reader: ``load_qa_jsonl``, questions to ask over an existing index.

One ``{"id", "question", "answers"}`` object a line; an empty ``answers`` list marks a question
the system must abstain on. The dataset has no documents and no qrels.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from eval.dataset_parsing import answer_texts, check_questions, json_lines, read_file, str_field
from eval.dataset_types import EvalQuestion, QADataset


def load_qa_jsonl(path: str | Path) -> QADataset:
    """Load questions to ask over an existing index: one ``{"id", "question", "answers"}`` a line.

    An empty ``answers`` list means the system must abstain. Blank lines and lines starting
    with ``#`` are ignored.

    Args:
        path: The JSONL file.

    Returns:
        The dataset, with no documents and no qrels.

    Raises:
        DatasetError: If the file is missing, a line is malformed (``path:LINE: ...``), an id
            repeats, or there are no questions.
    """
    path = Path(path)
    data, text = read_file(path)
    questions: list[EvalQuestion] = []
    for lineno, obj in json_lines(path, text):
        where = f"{path}:{lineno}"
        raw_id = obj.get("id")
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            raw_id = str(raw_id)
        qid = str_field({"id": raw_id}, "id", where)
        question = str_field(obj, "question", where)
        answers = answer_texts(obj.get("answers"), where)
        questions.append(EvalQuestion(qid, question, answers, (), bool(answers)))
    check_questions(path, questions)
    return QADataset(path.stem, (), tuple(questions), {}, hashlib.sha256(data).hexdigest())
