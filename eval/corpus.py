"""The evaluation corpus: a dataset's documents indexed by the product's own pipeline, and the map
from each indexed passage to the dataset's gold ids (SQuAD paragraphs, BEIR documents).

Indexing cleans the text (whitespace, zero-width characters), so an indexed document need not
equal the dataset's text. Gold spans are therefore carried over by aligning the two texts, and a
passage counts for a gold id when their character spans overlap in the same document.
"""

from __future__ import annotations

import bisect
import difflib
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from eval.datasets import EvalDocument, QADataset
from rag.embed import Embedder
from rag.errors import EmptyCorpusError, UnreadableDocumentError
from rag.ingest import document_from_text
from rag.pipeline import RAG

logger = logging.getLogger(__name__)

TITLE_SEPARATOR = ". "
# Characters the cleaner may drop or change without changing the text a reader sees.
_ZERO_WIDTH = frozenset("\u200b\u2060\ufeff")


@dataclass(frozen=True)
class EvalCorpus:
    """An index to evaluate and what its passages mean for the dataset.

    Attributes:
        rag: The index (a fresh temporary one, or the one given for qa-jsonl).
        passage_gold_ids: Passage id -> the gold ids whose span it overlaps, in text order
            (empty for qa-jsonl, whose gold passages are unknown).
        gold_spans: Gold id -> (indexed document id, start, end) in the indexed text.
        skipped: Dataset documents left out because they hold no text.
    """

    rag: RAG
    passage_gold_ids: dict[str, tuple[str, ...]]
    gold_spans: dict[str, tuple[str, int, int]]
    skipped: tuple[str, ...] = ()


def beir_text(document: EvalDocument) -> str:
    """The text indexed for a BEIR document: ``title + ". " + text``.

    The title is left out when the text already starts with it (as in Cranfield, whose texts
    repeat the title), so title words are not counted twice by BM25.
    """
    title, text = document.title.strip(), document.text.strip()
    if not title or _words(text).startswith(_words(title)):
        return text
    return f"{title.rstrip('.').rstrip()}{TITLE_SEPARATOR}{text}" if text else title


def _words(text: str) -> str:
    return " ".join(text.lower().split())


def build_corpus(
    dataset: QADataset, index_dir: str | Path, *, embedder: Embedder | None = None
) -> EvalCorpus:
    """Index a SQuAD or BEIR dataset's documents into a new index at ``index_dir``.

    SQuAD documents are indexed as written (no markdown stripping); BEIR documents as
    ``beir_text`` gives them. A document with no text is skipped with a warning.

    Args:
        dataset: A dataset with documents.
        index_dir: Where to index: a missing directory, or a ``milvus://`` address (what it
            holds is replaced).
        embedder: The embedding model; the bundled one by default.

    Returns:
        The corpus, with every gold span carried over to the indexed text.

    Raises:
        EmptyCorpusError: If no document holds any text.
    """
    squad = bool(dataset.paragraph_spans)
    kept = []
    skipped: list[str] = []
    for doc in dataset.documents:
        text = doc.text if squad else beir_text(doc)
        try:
            kept.append(document_from_text(text, doc.source, markdown=False))
        except UnreadableDocumentError:
            skipped.append(doc.id)
    if not kept:
        raise EmptyCorpusError(f"{dataset.name}: no document holds any text; nothing to index")
    if skipped:
        logger.warning("%d documents hold no text and were not indexed", len(skipped))
    rag = RAG(index_dir, embedder=embedder)
    rag.index_documents(kept, fresh=True)
    return corpus_for(rag, dataset, tuple(skipped))


def corpus_for(rag: RAG, dataset: QADataset, skipped: tuple[str, ...] = ()) -> EvalCorpus:
    """The corpus of an index built from ``dataset`` (by ``build_corpus``, now or earlier)."""
    by_source = {d.source: d for d in rag.documents()}
    spans: dict[str, tuple[str, int, int]] = {}
    if dataset.paragraph_spans:
        per_doc: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
        for para_id, (doc_id, start, end) in dataset.paragraph_spans.items():
            per_doc[doc_id].append((para_id, start, end))
        for doc in dataset.documents:
            indexed = by_source.get(doc.source)
            if indexed is None:
                continue
            aligned = Alignment(doc.text, indexed.text)
            for para_id, start, end in per_doc[doc.id]:
                spans[para_id] = (indexed.id, *aligned.span(start, end))
    else:
        for doc in dataset.documents:
            indexed = by_source.get(doc.source)
            if indexed is not None:
                spans[doc.id] = (indexed.id, 0, len(indexed.text))
    return EvalCorpus(rag, _passage_gold_ids(rag, spans), spans, skipped)


def existing_corpus(rag: RAG) -> EvalCorpus:
    """An existing index, whose passages map to no gold ids (qa-jsonl)."""
    return EvalCorpus(rag, {}, {})


def _passage_gold_ids(
    rag: RAG, spans: dict[str, tuple[str, int, int]]
) -> dict[str, tuple[str, ...]]:
    per_doc: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for gold_id, (doc_id, start, end) in spans.items():
        per_doc[doc_id].append((start, end, gold_id))
    for entries in per_doc.values():
        entries.sort()
    return {
        passage.id: tuple(
            gold_id
            for start, end, gold_id in per_doc.get(passage.doc_id, ())
            if passage.start < end and start < passage.end
        )
        for passage in rag.passages()
    }


class Alignment:
    """Carries character offsets of a text over to a cleaned copy of it.

    Characters other than whitespace and zero-width ones are matched in order (with
    ``difflib`` only when the cleaner changed some of them), so a span maps to the span from
    its first to its last matched character.

    Args:
        original: The text as given.
        cleaned: The same text after cleaning.
    """

    def __init__(self, original: str, cleaned: str) -> None:
        self._identity = original == cleaned
        self._cleaned_len = len(cleaned)
        if self._identity:
            return
        o_pos = [i for i, ch in enumerate(original) if _visible(ch)]
        c_pos = [i for i, ch in enumerate(cleaned) if _visible(ch)]
        o_chars = "".join(original[i] for i in o_pos)
        c_chars = "".join(cleaned[i] for i in c_pos)
        if o_chars == c_chars:
            pairs = list(zip(o_pos, c_pos))
        else:
            matcher = difflib.SequenceMatcher(None, o_chars, c_chars, autojunk=False)
            pairs = [
                (o_pos[a + j], c_pos[b + j])
                for a, b, size in matcher.get_matching_blocks()
                for j in range(size)
            ]
        self._orig = [o for o, _ in pairs]
        self._clean = [c for _, c in pairs]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The cleaned span of ``original[start:end]`` (empty if none of it survived)."""
        if self._identity:
            return start, end
        first = bisect.bisect_left(self._orig, start)
        last = bisect.bisect_left(self._orig, end) - 1
        if first > last:
            at = self._clean[first] if first < len(self._clean) else self._cleaned_len
            return at, at
        return self._clean[first], self._clean[last] + 1


def _visible(ch: str) -> bool:
    return not ch.isspace() and ch not in _ZERO_WIDTH
