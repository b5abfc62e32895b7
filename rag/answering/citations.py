"""Citations: made from the document's own text, and checked before any answer leaves.

The invariant every answer keeps: each quote is ``document.text[start:end]`` of the document it
names, on the page it names, and the short answer lies inside the first quote. ``check_citations``
enforces it on every answer, so a broken citation is an error, never a wrong page shown to a user.
"""

from __future__ import annotations

from index.contract import PassageStore
from rag.answering.quotes import ScoredSentence
from rag.errors import CitationError
from rag.types import Answer, Citation, Passage


def cite(store: PassageStore, n: int, sentence: ScoredSentence) -> Citation:
    """Citation number ``n`` for a chosen sentence, its quote read from the document."""
    return cite_span(store, n, sentence.passage_id, sentence.start, sentence.end)


def cite_span(store: PassageStore, n: int, passage_id: str, start: int, end: int) -> Citation:
    """Citation number ``n`` for ``document.text[start:end]`` of a passage's document."""
    passage = store.passage(passage_id)
    document = store.document(passage.doc_id)
    if document is None:
        raise CitationError(f"passage {passage.id} belongs to no stored document")
    return Citation(
        n=n,
        source=passage.source,
        title=passage.title,
        page=document.page_at(start),
        passage_id=passage.id,
        start=start,
        end=end,
        quote=document.text[start:end],
    )


def sentences_around(passage: Passage, start: int, end: int) -> tuple[int, int]:
    """The span of the passage's sentences that ``[start, end)`` touches (the span itself if it
    touches none), so a quote is always whole sentences holding the answer."""
    touched = [(s, e) for s, e in passage.sentences if s < end and start < e]
    if not touched:
        return start, end
    return min(start, touched[0][0]), max(end, touched[-1][1])


def check_citations(answer: Answer, store: PassageStore) -> None:
    """Raise ``CitationError`` unless every citation of ``answer`` is verbatim and in place."""
    for c in answer.citations:
        passage = store.passage(c.passage_id)
        document = store.document(passage.doc_id)
        if document is None or document.source != c.source:
            raise CitationError(f"citation [{c.n}] names a document the index does not hold")
        if document.text[c.start : c.end] != c.quote:
            raise CitationError(f"citation [{c.n}] is not the text at {c.start}-{c.end}")
        if document.page_at(c.start) != c.page:
            raise CitationError(f"citation [{c.n}] names page {c.page}, not its page")
    if answer.short_answer_span is not None:
        start, end = answer.short_answer_span
        first = answer.citations[0] if answer.citations else None
        if (
            first is None
            or not first.start <= start < end <= first.end
            or first.quote[start - first.start : end - first.start] != answer.short_answer
        ):
            raise CitationError("the short answer is not inside the first quote")
