"""The types every evaluation dataset loader returns: documents, questions and the dataset.

``EvalDocument`` is a document of the corpus to index, ``EvalQuestion`` a question with its gold
answers and gold passages, and ``QADataset`` the whole loaded dataset with its qrels and
checksum. The loaders are in ``eval.squad``, ``eval.beir`` and ``eval.qa_jsonl``; ``eval.datasets``
re-exports these types with ``load_dataset``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
