"""Evaluation datasets: SQuAD v1.1/v2.0 JSON, BEIR directories and question-only JSONL.

Every loader returns a ``QADataset``: the documents to index, the questions, and the qrels that
``eval.metrics.retrieval_metrics`` takes. Any problem with the data is a ``DatasetError`` whose
message names the file (and the line or record) and what is wrong.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import DatasetError, InvalidInputError

FORMATS: tuple[str, ...] = ("squad", "beir", "qa-jsonl")
PARAGRAPH_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class EvalDocument:
    """A document of an evaluation corpus.

    Attributes:
        id: The dataset's id (SQuAD: the article title; BEIR: the corpus ``_id``).
        title: The title, kept apart from the text (BEIR titles are not prepended).
        text: The text as the dataset gives it; SQuAD offsets index it.
        source: Where it came from: ``<file or directory>#<id>``.
    """

    id: str
    title: str
    text: str
    source: str


@dataclass(frozen=True)
class EvalQuestion:
    """A question with its gold answers and gold passages.

    Attributes:
        id: The dataset's question id.
        question: The question text.
        answers: Distinct gold answer texts; empty for an unanswerable question (or a BEIR query,
            which has relevant documents but no answer text).
        gold_doc_ids: SQuAD: the question's paragraph id (also for unanswerable questions);
            BEIR: the relevant document ids, most relevant first; qa-jsonl: empty.
        answerable: False when the system must abstain.
    """

    id: str
    question: str
    answers: tuple[str, ...]
    gold_doc_ids: tuple[str, ...]
    answerable: bool


@dataclass(frozen=True)
class QADataset:
    """A loaded evaluation dataset.

    Attributes:
        name: Short name (the file or directory stem).
        documents: The corpus; empty for qa-jsonl, which runs over an existing index.
        questions: The questions, in file order.
        qrels: Question id -> {paragraph or document id: grade}, answerable questions only.
        sha256: SHA-256 of the file bytes (BEIR: of its three files, in a fixed order).
        paragraph_spans: SQuAD only: paragraph id -> (document id, start, end) such that
            ``document.text[start:end]`` is the paragraph's context.
    """

    name: str
    documents: tuple[EvalDocument, ...]
    questions: tuple[EvalQuestion, ...]
    qrels: dict[str, dict[str, int]]
    sha256: str
    paragraph_spans: dict[str, tuple[str, int, int]] = field(default_factory=dict)


def _read(path: Path) -> tuple[bytes, str]:
    """The file's bytes (for the checksum) and its text."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        data = path.read_bytes()
        return data, data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read as UTF-8 text: {e}") from e


def _check_questions(path: Path, questions: list[EvalQuestion]) -> None:
    if not questions:
        raise DatasetError(f"{path}: the dataset holds no questions")
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise DatasetError(f"{path}: question id {q.id!r} appears more than once")
        seen.add(q.id)


def _str_field(obj: Any, key: str, where: str, *, allow_empty: bool = False) -> str:
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        kind = "a string" if allow_empty else "a non-empty string"
        raise DatasetError(f"{where}: '{key}' must be {kind}")
    return value


def _answer_texts(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise DatasetError(f"{where}: 'answers' must be a list")
    texts: list[str] = []
    for a in raw:
        text = a.get("text") if isinstance(a, dict) else a
        if not isinstance(text, str):
            raise DatasetError(f"{where}: each answer must be a string or have a 'text' string")
        if text not in texts:
            texts.append(text)
    return tuple(texts)


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
    data, text = _read(path)
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
    _check_questions(path, questions)
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
    title = _str_field(article, "title", where)
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
        context = _str_field(paragraph, "context", p_where)
        qas = paragraph.get("qas")
        if not isinstance(qas, list):
            raise DatasetError(f"{p_where}: 'qas' must be a list")
        para_id = f"{doc_id}#{j}"
        spans[para_id] = (doc_id, offset, offset + len(context))
        contexts.append(context)
        offset += len(context) + len(PARAGRAPH_SEPARATOR)
        for k, qa in enumerate(qas):
            q_where = f"{p_where} qas[{k}]"
            qid = _str_field(qa, "id", q_where)
            question = _str_field(qa, "question", q_where)
            answerable = not qa.get("is_impossible", False)
            answers = _answer_texts(qa.get("answers"), q_where) if answerable else ()
            if answerable and not answers:
                raise DatasetError(f"{q_where}: an answerable question needs answers")
            questions.append(EvalQuestion(qid, question, answers, (para_id,), answerable))
            if answerable:
                qrels[qid] = {para_id: 1}
    text = PARAGRAPH_SEPARATOR.join(contexts)
    return EvalDocument(doc_id, title, text, f"{path}#{doc_id}")


def _json_lines(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each non-blank, non-comment line; bad lines raise."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{path}:{lineno}: invalid JSON: {e.msg}") from e
        if not isinstance(obj, dict):
            raise DatasetError(f"{path}:{lineno}: expected a JSON object")
        yield lineno, obj


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
    raw = {p: _read(p) for p in (corpus_path, queries_path, qrels_path)}
    digest = hashlib.sha256()
    for p, (data, _) in raw.items():
        digest.update(p.name.encode() + b"\0" + data)

    documents: dict[str, EvalDocument] = {}
    for lineno, obj in _json_lines(corpus_path, raw[corpus_path][1]):
        where = f"{corpus_path}:{lineno}"
        doc_id = _str_field(obj, "_id", where)
        if doc_id in documents:
            raise DatasetError(f"{where}: document id {doc_id!r} appears more than once")
        title = obj.get("title") or ""
        if not isinstance(title, str):
            raise DatasetError(f"{where}: 'title' must be a string")
        text = _str_field(obj, "text", where, allow_empty=True)
        documents[doc_id] = EvalDocument(doc_id, title, text, f"{directory}#{doc_id}")

    queries: dict[str, str] = {}
    for lineno, obj in _json_lines(queries_path, raw[queries_path][1]):
        where = f"{queries_path}:{lineno}"
        queries[_str_field(obj, "_id", where)] = _str_field(obj, "text", where)

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
    _check_questions(queries_path, questions)
    return QADataset(
        name=directory.name,
        documents=tuple(documents.values()),
        questions=tuple(questions),
        qrels=kept,
        sha256=digest.hexdigest(),
    )


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
    data, text = _read(path)
    questions: list[EvalQuestion] = []
    for lineno, obj in _json_lines(path, text):
        where = f"{path}:{lineno}"
        raw_id = obj.get("id")
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            raw_id = str(raw_id)
        qid = _str_field({"id": raw_id}, "id", where)
        question = _str_field(obj, "question", where)
        answers = _answer_texts(obj.get("answers"), where)
        questions.append(EvalQuestion(qid, question, answers, (), bool(answers)))
    _check_questions(path, questions)
    return QADataset(path.stem, (), tuple(questions), {}, hashlib.sha256(data).hexdigest())


def load_dataset(path: str | Path, format: str | None = None) -> QADataset:
    """Load a dataset of any known format, sniffing the format when none is given.

    Sniffing: a directory holding corpus.jsonl is BEIR; a ``.json`` file is SQuAD (it must hold
    a top-level ``data`` list); a ``.jsonl`` file is qa-jsonl.

    Args:
        path: The file or directory.
        format: One of ``FORMATS``, or None to sniff.

    Returns:
        The dataset.

    Raises:
        DatasetError: If the path is missing, the format is unknown or cannot be sniffed, or
            the loader rejects the data.
    """
    path = Path(path)
    known = ", ".join(FORMATS)
    if format is not None and format not in FORMATS:
        raise DatasetError(f"unknown dataset format {format!r}: use one of {known}")
    if not path.exists():
        raise DatasetError(f"{path}: no such file or directory")
    suffix = path.suffix.lower() if path.is_file() else ""
    if format == "beir" or (format is None and (path / "corpus.jsonl").is_file()):
        return load_beir(path)
    # A .json file is parsed once, by load_squad, which rejects one without a 'data' list.
    if format == "squad" or (format is None and suffix == ".json"):
        return load_squad(path)
    if format == "qa-jsonl" or (format is None and suffix == ".jsonl"):
        return load_qa_jsonl(path)
    raise DatasetError(f"{path}: cannot tell the dataset format; pass format= one of {known}")


def sample_questions(dataset: QADataset, n: int, seed: int) -> QADataset:
    """A seeded random sample of ``n`` questions, kept in dataset order.

    Args:
        dataset: The dataset to sample from; documents are kept whole.
        n: How many questions; all of them when ``n >= len(dataset.questions)``.
        seed: Seed of ``random.Random``, so the same seed gives the same sample.

    Returns:
        A dataset with the sampled questions and their qrels.

    Raises:
        InvalidInputError: If ``n <= 0``.
    """
    if n <= 0:
        raise InvalidInputError(f"sample size must be positive, got {n}")
    total = len(dataset.questions)
    if n >= total:
        return dataset
    picked = sorted(random.Random(seed).sample(range(total), n))
    questions = tuple(dataset.questions[i] for i in picked)
    ids = {q.id for q in questions}
    qrels = {q: docs for q, docs in dataset.qrels.items() if q in ids}
    return dataclasses.replace(dataset, questions=questions, qrels=qrels)
