"""The SQuAD v1.1/v2.0 JSON reader: ``load_squad``.

One ``EvalDocument`` per article, whose text is its paragraphs' contexts joined with
``PARAGRAPH_SEPARATOR``; each paragraph's span within it is kept in
``QADataset.paragraph_spans`` and each answerable question is judged relevant to its paragraph.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from eval.dataset_parsing import answer_texts, check_questions, read_file, str_field
from eval.dataset_types import EvalDocument, EvalQuestion, QADataset
from rag.errors import DatasetError

PARAGRAPH_SEPARATOR = "\n\n"


def load_squad(path: str | Path) -> QADataset:
    """Load a SQuAD v1.1 or v2.0 JSON file: one document per article.

    A document's text is its paragraphs' contexts as written, joined with a blank line; the
    paragraph ``j`` of document ``d`` has id ``"{d}#{j}"`` and its span in ``paragraph_spans``.

    Args:
        path: The JSON file.

    Returns:
        The dataset; ``qrels`` maps each answerable question to {its paragraph id: 1}.

    Raises:
        DatasetError: If the file is missing, is not JSON, or does not match the SQuAD schema.
    """
    path = Path(path)
    data, text = read_file(path)
    try:
        root = json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}:{e.lineno}: invalid JSON: {e.msg}") from e
    if not isinstance(root, dict) or not isinstance(root.get("data"), list):
        raise DatasetError(f"{path}: not SQuAD JSON: expected an object with a 'data' list")
    documents: list[EvalDocument] = []
    questions: list[EvalQuestion] = []
    qrels: dict[str, dict[str, int]] = {}
    spans: dict[str, tuple[str, int, int]] = {}
    for i, article in enumerate(root["data"]):
        doc = _squad_article(path, i, article, {d.id for d in documents}, questions, qrels, spans)
        documents.append(doc)
    check_questions(path, questions)
    return QADataset(
        name=path.stem,
        documents=tuple(documents),
        questions=tuple(questions),
        qrels=qrels,
        sha256=hashlib.sha256(data).hexdigest(),
        paragraph_spans=spans,
    )


def _squad_article(
    path: Path,
    i: int,
    article: Any,
    taken: set[str],
    questions: list[EvalQuestion],
    qrels: dict[str, dict[str, int]],
    spans: dict[str, tuple[str, int, int]],
) -> EvalDocument:
    """The document of article ``i``; its questions, qrels and spans are appended to the rest."""
    where = f"{path}: data[{i}]"
    title = str_field(article, "title", where)
    paragraphs = article.get("paragraphs")
    if not isinstance(paragraphs, list) or not paragraphs:
        raise DatasetError(f"{where} ({title!r}): 'paragraphs' must be a non-empty list")
    doc_id, suffix = title, 2
    while doc_id in taken:
        doc_id, suffix = f"{title}~{suffix}", suffix + 1
    contexts: list[str] = []
    offset = 0
    for j, paragraph in enumerate(paragraphs):
        p_where = f"{where} ({title!r}) paragraphs[{j}]"
        context = str_field(paragraph, "context", p_where)
        qas = paragraph.get("qas")
        if not isinstance(qas, list):
            raise DatasetError(f"{p_where}: 'qas' must be a list")
        para_id = f"{doc_id}#{j}"
        spans[para_id] = (doc_id, offset, offset + len(context))
        contexts.append(context)
        offset += len(context) + len(PARAGRAPH_SEPARATOR)
        for k, qa in enumerate(qas):
            q_where = f"{p_where} qas[{k}]"
            qid = str_field(qa, "id", q_where)
            question = str_field(qa, "question", q_where)
            answerable = not qa.get("is_impossible", False)
            answers = answer_texts(qa.get("answers"), q_where) if answerable else ()
            if answerable and not answers:
                raise DatasetError(f"{q_where}: an answerable question needs answers")
            questions.append(EvalQuestion(qid, question, answers, (para_id,), answerable))
            if answerable:
                qrels[qid] = {para_id: 1}
    text = PARAGRAPH_SEPARATOR.join(contexts)
    return EvalDocument(doc_id, title, text, f"{path}#{doc_id}")
