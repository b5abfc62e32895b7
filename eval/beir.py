"""The BEIR directory reader: ``load_beir`` (corpus.jsonl, queries.jsonl and qrels.tsv).

Documents keep their titles apart from their text; only queries with a relevant judgment are
kept, with all their graded judgments as qrels. The qrels file is ``qrels.tsv`` or, failing
that, ``qrels/test.tsv``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from eval.dataset_parsing import check_questions, json_lines, read_file, str_field
from eval.dataset_types import EvalDocument, EvalQuestion, QADataset
from rag.errors import DatasetError


def _qrels_path(directory: Path) -> Path:
    for candidate in (directory / "qrels.tsv", directory / "qrels" / "test.tsv"):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"{directory}: no qrels.tsv (or qrels/test.tsv) found")


def _read_qrels(path: Path, text: str) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cols = line.rstrip("\r\n").split("\t")
        if lineno == 1 and cols[:1] == ["query-id"]:
            continue
        if len(cols) != 3:
            raise DatasetError(
                f"{path}:{lineno}: expected 3 tab-separated columns "
                f"(query-id, corpus-id, score), got {len(cols)}"
            )
        try:
            score = int(cols[2])
        except ValueError as e:
            raise DatasetError(f"{path}:{lineno}: score {cols[2]!r} is not an integer") from e
        qrels.setdefault(cols[0], {})[cols[1]] = score
    return qrels


def load_beir(directory: str | Path) -> QADataset:
    """Load a BEIR dataset directory: corpus.jsonl, queries.jsonl and qrels.tsv.

    Titles stay in ``EvalDocument.title`` and are not prepended to the text: whoever indexes the
    corpus decides whether to search them. Only queries with a relevant judgment (score > 0) are
    kept; ``qrels`` holds all their judgments as graded.

    Args:
        directory: The dataset directory (``qrels/test.tsv`` is read if ``qrels.tsv`` is absent).

    Returns:
        The dataset; questions have no answer texts and ``answerable`` is True.

    Raises:
        DatasetError: If a file is missing, a line is malformed (reported as ``path:LINE``), or
            a judgment names an unknown query or document.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetError(f"{directory}: no such directory")
    corpus_path, queries_path = directory / "corpus.jsonl", directory / "queries.jsonl"
    qrels_path = _qrels_path(directory)
    raw = {p: read_file(p) for p in (corpus_path, queries_path, qrels_path)}
    digest = hashlib.sha256()
    for p, (data, _) in raw.items():
        digest.update(p.name.encode() + b"\0" + data)

    documents: dict[str, EvalDocument] = {}
    for lineno, obj in json_lines(corpus_path, raw[corpus_path][1]):
        where = f"{corpus_path}:{lineno}"
        doc_id = str_field(obj, "_id", where)
        if doc_id in documents:
            raise DatasetError(f"{where}: document id {doc_id!r} appears more than once")
        title = obj.get("title") or ""
        if not isinstance(title, str):
            raise DatasetError(f"{where}: 'title' must be a string")
        text = str_field(obj, "text", where, allow_empty=True)
        documents[doc_id] = EvalDocument(doc_id, title, text, f"{directory}#{doc_id}")

    queries: dict[str, str] = {}
    for lineno, obj in json_lines(queries_path, raw[queries_path][1]):
        where = f"{queries_path}:{lineno}"
        queries[str_field(obj, "_id", where)] = str_field(obj, "text", where)

    qrels = _read_qrels(qrels_path, raw[qrels_path][1])
    for qid, judged in qrels.items():
        if qid not in queries:
            raise DatasetError(f"{qrels_path}: query-id {qid!r} is not in {queries_path.name}")
        unknown = sorted(d for d in judged if d not in documents)
        if unknown:
            raise DatasetError(
                f"{qrels_path}: corpus-id {unknown[0]!r} (query {qid!r}) is not in "
                f"{corpus_path.name}"
            )
    questions: list[EvalQuestion] = []
    kept: dict[str, dict[str, int]] = {}
    for qid, text in queries.items():
        judged = qrels.get(qid, {})
        relevant = sorted((d for d, s in judged.items() if s > 0), key=lambda d: -judged[d])
        if relevant:
            questions.append(EvalQuestion(qid, text, (), tuple(relevant), True))
            kept[qid] = judged
    check_questions(queries_path, questions)
    return QADataset(
        name=directory.name,
        documents=tuple(documents.values()),
        questions=tuple(questions),
        qrels=kept,
        sha256=digest.hexdigest(),
    )
